import BuildInfo
import Foundation

/// The OpenAPI 3.1 description of every route: `Resources/openapi.json`, a checked-in file
/// compiled into the binary (`.embedInCode`, so an installed server needs no files). It is the
/// contract, edited with the code: `ContractTests` checks it against the routes registered,
/// the query parameters each handler reads and every field of real responses, both ways.
public enum OpenAPIDocument {
    /// The file as checked in.
    public static var checkedIn: [UInt8] { PackageResources.openapi_json }

    /// The document as served: the file with `info.version` set to this build's version
    /// (`BuildInfo.version`, e.g. `2.0.0+6274480`), keys sorted.
    public static let json: [UInt8] = {
        guard var doc = (try? JSONSerialization.jsonObject(with: Data(checkedIn))) as? [String: Any],
            var info = doc["info"] as? [String: Any]
        else {
            return checkedIn  // a broken file fails ContractTests; serve it as it is meanwhile
        }
        info["version"] = BuildInfo.version
        doc["info"] = info
        guard
            let data = try? JSONSerialization.data(
                withJSONObject: doc, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return checkedIn }
        return Array(data)
    }()
}
