/// An error of a store backend that may mean "not now" rather than "no": the store could not
/// be reached or did not answer in time. Front ends answer an outage 503 (retry later), not
/// 500. Backends in other modules (PostgreSQL) conform, so the engine classifies their errors
/// without importing them (see `LayerFailure`).
public protocol StoreOutage: Error, CustomStringConvertible {
    /// True when this error is an outage (unreachable, connection lost, timed out).
    var isOutage: Bool { get }
}
