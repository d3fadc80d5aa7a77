import Foundation
import PostgresNIO
import Store

/// Why a PostgreSQL store could not be reached or answered: each message names the store by
/// its password-free URL and says what to do. (Refusals of the data itself, a foreign
/// database, another model, a lost lease, are `StoreError`s, the same as SQLite's.)
public enum PostgresStoreError: Error, CustomStringConvertible, Equatable {
    case badURL(String, reason: String)
    case unreachable(store: String, reason: String)
    case authentication(store: String, reason: String)
    /// The connection broke during an operation; its transaction was rolled back by the server.
    case connectionLost(store: String, during: String)
    case server(store: String, sqlState: String, message: String)

    public var description: String {
        switch self {
        case .badURL(let u, let r): return "\(u): not a PostgreSQL store URL: \(r)"
        case .unreachable(let s, let r): return "\(s): cannot connect to the PostgreSQL server (\(r)); is it running and listening there?"
        case .authentication(let s, let r): return "\(s): the server refused the credentials (\(r)); check the user and the password (URL, PGPASSWORD or the password file)"
        case .connectionLost(let s, let d): return "\(s): the connection to the server was lost during \(d); nothing of it was committed"
        case .server(let s, let state, let m): return "\(s): the server refused the request (SQLSTATE \(state)): \(m)"
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
            if state == "3D000" { return unreachable(store: store, reason: message) }   // no such database
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

    /// Whether the failed operation never reached a committed state and may be tried once more
    /// on a fresh connection.
    var isConnectionLoss: Bool {
        if case .connectionLost = self { return true }
        return false
    }
}
