import CLIP
import Foundation
import ResidualStore
import Store
import TestSupport
import XCTest

/// The library binds its store to the weights and to how they are read: the same
/// model.safetensors with a config.json that changes the activation is another model.
final class ModelConfigBindingTests: XCTestCase {
    func testSameWeightsWithAnotherActivationCannotOpenTheStore() throws {
        let fixture = TestPaths.tinyCLIP
        let dir = try TempDirectory.make("binding")
        defer { TempDirectory.remove(dir) }
        let other = dir.appendingPathComponent("tiny-quick")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        for name in ["model.safetensors", "vocab.json", "merges.txt"] {
            try FileManager.default.copyItem(
                at: fixture.appendingPathComponent(name), to: other.appendingPathComponent(name))
        }
        let config = try String(contentsOf: fixture.appendingPathComponent("config.json"), encoding: .utf8)
        XCTAssertTrue(config.contains(#""hidden_act": "gelu""#))
        try config.replacingOccurrences(of: #""hidden_act": "gelu""#, with: #""hidden_act": "quick_gelu""#)
            .write(to: other.appendingPathComponent("config.json"), atomically: true, encoding: .utf8)

        let store = dir.appendingPathComponent("lib.rstore")
        let model = try TinyCLIP.model.get()
        let quick = try CLIPModel(directory: other)
        XCTAssertEqual(model.weightsSHA256, quick.weightsSHA256, "the same weights")
        _ = try Library(store: store, model: model)
        XCTAssertThrowsError(try Library(store: store, model: quick)) { e in
            guard case .configMismatch(let p, _, _, _, let diff)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(p, store.path)
            XCTAssertEqual(diff, [#"vision.activation: "gelu" -> "quick_gelu""#])
        }
        XCTAssertNoThrow(try Library(store: store, model: model), "the store's own model still opens it")
    }
}
