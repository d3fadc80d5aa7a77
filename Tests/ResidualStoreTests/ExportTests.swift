import Foundation
import ResidualStore
import TestSupport
import Timeline
import XCTest

/// `Library.export` streams what `embeddings` answers, batch by batch, within a filter; the
/// `.npy` writer patches its count; the `.npy` reader refuses hostile files by name.
final class ExportTests: XCTestCase {
    func testExportStreamsStoredAndDenseFeaturesWithinAFilter() async throws {
        let dir = try TempDirectory.make("export")
        defer { TempDirectory.remove(dir) }
        let enc = ["-c:v", "libx264", "-g", "10", "-pix_fmt", "yuv420p"]
        try ExternalCommand.ffmpeg(
            ["-f", "lavfi", "-i", "testsrc2=size=160x120:rate=10", "-t", "4"] + enc + [
                dir.appendingPathComponent("a.mp4").path
            ])
        try ExternalCommand.ffmpeg(
            ["-f", "lavfi", "-i", "smptebars=size=160x120:rate=10", "-t", "3"] + enc + [
                dir.appendingPathComponent("b.mp4").path
            ])
        let lib = try Library(store: dir.appendingPathComponent("lib.rstore"), model: try TinyCLIP.model.get())
        _ = try await lib.index([dir.appendingPathComponent("a.mp4"), dir.appendingPathComponent("b.mp4")])
        let videos = try lib.videos().sorted { $0.id! < $1.id! }

        var batches: [[ExportRow]] = []
        let iOnly = try lib.export(batchFrames: 2) { batches.append($0) }
        let rows = batches.flatMap { $0 }
        XCTAssertTrue(batches.allSatisfy { $0.count <= 2 }, "bounded batches")
        XCTAssertEqual(iOnly, ExportSummary(videos: 2, rows: rows.count, iRows: rows.count, pRows: 0))
        var expected: [(Int64, Library.FrameEmbedding)] = []
        for v in videos { expected += try lib.embeddings(v, from: 0, to: v.duration).map { (v.id!, $0) } }
        let expectedI = expected.filter { $0.1.kind == .i }
        XCTAssertEqual(
            rows.map { "\($0.videoID)/\($0.frame)/\($0.kind.rawValue)" }, expectedI.map { "\($0.0)/\($0.1.index)/I" })
        for (r, e) in zip(rows, expectedI) {
            XCTAssertEqual(r.time, e.1.time)
            XCTAssertEqual(r.vector, e.1.vector)
            XCTAssertEqual(r.path, videos.first { $0.id == r.videoID }!.path)
        }

        var dense: [ExportRow] = []
        let d = try lib.export(dense: true, batchFrames: 3) { dense += $0 }
        XCTAssertEqual(d.rows, videos.reduce(0) { $0 + $1.frameCount })
        XCTAssertEqual(d.pRows, expected.filter { $0.1.kind == .p }.count)
        XCTAssertGreaterThan(d.pRows, 0)
        for (r, e) in zip(dense, expected) {
            XCTAssertEqual([r.videoID, Int64(r.frame)], [e.0, Int64(e.1.index)])
            XCTAssertEqual(r.kind, e.1.kind)
            for (x, y) in zip(r.vector, e.1.vector) { XCTAssertEqual(x, y, accuracy: 1e-5) }
        }

        var filtered: [ExportRow] = []
        try lib.export(filter: SearchFilter(videoIDs: [videos[1].id!], from: 1, to: 2), dense: true) { filtered += $0 }
        XCTAssertEqual(filtered.map(\.frame), [2, 3, 4])
        XCTAssertTrue(filtered.allSatisfy { $0.videoID == videos[1].id! })
        XCTAssertThrowsError(try lib.export(filter: SearchFilter(from: 3, to: 1)) { _ in }) {
            guard case LibraryError.badFilter = $0 else { return XCTFail("\($0)") }
        }
    }

    func testNPYWriterPatchesItsCountAndTheReaderReadsWhatNumpyWrites() throws {
        let dir = try TempDirectory.make("npy")
        defer { TempDirectory.remove(dir) }
        let url = dir.appendingPathComponent("m.npy")
        let w = try NPYWriter(url: url, columns: 3)
        try w.append([1, 2, 3, 4, 5, 6])
        try w.append([7, 8, 9])
        XCTAssertFalse(FileManager.default.fileExists(atPath: url.path), "only a finished file is in place")
        try w.finish()
        let data = try Data(contentsOf: url)
        XCTAssertEqual(data.count % 1, 0)
        let header = String(decoding: data[10..<(10 + Int(data[8]) + Int(data[9]) << 8)], as: UTF8.self)
        XCTAssertTrue(header.contains("'shape': (") && header.contains("3, 3)"), header)
        XCTAssertEqual((10 + header.utf8.count) % 64, 0)
        XCTAssertEqual(data.count, 10 + header.utf8.count + 9 * 4)

        // One row (1, n) or a vector (n,), float32 or float64.
        let row = dir.appendingPathComponent("row.npy")
        try NPY.data([0.5, -1, 2], shape: [1, 3]).write(to: row)
        XCTAssertEqual(try NPY.readVector(row), [0.5, -1, 2])
        let f8 = dir.appendingPathComponent("f8.npy")
        try NPZ.float64([0.25, 4]).write(to: f8)
        XCTAssertEqual(try NPY.readVector(f8), [0.25, 4])
    }

    func testHostileNPYFilesAreRefusedNamingTheFileAndTheCause() throws {
        let dir = try TempDirectory.make("npy-bad")
        defer { TempDirectory.remove(dir) }
        func npy(_ header: String, body: Int = 12, version: UInt8 = 1, declaredLength: Int? = nil) -> Data {
            var d = Data(NPY.magic + [version, 0])
            let len = declaredLength ?? header.utf8.count
            d.append(contentsOf: [UInt8(len & 0xff), UInt8((len >> 8) & 0xff)])
            d.append(Data(header.utf8))
            d.append(Data(repeating: 0, count: body))
            return d
        }
        let cases: [(String, Data, String)] = [
            ("magic", Data("PK\u{3}\u{4} not npy".utf8), "magic"),
            ("short", Data(NPY.magic), "magic"),
            ("version", npy("{}", version: 9), "version"),
            (
                "length", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", declaredLength: 60000),
                "past the end"
            ),
            ("dtype", npy("{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }"), "dtype"),
            ("object", npy("{'descr': '|O', 'fortran_order': False, 'shape': (3,), }"), "dtype"),
            ("shape", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", body: 16), "shape"),
            ("count", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999,), }"), "bytes of data"),
            (
                "huge dim", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999999,), }"),
                "dimension"
            ),
            ("negative", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-3,), }"), "dimension"),
            ("code", npy("{'descr': __import__('os').system('true'), 'shape': (3,)}"), "quoted string"),
            ("key", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), 'x': 1}"), "unknown key"),
            ("missing", npy("{'descr': '<f4', 'shape': (3,)}"), "required"),
            ("unterminated", npy("{'descr': '<f4"), "unterminated"),
            ("short body", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"), "bytes of data"),
        ]
        for (name, data, cause) in cases {
            let url = dir.appendingPathComponent("\(name).npy")
            try data.write(to: url)
            XCTAssertThrowsError(try NPY.readVector(url), name) {
                let message = "\($0)"
                XCTAssertTrue(message.contains(url.path) && message.contains(cause), "\(name): \(message)")
            }
        }
        let big = dir.appendingPathComponent("big.npy")
        try NPY.data([Float](repeating: 1, count: 1000), shape: [1000]).write(to: big)
        XCTAssertThrowsError(try NPY.readVector(big, maxBytes: 1000)) {
            XCTAssertTrue("\($0)".contains("more than"), "\($0)")
        }
        XCTAssertThrowsError(try NPY.readVector(dir)) { XCTAssertTrue("\($0)".contains("not a regular file"), "\($0)") }
    }
}
