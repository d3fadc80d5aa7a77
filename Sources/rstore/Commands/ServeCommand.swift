import ArgumentParser
import Foundation
import Logging
import ResidualStore
import Server

/// `rstore serve`: the HTTP JSON API and the search page over one store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the store over HTTP: JSON API, thumbnails, media and a search page.",
        discussion: """
        Binds 127.0.0.1 unless --host says otherwise; a non-loopback host needs --token (or \
        RSTORE_TOKEN), and every /v1 request then needs `Authorization: Bearer T`. Write \
        endpoints (POST /v1/index) always need the token and a --library-root; without a token \
        they are refused. Paths given to POST /v1/index must lie inside a library root.
        """)

    @OptionGroup var library: LibraryOptions
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port (0 picks a free one).") var port = 8080
    @Option(name: .customLong("library-root"), help: "A folder POST /v1/index may read and media may be served from (repeatable).")
    var libraryRoots: [String] = []
    @Option(help: "Bearer token required by /v1 requests and writes. Default: $RSTORE_TOKEN.") var token: String?
    @Option(help: "Thumbnail cache budget in MiB.") var thumbnailCacheMB = 64
    @Option(help: "Frame cache budget (decoded frames for P-feature reconstruction) in MiB.") var frameCacheMB = 512

    func run() async throws {
        var config = ServerConfiguration(host: host, port: port,
                                         token: token ?? ProcessInfo.processInfo.environment["RSTORE_TOKEN"],
                                         libraryRoots: libraryRoots.map { URL(fileURLWithPath: $0) })
        config.thumbnailCacheBytes = max(0, thumbnailCacheMB) << 20
        try config.validate()   // before the model loads: a refused bind fails fast
        var libConfig = Library.Configuration()
        libConfig.frameCacheBytes = max(0, frameCacheMB) << 20
        let lib = try library.open(libConfig)
        let server = try RStoreServer(library: lib, configuration: config)
        var logger = Logger(label: "rstore.serve")
        logger.logLevel = .warning
        let host = self.host
        let tokenNote = config.token == nil ? "none, loopback only, writes disabled" : "required"
        let app = server.makeApplication(logger: logger) { port in
            let shown = host.contains(":") ? "[\(host)]" : host
            let line = "rstore serving \(lib.store.path) on http://\(shown):\(port)/ (token: \(tokenNote))\n"
            FileHandle.standardOutput.write(Data(line.utf8))
        }
        try await app.runService()
    }
}
