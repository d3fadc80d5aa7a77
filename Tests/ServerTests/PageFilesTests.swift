import Foundation
import Hummingbird
import HummingbirdTesting
import TestSupport
import XCTest

@testable import Server

/// The search page's files (`Sources/Server/Resources/page`: `index.html`, `page.css`,
/// `page.js`) are a page a browser can read, and `GET /` serves exactly them, the stylesheet
/// and the script inlined. The checks are `Tools/check-page.py` (Python's HTML parser; every
/// id the script or stylesheet names exists) and, for the script's syntax, Node.
final class PageFilesTests: XCTestCase {
    static let folder = TestPaths.packageRoot.appendingPathComponent("Sources/Server/Resources/page")
    static let checker = TestPaths.packageRoot.appendingPathComponent("Tools/check-page.py")

    static func file(_ name: String) throws -> String {
        try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
    }

    func testServedPageIsTheFilesInlined() async throws {
        let html = try Self.file("index.html")
        let css = try Self.file("page.css")
        let js = try Self.file("page.js")
        XCTAssertTrue(html.contains(SearchPage.stylesheetLink), "index.html links page.css")
        XCTAssertTrue(html.contains(SearchPage.scriptLink), "index.html links page.js")
        let expected = html.replacingOccurrences(of: SearchPage.stylesheetLink, with: "<style>\n\(css)</style>")
            .replacingOccurrences(of: SearchPage.scriptLink, with: "<script>\n\(js)</script>")

        let f = try await ServerFixture.shared.value
        try await withClient(try f.server()) { client in
            let page = try await client.execute(uri: "/", method: .get)
            XCTAssertEqual(page.status, .ok)
            XCTAssertEqual(page.headers[.contentType], "text/html; charset=utf-8")
            XCTAssertEqual(
                page.headers[.contentSecurityPolicy],
                """
                default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; \
                script-src 'self' 'unsafe-inline'
                """
            )
            // The embedded files are the checked-in ones, and nothing is left to fetch.
            XCTAssertEqual(page.text, expected)
            XCTAssertFalse(page.text.contains("page.css") || page.text.contains("page.js"), "the page links no file")
        }
    }

    func testPageParsesAndEveryIdItNamesExists() throws {
        guard let python = ExternalCommand.find("python3") else { throw XCTSkip("python3 is not installed") }
        // The files as checked in, then the page as served.
        try check(python, [Self.folder.appendingPathComponent("index.html").path])
        try check(python, [try served().path])
    }

    func testPageScriptCompiles() throws {
        guard let python = ExternalCommand.find("python3") else { throw XCTSkip("python3 is not installed") }
        guard let node = ExternalCommand.find("node") ?? ExternalCommand.find("nodejs") else {
            if ProcessInfo.processInfo.environment["CI"] == "true" {
                XCTFail("Node.js is not installed (apt-get install nodejs); .ci/run installs it")
                return
            }
            throw XCTSkip("Node.js is not installed (apt-get install nodejs)")
        }
        try check(python, ["--node", node, Self.folder.appendingPathComponent("index.html").path])
        try check(python, ["--node", node, try served().path])
    }

    /// `SearchPage.html` (what `GET /` sends) in a temporary file.
    private func served() throws -> URL {
        let dir = try TempDirectory.make("page")
        addTeardownBlock { TempDirectory.remove(dir) }
        let url = dir.appendingPathComponent("served.html")
        try Data(SearchPage.html.utf8).write(to: url)
        return url
    }

    private func check(_ python: String, _ args: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try ExternalCommand.capture(URL(fileURLWithPath: python), [Self.checker.path] + args)
        let out = String(decoding: r.stdout + r.stderr, as: UTF8.self)
        XCTAssertEqual(r.status, 0, "check-page.py \(args.joined(separator: " ")):\n\(out)", file: file, line: line)
        XCTAssertTrue(out.hasPrefix("ok: "), out, file: file, line: line)
    }
}
