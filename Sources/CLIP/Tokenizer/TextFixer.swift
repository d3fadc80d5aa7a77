import Foundation

/// The part of `ftfy.fix_text` (ftfy 6.3.1, default config) that Hugging Face's CLIPTokenizer
/// runs on every text before BPE. The CLIP models were trained on ftfy-fixed captions, so a
/// prompt must be fixed the same way to get the same ids.
///
/// Done, in ftfy's order, repeated until the text stops changing (as `fix_and_explain` does),
/// per line (ftfy fixes each "\n"-terminated segment on its own):
/// - `unescape_html` (see `HTMLEntities`), skipped from the first line containing "<" on
///   (ftfy's "auto" mode switches it off for that line and, as implemented, all later ones);
/// - `fix_c1_controls`: U+0080-U+009F read as Windows-1252 ("\u{93}" -> "\u{201C}");
/// - `fix_latin_ligatures`: "ﬁ" -> "fi", "Ǆ" -> "DŽ", ...;
/// - `fix_character_width`: fullwidth ASCII and halfwidth katakana/hangul to normal width
///   (U+FF01-U+FFEF by NFKC), U+3000 -> " ";
/// - `uncurl_quotes`: U+02BC, U+2018-U+201B -> "'", U+201C-U+201F -> "\"";
/// - `fix_line_breaks`: CRLF, CR, U+2028, U+2029, U+0085 -> "\n";
/// - `remove_terminal_escapes`: ANSI `ESC [ (digits|;)* letter` sequences;
/// - `remove_control_chars`: U+0000-0008, 000B, 000E-001F, 007F, 206A-206F, FEFF, FFF9-FFFC;
/// - NFC normalization.
///
/// Not done:
/// - `fix_encoding` (mojibake repair such as "Ã©" -> "é", with `restore_byte_a0`,
///   `replace_lossy_sequences`, `decode_inconsistent_utf8`): ftfy leaves text alone unless
///   its "badness" heuristic fires, which it does not for ordinary text in any script; the
///   heuristic and codec tables are large and only matter for already-corrupted input.
/// - `fix_surrogates`: a Swift String cannot hold unpaired surrogates.
/// - `max_decode_length` (1 000 000-character segments): prompts are far shorter.
enum TextFixer {
    /// `ftfy.fix_text(text)` with the steps listed on the type.
    static func fixText(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        if isTriviallyClean(text) { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var unescapeHTML = true
        var start = 0
        while start < text.count {
            var end = start
            while end < text.count, text[end] != "\n" { end += 1 }
            if end < text.count { end += 1 }  // the segment keeps its "\n"
            var segment = Array(text[start..<end])
            if unescapeHTML, segment.contains("<") { unescapeHTML = false }
            segment = fixSegment(segment, unescapeHTML: unescapeHTML)
            out.append(contentsOf: segment)
            start = end
        }
        return out
    }

    /// Printable ASCII, tab, newline and form feed without "&": no step changes it.
    private static func isTriviallyClean(_ text: [Unicode.Scalar]) -> Bool {
        for s in text {
            switch s.value {
            case 0x26: return false  // "&"
            case 0x20...0x7E, 0x09, 0x0A, 0x0C: continue
            default: return false
            }
        }
        return true
    }

    /// ftfy's `fix_and_explain` loop for one segment.
    private static func fixSegment(_ segment: [Unicode.Scalar], unescapeHTML: Bool) -> [Unicode.Scalar] {
        var text = segment
        // ftfy loops until nothing changes; a fixed point is reached within a few rounds.
        for _ in 0..<100 {
            let original = text
            if unescapeHTML { text = HTMLEntities.unescape(text) }
            text = fixC1Controls(text)
            text = fixLatinLigatures(text)
            text = fixCharacterWidth(text)
            text = uncurlQuotes(text)
            text = fixLineBreaks(text)
            text = removeTerminalEscapes(text)
            text = removeControlChars(text)
            text = nfc(text)
            if text == original { break }
        }
        return text
    }

    // MARK: - The individual fixes

    /// Windows-1252 meaning of a C1 control (U+0080-U+009F); the five bytes Windows-1252
    /// leaves undefined stay as they are (ftfy's "sloppy" codec, and HTML5's charref table).
    static func windows1252(_ value: UInt32) -> Unicode.Scalar {
        let table: [UInt32] = [
            0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
            0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x8D, 0x017D, 0x8F,
            0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
            0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
        ]
        return Unicode.Scalar(table[Int(value - 0x80)])!
    }

    static func fixC1Controls(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { (0x80...0x9F).contains($0.value) }) else { return text }
        return text.map { (0x80...0x9F).contains($0.value) ? windows1252($0.value) : $0 }
    }

    private static let ligatures: [Unicode.Scalar: String] = [
        "\u{0132}": "IJ", "\u{0133}": "ij", "\u{0149}": "\u{02BC}n",
        "\u{01F1}": "DZ", "\u{01F2}": "Dz", "\u{01F3}": "dz",
        "\u{01C4}": "D\u{017D}", "\u{01C5}": "D\u{017E}", "\u{01C6}": "d\u{017E}",
        "\u{01C7}": "LJ", "\u{01C8}": "Lj", "\u{01C9}": "lj",
        "\u{01CA}": "NJ", "\u{01CB}": "Nj", "\u{01CC}": "nj",
        "\u{FB00}": "ff", "\u{FB01}": "fi", "\u{FB02}": "fl", "\u{FB03}": "ffi",
        "\u{FB04}": "ffl", "\u{FB05}": "\u{017F}t", "\u{FB06}": "st",
    ]

    static func fixLatinLigatures(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { ligatures[$0] != nil }) else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count + 4)
        for s in text {
            if let r = ligatures[s] { out.append(contentsOf: r.unicodeScalars) } else { out.append(s) }
        }
        return out
    }

    /// U+FF01...U+FFEF -> NFKC form where it differs (ftfy builds its WIDTH_MAP the same way).
    private static let widthMap: [Unicode.Scalar: [Unicode.Scalar]] = {
        var map: [Unicode.Scalar: [Unicode.Scalar]] = ["\u{3000}": [" "]]
        for v in UInt32(0xFF01)..<0xFFF0 {
            guard let s = Unicode.Scalar(v) else { continue }
            let original = String(Character(s))
            let folded = original.precomposedStringWithCompatibilityMapping
            if !folded.unicodeScalars.elementsEqual(original.unicodeScalars) {
                map[s] = Array(folded.unicodeScalars)
            }
        }
        return map
    }()

    static func fixCharacterWidth(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        func wide(_ s: Unicode.Scalar) -> Bool { s.value == 0x3000 || (0xFF01...0xFFEF).contains(s.value) }
        guard text.contains(where: wide) else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        for s in text {
            if wide(s), let r = widthMap[s] { out.append(contentsOf: r) } else { out.append(s) }
        }
        return out
    }

    static func uncurlQuotes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        func curly(_ s: Unicode.Scalar) -> Bool { s.value == 0x02BC || (0x2018...0x201F).contains(s.value) }
        guard text.contains(where: curly) else { return text }
        return text.map { s in
            switch s.value {
            case 0x02BC, 0x2018...0x201B: return "'"
            case 0x201C...0x201F: return "\""
            default: return s
            }
        }
    }

    static func fixLineBreaks(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        func lineBreak(_ s: Unicode.Scalar) -> Bool {
            s == "\r" || s == "\u{2028}" || s == "\u{2029}" || s == "\u{85}"
        }
        guard text.contains(where: lineBreak) else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            let s = text[i]
            if s == "\r", i + 1 < text.count, text[i + 1] == "\n" {
                out.append("\n")
                i += 2
                continue
            }
            out.append(lineBreak(s) ? "\n" : s)
            i += 1
        }
        return out
    }

    /// Removes `ESC [ ((\d|;)*) [a-zA-Z]` (Python `\d`: any decimal digit, Nd).
    static func removeTerminalEscapes(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains("\u{1B}") else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if text[i] == "\u{1B}", i + 1 < text.count, text[i + 1] == "[" {
                var j = i + 2
                while j < text.count, text[j] == ";" || text[j].properties.generalCategory == .decimalNumber {
                    j += 1
                }
                if j < text.count, (0x41...0x5A).contains(text[j].value) || (0x61...0x7A).contains(text[j].value) {
                    i = j + 1
                    continue
                }
            }
            out.append(text[i])
            i += 1
        }
        return out
    }

    static func isRemovedControl(_ s: Unicode.Scalar) -> Bool {
        switch s.value {
        case 0x00...0x08, 0x0B, 0x0E...0x1F, 0x7F, 0x206A...0x206F, 0xFEFF, 0xFFF9...0xFFFC: return true
        default: return false
        }
    }

    static func removeControlChars(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: isRemovedControl) else { return text }
        return text.filter { !isRemovedControl($0) }
    }

    /// NFC. Text below U+0300 (no combining marks, no composition candidates) is already NFC.
    static func nfc(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        guard text.contains(where: { $0.value >= 0x300 }) else { return text }
        var string = ""
        string.unicodeScalars.append(contentsOf: text)
        return composeHangulLVT(Array(string.precomposedStringWithCanonicalMapping.unicodeScalars))
    }

    /// Foundation's NFC on Linux (swift 6.3) leaves a precomposed LV syllable followed by a
    /// trailing jamo apart ("다" + U+11B5 stays two scalars; Python gives "닲"). Halfwidth
    /// Hangul letters become such jamo in `fixCharacterWidth`, so finish the composition:
    /// Unicode's arithmetic Hangul rule, LV + T -> LVT (T has combining class 0, so only an
    /// adjacent pair composes).
    static func composeHangulLVT(_ text: [Unicode.Scalar]) -> [Unicode.Scalar] {
        let sBase: UInt32 = 0xAC00
        let tBase: UInt32 = 0x11A7
        let tCount: UInt32 = 28
        let sCount: UInt32 = 11172
        func isLV(_ s: Unicode.Scalar) -> Bool {
            s.value >= sBase && s.value < sBase + sCount && (s.value - sBase) % tCount == 0
        }
        func isT(_ s: Unicode.Scalar) -> Bool { s.value > tBase && s.value < tBase + tCount }
        guard text.indices.dropLast().contains(where: { isLV(text[$0]) && isT(text[$0 + 1]) }) else { return text }
        var out: [Unicode.Scalar] = []
        out.reserveCapacity(text.count)
        var i = 0
        while i < text.count {
            if i + 1 < text.count, isLV(text[i]), isT(text[i + 1]) {
                out.append(Unicode.Scalar(text[i].value + text[i + 1].value - tBase)!)
                i += 2
            } else {
                out.append(text[i])
                i += 1
            }
        }
        return out
    }
}
