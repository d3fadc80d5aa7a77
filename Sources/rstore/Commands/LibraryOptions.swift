import ArgumentParser
import CLIP
import Foundation
import RStoreCommandLine
import ResidualStore
import Store

/// `--store` and the model/tokenizer a library is opened with.
struct LibraryOptions: ParsableArguments {
    @OptionGroup var model: ModelOption
    @OptionGroup var root: LibraryRootOption

    @Option(
        help:
            """
            The store: a file (SQLite), or postgres://user@host:port/db for a library shared by many machines \
            (password from the URL, PGPASSWORD or ~/.pgpass). Default: $RSTORE_STORE, then \
            ~/.local/share/rstore/library.rstore.
            """
    )
    var store: String?

    @Option(
        name: .customLong("tokenizer"),
        help:
            """
            Residual tokenizer A (safetensors from `rstore train-tokenizer`). Default: $RSTORE_TOKENIZER, else none \
            (A = 0: token reduction only).
            """
    )
    var tokenizerPath: String?

    @Option(
        help:
            """
            Byte budget of the decoded-frame tier beside the store (<store>.frames), in MB; 0 turns it off. \
            Default: follows the library (\(TierBudget.framesPerHour >> 20) MB of frames and \
            \(TierBudget.stillsPerHour >> 20) MB of stills per video-hour, \(Int(TierBudget.headroomHours)) hours of \
            room), at most \(Int(TierBudget.diskShare * 100))% of the free disk.
            """
    )
    var frameTierMB: Int?

    @Option(
        help:
            """
            Stage 1 of search: exact (scan every stored I-feature), ann (the approximate index <store>.ann), auto \
            (exact below \(Stage1Settings().annThreshold) stored I-features, the index above).
            """
    )
    var stage1: Stage1Mode = .auto

    @Option(
        help:
            """
            What stage 2 of one search may plan to decode from original files (frames the tier does not hold), in \
            720p frames from each needed keyframe, weighted by pixels and bitrate; candidates past it keep coarse \
            boundaries (flagged), the best always refined. 0: only the best; inf: every candidate. Default: \
            \(Int(Library.Configuration.defaultRefineDecodeBudget)).
            """
    )
    var refineDecodeBudget: Double?

    var storeURL: URL {
        if let store { return URL(fileURLWithPath: store) }
        if let env = ProcessInfo.processInfo.environment["RSTORE_STORE"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return ModelLocations.root.deletingLastPathComponent().appendingPathComponent("library.rstore")
    }

    /// The store when it is a PostgreSQL URL (`--store`, else $RSTORE_STORE), nil for a file.
    var postgresURL: String? {
        let given = store ?? ProcessInfo.processInfo.environment["RSTORE_STORE"]
        return given.flatMap { StoreLocation.isShared($0) ? $0 : nil }
    }

    func open(_ configuration: Library.Configuration = .init(), store opened: (any FeatureStoring)? = nil) throws
        -> Library
    {
        let clip = try model.load()
        let aPath =
            tokenizerPath ?? ProcessInfo.processInfo.environment["RSTORE_TOKENIZER"].flatMap { $0.isEmpty ? nil : $0 }
        let a = try aPath.map { try ResidualTokenizer(contentsOf: URL(fileURLWithPath: $0), for: clip) }
        if postgresURL == nil {
            try FileManager.default.createDirectory(
                at: storeURL.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        var configuration = configuration
        configuration.frameTierBytes = frameTierMB.map { max(0, $0) << 20 }
        configuration.roots = try root.roots()
        configuration.stage1.mode = stage1
        if let refineDecodeBudget {
            guard refineDecodeBudget >= 0, !refineDecodeBudget.isNaN else {
                throw ValidationError("--refine-decode-budget must be 0 or more (inf: no budget)")
            }
            configuration.refineDecodeBudget = refineDecodeBudget
        }
        if let opened {
            return try Library(opening: { opened }, model: clip, tokenizer: a, configuration: configuration)
        }
        if let url = postgresURL {
            return try Library(
                opening: { try StoreLocation.open(url, readOnly: false) }, model: clip, tokenizer: a,
                configuration: configuration)
        }
        return try Library(store: storeURL, model: clip, tokenizer: a, configuration: configuration)
    }
}
