import Foundation

// embed-migrations [--type NAME] OUTPUT.swift Migrations/   (or: OUTPUT.swift Migrations/0001_a.sql [Migrations/0002_b.sql ...])
//
// Writes a Swift source defining `Migration.embedded` (`NAME.embedded` with --type, for another
// dialect's migrations; NAME has the same `init(version:name:sql:)`): every migration, in version order, with
// its SQL as an escaped string literal (byte-exact, whatever the file's line endings). Refuses
// misnamed files and duplicate versions, so a bad migration fails the build, not a user's store.

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("embed-migrations: error: \(message)\n".utf8))
    exit(1)
}

func literal(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
        switch u {
        case "\\": out += "\\\\"
        case "\"": out += "\\\""
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        case _ where u.value < 0x20 || u.value == 0x7f: out += "\\u{\(String(u.value, radix: 16))}"
        default: out.unicodeScalars.append(u)
        }
    }
    return out + "\""
}

var args = Array(CommandLine.arguments.dropFirst())
var typeName = "Migration"
if args.first == "--type", args.count >= 2 {
    typeName = args[1]
    guard typeName.allSatisfy({ $0.isLetter || $0.isNumber }), typeName.first?.isLetter == true else {
        fail("--type \(typeName): not a Swift type name")
    }
    args.removeFirst(2)
}
guard args.count >= 2 else { fail("usage: embed-migrations [--type NAME] OUTPUT.swift (MIGRATIONS-DIR | FILE.sql...)") }
let output = args[0]
var paths = Array(args.dropFirst())
var isDir: ObjCBool = false
if paths.count == 1, FileManager.default.fileExists(atPath: paths[0], isDirectory: &isDir), isDir.boolValue {
    let dir = paths[0]
    let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    paths = names.filter { $0.hasSuffix(".sql") }.sorted().map { dir + "/" + $0 }
}
var entries: [(version: Int, name: String, sql: String)] = []
for path in paths {
    let name = URL(fileURLWithPath: path).lastPathComponent
    let stem = name.dropLast(4)  // ".sql"
    let parts = stem.split(separator: "_", maxSplits: 1)
    guard name.hasSuffix(".sql"), parts.count == 2, parts[0].count == 4, let version = Int(parts[0]), version > 0,
        parts[1].allSatisfy({ $0.isLowercase || $0.isNumber || $0 == "_" })
    else {
        fail("\(path): migrations are named NNNN_name.sql (4-digit version > 0, lowercase name)")
    }
    guard let data = FileManager.default.contents(atPath: path), let sql = String(data: data, encoding: .utf8) else {
        fail("\(path): unreadable or not UTF-8")
    }
    entries.append((version, name, sql))
}
entries.sort { $0.version < $1.version }
for (a, b) in zip(entries, entries.dropFirst()) where a.version == b.version {
    fail("\(a.name) and \(b.name) have the same version")
}

var swift = """
    // Generated at build time by the EmbedMigrations plugin from Migrations/*.sql. Do not edit.

    extension \(typeName) {
        /// Every migration, in the order they are applied.
        static let embedded: [\(typeName)] = [

    """
for e in entries {
    swift +=
        "        \(typeName)(version: \(e.version), name: \(literal(e.name)),\n                  sql: \(literal(e.sql))),\n"
}
swift += "    ]\n}\n"
do {
    try Data(swift.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    fail("cannot write \(output): \(error)")
}
