import ArgumentParser
import Foundation
import ResidualStore

/// `--store`, else $RSTORE_STORE, as a PostgreSQL URL (commands that only make sense shared).
public func sharedStoreURL(_ given: String?) throws -> String {
    guard let s = given ?? ProcessInfo.processInfo.environment["RSTORE_STORE"], StoreLocation.isShared(s) else {
        throw ValidationError(
            "this command needs a PostgreSQL store: --store postgres://user@host:port/db (or RSTORE_STORE)")
    }
    return s
}
