import Foundation
import PostgresNIO
import Store

/// Why a PostgreSQL store could not be reached or answered: each message names the store by
/// its password-free URL and says what to do. (Refusals of the data itself, a foreign
/// database, another model, a lost lease, are `StoreError`s, the same as SQLite's.)
public enum PostgresStoreError: Error, CustomStringConvertible, Equatable, StoreOutage {
    case badURL(String, reason: String)
    case unreachable(store: String, reason: String)
    case authentication(store: String, reason: String)
    /// The connection broke during an operation; its transaction was rolled back by the server.
    case connectionLost(store: String, during: String)
    case server(store: String, sqlState: String, message: String)
    /// The server did not answer in time (connecting, a free connection, or a statement):
    /// down, stopped or overloaded. Nothing of the operation was committed by this client.
    case timedOut(store: String, during: String, seconds: Double)

    public var description: String {
        switch self {
        case .badURL(let u, let r): return "\(u): not a PostgreSQL store URL: \(r)"
        case .unreachable(let s, let r):
            return "\(s): cannot connect to the PostgreSQL server (\(r)); is it running and listening there?"
        case .authentication(let s, let r):
            return
                """
                \(s): the server refused the credentials (\(r)); check the user and the password (URL, PGPASSWORD or \
                the password file)
                """
        case .connectionLost(let s, let d):
            return "\(s): the connection to the server was lost during \(d); nothing of it was committed"
        case .server(let s, let state, let m): return "\(s): the server refused the request (SQLSTATE \(state)): \(m)"
        case .timedOut(let s, let d, let t):
            let when =
                t > 0
                ? "no answer from the server within \(t) s"
                : "the server cancelled the statement at its statement_timeout"
            return
                """
                \(s): \(when) during \(d); it is down, stopped or overloaded (connect_timeout / statement_timeout in \
                the URL set the limits)
                """
        }
    }

    /// PostgresNIO's and NIO's errors as the store's own. PSQLError's description is
    /// deliberately generic; the server's message and SQL state are taken from its fields.
    static func from(_ error: any Error, store: String, during: String) -> any Error {
        if error is PostgresStoreError || error is StoreError { return error }
        guard let e = error as? PSQLError else {
            if let io = error as? IOError { return unreachable(store: store, reason: "\(io)") }
            if "\(type(of: error))".contains("ChannelError") || "\(type(of: error))".contains("Connect") {
                return unreachable(store: store, reason: "\(error)")
            }
            return error
        }
        let state = e.serverInfo?[.sqlState] ?? ""
        let message = e.serverInfo?[.message] ?? "\(e.code)"
        switch e.code {
        case .server:
            if state.hasPrefix("28") { return authentication(store: store, reason: message) }
            if state == "3D000" { return unreachable(store: store, reason: message) }  // no such database
            if state == "57014" { return timedOut(store: store, during: during, seconds: 0) }  // statement_timeout (canceled)
            if state.hasPrefix("57P") || state.hasPrefix("08") { return connectionLost(store: store, during: during) }
            return server(store: store, sqlState: state, message: message)
        case .serverClosedConnection, .clientClosedConnection, .uncleanShutdown:
            return connectionLost(store: store, during: during)
        case .connectionError:
            return unreachable(store: store, reason: e.underlying.map { "\($0)" } ?? "connection error")
        case .authMechanismRequiresPassword, .unsupportedAuthMechanism, .saslError:
            return authentication(store: store, reason: "\(e.code)")
        default:
            return server(store: store, sqlState: state, message: message)
        }
    }

    /// The store cannot be reached or did not answer (the request may succeed later), as
    /// opposed to refusing the request.
    public var isOutage: Bool {
        switch self {
        case .unreachable, .connectionLost, .timedOut: return true
        case .badURL, .authentication, .server: return false
        }
    }

    /// Whether the failed operation never reached a committed state and may be tried once more
    /// on a fresh connection.
    var isConnectionLoss: Bool {
        if case .connectionLost = self { return true }
        return false
    }
}
