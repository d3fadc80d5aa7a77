import CLIP
import Foundation
import TestSupport
import XCTest

/// Bad checkpoints fail with typed errors naming the file and the tensor, never a crash.
final class WeightsErrorTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TempDirectory.make("weights")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    private func file(_ name: String, _ bytes: Data) throws -> URL {
        let url = dir.appendingPathComponent(name)
        try bytes.write(to: url)
        return url
    }

    /// A safetensors file from a raw header and payload.
    private func safetensors(_ header: String, payload: Data, declaredLength: UInt64? = nil) -> Data {
        var d = Data()
        var n = (declaredLength ?? UInt64(header.utf8.count)).littleEndian
        withUnsafeBytes(of: &n) { d.append(contentsOf: $0) }
        d.append(Data(header.utf8))
        d.append(payload)
        return d
    }

    private func expect(_ url: URL, _ check: (WeightsError) -> Bool, file: StaticString = #filePath, line: UInt = #line)
    {
        XCTAssertThrowsError(try SafeTensorsFile(url: url).floats("t"), file: file, line: line) { error in
            guard let e = error as? WeightsError else {
                return XCTFail("not a WeightsError: \(error)", file: file, line: line)
            }
            XCTAssertTrue(check(e), "unexpected: \(e)", file: file, line: line)
            XCTAssertTrue(e.description.contains(url.path), "message must name the file: \(e)", file: file, line: line)
        }
    }

    func testMissingFile() {
        expect(dir.appendingPathComponent("nope.safetensors")) {
            if case .missingFile = $0 { return true }
            return false
        }
    }

    func testEmptyAndGarbageFiles() throws {
        expect(try file("empty.safetensors", Data())) {
            if case .badHeader = $0 { return true }
            return false
        }
        expect(try file("garbage.safetensors", Data((0..<4096).map { UInt8(truncatingIfNeeded: $0 &* 7919) }))) {
            if case .badHeader = $0 { return true }
            return false
        }
        expect(try file("notjson.safetensors", safetensors("{not json", payload: Data()))) {
            if case .badHeader(_, let r) = $0 { return r.contains("JSON") }
            return false
        }
    }

    func testTruncatedData() throws {
        let url = try file(
            "trunc.safetensors",
            safetensors(#"{"t":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#, payload: Data(count: 8)))
        expect(url) {
            if case .badTensor(_, "t", let r) = $0 { return r.contains("truncated") }
            return false
        }
    }

    func testHeaderLengthBeyondFile() throws {
        expect(try file("len.safetensors", safetensors("{}", payload: Data(), declaredLength: 1 << 40))) {
            if case .badHeader = $0 { return true }
            return false
        }
    }

    func testWrongByteCountAndDType() throws {
        expect(
            try file(
                "count.safetensors",
                safetensors(#"{"t":{"dtype":"F32","shape":[3],"data_offsets":[0,16]}}"#, payload: Data(count: 16)))
        ) {
            if case .badTensor(_, "t", _) = $0 { return true }
            return false
        }
        expect(
            try file(
                "dtype.safetensors",
                safetensors(#"{"t":{"dtype":"F8_E4M3","shape":[4],"data_offsets":[0,4]}}"#, payload: Data(count: 4)))
        ) {
            if case .unsupportedDType(_, "t", "F8_E4M3") = $0 { return true }
            return false
        }
        expect(
            try file(
                "int.safetensors",
                safetensors(#"{"t":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}}"#, payload: Data(count: 16)))
        ) {
            if case .unsupportedDType(_, "t", "I64") = $0 { return true }
            return false
        }
    }

    func testF16AndBF16AreConvertedExactly() throws {
        let values: [Float] = [0, 1, -2.5, 65504, 0.000061035156]
        var w = SafeTensorsWriter()
        w.add("h", shape: [5], values: values, asFloat16: true)
        w.add("f", shape: [5], values: values)
        let url = dir.appendingPathComponent("ok.safetensors")
        try w.write(to: url)
        let f = try SafeTensorsFile(url: url)
        XCTAssertEqual(try f.floats("h"), values)
        XCTAssertEqual(try f.floats("f", shape: [5]), values)
        // BF16: the high half of a float32.
        let bf: [UInt16] = values.map { UInt16($0.bitPattern >> 16) }
        let bytes = bf.withUnsafeBytes { Data($0) }
        let bfURL = try file(
            "bf.safetensors", safetensors(#"{"t":{"dtype":"BF16","shape":[5],"data_offsets":[0,10]}}"#, payload: bytes))
        XCTAssertEqual(
            try SafeTensorsFile(url: bfURL).floats("t"), values.map { Float(bitPattern: $0.bitPattern & 0xffff_0000) })
        XCTAssertThrowsError(try f.floats("f", shape: [2, 3])) { e in
            guard case .shapeMismatch(_, "f", [2, 3], [5]) = e as? WeightsError else { return XCTFail("\(e)") }
        }
    }

    /// Copies the tiny model, then breaks one tensor of it.
    private func brokenModel(dropping: String? = nil, reshaping: String? = nil) throws -> URL {
        let src = try SafeTensorsFile(url: Fixtures.tinyModel.appendingPathComponent("model.safetensors"))
        var w = SafeTensorsWriter()
        for (name, e) in src.entries.sorted(by: { $0.key < $1.key }) where name != dropping {
            let v = try src.floats(name)
            if name == reshaping {
                w.add(name, shape: [v.count - 1], values: Array(v.dropLast()))
            } else {
                w.add(name, shape: e.shape, values: v)
            }
        }
        let m = dir.appendingPathComponent("model")
        try FileManager.default.createDirectory(at: m, withIntermediateDirectories: true)
        try w.write(to: m.appendingPathComponent("model.safetensors"))
        for f in ["config.json", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(
                at: Fixtures.tinyModel.appendingPathComponent(f), to: m.appendingPathComponent(f))
        }
        return m
    }

    func testMissingTensorIsNamed() throws {
        let m = try brokenModel(dropping: "vision_model.encoder.layers.1.mlp.fc2.bias")
        XCTAssertThrowsError(try CLIPModel(directory: m)) { e in
            XCTAssertEqual(
                e as? WeightsError,
                .missingTensor(
                    path: m.appendingPathComponent("model.safetensors").path,
                    tensor: "vision_model.encoder.layers.1.mlp.fc2.bias"))
        }
    }

    func testShapeMismatchIsNamed() throws {
        let m = try brokenModel(reshaping: "text_model.final_layer_norm.weight")
        XCTAssertThrowsError(try CLIPModel(directory: m)) { e in
            guard case .shapeMismatch(_, "text_model.final_layer_norm.weight", [32], [31]) = e as? WeightsError else {
                return XCTFail("\(e)")
            }
        }
    }

    func testModelFolderMissing() {
        XCTAssertThrowsError(try CLIPModel(directory: dir.appendingPathComponent("absent"))) { e in
            guard case .missingFile = e as? WeightsError else { return XCTFail("\(e)") }
        }
    }

    func testTextLongerThanContextIsTruncatedAndFlagged() throws {
        let model = try CLIPModel(directory: Fixtures.tinyModel)
        let long = String(repeating: "word ", count: 500)
        let (emb, truncated) = try model.encodeTexts([long, "short"])
        XCTAssertEqual(truncated, [true, false])
        XCTAssertEqual(emb.count, 2 * model.config.embedDim)
        XCTAssertTrue(emb.allSatisfy(\.isFinite))
    }

    func testRandomCheckpointRoundTrips() throws {
        var config = CLIPConfig.standard("B/32")!
        config.vision = TowerConfig(
            width: 64, layers: 1, heads: 2, mlpWidth: 128, activation: .quickGELU, layerNormEps: 1e-5)
        config.text = TowerConfig(
            width: 32, layers: 1, heads: 2, mlpWidth: 64, activation: .quickGELU, layerNormEps: 1e-5)
        config.vocabSize = 2514
        config.embedDim = 16
        let m = dir.appendingPathComponent("random")
        try RandomCheckpoint.write(config: config, to: m, seed: 3)
        for f in ["vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(
                at: Fixtures.tinyModel.appendingPathComponent(f), to: m.appendingPathComponent(f))
        }
        let model = try CLIPModel(directory: m)
        XCTAssertEqual(model.config, config)
        XCTAssertEqual(model.weightsSHA256.count, 64)
    }
}
