import Foundation
import TestSupport
import XCTest

/// `rstore ls`, `rm` and `prune` through the real binary: what is removed is gone from listing
/// and search, what is not is untouched, and the files on disk stay.
final class RemoveCommandTests: CLITestCase {
    override var tempPrefix: String { "rm" }

    func rstore(_ args: [String], store: URL) throws -> (status: Int32, stdout: String, stderr: String) {
        let r = try RStoreProcess.run(
            [args[0], "--model", RStoreProcess.tinyModel.path, "--store", store.path] + args.dropFirst())
        return (r.status, r.stdout, r.stderr)
    }

    struct Listed: Decodable {
        let id: Int64
        let path: String
        let status: String
        let frames: Int
    }

    func list(_ store: URL) throws -> [Listed] {
        let r = try rstore(["ls", "--json"], store: store)
        XCTAssertEqual(r.status, 0, r.stderr)
        return try JSONDecoder().decode([Listed].self, from: Data(r.stdout.utf8))
    }

    func testListRemoveAndPrune() throws {
        let store = dir.appendingPathComponent("lib.rstore")
        let clips = try ["a", "b", "c"].map { name -> URL in
            let url = dir.appendingPathComponent("\(name).mp4")
            try ffmpeg([
                "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4", "-vf",
                "hue=h=\(name.unicodeScalars.first!.value)",
                "-c:v", "libx264", "-pix_fmt", "yuv420p", url.path,
            ])
            return url
        }
        let indexed = try rstore(["index"] + clips.map(\.path), store: store)
        XCTAssertEqual(indexed.status, 0, indexed.stderr)
        let all = try list(store)
        XCTAssertEqual(all.map(\.path).sorted(), clips.map(\.path).sorted())
        XCTAssertTrue(all.allSatisfy { $0.status == "ready" && $0.frames == 8 })
        let text = try rstore(["ls"], store: store)
        XCTAssertTrue(text.stdout.contains("3 video(s)") && text.stdout.contains(clips[0].path), text.stdout)

        // rm by id and by path; a name that is not stored is an error naming it, the rest still goes.
        let a = all.first { $0.path == clips[0].path }!
        let rm = try rstore(["rm", String(a.id), clips[1].path, "/nowhere.mp4"], store: store)
        XCTAssertEqual(rm.status, 1)
        XCTAssertTrue(rm.stderr.contains("/nowhere.mp4: no such video"), rm.stderr)
        XCTAssertEqual(try list(store).map(\.path), [clips[2].path])
        XCTAssertTrue(clips.allSatisfy { FileManager.default.fileExists(atPath: $0.path) }, "files on disk stay")
        let search = try rstore(["search", "a test pattern", "--json"], store: store)
        XCTAssertEqual(search.status, 0, search.stderr)
        XCTAssertFalse(search.stdout.contains(clips[0].path) || search.stdout.contains(clips[1].path), search.stdout)
        XCTAssertTrue(search.stdout.contains(clips[2].path), search.stdout)

        // prune --missing: a dry run removes nothing; then the moved file's row goes.
        try FileManager.default.moveItem(at: clips[2], to: dir.appendingPathComponent("moved.mp4"))
        let dry = try rstore(["prune", "--missing", "--dry-run"], store: store)
        XCTAssertEqual(dry.status, 0, dry.stderr)
        XCTAssertTrue(dry.stdout.contains("would remove") && dry.stdout.contains(clips[2].path), dry.stdout)
        XCTAssertEqual(try list(store).count, 1)
        let pruned = try rstore(["prune", "--missing"], store: store)
        XCTAssertEqual(pruned.status, 0, pruned.stderr)
        XCTAssertEqual(try list(store).count, 0)
        XCTAssertNotEqual(try rstore(["prune"], store: store).status, 0, "prune without a kind is refused")
        let verify = try rstore(["verify"], store: store)
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
    }
}
