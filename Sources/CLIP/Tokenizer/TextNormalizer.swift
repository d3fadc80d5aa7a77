/// What Hugging Face's CLIPTokenizer does to a text before splitting it into words:
/// `whitespace_clean(ftfy.fix_text(text)).lower()`.
///
/// It works on Unicode scalars, not Swift `Character`s or `String` comparison, because the
/// reference is Python, where a string is a sequence of code points and `==` compares them
/// one by one (Swift's `String ==` would treat canonically equivalent texts as equal).
enum TextNormalizer {
    static func normalize(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        pythonLowercase(whitespaceClean(TextFixer.fixText(text)))
    }

    /// `re.sub(r"\s+", " ", text).strip()` with the `regex` module: runs of Unicode
    /// White_Space become one space; then Python's `str.strip()` removes leading and
    /// trailing `str.isspace()` characters (White_Space plus U+001C-U+001F).
    static func whitespaceClean(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var inRun = false
        for s in text {
            if isRegexSpace(s) {
                if !inRun { out.append(" ") }
                inRun = true
            } else {
                out.append(s)
                inRun = false
            }
        }
        var lower = 0
        var upper = out.count
        while lower < upper, isPythonSpace(out[lower]) { lower += 1 }
        while upper > lower, isPythonSpace(out[upper - 1]) { upper -= 1 }
        if lower == 0, upper == out.count { return out }
        return Array(out[lower..<upper])
    }

    /// `\s` of the `regex` module: the Unicode White_Space property.
    @inline(__always)
    static func isRegexSpace(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x20, 0x09...0x0D: return true
        case 0..<0x80: return false
        default: return s.properties.isWhitespace
        }
    }

    /// Python `str.isspace()`.
    static func isPythonSpace(_ s: Unicode.Scalar) -> Bool {
        (0x1C...0x1F).contains(s.value) || isRegexSpace(s)
    }

    /// Python `str.lower()`: full lowercase mappings (so "İ" -> "i̇"), plus the one
    /// context-sensitive rule CPython applies, Final_Sigma: "Σ" becomes "ς" when it ends a
    /// word ("ΟΔΟΣ" -> "οδος"), which Swift's `lowercased()` does not do.
    static func pythonLowercase(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for (i, s) in text.enumerated() {
            let v = s.value
            if v < 0x80 {
                out.append((0x41...0x5A).contains(v) ? Unicode.Scalar(v + 0x20)! : s)
            } else if v == 0x3A3 {
                out.append(isFinalSigma(text, at: i) ? "\u{3C2}" : "\u{3C3}")
            } else if s.properties.changesWhenLowercased {
                out.append(contentsOf: s.properties.lowercaseMapping.unicodeScalars)
            } else {
                out.append(s)
            }
        }
        return out
    }

    /// CPython `handle_capital_sigma`: preceded by a cased letter and not followed by one,
    /// skipping case-ignorable characters in both directions.
    private static func isFinalSigma(_ text: [Unicode.Scalar], at i: Int) -> Bool {
        var j = i - 1
        while j >= 0, text[j].properties.isCaseIgnorable { j -= 1 }
        guard j >= 0, text[j].properties.isCased else { return false }
        j = i + 1
        while j < text.count, text[j].properties.isCaseIgnorable { j += 1 }
        return j == text.count || !text[j].properties.isCased
    }
}
