import ArgumentParser
import CLIP
import Foundation

/// `--model DIR`, else `$RSTORE_MODEL`, else the default folder `~/.local/share/rstore/models/default`.
public struct ModelOption: ParsableArguments, Sendable {
    public init() {}

    @Option(
        name: .customLong("model"),
        help:
            """
            A CLIP model folder (Hugging Face layout). Default: $RSTORE_MODEL, then \
            ~/.local/share/rstore/models/default.
            """
    )
    public var path: String?

    public var resolvedURL: URL {
        if let path { return URL(fileURLWithPath: path) }
        if let env = ProcessInfo.processInfo.environment["RSTORE_MODEL"], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        return ModelLocations.defaultModel
    }

    public func load() throws -> CLIPModel {
        let url = resolvedURL
        do {
            return try CLIPModel(directory: url)
        } catch let e as WeightsError {
            if case .missingFile(let p) = e, p == url.path {
                throw ValidationError(
                    """
                    no model at \(url.path): pass --model DIR, set RSTORE_MODEL, or run `rstore model import DIR` \
                    (see README)
                    """
                )
            }
            throw e
        }
    }
}

public enum ModelLocations {
    public static var root: URL {
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_DATA_HOME"], !xdg.isEmpty {
            return URL(fileURLWithPath: xdg).appendingPathComponent("rstore/models")
        }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".local/share/rstore/models")
    }
    public static var defaultModel: URL { root.appendingPathComponent("default") }
}
