import CLIP
import Foundation
import TestSupport
import XCTest

final class EncodeCommandTests: CLITestCase {
    private func lines(_ s: String) throws -> [[String: Any]] {
        try s.split(separator: "\n").map {
            try XCTUnwrap(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    func testTextJSONMatchesTheLibrary() throws {
        let out = try RStoreProcess.run(
            ["encode", "--model", RStoreProcess.tinyModel.path, "--text", "a dog", "--text", "a cat", "--json"],
            environment: RStoreProcess.sameBLASKernels)
        XCTAssertEqual(out.status, 0, out.stderr)
        let rows = try lines(out.stdout)
        XCTAssertEqual(rows.map { $0["input"] as? String }, ["a dog", "a cat"])
        let model = try TinyCLIP.model.get()
        let expected = try model.encodeTexts(["a dog", "a cat"]).embeddings
        let got = rows.flatMap { ($0["embedding"] as! [Double]).map(Float.init) }
        XCTAssertEqual(got.count, expected.count)
        for (a, b) in zip(got, expected) { XCTAssertEqual(a, b, accuracy: 1e-6) }
    }

    func testImageJSONNormalized() throws {
        let png = dir.appendingPathComponent("a.png")
        try ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=320x240", "-frames:v", "1", png.path])
        let out = try RStoreProcess.run([
            "encode", "--model", RStoreProcess.tinyModel.path, "--image", png.path, "--normalize", "--json",
        ])
        XCTAssertEqual(out.status, 0, out.stderr)
        let v = try XCTUnwrap(try lines(out.stdout).first?["embedding"] as? [Double])
        XCTAssertEqual(v.count, 24)
        XCTAssertEqual(v.reduce(0) { $0 + $1 * $1 }, 1, accuracy: 1e-5)
    }

    func testErrorsNameTheCause() throws {
        let noModel = try RStoreProcess.run(["encode", "--text", "x"], environment: ["XDG_DATA_HOME": dir.path])
        XCTAssertNotEqual(noModel.status, 0)
        XCTAssertTrue(noModel.stderr.contains("no model at"), noModel.stderr)
        XCTAssertTrue(noModel.stderr.contains("rstore model import"), noModel.stderr)

        let missing = dir.appendingPathComponent("missing.png").path
        let badImage = try RStoreProcess.run(["encode", "--model", RStoreProcess.tinyModel.path, "--image", missing])
        XCTAssertNotEqual(badImage.status, 0)
        XCTAssertTrue(badImage.stderr.contains(missing), badImage.stderr)

        let nothing = try RStoreProcess.run(["encode", "--model", RStoreProcess.tinyModel.path])
        XCTAssertNotEqual(nothing.status, 0)
        XCTAssertTrue(nothing.stderr.contains("--text or --image"), nothing.stderr)
    }

    func testImportInstallsTheDefaultModel() throws {
        let env = ["XDG_DATA_HOME": dir.path]
        let imported = try RStoreProcess.run(["model", "import", RStoreProcess.tinyModel.path], environment: env)
        XCTAssertEqual(imported.status, 0, imported.stderr)
        XCTAssertTrue(
            FileManager.default.fileExists(
                atPath: dir.appendingPathComponent("rstore/models/default/model.safetensors").path))
        let info = try RStoreProcess.run(["model", "info", "--json"], environment: env)
        XCTAssertEqual(info.status, 0, info.stderr)
        XCTAssertTrue(info.stdout.contains("\"sha256\""))
        // A broken folder is refused and the installed model stays.
        let broken = dir.appendingPathComponent("broken")
        try FileManager.default.createDirectory(at: broken, withIntermediateDirectories: true)
        try Data("garbage".utf8).write(to: broken.appendingPathComponent("model.safetensors"))
        let refused = try RStoreProcess.run(["model", "import", broken.path], environment: env)
        XCTAssertNotEqual(refused.status, 0)
        XCTAssertTrue(refused.stderr.contains("model.safetensors"), refused.stderr)
        XCTAssertEqual(try RStoreProcess.run(["encode", "--text", "still works"], environment: env).status, 0)
    }
}
