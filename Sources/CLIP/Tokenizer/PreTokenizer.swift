/// Splits normalized text into the words BPE runs on, exactly as Hugging Face's
/// `re.findall` with this `regex`-module pattern, compiled with IGNORECASE:
///
///     <\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
///
/// A hand-written scanner over scalars instead of a Regex: it is several times faster and
/// makes the corner cases of that pattern explicit:
/// - alternatives are tried in order at each position, so a run of punctuation swallows a
///   following apostrophe ("?'s" -> "?'", "s"), while a word stops before one;
/// - a digit is always a word of its own ("2024" -> "2", "0", "2", "4");
/// - whitespace matches nothing and is skipped;
/// - IGNORECASE lets "ſ" (U+017F, long s, which case-folds to "s") stand for "s" in the
///   literal alternatives ("<|ſtartoftext|>", "'ſ"); and U+0345 (combining ypogegrammeni,
///   which folds to "ι") matches none of the classes under it, so it is dropped like a space.
/// Letters are \p{L} (Lu Ll Lt Lm Lo), numbers \p{N} (Nd Nl No), spaces White_Space.
enum PreTokenizer {
    enum Piece: Equatable {
        /// The exact text `<|startoftext|>`, which BPE maps to the special token.
        case startOfText
        /// The exact text `<|endoftext|>`.
        case endOfText
        /// Any other match: these scalars of the input.
        case word(Range<Int>)
    }

    private enum CharClass { case letter, number, other, skip }

    static func split(_ text: [Unicode.Scalar], _ emit: (Piece) -> Void) {
        let n = text.count
        var i = 0
        while i < n {
            let s = text[i]
            if s == "<" {
                if let (length, exact) = matchLiteral(text, at: i, "<|startoftext|>") {
                    emit(exact ? .startOfText : .word(i..<(i + length)))
                    i += length
                    continue
                }
                if let (length, exact) = matchLiteral(text, at: i, "<|endoftext|>") {
                    emit(exact ? .endOfText : .word(i..<(i + length)))
                    i += length
                    continue
                }
            } else if s == "'" {
                if let length = matchContraction(text, at: i) {
                    emit(.word(i..<(i + length)))
                    i += length
                    continue
                }
            }
            let kind = charClass(s)
            switch kind {
            case .skip:
                i += 1
            case .number:
                emit(.word(i..<(i + 1)))
                i += 1
            case .letter, .other:
                var j = i + 1
                while j < n, charClass(text[j]) == kind { j += 1 }
                emit(.word(i..<j))
                i = j
            }
        }
    }

    /// Matches `literal` (ASCII) at `i`, with "ſ" accepted for "s". Returns the length and
    /// whether the match is exact.
    private static func matchLiteral(_ text: [Unicode.Scalar], at i: Int, _ literal: StaticString)
        -> (Int, Bool)?
    {
        let count = literal.utf8CodeUnitCount
        guard i + count <= text.count else { return nil }
        var exact = true
        return literal.withUTF8Buffer { bytes -> (Int, Bool)? in
            for k in 0..<count {
                let expected = UInt32(bytes[k])
                let actual = text[i + k].value
                if actual == expected { continue }
                if expected == 0x73, actual == 0x17F {
                    exact = false
                    continue
                }
                return nil
            }
            return (count, exact)
        }
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d` at `i` (which holds "'"); returns the match length.
    private static func matchContraction(_ text: [Unicode.Scalar], at i: Int) -> Int? {
        guard i + 1 < text.count else { return nil }
        let next = text[i + 1].value
        switch next {
        case 0x73, 0x17F, 0x74, 0x6D, 0x64:  // s ſ t m d
            return 2
        case 0x72, 0x76:  // r v -> 're 've
            return i + 2 < text.count && text[i + 2] == "e" ? 3 : nil
        case 0x6C:  // l -> 'll
            return i + 2 < text.count && text[i + 2] == "l" ? 3 : nil
        default:
            return nil
        }
    }

    @inline(__always)
    private static func charClass(_ s: Unicode.Scalar) -> CharClass {
        let v = s.value
        if v < 0x80 {
            switch v {
            case 0x41...0x5A, 0x61...0x7A: return .letter
            case 0x30...0x39: return .number
            case 0x09...0x0D, 0x20: return .skip
            default: return .other
            }
        }
        if v == 0x345 { return .skip }
        let properties = s.properties
        if properties.isWhitespace { return .skip }
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            return .letter
        case .decimalNumber, .letterNumber, .otherNumber:
            return .number
        default:
            return .other
        }
    }
}
