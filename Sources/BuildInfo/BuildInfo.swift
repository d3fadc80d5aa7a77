/// What `rstore --version`, `GET /healthz` and the served OpenAPI document's `info.version`
/// say. The package version is a constant bumped by hand; its major number is the HTTP API's
/// version (`apiVersion`, `x-api-version` in openapi.json): a change that breaks clients bumps
/// both. The commit comes from the GitDescribe build plugin (`git describe --always --dirty`,
/// or `$RSTORE_BUILD_COMMIT` at build time), and is absent when the build had neither.
public enum BuildInfo {
    public static let packageVersion = "2.0.0"
    public static let apiVersion = 2

    /// The commit the binary was built from (e.g. `6274480-dirty`), nil when unknown.
    public static var commit: String? { GitDescribe.text.isEmpty ? nil : GitDescribe.text }

    /// The version with the commit as semver build metadata: `2.0.0+6274480-dirty`, or `2.0.0`.
    public static var version: String {
        guard let commit else { return packageVersion }
        return packageVersion + "+" + String(commit.map { $0 == "_" ? "-" : $0 })
    }
}
