import Foundation
import XCTest

@testable import CLIP

/// The Swift tokenizer against ids recorded from Hugging Face's slow CLIPTokenizer + ftfy
/// (Tools/fixtures/make_tokenizer_fixture.py). The fixture vocabulary is the real CLIP BPE
/// cut to its first 2 000 merges; set RSTORE_FULL_VOCAB to a folder written with the
/// script's `--full DIR` to also check the full 49 408-token vocabulary.
final class TokenizerTests: XCTestCase {
    struct Fixture: Decodable {
        struct Meta: Decodable {
            let vocab_size: Int
            let full_vocab_size: Int
            let start_token: Int32
            let end_token: Int32
            let full_start_token: Int32
            let full_end_token: Int32
        }

        struct Case: Decodable {
            let name: String
            let text: String
            let ids: [Int32]
            let encoded: [Int32]
            let full_ids: [Int32]
            let full_encoded: [Int32]
        }

        let meta: Meta
        let cases: [Case]
    }

    static let fixtureDirectory: URL = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!
        .appendingPathComponent("tokenizer")

    static let fixture: Fixture = {
        let data = try! Data(contentsOf: fixtureDirectory.appendingPathComponent("cases.json"))
        return try! JSONDecoder().decode(Fixture.self, from: data)
    }()

    private func loadFixtureTokenizer() throws -> CLIPTokenizer {
        try CLIPTokenizer(directory: Self.fixtureDirectory)
    }

    // MARK: - Ids

    func testFixtureVocabulary() throws {
        let tokenizer = try loadFixtureTokenizer()
        let meta = Self.fixture.meta
        XCTAssertEqual(tokenizer.vocabularySize, meta.vocab_size)
        XCTAssertEqual(tokenizer.vocabularySize, 2514)
        XCTAssertEqual(tokenizer.startToken, meta.start_token)
        XCTAssertEqual(tokenizer.endToken, meta.end_token)
        XCTAssertGreaterThanOrEqual(Self.fixture.cases.count, 60)
    }

    func testIdsMatchHuggingFace() throws {
        let tokenizer = try loadFixtureTokenizer()
        check(tokenizer, encoded: \.encoded, ids: \.ids)
    }

    func testIdsMatchHuggingFaceWithFullVocabulary() throws {
        guard let path = ProcessInfo.processInfo.environment["RSTORE_FULL_VOCAB"], !path.isEmpty else {
            throw XCTSkip("set RSTORE_FULL_VOCAB to a folder made by make_tokenizer_fixture.py --full DIR")
        }
        let tokenizer = try CLIPTokenizer(directory: URL(fileURLWithPath: path))
        XCTAssertEqual(tokenizer.vocabularySize, Self.fixture.meta.full_vocab_size)
        XCTAssertEqual(tokenizer.startToken, Self.fixture.meta.full_start_token)
        XCTAssertEqual(tokenizer.endToken, Self.fixture.meta.full_end_token)
        XCTAssertEqual(tokenizer.tokenize("a photo of a cat").ids, [49406, 320, 1125, 539, 320, 2368, 49407])
        check(tokenizer, encoded: \.full_encoded, ids: \.full_ids)
    }

    private func check(
        _ tokenizer: CLIPTokenizer, encoded: KeyPath<Fixture.Case, [Int32]>, ids: KeyPath<Fixture.Case, [Int32]>
    ) {
        for item in Self.fixture.cases {
            let expectedEncoded = item[keyPath: encoded]
            let expectedIds = item[keyPath: ids]
            XCTAssertEqual(tokenizer.encode(item.text), expectedEncoded, "encode: \(item.name)")
            let tokenized = tokenizer.tokenize(item.text)
            XCTAssertEqual(tokenized.ids, expectedIds, "tokenize: \(item.name)")
            XCTAssertEqual(
                tokenized.truncated, expectedEncoded.count > CLIPTokenizer.contextLength - 2,
                "truncated: \(item.name)")
        }
    }

    func testTruncationKeepsEndToken() throws {
        let tokenizer = try loadFixtureTokenizer()
        let fits = tokenizer.tokenize(Array(repeating: "dog", count: 75).joined(separator: " "))
        XCTAssertFalse(fits.truncated)
        XCTAssertEqual(fits.ids.count, CLIPTokenizer.contextLength)

        let cut = tokenizer.tokenize(Array(repeating: "dog", count: 76).joined(separator: " "))
        XCTAssertTrue(cut.truncated)
        XCTAssertEqual(cut.ids.count, CLIPTokenizer.contextLength)
        XCTAssertEqual(cut.ids.first, tokenizer.startToken)
        XCTAssertEqual(cut.ids.last, tokenizer.endToken)

        let empty = tokenizer.tokenize("")
        XCTAssertEqual(empty, TokenizedText(ids: [tokenizer.startToken, tokenizer.endToken], truncated: false))
    }

    func testDecodeRoundTripsPlainText() throws {
        let tokenizer = try loadFixtureTokenizer()
        XCTAssertEqual(tokenizer.decode(tokenizer.encode("A photo of a café, 3 dogs!")), "a photo of a café , 3 dogs !")
    }

    func testTokenizingThousandsOfPromptsIsFast() throws {
        let tokenizer = try loadFixtureTokenizer()
        let prompts = (0..<3000).map { i in
            "a person \(i) opens the refrigerator and takes out a bottle of milk, then pours it into glass #\(i % 17)"
        }
        let start = Date()
        var total = 0
        for prompt in prompts { total += tokenizer.tokenize(prompt).ids.count }
        let seconds = Date().timeIntervalSince(start)
        XCTAssertGreaterThan(total, 3000 * 20)
        // Well under a second in release builds; generous for unoptimized test builds.
        XCTAssertLessThan(seconds, 5, "3000 prompts took \(seconds) s")
    }

    // MARK: - Errors

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("TokenizerTests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }

    /// A valid 515-token vocabulary (bytes, bytes + "</w>", "th", specials) plus `merges`.
    private func writeTokenizer(
        in directory: URL, vocabulary: String? = nil, merges: String = "#version: 0.2\nt h\n"
    ) throws {
        var tokens: [String] = []
        for s in ByteEncoder.scalars { tokens.append(String(Character(s))) }
        tokens += tokens.map { $0 + "</w>" }
        tokens += ["th", "<|startoftext|>", "<|endoftext|>"]
        let object = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        let json = try vocabulary.map { Data($0.utf8) } ?? JSONSerialization.data(withJSONObject: object)
        try json.write(to: directory.appendingPathComponent("vocab.json"))
        try Data(merges.utf8).write(to: directory.appendingPathComponent("merges.txt"))
    }

    private func loadError(_ directory: URL) -> TokenizerError? {
        do {
            _ = try CLIPTokenizer(directory: directory)
            return nil
        } catch let error as TokenizerError {
            return error
        } catch {
            XCTFail("unexpected error \(error)")
            return nil
        }
    }

    func testTemporaryTokenizerLoads() throws {
        let dir = try temporaryDirectory()
        try writeTokenizer(in: dir)
        let tokenizer = try CLIPTokenizer(directory: dir)
        XCTAssertEqual(tokenizer.vocabularySize, 515)
        XCTAssertEqual(tokenizer.encode("the"), [512, 256 + 0x65])  // "th", "e</w>" (byte order here)
    }

    func testMissingFileNamesTheFile() throws {
        let dir = try temporaryDirectory()
        guard case .missingFile(let url)? = loadError(dir) else { return XCTFail("expected missingFile") }
        XCTAssertEqual(url.lastPathComponent, "vocab.json")
        XCTAssertTrue(loadError(dir)!.description.contains(dir.appendingPathComponent("vocab.json").path))

        try writeTokenizer(in: dir)
        try FileManager.default.removeItem(at: dir.appendingPathComponent("merges.txt"))
        let error = loadError(dir)
        guard case .missingFile(let merges)? = error else { return XCTFail("expected missingFile") }
        XCTAssertEqual(merges.lastPathComponent, "merges.txt")
        XCTAssertTrue(error!.description.contains("merges.txt"))
    }

    func testMalformedMergesLineNamesFileAndLine() throws {
        let dir = try temporaryDirectory()
        try writeTokenizer(in: dir, merges: "#version: 0.2\nt h\n\nt h e\n")
        let error = loadError(dir)
        guard case .malformedMerge(let url, let line, let content)? = error else {
            return XCTFail("expected malformedMerge, got \(String(describing: error))")
        }
        XCTAssertEqual(url.lastPathComponent, "merges.txt")
        XCTAssertEqual(line, 4)
        XCTAssertEqual(content, "t h e")
        XCTAssertTrue(error!.description.contains(dir.appendingPathComponent("merges.txt").path + ":4"))
    }

    func testMergesWithoutHeaderIsAnError() throws {
        let dir = try temporaryDirectory()
        try writeTokenizer(in: dir, merges: "t h\n")
        let error = loadError(dir)
        guard case .missingMergesHeader? = error else { return XCTFail("expected missingMergesHeader") }
        XCTAssertTrue(error!.description.contains("merges.txt"))
    }

    func testMergeNotInVocabularyNamesFile() throws {
        let dir = try temporaryDirectory()
        try writeTokenizer(in: dir, merges: "#version: 0.2\nt h\nth e</w>\n")
        let error = loadError(dir)
        guard case .mergeNotInVocabulary(_, let line, let token)? = error else {
            return XCTFail("expected mergeNotInVocabulary, got \(String(describing: error))")
        }
        XCTAssertEqual(line, 3)
        XCTAssertEqual(token, "the</w>")
        XCTAssertTrue(error!.description.contains("merges.txt:3"))
    }

    func testMissingSpecialTokensNamesFile() throws {
        let dir = try temporaryDirectory()
        try writeTokenizer(
            in: dir, vocabulary: #"{"t": 0, "h": 1, "th": 2, "<|endoftext|>": 3}"#, merges: "#version: 0.2\n")
        let error = loadError(dir)
        guard case .missingSpecialTokens(let url, let missing)? = error else {
            return XCTFail("expected missingSpecialTokens, got \(String(describing: error))")
        }
        XCTAssertEqual(url.lastPathComponent, "vocab.json")
        XCTAssertEqual(missing, ["<|startoftext|>"])
        XCTAssertTrue(error!.description.contains(dir.appendingPathComponent("vocab.json").path))
    }

    func testBadVocabularyJSONNamesFile() throws {
        let dir = try temporaryDirectory()
        for bad in ["{not json", "[1, 2, 3]", #"{"a": "zero"}"#] {
            try writeTokenizer(in: dir, vocabulary: bad)
            let error = loadError(dir)
            guard case .invalidVocabulary(let url, _)? = error else {
                return XCTFail("expected invalidVocabulary for \(bad), got \(String(describing: error))")
            }
            XCTAssertEqual(url.lastPathComponent, "vocab.json")
            XCTAssertTrue(error!.description.contains("vocab.json"))
        }
    }
}
