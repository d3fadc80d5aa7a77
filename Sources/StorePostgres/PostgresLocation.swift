import Foundation

/// Where a PostgreSQL store is and who connects: `postgres://user[:password]@host[:port]/db`
/// completed the way libpq does it: PGHOST, PGPORT, PGUSER, PGDATABASE for missing parts; the
/// password from the URL, else PGPASSWORD, else the password file (`?passfile=PATH`, else
/// PGPASSFILE, else ~/.pgpass; lines `host:port:db:user:password`, `*` matching anything).
///
/// TLS and timeouts as libpq takes them: `?sslmode=` (else PGSSLMODE, else `prefer`),
/// `?sslrootcert=` (else PGSSLROOTCERT, else ~/.postgresql/root.crt when present; `system`
/// for the system's trust roots), `?connect_timeout=` seconds (else PGCONNECT_TIMEOUT, else
/// 10), and rstore's own `?statement_timeout=` seconds (default 300), see `PostgresPool`.
///
/// The password is never part of `description`: every message, log line and error names the
/// store by `description`, so a password cannot leak into output.
public struct PostgresLocation: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var user: String
    public var database: String
    let password: String?
    public var sslMode: SSLMode
    /// PEM file of the certificates that may sign the server's (nil: see `SSLMode`).
    public var sslRootCert: String?
    /// Seconds to connect (TCP, TLS and authentication together).
    public var connectTimeout: Double
    /// Seconds one statement may run: the server cancels it after this (statement_timeout),
    /// and the client gives up a few seconds later if the server does not answer at all.
    public var statementTimeout: Double

    /// libpq's sslmode values. `allow` connects without TLS (libpq would retry with TLS when
    /// the server insists; such a server then refuses the connection here). `prefer` and
    /// `require` encrypt without checking the certificate (unless a root certificate is
    /// given, which makes `require` act as `verify-ca`, as in libpq); `verify-ca` checks the
    /// chain against the root certificates, `verify-full` the chain and the host name.
    public enum SSLMode: String, Sendable, CaseIterable {
        case disable, allow, prefer, require
        case verifyCA = "verify-ca"
        case verifyFull = "verify-full"
    }

    /// The URL parameters understood (others are refused: a misspelt sslmode must not
    /// silently mean plaintext).
    static let parameters: Set<String> = ["passfile", "sslmode", "sslrootcert", "connect_timeout", "statement_timeout"]

    /// The store as messages name it: the URL without the password.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    public var hasPassword: Bool { password != nil }

    /// True for a `postgres://` or `postgresql://` store argument (else it is an SQLite file).
    public static func isPostgres(_ s: String) -> Bool { s.hasPrefix("postgres://") || s.hasPrefix("postgresql://") }

    public init(url: String, environment env: [String: String] = ProcessInfo.processInfo.environment) throws {
        guard Self.isPostgres(url), let c = URLComponents(string: url) else {
            throw PostgresStoreError.badURL(Self.redacted(url), reason: "expected postgres://user@host:port/database")
        }
        if let q = c.queryItems?.first(where: { !Self.parameters.contains($0.name) }) {
            throw PostgresStoreError.badURL(
                Self.redacted(url),
                reason: "unsupported parameter \(q.name) (known: \(Self.parameters.sorted().joined(separator: ", ")))")
        }
        func nonEmpty(_ s: String?) -> String? { s.flatMap { $0.isEmpty ? nil : $0 } }
        func query(_ name: String) -> String? { nonEmpty(c.queryItems?.first(where: { $0.name == name })?.value) }
        let modeText = query("sslmode") ?? nonEmpty(env["PGSSLMODE"]) ?? "prefer"
        guard let mode = SSLMode(rawValue: modeText) else {
            throw PostgresStoreError.badURL(
                Self.redacted(url),
                reason: "sslmode=\(modeText) is not one of \(SSLMode.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        sslMode = mode
        let libpqRoot = (nonEmpty(env["HOME"]) ?? NSHomeDirectory()) + "/.postgresql/root.crt"
        sslRootCert =
            query("sslrootcert") ?? nonEmpty(env["PGSSLROOTCERT"])
            ?? (FileManager.default.fileExists(atPath: libpqRoot) ? libpqRoot : nil)
        func seconds(_ name: String, env key: String?, default d: Double) throws -> Double {
            guard let text = query(name) ?? key.flatMap({ nonEmpty(env[$0]) }) else { return d }
            guard let v = Double(text), v > 0, v <= 86_400 else {
                throw PostgresStoreError.badURL(
                    Self.redacted(url), reason: "\(name)=\(text) is not a number of seconds in (0, 86400]")
            }
            return v
        }
        connectTimeout = try seconds("connect_timeout", env: "PGCONNECT_TIMEOUT", default: 10)
        statementTimeout = try seconds("statement_timeout", env: nil, default: 300)
        host = nonEmpty(c.host) ?? nonEmpty(env["PGHOST"]) ?? "localhost"
        let port = c.port ?? nonEmpty(env["PGPORT"]).flatMap(Int.init) ?? 5432
        guard (1...65535).contains(port) else {
            throw PostgresStoreError.badURL(Self.redacted(url), reason: "port is not a number in 1...65535")
        }
        self.port = port
        let user =
            nonEmpty(c.user?.removingPercentEncoding) ?? nonEmpty(env["PGUSER"]) ?? nonEmpty(env["USER"]) ?? "postgres"
        self.user = user
        let path = c.path.hasPrefix("/") ? String(c.path.dropFirst()) : c.path
        let database = nonEmpty(path.removingPercentEncoding) ?? nonEmpty(env["PGDATABASE"]) ?? user
        guard !database.contains("/") else {
            throw PostgresStoreError.badURL(Self.redacted(url), reason: "database name contains '/'")
        }
        self.database = database
        if let p = c.password?.removingPercentEncoding {
            password = p
        } else if let p = env["PGPASSWORD"] {
            password = p
        } else {
            let file =
                c.queryItems?.first(where: { $0.name == "passfile" })?.value ?? nonEmpty(env["PGPASSFILE"])
                ?? (nonEmpty(env["HOME"]) ?? NSHomeDirectory()) + "/.pgpass"
            password = try Self.passwordFile(
                file, host: host, port: port, database: database, user: user,
                explicit: file == c.queryItems?.first(where: { $0.name == "passfile" })?.value)
        }
    }

    /// A warning for stderr when a command line holds a PostgreSQL URL with a password
    /// (`--store postgres://u:pw@...`, also `--store=...`): `ps` shows argv to every user of
    /// the machine. Nil otherwise.
    public static func argvPasswordWarning(_ arguments: [String]) -> String? {
        let urls = arguments.map { a in
            a.firstIndex(of: "=").map { i in isPostgres(a) ? a : String(a[a.index(after: i)...]) } ?? a
        }
        guard urls.contains(where: { isPostgres($0) && URLComponents(string: $0)?.password != nil }) else { return nil }
        return
            """
            warning: the store URL on the command line holds a password, which the process list (ps) shows to every \
            user of this machine; use PGPASSWORD, a password file (~/.pgpass, PGPASSFILE or ?passfile=) or \
            RSTORE_STORE instead\n
            """
    }

    /// `url` with any password replaced by `***`, for messages about a URL that did not parse.
    public static func redacted(_ url: String) -> String {
        guard let at = url.lastIndex(of: "@"), let scheme = url.range(of: "://"), scheme.upperBound < at else {
            return url
        }
        let userinfo = url[scheme.upperBound..<at]
        guard let colon = userinfo.firstIndex(of: ":") else { return url }
        return String(url[..<colon]) + ":***" + String(url[at...])
    }

    /// The first matching line of a libpq password file; nil when none matches or the file is
    /// absent (an explicitly named file that cannot be read is an error).
    static func passwordFile(_ path: String, host: String, port: Int, database: String, user: String, explicit: Bool)
        throws -> String?
    {
        guard let data = FileManager.default.contents(atPath: path) else {
            if explicit { throw PostgresStoreError.badURL("passfile \(path)", reason: "cannot read the password file") }
            return nil
        }
        guard data.count <= 1 << 20, let text = String(data: data, encoding: .utf8) else {
            throw PostgresStoreError.badURL("passfile \(path)", reason: "not a UTF-8 text file of at most 1 MiB")
        }
        for line in text.split(whereSeparator: \.isNewline) where !line.hasPrefix("#") {
            let fields = splitEscaped(String(line))
            guard fields.count == 5 else { continue }
            let want = [host, String(port), database, user]
            if zip(fields.prefix(4), want).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// Splits a password-file line on unescaped ':' (`\:` and `\\` are literal).
    static func splitEscaped(_ line: String) -> [String] {
        var fields: [String] = []
        var cur = ""
        var escaped = false
        for ch in line {
            if escaped {
                cur.append(ch)
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else if ch == ":" {
                fields.append(cur)
                cur = ""
            } else {
                cur.append(ch)
            }
        }
        fields.append(cur)
        return fields
    }

    /// A file name for this machine's side files of the database (matrix cache, frame tier).
    public var cacheName: String {
        let safe = "\(host)-\(port)-\(database)".map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" }
        return "pg-" + String(safe)
    }
}
