import CLIP
import Foundation
import TestSupport
import Timeline
import XCTest

@testable import ResidualStore

/// The decoded-frame tier on real video: same answers as decoding the originals, filled at
/// ingest, and a damaged or foreign tier file is never trusted.
final class FrameTierTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = try TempDirectory.make("tier")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: dir)
    }

    func library(_ name: String, tierBytes: Int = 2 << 30) throws -> Library {
        var config = Library.Configuration()
        config.frameTierBytes = tierBytes
        return try Library(
            store: dir.appendingPathComponent(name), model: try TinyCLIP.model.get(), configuration: config)
    }

    static func cosine(_ a: [Float], _ b: [Float]) -> Float {
        let d = zip(a, b).reduce(0) { $0 + $1.0 * $1.1 }
        return d / (a.reduce(0) { $0 + $1 * $1 }.squareRoot() * b.reduce(0) { $0 + $1 * $1 }.squareRoot())
    }

    func testTierAnswersLikeTheOriginalsAndIsFilledAtIngest() async throws {
        let url = try SearchQualityTests.scenesVideo(in: dir)
        let tiered = try library("a.rstore")
        let plain = try library("b.rstore", tierBytes: 0)
        XCTAssertNotNil(tiered.frameTier)
        XCTAssertNil(plain.frameTier)
        _ = try await tiered.index([url])
        _ = try await plain.index([url])
        let stats = try XCTUnwrap(tiered.frameTier).file.stats()
        let v = try XCTUnwrap(try tiered.videos().first)
        let w = try XCTUnwrap(try plain.videos().first)
        XCTAssertEqual(
            stats.entries, v.frameCount - (v.frameCount + v.n) / (v.n + 1),
            "every P-frame's input is in the tier after ingest")

        // P-features from the tier vs from decoding the original.
        let control = QueryControl()
        let a = try tiered.embeddings(v, from: 0, to: v.duration, control: control)
        let b = try plain.embeddings(w, from: 0, to: w.duration)
        XCTAssertEqual(control.frameSources.decoded, 0, "nothing decoded from the original")
        XCTAssertEqual(control.frameSources.tierHits, stats.entries)
        let cos = zip(a, b).filter { $0.0.kind == .p }.map { Self.cosine($0.0.vector, $0.1.vector) }
        XCTAssertEqual(cos.count, stats.entries)
        let mean = cos.reduce(0, +) / Float(cos.count)
        XCTAssertGreaterThanOrEqual(mean, 0.99)
        XCTAssertGreaterThanOrEqual(cos.min()!, 0.97)

        // A query's moments with and without the tier.
        for text in ["a colourful test pattern", "a fractal", "bars of colour"] {
            let r1 = try tiered.searchReport(text, k: 3)
            let r2 = try plain.searchReport(text, k: 3)
            XCTAssertEqual(r1.moments.count, r2.moments.count)
            for (m1, m2) in zip(r1.moments, r2.moments) {
                XCTAssertGreaterThanOrEqual(
                    Grounding.iou((m1.start, m1.end), (m2.start, m2.end)), 0.8, "\(text): \(m1) vs \(m2)")
                XCTAssertEqual(m1.score, m2.score, accuracy: 0.02)
            }
        }
    }

    func testPayloadsOfAnOlderRecipeAreNeverServedAndAreRebuilt() async throws {
        let url = try SearchQualityTests.scenesVideo(in: dir)
        let lib = try library("r.rstore")
        _ = try await lib.index([url])
        let v = try XCTUnwrap(try lib.videos().first)
        XCTAssertEqual(FrameTier.codecTag, "jpeg444")
        // Relabel every payload as written by the previous (4:2:0) recipe.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "sqlite3", dir.appendingPathComponent("r.rstore.frames").path,
            "UPDATE payloads SET recipe = replace(recipe, 'jpeg444', 'jpeg420')",
        ]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let control = QueryControl()
        _ = try library("r.rstore").embeddings(v, from: 0, to: 10, control: control)
        XCTAssertEqual(control.frameSources.tierHits, 0, "no payload of the old recipe is served")
        XCTAssertGreaterThan(control.frameSources.decoded, 0)
        // Rebuilt under the current recipe by that read: the next process is served from the tier.
        let control2 = QueryControl()
        _ = try library("r.rstore").embeddings(v, from: 0, to: 10, control: control2)
        XCTAssertGreaterThan(control2.frameSources.tierHits, 0)
        XCTAssertEqual(control2.frameSources.decoded, 0)
    }

    func testDamagedPayloadIsAMissAndIsRefilledFromTheOriginal() async throws {
        let url = try SearchQualityTests.scenesVideo(in: dir)
        let lib = try library("c.rstore")
        _ = try await lib.index([url])
        let v = try XCTUnwrap(try lib.videos().first)
        // Flip a byte inside every stored payload (behind the tier's back).
        let tierURL = dir.appendingPathComponent("c.rstore.frames")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [
            "sqlite3", tierURL.path, "UPDATE payloads SET blob = substr(blob, 1, 40) || X'00' || substr(blob, 42)",
        ]
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0)
        let fresh = try library("c.rstore")
        let control = QueryControl()
        let dense = try fresh.embeddings(v, from: 0, to: 10, control: control)
        XCTAssertEqual(control.frameSources.tierHits, 0, "no damaged payload is served")
        XCTAssertGreaterThan(control.frameSources.decoded, 0)
        // Refilled: a new process reads them from the tier, and gets the same features.
        let again = try library("c.rstore")
        let control2 = QueryControl()
        let dense2 = try again.embeddings(v, from: 0, to: 10, control: control2)
        XCTAssertGreaterThan(control2.frameSources.tierHits, 0)
        XCTAssertEqual(control2.frameSources.decoded, 0)
        for (x, y) in zip(dense, dense2) { XCTAssertGreaterThan(Self.cosine(x.vector, y.vector), 0.97) }
    }
}
