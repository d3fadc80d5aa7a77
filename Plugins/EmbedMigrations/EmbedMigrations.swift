import Foundation
import PackagePlugin

/// Embeds the package's top-level `Migrations/NNNN_name.sql` files into the target as a
/// generated Swift source, so an installed binary carries its schema and needs no files.
/// Each SQL dialect has its own folder and type: `Migrations/*.sql` (SQLite) become
/// `Migration.embedded` in Store; `Migrations/postgres/*.sql` become
/// `PostgresMigration.embedded` in StorePostgres.
///
/// The tool lists the folder itself, and the folder is an input of the command beside its files:
/// SwiftPM does not re-run a plugin when a file appears outside the target, but the folder's
/// modification time changes, so a new migration is embedded without a clean build.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let postgres = target.name == "StorePostgres"
        var dir = context.package.directoryURL.appendingPathComponent("Migrations")
        if postgres { dir = dir.appendingPathComponent("postgres") }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let inputs = names.filter { $0.hasSuffix(".sql") }.sorted().map { dir.appendingPathComponent($0) }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding migrations from \(postgres ? "Migrations/postgres/" : "Migrations/")",
                executable: try context.tool(named: "embed-migrations").url,
                arguments: (postgres ? ["--type", "PostgresMigration"] : []) + [output.path, dir.path],
                inputFiles: [dir] + inputs,
                outputFiles: [output])
        ]
    }
}
