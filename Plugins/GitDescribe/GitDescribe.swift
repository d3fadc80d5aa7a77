import Foundation
import PackagePlugin

/// Writes `GitDescribe.swift` (`enum GitDescribe { static let text = "..." }`) before every
/// build: `git describe --always --dirty` of the package's checkout, or `$RSTORE_BUILD_COMMIT`
/// when set (a build from a tarball, a packager's build), or "" when neither is there: a
/// clean build never fails for want of git. A prebuild command (it runs on every build, so a
/// new commit is seen without a clean build); the file is replaced only when its text changes,
/// so an unchanged commit recompiles and relinks nothing.
@main
struct GitDescribePlugin: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let out = context.pluginWorkDirectoryURL.appendingPathComponent("generated")
        try FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
        // Only [A-Za-z0-9._-] survives: the text becomes a Swift string literal.
        let script = """
            d="${RSTORE_BUILD_COMMIT:-}"
            if [ -z "$d" ] && command -v git >/dev/null 2>&1; then d="$(git -C "$1" describe --always --dirty 2>/dev/null || true)"; fi
            d="$(printf '%s' "$d" | tr -cd 'A-Za-z0-9._-' | cut -c1-64)"
            f="$2/GitDescribe.swift"
            printf '// Generated before each build by the GitDescribe plugin. Do not edit.\\nenum GitDescribe { static let text = "%s" }\\n' "$d" > "$f.tmp"
            if cmp -s "$f.tmp" "$f"; then rm -f "$f.tmp"; else mv "$f.tmp" "$f"; fi
            """
        return [
            .prebuildCommand(
                displayName: "Reading the git commit for the version",
                executable: URL(fileURLWithPath: "/bin/sh"),
                arguments: ["-c", script, "sh", context.package.directoryURL.path, out.path],
                outputFilesDirectory: out)
        ]
    }
}
