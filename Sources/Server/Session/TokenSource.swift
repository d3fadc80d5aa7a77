import Foundation

/// Where `rstore serve` gets its bearer token: `--token-file PATH` (preferred), the
/// `RSTORE_TOKEN` environment variable, or `--token T` (works, but `ps` shows argv to every
/// user of the machine, so it comes with a warning).
public enum TokenSource {
    public struct Resolved: Equatable, Sendable {
        public var token: String?
        /// A warning for stderr, when the token came from argv.
        public var warning: String?

        public init(token: String?, warning: String? = nil) {
            self.token = token
            self.warning = warning
        }
    }

    /// Longest token accepted (it travels in every request header).
    public static let maxLength = 1024

    public static func resolve(argument: String?, file: String?, environment: [String: String]) throws -> Resolved {
        if argument != nil, file != nil {
            throw ServerSetupError.badToken("give either --token or --token-file, not both")
        }
        if let file {
            try checkPrivate(file)
            let data: Data
            do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                throw ServerSetupError.badToken(
                    "--token-file \(file): cannot read it (\((error as NSError).localizedDescription))")
            }
            guard data.count <= maxLength + 2, let text = String(data: data, encoding: .utf8) else {
                throw ServerSetupError.badToken("--token-file \(file): not a UTF-8 token of at most \(maxLength) bytes")
            }
            return Resolved(
                token: try check(text.trimmingCharacters(in: .whitespacesAndNewlines), from: "--token-file \(file)"))
        }
        if let argument {
            return Resolved(
                token: try check(argument, from: "--token"),
                warning:
                    """
                    warning: --token puts the token in the process list (ps) for every user of this machine; use \
                    --token-file FILE or RSTORE_TOKEN instead\n
                    """
            )
        }
        if let env = environment["RSTORE_TOKEN"], !env.isEmpty {
            return Resolved(token: try check(env, from: "RSTORE_TOKEN"))
        }
        return Resolved(token: nil)
    }

    /// Refuses a token file that group or others may read or write, as ssh refuses such a key:
    /// anyone who can read it can use the server as its owner. (An unreadable or missing file
    /// is left to the read below, which names it.)
    static func checkPrivate(_ file: String) throws {
        var st = stat()
        guard stat(file, &st) == 0 else { return }
        let mode = st.st_mode & 0o777
        if mode & 0o077 != 0 {
            throw ServerSetupError.badToken(
                """
                --token-file \(file): permissions \(String(format: "%04o", mode)) are too open: the token must not be \
                readable by group or others (run `chmod 600 \(file)`)
                """
            )
        }
    }

    /// A token is 8...maxLength visible ASCII characters (it must fit an HTTP header as is).
    static func check(_ t: String, from source: String) throws -> String {
        guard t.utf8.count >= 8 else {
            throw ServerSetupError.badToken("\(source): the token is shorter than 8 characters")
        }
        guard t.utf8.count <= maxLength else {
            throw ServerSetupError.badToken("\(source): the token is longer than \(maxLength) bytes")
        }
        guard t.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw ServerSetupError.badToken(
                "\(source): the token must be visible ASCII without spaces (e.g. `openssl rand -hex 32`)")
        }
        return t
    }
}
