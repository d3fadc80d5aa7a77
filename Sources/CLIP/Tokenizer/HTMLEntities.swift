/// ftfy's `unescape_html` step: decode HTML entities and character references that end in
/// a semicolon (`&amp;`, `&#39;`, `&#x1F600;`, and the all-caps `&EACUTE;` ftfy also accepts),
/// because web-scraped captions, which CLIP was trained on, are full of them.
///
/// Named entities: the HTML 4.01 set (plus `&apos;`), in every spelling ftfy accepts for
/// them, with ftfy's values (an all-caps name maps to the uppercased character, so
/// `&SZLIG;` -> "SS"). The HTML5-only names (`&checkmark;`, `&Jscr;`, ...) are left as
/// they are, where ftfy would decode them; they are rare in ordinary prompts and the full
/// table is 3 500 entries. Numeric references follow Python's `html.unescape`, as ftfy does.
enum HTMLEntities {
    /// Decodes the entities in `text` (ftfy: `HTML_ENTITY_RE.sub(_unescape_fixup, text)`,
    /// where the pattern is `&#?[0-9A-Za-z]{1,24};`).
    static func unescape(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("&") else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var i = 0
        let n = text.count
        while i < n {
            guard text[i] == "&" else {
                out.append(text[i])
                i += 1
                continue
            }
            var j = i + 1
            let numeric = j < n && text[j] == "#"
            if numeric { j += 1 }
            let nameStart = j
            while j < n, isASCIIAlphanumeric(text[j]) { j += 1 }
            let length = j - nameStart
            guard length >= 1, length <= 24, j < n, text[j] == ";" else {
                out.append(text[i])
                i += 1
                continue
            }
            let name = text[nameStart..<j]
            if let replacement = decode(name: name, numeric: numeric) {
                out.append(contentsOf: replacement)
            } else {
                out.append(contentsOf: text[i...j])
            }
            i = j + 1
        }
        return out
    }

    /// The replacement for `&name;` / `&#name;`, or nil to keep the text as it is.
    private static func decode(name: ArraySlice<Unicode.Scalar>, numeric: Bool) -> [Unicode.Scalar]? {
        if !numeric {
            var key = ""
            key.unicodeScalars.append(contentsOf: name)
            return named[key].map { Array($0.unicodeScalars) }
        }
        // `&#...;`: ftfy calls html.unescape and keeps the result only when no ';' is left,
        // i.e. when the whole name is decimal digits, or x/X followed by hex digits.
        var digits = name[...]
        var radix: UInt32 = 10
        if let first = digits.first, first == "x" || first == "X" {
            radix = 16
            digits = digits.dropFirst()
        }
        guard !digits.isEmpty else { return nil }
        var value: UInt32 = 0
        var overflow = false
        for s in digits {
            guard let d = digitValue(s, radix: radix) else { return nil }
            if !overflow {
                let next = UInt64(value) * UInt64(radix) + UInt64(d)
                if next > 0x10FFFF { overflow = true } else { value = UInt32(next) }
            }
        }
        if overflow { return ["\u{FFFD}"] }
        let decoded = characterReference(value)
        // html.unescape("&#59;") is ";", and ftfy then keeps "&#59;".
        if decoded.contains(";") { return nil }
        return decoded
    }

    /// Python `html._replace_charref` for a numeric reference (HTML5 rules).
    private static func characterReference(_ value: UInt32) -> [Unicode.Scalar] {
        if value == 0 { return ["\u{FFFD}"] }
        if value == 0x0D { return ["\r"] }
        if (0x80...0x9F).contains(value) { return [TextFixer.windows1252(value)] }
        if (0xD800...0xDFFF).contains(value) { return ["\u{FFFD}"] }
        let invalid =
            (0x01...0x08).contains(value) || value == 0x0B || (0x0E...0x1F).contains(value)
            || value == 0x7F || (0xFDD0...0xFDEF).contains(value) || (value & 0xFFFE) == 0xFFFE
        if invalid { return [] }
        return [Unicode.Scalar(value)!]
    }

    private static func isASCIIAlphanumeric(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x30...0x39, 0x41...0x5A, 0x61...0x7A: return true
        default: return false
        }
    }

    private static func digitValue(_ s: Unicode.Scalar, radix: UInt32) -> UInt32? {
        let v = s.value
        switch v {
        case 0x30...0x39: return v - 0x30
        case 0x41...0x46 where radix == 16: return v - 0x41 + 10
        case 0x61...0x66 where radix == 16: return v - 0x61 + 10
        default: return nil
        }
    }

    /// Entity name (without `&` and `;`) -> text, as in ftfy's `HTML_ENTITIES`, restricted
    /// to the HTML 4.01 names and `apos` (see the type's comment).
    static let named: [String: String] = [
        "AACUTE": "Á", "Aacute": "Á", "aacute": "á", "ACIRC": "Â", "Acirc": "Â", "acirc": "â", "ACUTE": "´",
        "acute": "´", "AELIG": "Æ", "AElig": "Æ", "aelig": "æ", "AGRAVE": "À", "Agrave": "À", "agrave": "à",
        "ALEFSYM": "ℵ", "alefsym": "ℵ", "ALPHA": "Α", "Alpha": "Α", "alpha": "α", "AMP": "&", "amp": "&",
        "AND": "∧", "And": "⩓", "and": "∧", "ANG": "∠", "ang": "∠", "APOS": "'", "apos": "'", "ARING": "Å",
        "Aring": "Å", "aring": "å", "ASYMP": "≈", "asymp": "≈", "ATILDE": "Ã", "Atilde": "Ã", "atilde": "ã",
        "AUML": "Ä", "Auml": "Ä", "auml": "ä", "BDQUO": "„", "bdquo": "„", "BETA": "Β", "Beta": "Β", "beta": "β",
        "BRVBAR": "¦", "brvbar": "¦", "BULL": "•", "bull": "•", "CAP": "∩", "Cap": "⋒", "cap": "∩",
        "CCEDIL": "Ç", "Ccedil": "Ç", "ccedil": "ç", "CEDIL": "¸", "cedil": "¸", "CENT": "¢", "cent": "¢",
        "CHI": "Χ", "Chi": "Χ", "chi": "χ", "CIRC": "ˆ", "circ": "ˆ", "CLUBS": "♣", "clubs": "♣", "CONG": "≅",
        "cong": "≅", "COPY": "©", "copy": "©", "CRARR": "↵", "crarr": "↵", "CUP": "∪", "Cup": "⋓", "cup": "∪",
        "CURREN": "¤", "curren": "¤", "DAGGER": "†", "Dagger": "‡", "dagger": "†", "DARR": "↓", "Darr": "↡",
        "dArr": "⇓", "darr": "↓", "DEG": "°", "deg": "°", "DELTA": "Δ", "Delta": "Δ", "delta": "δ", "DIAMS": "♦",
        "diams": "♦", "DIVIDE": "÷", "divide": "÷", "EACUTE": "É", "Eacute": "É", "eacute": "é", "ECIRC": "Ê",
        "Ecirc": "Ê", "ecirc": "ê", "EGRAVE": "È", "Egrave": "È", "egrave": "è", "EMPTY": "∅", "empty": "∅",
        "EMSP": "\u{2003}", "emsp": "\u{2003}", "ENSP": "\u{2002}", "ensp": "\u{2002}", "EPSILON": "Ε",
        "Epsilon": "Ε", "epsilon": "ε", "EQUIV": "≡", "equiv": "≡", "ETA": "Η", "Eta": "Η", "eta": "η",
        "ETH": "Ð", "eth": "ð", "EUML": "Ë", "Euml": "Ë", "euml": "ë", "EURO": "€", "euro": "€", "EXIST": "∃",
        "exist": "∃", "FNOF": "Ƒ", "fnof": "ƒ", "FORALL": "∀", "ForAll": "∀", "forall": "∀", "FRAC12": "½",
        "frac12": "½", "FRAC14": "¼", "frac14": "¼", "FRAC34": "¾", "frac34": "¾", "FRASL": "⁄", "frasl": "⁄",
        "GAMMA": "Γ", "Gamma": "Γ", "gamma": "γ", "GE": "≥", "gE": "≧", "ge": "≥", "GT": ">", "Gt": "≫",
        "gt": ">", "HARR": "↔", "hArr": "⇔", "harr": "↔", "HEARTS": "♥", "hearts": "♥", "HELLIP": "…",
        "hellip": "…", "IACUTE": "Í", "Iacute": "Í", "iacute": "í", "ICIRC": "Î", "Icirc": "Î", "icirc": "î",
        "IEXCL": "¡", "iexcl": "¡", "IGRAVE": "Ì", "Igrave": "Ì", "igrave": "ì", "IMAGE": "ℑ", "image": "ℑ",
        "INFIN": "∞", "infin": "∞", "INT": "∫", "Int": "∬", "int": "∫", "IOTA": "Ι", "Iota": "Ι", "iota": "ι",
        "IQUEST": "¿", "iquest": "¿", "ISIN": "∈", "isin": "∈", "IUML": "Ï", "Iuml": "Ï", "iuml": "ï",
        "KAPPA": "Κ", "Kappa": "Κ", "kappa": "κ", "LAMBDA": "Λ", "Lambda": "Λ", "lambda": "λ", "LANG": "⟨",
        "Lang": "⟪", "lang": "⟨", "LAQUO": "«", "laquo": "«", "LARR": "←", "Larr": "↞", "lArr": "⇐", "larr": "←",
        "LCEIL": "⌈", "lceil": "⌈", "LDQUO": "“", "ldquo": "“", "LE": "≤", "lE": "≦", "le": "≤", "LFLOOR": "⌊",
        "lfloor": "⌊", "LOWAST": "∗", "lowast": "∗", "LOZ": "◊", "loz": "◊", "LRM": "\u{200E}",
        "lrm": "\u{200E}", "LSAQUO": "‹", "lsaquo": "‹", "LSQUO": "‘", "lsquo": "‘", "LT": "<", "Lt": "≪",
        "lt": "<", "MACR": "¯", "macr": "¯", "MDASH": "—", "mdash": "—", "MICRO": "Μ", "micro": "µ",
        "MIDDOT": "·", "middot": "·", "MINUS": "−", "minus": "−", "MU": "Μ", "Mu": "Μ", "mu": "μ", "NABLA": "∇",
        "nabla": "∇", "NBSP": "\u{A0}", "nbsp": "\u{A0}", "NDASH": "–", "ndash": "–", "NE": "≠", "ne": "≠",
        "NI": "∋", "ni": "∋", "NOT": "¬", "Not": "⫬", "not": "¬", "NOTIN": "∉", "notin": "∉", "NSUB": "⊄",
        "nsub": "⊄", "NTILDE": "Ñ", "Ntilde": "Ñ", "ntilde": "ñ", "NU": "Ν", "Nu": "Ν", "nu": "ν", "OACUTE": "Ó",
        "Oacute": "Ó", "oacute": "ó", "OCIRC": "Ô", "Ocirc": "Ô", "ocirc": "ô", "OELIG": "Œ", "OElig": "Œ",
        "oelig": "œ", "OGRAVE": "Ò", "Ograve": "Ò", "ograve": "ò", "OLINE": "‾", "oline": "‾", "OMEGA": "Ω",
        "Omega": "Ω", "omega": "ω", "OMICRON": "Ο", "Omicron": "Ο", "omicron": "ο", "OPLUS": "⊕", "oplus": "⊕",
        "OR": "∨", "Or": "⩔", "or": "∨", "ORDF": "ª", "ordf": "ª", "ORDM": "º", "ordm": "º", "OSLASH": "Ø",
        "Oslash": "Ø", "oslash": "ø", "OTILDE": "Õ", "Otilde": "Õ", "otilde": "õ", "OTIMES": "⊗", "Otimes": "⨷",
        "otimes": "⊗", "OUML": "Ö", "Ouml": "Ö", "ouml": "ö", "PARA": "¶", "para": "¶", "PART": "∂", "part": "∂",
        "PERMIL": "‰", "permil": "‰", "PERP": "⊥", "perp": "⊥", "PHI": "Φ", "Phi": "Φ", "phi": "φ", "PI": "Π",
        "Pi": "Π", "pi": "π", "PIV": "Π", "piv": "ϖ", "PLUSMN": "±", "plusmn": "±", "POUND": "£", "pound": "£",
        "PRIME": "′", "Prime": "″", "prime": "′", "PROD": "∏", "prod": "∏", "PROP": "∝", "prop": "∝", "PSI": "Ψ",
        "Psi": "Ψ", "psi": "ψ", "QUOT": "\"", "quot": "\"", "RADIC": "√", "radic": "√", "RANG": "⟩", "Rang": "⟫",
        "rang": "⟩", "RAQUO": "»", "raquo": "»", "RARR": "→", "Rarr": "↠", "rArr": "⇒", "rarr": "→",
        "RCEIL": "⌉", "rceil": "⌉", "RDQUO": "”", "rdquo": "”", "REAL": "ℜ", "real": "ℜ", "REG": "®", "reg": "®",
        "RFLOOR": "⌋", "rfloor": "⌋", "RHO": "Ρ", "Rho": "Ρ", "rho": "ρ", "RLM": "\u{200F}", "rlm": "\u{200F}",
        "RSAQUO": "›", "rsaquo": "›", "RSQUO": "’", "rsquo": "’", "SBQUO": "‚", "sbquo": "‚", "SCARON": "Š",
        "Scaron": "Š", "scaron": "š", "SDOT": "⋅", "sdot": "⋅", "SECT": "§", "sect": "§", "SHY": "\u{AD}",
        "shy": "\u{AD}", "SIGMA": "Σ", "Sigma": "Σ", "sigma": "σ", "SIGMAF": "Σ", "sigmaf": "ς", "SIM": "∼",
        "sim": "∼", "SPADES": "♠", "spades": "♠", "SUB": "⊂", "Sub": "⋐", "sub": "⊂", "SUBE": "⊆", "subE": "⫅",
        "sube": "⊆", "SUM": "∑", "Sum": "∑", "sum": "∑", "SUP": "⊃", "Sup": "⋑", "sup": "⊃", "SUP1": "¹",
        "sup1": "¹", "SUP2": "²", "sup2": "²", "SUP3": "³", "sup3": "³", "SUPE": "⊇", "supE": "⫆", "supe": "⊇",
        "SZLIG": "SS", "szlig": "ß", "TAU": "Τ", "Tau": "Τ", "tau": "τ", "THERE4": "∴", "there4": "∴",
        "THETA": "Θ", "Theta": "Θ", "theta": "θ", "THETASYM": "Θ", "thetasym": "ϑ", "THINSP": "\u{2009}",
        "thinsp": "\u{2009}", "THORN": "Þ", "thorn": "þ", "TILDE": "˜", "Tilde": "∼", "tilde": "˜", "TIMES": "×",
        "times": "×", "TRADE": "™", "trade": "™", "UACUTE": "Ú", "Uacute": "Ú", "uacute": "ú", "UARR": "↑",
        "Uarr": "↟", "uArr": "⇑", "uarr": "↑", "UCIRC": "Û", "Ucirc": "Û", "ucirc": "û", "UGRAVE": "Ù",
        "Ugrave": "Ù", "ugrave": "ù", "UML": "¨", "uml": "¨", "UPSIH": "ϒ", "upsih": "ϒ", "UPSILON": "Υ",
        "Upsilon": "Υ", "upsilon": "υ", "UUML": "Ü", "Uuml": "Ü", "uuml": "ü", "WEIERP": "℘", "weierp": "℘",
        "XI": "Ξ", "Xi": "Ξ", "xi": "ξ", "YACUTE": "Ý", "Yacute": "Ý", "yacute": "ý", "YEN": "¥", "yen": "¥",
        "YUML": "Ÿ", "Yuml": "Ÿ", "yuml": "ÿ", "ZETA": "Ζ", "Zeta": "Ζ", "zeta": "ζ", "ZWJ": "\u{200D}",
        "zwj": "\u{200D}", "ZWNJ": "\u{200C}", "zwnj": "\u{200C}",
    ]
}
