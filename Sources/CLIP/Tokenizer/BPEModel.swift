import Foundation

/// The vocabulary and merge table of a byte-level BPE, and the merge loop itself.
///
/// Symbols are interned to integers once at load time (every string that occurs in a merge,
/// plus the 512 byte symbols), so encoding a word compares and hashes integers instead of
/// strings. Merges are still matched by string identity, as in Hugging Face's `bpe()`,
/// because equal strings get equal symbol numbers.
final class BPEModel: Sendable {
    static let startOfText = "<|startoftext|>"
    static let endOfText = "<|endoftext|>"
    /// Hugging Face reads merges.txt lines 1 ..< 49152 - 256 - 2 + 1 and ignores the rest.
    static let maxMergeLines = 49152 - 256 - 2

    struct Merge: Sendable {
        var rank: Int32
        var result: Int32
    }

    /// Token string -> id (vocab.json).
    let vocabulary: [String: Int32]
    /// Id -> token string, for decoding.
    let tokens: [Int32: String]
    /// (left symbol << 32 | right symbol) -> rank and merged symbol.
    let merges: [UInt64: Merge]
    /// Vocabulary id of each interned symbol (the unknown token's id when not in the vocabulary,
    /// as Hugging Face's `_convert_token_to_id` does).
    let symbolIDs: [Int32]
    /// Symbol of byte b inside a word, and at the end of a word ("</w>" appended).
    let byteSymbols: [Int32]
    let finalByteSymbols: [Int32]
    let startToken: Int32
    let endToken: Int32

    /// Largest vocab.json / merges.txt read (OpenAI CLIP's are 0.8 and 0.5 MB).
    static let maxFileBytes = 32 << 20
    /// Most vocabulary entries accepted (CLIP has 49,408; ids must be 0 ..< count, each once).
    static let maxVocabulary = 1 << 20

    convenience init(vocabURL: URL, mergesURL: URL) throws {
        try self.init(
            vocab: Self.readData(vocabURL), vocabURL: vocabURL, merges: Self.readData(mergesURL), mergesURL: mergesURL)
    }

    /// Builds the model from the files' bytes; the URLs only name them in errors.
    init(vocab: Data, vocabURL: URL, merges mergesData: Data, mergesURL: URL) throws {
        let vocabulary = try Self.loadVocabulary(vocab, vocabURL)
        let missing = [Self.startOfText, Self.endOfText].filter { vocabulary[$0] == nil }
        guard missing.isEmpty else { throw TokenizerError.missingSpecialTokens(vocabURL, missing: missing) }
        let startToken = vocabulary[Self.startOfText]!
        let endToken = vocabulary[Self.endOfText]!
        let unknown = endToken  // CLIP's unk_token is <|endoftext|>

        var symbolNumbers: [String: Int32] = [:]
        var symbolIDs: [Int32] = []
        func intern(_ symbol: String) -> Int32 {
            if let existing = symbolNumbers[symbol] { return existing }
            let number = Int32(symbolIDs.count)
            symbolNumbers[symbol] = number
            symbolIDs.append(vocabulary[symbol] ?? unknown)
            return number
        }
        var byteSymbols: [Int32] = []
        var finalByteSymbols: [Int32] = []
        for scalar in ByteEncoder.scalars {
            let symbol = String(Character(scalar))
            byteSymbols.append(intern(symbol))
            finalByteSymbols.append(intern(symbol + "</w>"))
        }

        var merges: [UInt64: Merge] = [:]
        try Self.forEachMerge(in: mergesData, mergesURL) { line, rank, left, right in
            let merged = left + right
            guard vocabulary[merged] != nil else {
                throw TokenizerError.mergeNotInVocabulary(mergesURL, line: line, token: merged)
            }
            let key = UInt64(UInt32(intern(left))) << 32 | UInt64(UInt32(intern(right)))
            // A repeated pair keeps its last rank, like Python's dict(zip(merges, range(...))).
            merges[key] = Merge(rank: Int32(rank), result: intern(merged))
        }

        self.vocabulary = vocabulary
        self.tokens = Dictionary(vocabulary.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })
        self.merges = merges
        self.symbolIDs = symbolIDs
        self.byteSymbols = byteSymbols
        self.finalByteSymbols = finalByteSymbols
        self.startToken = startToken
        self.endToken = endToken
    }

    // MARK: Encoding

    /// Appends the ids of one pre-tokenized word (its UTF-8 bytes) to `ids`.
    /// Hugging Face `bpe()`: the last byte carries "</w>"; then, while any adjacent pair has a
    /// merge, merge every non-overlapping occurrence (left to right) of the lowest-ranked pair.
    func encodeWord(_ bytes: [UInt8], into ids: inout [Int32]) {
        guard let lastByte = bytes.last else { return }
        var word = [Int32]()
        word.reserveCapacity(bytes.count)
        for b in bytes.dropLast() { word.append(byteSymbols[Int(b)]) }
        word.append(finalByteSymbols[Int(lastByte)])

        var scratch = [Int32]()
        scratch.reserveCapacity(word.count)
        while word.count > 1 {
            var best = Merge(rank: .max, result: 0)
            var bestLeft: Int32 = 0
            var bestRight: Int32 = 0
            for k in 0..<(word.count - 1) {
                if let merge = merges[Self.pairKey(word[k], word[k + 1])], merge.rank < best.rank {
                    best = merge
                    bestLeft = word[k]
                    bestRight = word[k + 1]
                }
            }
            if best.rank == .max { break }
            scratch.removeAll(keepingCapacity: true)
            var k = 0
            while k < word.count {
                if k + 1 < word.count, word[k] == bestLeft, word[k + 1] == bestRight {
                    scratch.append(best.result)
                    k += 2
                } else {
                    scratch.append(word[k])
                    k += 1
                }
            }
            swap(&word, &scratch)
        }
        for symbol in word { ids.append(symbolIDs[Int(symbol)]) }
    }

    @inline(__always)
    private static func pairKey(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    // MARK: Loading

    /// The file's bytes, refusing a missing, unreadable or oversized file before reading it.
    private static func readData(_ url: URL) throws -> Data {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue else {
            throw TokenizerError.missingFile(url)
        }
        do {
            let size = (try FileManager.default.attributesOfItem(atPath: url.path)[.size] as? NSNumber)?.intValue ?? 0
            guard size <= maxFileBytes else {
                throw TokenizerError.unreadableFile(
                    url, reason: "\(size) bytes, more than a tokenizer file may have (\(maxFileBytes))")
            }
            return try Data(contentsOf: url)
        } catch let error as TokenizerError {
            throw error
        } catch {
            throw TokenizerError.unreadableFile(url, reason: "\(error)")
        }
    }

    private static func text(_ data: Data, _ url: URL) throws -> String {
        guard data.count <= maxFileBytes else {
            throw TokenizerError.unreadableFile(
                url, reason: "\(data.count) bytes, more than a tokenizer file may have (\(maxFileBytes))")
        }
        guard let text = String(data: data, encoding: .utf8) else {
            throw TokenizerError.unreadableFile(url, reason: "not valid UTF-8")
        }
        return text
    }

    private static func loadVocabulary(_ data: Data, _ url: URL) throws -> [String: Int32] {
        _ = try text(data, url)
        let vocabulary: [String: Int32]
        do {
            vocabulary = try JSONDecoder().decode([String: Int32].self, from: data)
        } catch let DecodingError.dataCorrupted(context) {
            throw TokenizerError.invalidVocabulary(url, reason: context.debugDescription)
        } catch let DecodingError.typeMismatch(_, context) {
            throw TokenizerError.invalidVocabulary(
                url, reason: "expected an object of token -> integer id (\(context.debugDescription))")
        } catch {
            throw TokenizerError.invalidVocabulary(url, reason: "\(error)")
        }
        guard vocabulary.count <= maxVocabulary else {
            throw TokenizerError.invalidVocabulary(
                url, reason: "\(vocabulary.count) tokens, more than \(maxVocabulary)")
        }
        // The ids index the text tower's embedding rows: each of 0 ..< count exactly once.
        var seen = [String?](repeating: nil, count: vocabulary.count)
        for (token, id) in vocabulary {
            guard id >= 0, Int(id) < vocabulary.count else {
                throw TokenizerError.invalidVocabulary(
                    url,
                    reason:
                        """
                        token \(String(reflecting: token)) has id \(id), outside 0..<\(vocabulary.count) (the \
                        vocabulary's size)
                        """
                )
            }
            if let other = seen[Int(id)] {
                throw TokenizerError.invalidVocabulary(
                    url, reason: "tokens \(String(reflecting: other)) and \(String(reflecting: token)) share id \(id)")
            }
            seen[Int(id)] = token
        }
        return vocabulary
    }

    /// Calls `body(line number (1-based), rank, left, right)` for each merge, in file order.
    private static func forEachMerge(
        in data: Data, _ url: URL, _ body: (Int, Int, String, String) throws -> Void
    ) throws {
        let text = try text(data, url)
        // Split on "\n" scalars (a Swift Character would glue "\r\n" together).
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        func isBlank(_ line: Substring.UnicodeScalarView) -> Bool {
            line.allSatisfy(TextNormalizer.isPythonSpace)
        }
        // Like Python's `read().strip()`: leading blank lines do not count; the first
        // remaining line is the header Hugging Face skips.
        var index = 0
        while index < lines.count, isBlank(lines[index]) { index += 1 }
        guard index < lines.count, lines[index].first == "#" else {
            throw TokenizerError.missingMergesHeader(url)
        }
        let headerIndex = index
        for lineIndex in (headerIndex + 1)..<min(lines.count, headerIndex + 1 + maxMergeLines) {
            let line = lines[lineIndex]
            // Python's str.split(): runs of whitespace separate, ends are ignored.
            let parts = line.split(whereSeparator: TextNormalizer.isPythonSpace)
            if parts.isEmpty { continue }  // Hugging Face keeps an empty tuple that never matches
            guard parts.count == 2 else {
                throw TokenizerError.malformedMerge(url, line: lineIndex + 1, content: String(line))
            }
            let left = String(parts[0])
            let right = String(parts[1])
            try body(lineIndex + 1, lineIndex - headerIndex - 1, left, right)
        }
    }
}
