import Foundation
import TestSupport
import XCTest

/// `rstore search --image/--like/--vector` with filters, `export` and `embed --format npz`
/// through the real binary.
final class QueryAndExportCommandTests: CLITestCase {
    override var tempPrefix: String { "query-cli" }

    func rstore(_ args: [String], store: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try RStoreProcess.run(
            [args[0], "--model", RStoreProcess.tinyModel.path, "--store", store.path] + args.dropFirst())
        return (r.status, r.stdout, r.stderr)
    }

    struct Moment: Decodable, Equatable {
        let video_id: Int64
        let first_frame: Int
        let last_frame: Int
    }
    struct Report: Decodable {
        let moments: [Moment]
        let query_kind: String
        let stage1_videos: Int
        let stage2_videos: [Int64]
    }
    struct Listed: Decodable {
        let id: Int64
        let path: String
    }

    func search(_ args: [String], store: URL) throws -> Report {
        let r = try rstore(["search", "--json"] + args, store: store)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONDecoder().decode(Report.self, from: Data(r.stdout.utf8))
    }

    /// A float32 vector as a version-1 `.npy`, written by hand (independent of the engine's writer).
    func npy(_ v: [Float], shape: String? = nil) -> Data {
        var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape ?? "(\(v.count),)"), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data(
            [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        d.append(Data(header.utf8))
        v.withUnsafeBufferPointer { d.append(Data(buffer: $0)) }
        return d
    }

    func library() throws -> (store: URL, a: Listed, b: Listed) {
        let store = dir.appendingPathComponent("lib.rstore")
        let a = dir.appendingPathComponent("a.mp4")
        let b = dir.appendingPathComponent("b.mp4")
        try ffmpeg([
            "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            a.path,
        ])
        try ffmpeg([
            "-f", "lavfi", "-i", "smptebars=size=160x120:rate=10", "-t", "3", "-c:v", "libx264", "-pix_fmt", "yuv420p",
            b.path,
        ])
        let r = try rstore(["index", a.path, b.path], store: store)
        XCTAssertEqual(r.status, 0, r.stderr)
        let ls = try JSONDecoder().decode(
            [Listed].self, from: Data(try rstore(["ls", "--json"], store: store).stdout.utf8))
        return (store, ls.first { $0.path == a.path }!, ls.first { $0.path == b.path }!)
    }

    func testSearchByVectorImageAndStoredFrameWithFilters() throws {
        let (store, a, b) = try library()
        let text = try search(["a test pattern", "-k", "4"], store: store)
        XCTAssertEqual(text.query_kind, "text")
        XCTAssertFalse(text.moments.isEmpty)

        // The text's embedding (rstore encode), as a .npy vector: the same moments.
        let enc = try RStoreProcess.run([
            "encode", "--model", RStoreProcess.tinyModel.path, "--text", "a test pattern", "--json",
        ])
        XCTAssertEqual(enc.status, 0, enc.stderr)
        struct Encoded: Decodable { let embedding: [Float] }
        let vector = try JSONDecoder().decode(Encoded.self, from: Data(enc.stdout.utf8)).embedding
        let vfile = dir.appendingPathComponent("q.npy")
        try npy(vector).write(to: vfile)
        let byVector = try search(["--vector", vfile.path, "-k", "4"], store: store)
        XCTAssertEqual(byVector.query_kind, "vector")
        XCTAssertEqual(byVector.moments, text.moments)
        try npy(vector, shape: "(1, \(vector.count))").write(to: vfile)
        XCTAssertEqual(try search(["--vector", vfile.path, "-k", "4"], store: store).moments, text.moments)

        let png = dir.appendingPathComponent("q.png")
        try ffmpeg(["-f", "lavfi", "-i", "smptebars=size=200x150", "-frames:v", "1", png.path])
        XCTAssertEqual(try search(["--image", png.path, "-k", "2"], store: store).query_kind, "image")

        let like = try search(["--like", "\(a.id)@1.5", "-k", "3", "--video", "\(b.id)"], store: store)
        XCTAssertEqual(like.query_kind, "like")
        XCTAssertEqual(like.stage1_videos, 1)
        XCTAssertTrue(like.moments.allSatisfy { $0.video_id == b.id } && !like.moments.isEmpty)
        XCTAssertTrue(like.stage2_videos.allSatisfy { $0 == b.id })
        XCTAssertFalse(
            try search(["--like", "\(a.path)@0.5", "--from", "1", "--to", "2"], store: store).moments.isEmpty)

        // Hostile or wrong input: one clear line, exit status non-zero, nothing printed as results.
        try npy([1, 2, 3]).write(to: vfile)
        var r = try rstore(["search", "--vector", vfile.path], store: store)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("3 values"), r.stderr)
        try Data("\u{93}NUMPY\u{1}\u{0}\u{ff}\u{ff}{'descr'".utf8).write(to: vfile)
        r = try rstore(["search", "--vector", vfile.path], store: store)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains(vfile.path), r.stderr)
        r = try rstore(["search", "--like", "424242@1"], store: store)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("424242"), r.stderr)
        r = try rstore(["search", "--like", "\(a.id)@99"], store: store)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("outside the video"), r.stderr)
        r = try rstore(["search", "--like", "nonsense"], store: store)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("VIDEO@SECONDS"), r.stderr)
        r = try rstore(["search", "dog", "--image", png.path], store: store)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("give one query"), r.stderr)
        r = try rstore(["search", "dog", "--from", "5", "--to", "1"], store: store)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("after"), r.stderr)
    }

    func testExportAndNPZLoadInNumpy() throws {
        let (store, a, b) = try library()
        let folder = dir.appendingPathComponent("exp")
        var r = try rstore(["export", "--format", "npy", "--out", folder.path, "--json"], store: store)
        XCTAssertEqual(r.status, 0, r.stderr)
        struct Summary: Decodable {
            let videos: Int
            let rows: Int
            let i_rows: Int
            let p_rows: Int
        }
        let s = try JSONDecoder().decode(Summary.self, from: Data(r.stderr.split(separator: "\n").last!.utf8))
        XCTAssertEqual(s.videos, 2)
        XCTAssertEqual(s.p_rows, 0)
        let meta = try String(contentsOf: folder.appendingPathComponent("meta.jsonl"), encoding: .utf8).split(
            separator: "\n")
        XCTAssertEqual(meta.count, s.rows)
        XCTAssertTrue(meta[0].contains("\"kind\":\"I\"") && meta[0].contains("\"video_id\":"), String(meta[0]))
        XCTAssertFalse(
            FileManager.default.fileExists(atPath: folder.appendingPathComponent("features.npy.partial").path))

        let jsonl = dir.appendingPathComponent("dense.jsonl")
        r = try rstore(
            ["export", "--format", "jsonl", "--dense", "--video", "\(b.id)", "--out", jsonl.path], store: store)
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = try String(contentsOf: jsonl, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(lines.count, 6, "3 s at 2 fps, every frame")
        XCTAssertTrue(lines.contains { $0.contains("\"kind\":\"P\"") })
        XCTAssertTrue(lines.allSatisfy { $0.contains("\"video_id\":\(b.id)") && $0.contains("\"embedding\":[") })

        let npz = dir.appendingPathComponent("a.npz")
        r = try rstore(["embed", "\(a.id)", "--format", "npz", "--out", npz.path], store: store)
        XCTAssertEqual(r.status, 0, r.stderr)
        r = try rstore(["embed", "\(a.id)", "--format", "npz"], store: store)
        XCTAssertNotEqual(r.status, 0)
        XCTAssertTrue(r.stderr.contains("--out"), r.stderr)

        // numpy reads both as its own (when numpy is installed).
        let check = """
            import json, sys, numpy as np
            f = np.load(sys.argv[1] + '/features.npy'); assert f.dtype == np.float32 and f.shape[0] == \(s.rows), f.shape
            assert np.isfinite(f).all() and (np.linalg.norm(f, axis=1) > 0).all()
            z = np.load(sys.argv[2]); e, t, k, i = z['embeddings'], z['times'], z['kinds'], z['indices']
            assert e.shape == (8, e.shape[1]) and t.dtype == np.float64 and list(i) == list(range(8)), (e.shape, t, i)
            assert ''.join(k) == 'IPPIPPIP' or set(k) == {'I', 'P'}, k
            print('ok', f.shape, e.shape)
            """
        let env = URL(fileURLWithPath: "/usr/bin/env")
        guard try ExternalCommand.capture(env, ["python3", "-c", "import numpy"]).status == 0 else {
            throw XCTSkip("numpy is not installed: the .npy/.npz files were not loaded by numpy")
        }
        let out = try ExternalCommand.capture(env, ["python3", "-c", check, folder.path, npz.path])
        XCTAssertEqual(out.status, 0, String(decoding: out.stderr + out.stdout, as: UTF8.self))
    }
}
