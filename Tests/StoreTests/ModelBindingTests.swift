import Foundation
import GRDB
import TestSupport
import XCTest

@testable import Store

/// A store is bound to its model's weights *and* to how they are read (the normalised config).
final class ModelBindingTests: XCTestCase {
    var dir: URL!
    var url: URL { dir.appendingPathComponent("lib.rstore") }

    override func setUpWithError() throws {
        dir = try TempDirectory.make("binding")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    static let gelu = #"{"vision":{"width":64,"heads":4,"activation":"gelu","layerNormEps":1e-05},"embedDim":24}"#

    func bind(_ s: SQLiteStore, _ config: String) throws -> ModelRecord {
        try s.bindModel(name: "tiny", config: config, weightsSha256: "w1", tokenizerSha256: "", embedDim: 24)
    }

    func models() throws -> [Row] {
        try DatabaseQueue(path: url.path).read { try Row.fetchAll($0, sql: "SELECT * FROM models") }
    }

    func testSameWeightsReadWithAnotherConfigAreRefusedNamingBoth() throws {
        let s = try SQLiteStore(url: url)
        let m = try bind(s, Self.gelu)
        XCTAssertTrue(
            m.config.hasPrefix(#"{"embedDim":24,"vision":{"activation":"gelu","heads":4,"layerNormEps":"#),
            "sorted keys: \(m.config)")
        XCTAssertEqual(m.configSha256.count, 64)
        let before = try models()
        let changes = [
            ("activation", #""gelu""#, #""quickGELU""#), ("heads", "4", "8"), ("layerNormEps", "1e-05", "1e-06"),
        ]
        for (key, old, new) in changes {
            let other = Self.gelu.replacingOccurrences(of: #""\#(key)":\#(old)"#, with: #""\#(key)":\#(new)"#)
            XCTAssertNotEqual(other, Self.gelu)
            XCTAssertThrowsError(try bind(s, other)) { e in
                guard case .configMismatch(let p, let w, let stored, let loaded, let diff)? = e as? StoreError else {
                    return XCTFail("\(e)")
                }
                XCTAssertEqual(p, url.path)
                XCTAssertEqual(w, "w1")
                XCTAssertEqual(diff.count, 1, "\(diff)")
                XCTAssertTrue(diff.first?.hasPrefix("vision.\(key): ") ?? false, "\(diff)")
                if key == "activation" { XCTAssertEqual(diff, ["vision.activation: \(old) -> \(new)"]) }
                XCTAssertTrue("\(e)".contains(url.path) && "\(e)".contains(stored) && "\(e)".contains(loaded))
            }
        }
        XCTAssertEqual(try models(), before, "a refused binding changes nothing")
        // Key order and whitespace are not part of the config.
        let reordered =
            #"{ "embedDim": 24, "vision": {"layerNormEps": 1e-05, "activation": "gelu", "width": 64, "heads": 4} }"#
        XCTAssertEqual(try bind(s, reordered).id, m.id)
        XCTAssertThrowsError(try bind(s, "not json"))
    }

    func testStoresWrittenBeforeTheConfigHashKeepOpening() throws {
        // As a store from before migration 3 has it: the config as JSONEncoder wrote it (keys in
        // declaration order), no hash.
        let legacy = #"{"vision":{"width":64,"heads":4,"activation":"gelu","layerNormEps":1e-05},"embedDim":24}"#
        do {
            let s = try SQLiteStore(url: url)
            _ = try bind(s, legacy)
        }
        try DatabaseQueue(path: url.path).write {
            try $0.execute(sql: "UPDATE models SET config = ?, config_sha256 = ''", arguments: [legacy])
        }
        let s = try SQLiteStore(url: url)
        let m = try bind(s, Self.gelu)
        XCTAssertEqual(m.configSha256, ModelConfig(Self.gelu)!.sha256, "the hash is filled on first open")
        XCTAssertEqual(try models().first?["config_sha256"], m.configSha256)
        XCTAssertEqual(try bind(s, legacy).id, m.id)

        // A legacy store whose config differs is refused like any other.
        try DatabaseQueue(path: url.path).write {
            try $0.execute(
                sql: "UPDATE models SET config = ?, config_sha256 = ''",
                arguments: [legacy.replacingOccurrences(of: "gelu", with: "quickGELU")])
        }
        XCTAssertThrowsError(try bind(s, Self.gelu)) { e in
            guard case .configMismatch(_, _, _, _, let diff)? = e as? StoreError else { return XCTFail("\(e)") }
            XCTAssertEqual(diff, [#"vision.activation: "quickGELU" -> "gelu""#])
        }
    }
}
