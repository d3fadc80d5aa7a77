import Foundation
import TestSupport
import XCTest

@testable import CLIP

/// Crafted safetensors headers and tokenizer files: checked arithmetic, typed errors naming the
/// file (and the tensor), never a wrapped count or an out-of-range id.
final class HostileInputTests: XCTestCase {
    let path = "/models/crafted/model.safetensors"

    func safetensors(_ header: String, payload: Data = Data(), declaredLength: UInt64? = nil) -> Data {
        var d = Data()
        withUnsafeBytes(of: (declaredLength ?? UInt64(header.utf8.count)).littleEndian) { d.append(contentsOf: $0) }
        d.append(Data(header.utf8))
        d.append(payload)
        return d
    }

    func weightsError(_ bytes: Data, file: StaticString = #filePath, line: UInt = #line) -> WeightsError? {
        do {
            _ = try SafeTensorsFile(data: bytes, path: path)
            XCTFail("accepted", file: file, line: line)
            return nil
        } catch let e as WeightsError {
            XCTAssertTrue(e.description.contains(path), "names the file: \(e)", file: file, line: line)
            return e
        } catch {
            XCTFail("not a WeightsError: \(error)", file: file, line: line)
            return nil
        }
    }

    func testShapeProductsThatOverflowAreRefused() {
        // 2^32 x 2^32 x 2 wraps to 0 elements (0 bytes, matching [0, 0]) without the check.
        let wrap = #"{"t":{"dtype":"F32","shape":[4294967296,4294967296,2],"data_offsets":[0,0]}}"#
        guard case .badTensor(_, "t", let r)? = weightsError(safetensors(wrap)) else { return XCTFail() }
        XCTAssertTrue(r.contains("more elements"), r)
        // 2^62 elements fit; their 2^64 bytes wrap to 0.
        let bytes = #"{"t":{"dtype":"F32","shape":[2147483648,2147483648],"data_offsets":[0,0]}}"#
        guard case .badTensor(_, "t", let r2)? = weightsError(safetensors(bytes)) else { return XCTFail() }
        XCTAssertTrue(r2.contains("more than 2^63"), r2)
    }

    func testNumbersMustBeExactIntegers() {
        for shape in ["[1.5]", "[1e300]", "[-1]", #"["4"]"#] {
            let h = #"{"t":{"dtype":"U8","shape":\#(shape),"data_offsets":[0,1]}}"#
            guard case .badTensor(_, "t", _)? = weightsError(safetensors(h, payload: Data([7]))) else {
                return XCTFail(shape)
            }
        }
        let offsets = #"{"t":{"dtype":"U8","shape":[1],"data_offsets":[0.5,1.5]}}"#
        guard case .badTensor? = weightsError(safetensors(offsets, payload: Data([7, 7]))) else { return XCTFail() }
    }

    func testOverlappingTensorsAreRefused() {
        // Two tensors aliasing the same bytes: one would read the other's data.
        let h =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
        guard case .badTensor(_, let t, let r)? = weightsError(safetensors(h, payload: Data(count: 12))) else {
            return XCTFail()
        }
        XCTAssertEqual(t, "b")
        XCTAssertTrue(r.contains("overlap tensor 'a'"), r)
        // Adjacent and empty tensors are fine.
        let ok =
            #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]},"e":{"dtype":"F32","shape":[0],"data_offsets":[4,4]}}"#
        XCTAssertNoThrow(try SafeTensorsFile(data: safetensors(ok, payload: Data(count: 12)), path: path))
    }

    func testHeaderSizeAndNestingAreBounded() {
        guard
            case .badHeader? = weightsError(
                safetensors("{}", declaredLength: UInt64(SafeTensorsFile.maxHeaderBytes) + 1))
        else { return XCTFail() }
        let deep = "{\"t\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}"
        guard case .badHeader? = weightsError(safetensors(deep)) else { return XCTFail() }
        XCTAssertEqual(SafeTensorsFile.nestingDepth(Data(#"{"a":"[[[\"[","b":[[1]]}"#.utf8)), 3)
    }

    // MARK: Tokenizer files

    /// The 515-token vocabulary of TokenizerTests, with `edit` applied to token -> id.
    func vocabulary(_ edit: (inout [String: Int]) -> Void = { _ in }) throws -> Data {
        var tokens = ByteEncoder.scalars.map { String(Character($0)) }
        tokens += tokens.map { $0 + "</w>" }
        tokens += ["th", "<|startoftext|>", "<|endoftext|>"]
        var object = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        edit(&object)
        return try JSONSerialization.data(withJSONObject: object)
    }

    let vocabURL = URL(fileURLWithPath: "/models/crafted/vocab.json")
    let mergesURL = URL(fileURLWithPath: "/models/crafted/merges.txt")
    let merges = Data("#version: 0.2\nt h\n".utf8)

    func vocabError(_ vocab: Data, file: StaticString = #filePath, line: UInt = #line) -> String? {
        do {
            _ = try BPEModel(vocab: vocab, vocabURL: vocabURL, merges: merges, mergesURL: mergesURL)
            return nil
        } catch let e as TokenizerError {
            XCTAssertTrue(e.description.contains(vocabURL.path), "names the file: \(e)", file: file, line: line)
            guard case .invalidVocabulary = e else {
                XCTFail("\(e)", file: file, line: line)
                return nil
            }
            return e.description
        } catch {
            XCTFail("\(error)", file: file, line: line)
            return nil
        }
    }

    func testVocabularyIdsMustIndexTheEmbeddingRows() throws {
        XCTAssertNil(vocabError(try vocabulary()))
        // An id past the vocabulary's size would index past the text tower's embedding table.
        let far = try XCTUnwrap(vocabError(try vocabulary { $0["th"] = 1_000_000 }))
        XCTAssertTrue(far.contains("\"th\" has id 1000000, outside 0..<515"), far)
        let shared = try XCTUnwrap(vocabError(try vocabulary { $0["th"] = 0 }))
        XCTAssertTrue(shared.contains("share id 0"), shared)
        XCTAssertNotNil(vocabError(try vocabulary { $0["th"] = -3 }))
        XCTAssertNotNil(vocabError(Data(#"{"a": 4294967296}"#.utf8)), "ids beyond Int32")
        XCTAssertNotNil(
            vocabError(Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8)),
            "deep nesting")
    }

    func testTokenizerFilesAreBoundedAndUTF8() throws {
        let dir = try TempDirectory.make("tok")
        defer { TempDirectory.remove(dir) }
        let vocab = dir.appendingPathComponent("vocab.json")
        let mergesFile = dir.appendingPathComponent("merges.txt")
        try vocabulary().write(to: vocab)
        try merges.write(to: mergesFile)
        XCTAssertNoThrow(try CLIPTokenizer(vocabURL: vocab, mergesURL: mergesFile))
        // Too large to read: refused from its size, before reading it.
        FileManager.default.createFile(atPath: mergesFile.path, contents: nil)
        let h = try FileHandle(forWritingTo: mergesFile)
        try h.truncate(atOffset: UInt64(BPEModel.maxFileBytes) + 1)
        try h.close()
        XCTAssertThrowsError(try CLIPTokenizer(vocabURL: vocab, mergesURL: mergesFile)) { e in
            guard case .unreadableFile(let u, let r)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertEqual(u, mergesFile)
            XCTAssertTrue(r.contains("more than a tokenizer file may have"), r)
        }
        try Data([0x23, 0x76, 0xff, 0xfe, 0x0a]).write(to: mergesFile)
        XCTAssertThrowsError(try CLIPTokenizer(vocabURL: vocab, mergesURL: mergesFile)) { e in
            guard case .unreadableFile(_, let r)? = e as? TokenizerError else { return XCTFail("\(e)") }
            XCTAssertTrue(r.contains("UTF-8"), r)
        }
    }
}
