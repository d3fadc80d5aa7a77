import Foundation
import PostgresNIO

/// The TLS a location's `sslmode` asks for, as PostgresNIO takes it (NIOSSL underneath).
extension PostgresLocation {
    /// `.disable`, `.prefer` or `.require` with a context that checks what the mode says.
    func tls() throws -> PostgresConnection.Configuration.TLS {
        if sslMode == .disable || sslMode == .allow { return .disable }
        let roots = sslRootCert
        var config = TLSConfiguration.makeClientConfiguration()
        switch sslMode {
        case .verifyFull: config.certificateVerification = .fullVerification
        case .verifyCA: config.certificateVerification = .noHostnameVerification
        // libpq: with a root certificate at hand, require checks the chain (as verify-ca).
        case .require where roots != nil: config.certificateVerification = .noHostnameVerification
        default: config.certificateVerification = .none
        }
        if config.certificateVerification != .none {
            guard let roots else {
                throw PostgresStoreError.badURL(
                    description + "?sslmode=\(sslMode.rawValue)",
                    reason:
                        """
                        sslmode=\(sslMode.rawValue) checks the server's certificate: give the certificates that sign \
                        it with sslrootcert=PATH (or PGSSLROOTCERT, or ~/.postgresql/root.crt), or sslrootcert=system \
                        for the system's trust roots
                        """
                )
            }
            if roots == "system" {
                config.trustRoots = .default
            } else {
                do { config.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(roots)) } catch {
                    throw PostgresStoreError.badURL(
                        "sslrootcert \(roots)", reason: "cannot read PEM certificates from it (\(error))")
                }
            }
        }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: config) } catch {
            throw PostgresStoreError.badURL(description, reason: "cannot set up TLS (\(error))")
        }
        return sslMode == .prefer ? .prefer(context) : .require(context)
    }
}
