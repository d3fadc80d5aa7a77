import Foundation

/// CLIP's byte-level BPE tokenizer, giving the same ids as Hugging Face `transformers`'
/// slow `CLIPTokenizer` with ftfy installed (the setup the OpenAI/HF CLIP checkpoints were
/// trained and evaluated with), so text embeddings computed here match the Python ones.
///
/// Pipeline for a text, as Hugging Face runs it:
/// 1. split on the literal special tokens `<|startoftext|>` / `<|endoftext|>` (they become
///    their ids; the pieces in between are processed separately);
/// 2. per piece: ftfy fixes (`TextFixer`), whitespace cleanup and Python-style lowercasing
///    (`TextNormalizer`);
/// 3. split into words (`PreTokenizer`);
/// 4. UTF-8 bytes of each word through BPE (`BPEModel`).
/// Known differences from Python are listed on `TextFixer` and `HTMLEntities`; besides
/// those, characters assigned after the Unicode version of the Python build may lowercase
/// differently (Swift's tables are newer).
public struct CLIPTokenizer: Sendable {
    /// Length of CLIP's text context, special tokens included.
    public static let contextLength = 77

    /// Id of `<|startoftext|>`.
    public let startToken: Int32
    /// Id of `<|endoftext|>` (also the unknown and padding token).
    public let endToken: Int32
    /// Number of entries in vocab.json (49 408 for the OpenAI CLIP models).
    public var vocabularySize: Int { model.vocabulary.count }

    private let model: BPEModel

    /// Loads `vocab.json` and `merges.txt` from a Hugging Face model folder.
    public init(directory: URL) throws {
        try self.init(
            vocabURL: directory.appendingPathComponent("vocab.json"),
            mergesURL: directory.appendingPathComponent("merges.txt"))
    }

    public init(vocabURL: URL, mergesURL: URL) throws {
        model = try BPEModel(vocabURL: vocabURL, mergesURL: mergesURL)
        startToken = model.startToken
        endToken = model.endToken
    }

    /// BPE ids of the text, without start/end tokens
    /// (`tok.encode(text, add_special_tokens=False)`).
    public func encode(_ text: String) -> [Int32] {
        let scalars = Array(text.unicodeScalars)
        var ids: [Int32] = []
        ids.reserveCapacity(scalars.count / 3 + 4)
        var chunkStart = 0
        var i = 0
        while i < scalars.count {
            if scalars[i] == "<", let (length, id) = specialToken(in: scalars, at: i) {
                encodeChunk(scalars[chunkStart..<i], into: &ids)
                ids.append(id)
                i += length
                chunkStart = i
            } else {
                i += 1
            }
        }
        encodeChunk(scalars[chunkStart..<scalars.count], into: &ids)
        return ids
    }

    /// `[SOT] + ids + [EOT]`, cut to `contextLength` as Hugging Face does with
    /// `truncation=True, max_length=77`: the text ids are cut to 75, so the last token is
    /// still EOT. Not padded.
    public func tokenize(_ text: String) -> TokenizedText {
        let body = encode(text)
        let room = Self.contextLength - 2
        var ids: [Int32] = [startToken]
        ids.reserveCapacity(min(body.count, room) + 2)
        ids.append(contentsOf: body.prefix(room))
        ids.append(endToken)
        return TokenizedText(ids: ids, truncated: body.count > room)
    }

    /// Text of the ids, for inspection: Hugging Face's `convert_tokens_to_string` (token
    /// strings joined, byte symbols back to UTF-8, "</w>" to a space, trimmed). Lossy: the
    /// ids come from normalized, lowercased text.
    public func decode(_ ids: [Int32]) -> String {
        var bytes: [UInt8] = []
        for id in ids {
            guard let token = model.tokens[id] else { continue }
            for scalar in token.unicodeScalars {
                if let b = ByteEncoder.bytes[scalar] {
                    bytes.append(b)
                } else {
                    UTF8.encode(scalar) { bytes.append($0) }
                }
            }
        }
        let text = String(decoding: bytes, as: UTF8.self).replacingOccurrences(of: "</w>", with: " ")
        return text.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    // MARK: - Private

    /// Hugging Face splits the raw text on its added tokens (a trie match, case-sensitive)
    /// before any normalization.
    private func specialToken(in scalars: [Unicode.Scalar], at i: Int) -> (Int, Int32)? {
        for (literal, id) in [(BPEModel.startOfText, startToken), (BPEModel.endOfText, endToken)] {
            let pattern = literal.unicodeScalars
            if i + pattern.count <= scalars.count, scalars[i..<(i + pattern.count)].elementsEqual(pattern) {
                return (pattern.count, id)
            }
        }
        return nil
    }

    /// `_tokenize` of one piece between special tokens.
    private func encodeChunk(_ chunk: ArraySlice<Unicode.Scalar>, into ids: inout [Int32]) {
        guard !chunk.isEmpty else { return }
        let text = TextNormalizer.normalize(Array(chunk))
        var bytes: [UInt8] = []
        PreTokenizer.split(text) { piece in
            switch piece {
            case .startOfText:
                ids.append(startToken)
            case .endOfText:
                ids.append(endToken)
            case .word(let range):
                bytes.removeAll(keepingCapacity: true)
                for k in range {
                    let v = text[k].value
                    if v < 0x80 {
                        bytes.append(UInt8(v))
                    } else {
                        UTF8.encode(text[k]) { bytes.append($0) }
                    }
                }
                model.encodeWord(bytes, into: &ids)
            }
        }
    }
}
