import Foundation

/// The other executable of the package installed beside this one (`rstore` runs `rstore-bench`
/// for `rstore bench`, and `rstore-bench search` starts `rstore serve`): same folder as the
/// running binary, found through /proc/self/exe (symlinks resolved), else argv[0].
public struct SiblingExecutable {
    public let name: String

    public init(_ name: String) { self.name = name }

    /// Where it should be: in the folder of the running executable.
    public var expectedURL: URL {
        folderOfThisExecutable.appendingPathComponent(name)
    }

    /// Its path when it is there and executable; else `SiblingExecutable.Missing` naming the
    /// path looked at and how to build it.
    public func require() throws -> URL {
        let url = expectedURL
        guard FileManager.default.isExecutableFile(atPath: url.path) else { throw Missing(name: name, path: url.path) }
        return url
    }

    var folderOfThisExecutable: URL {
        let proc = URL(fileURLWithPath: "/proc/self/exe")
        if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: proc.path) {
            return URL(fileURLWithPath: target).resolvingSymlinksInPath().deletingLastPathComponent()
        }
        let argv0 = CommandLine.arguments.first ?? name
        return URL(fileURLWithPath: argv0).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// The sibling is not installed where it should be.
    public struct Missing: Error, CustomStringConvertible {
        public var name: String
        public var path: String
        public var description: String {
            """
            \(name) not found at \(path) (it is looked for beside this executable); build it with `swift build \
            --product \(name)` (or `swift build`), or install it next to this binary
            """
        }
    }
}
