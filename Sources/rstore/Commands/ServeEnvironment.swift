import Foundation

/// Every `rstore serve` option from the environment, for services (systemd units,
/// containers) configured by variables: `RSTORE_` + the option's name in upper case with
/// `_` for `-` (`--max-p-frames` → `RSTORE_MAX_P_FRAMES`); the command line wins. Repeatable
/// options take several values separated by `,` (`RSTORE_LIBRARY_ROOT=/srv/a,/srv/b`); a flag is
/// on for `1`, `true` or `yes`. `--store`, `--model`, `--tokenizer` and the token read
/// `RSTORE_STORE`, `RSTORE_MODEL`, `RSTORE_TOKENIZER` and `RSTORE_TOKEN` themselves (as every
/// command does); `--log-level` also reads `LOG_LEVEL`.
///
/// Applied to argv before parsing (`arguments`), so ArgumentParser validates a value from
/// the environment exactly as one typed; `ServeEnvironmentTests` checks that every option
/// in `rstore serve --help` is in `options` or `native`.
enum ServeEnvironment {
    enum Kind { case value, repeated, flag }

    /// Options taken from `RSTORE_<NAME>` (and, for some, other variables), in this order.
    static let options: [(name: String, kind: Kind, extra: [String])] = [
        ("host", .value, []), ("port", .value, []), ("library-root", .repeated, []), ("root", .repeated, []),
        ("token-file", .value, []), ("allow-host", .repeated, []),
        ("max-p-frames", .value, []), ("max-decoded-frames", .value, []), ("max-image-pixels", .value, []),
        ("index-jobs", .value, []), ("index-job-deadline", .value, []), ("max-concurrent-work", .value, []),
        ("max-queued-work", .value, []), ("max-connections", .value, []), ("idle-timeout", .value, []),
        ("body-timeout", .value, []), ("store-timeout", .value, []), ("thumbnail-cache-mb", .value, []),
        ("frame-cache-mb", .value, []), ("frame-tier-mb", .value, []), ("log-level", .value, ["LOG_LEVEL"]),
        ("metrics-public", .flag, []), ("stage1", .value, []),
        ("refine-decode-budget", .value, []),
    ]

    /// Options that read their variable themselves (`--token`'s is RSTORE_TOKEN).
    static let native: Set<String> = ["store", "model", "tokenizer", "token"]

    static func variable(_ option: String) -> String {
        "RSTORE_" + option.uppercased().replacingOccurrences(of: "-", with: "_")
    }

    /// `argv` (after the subcommand) with the options the environment gives and argv does not.
    static func arguments(_ argv: [String], environment: [String: String]) -> [String] {
        var out = argv
        // After `--` everything is positional; options there are not options.
        let given = argv.prefix { $0 != "--" }
        for (name, kind, extra) in options {
            let flag = "--" + name
            guard !given.contains(where: { $0 == flag || $0.hasPrefix(flag + "=") }) else { continue }
            guard
                let value = ([variable(name)] + extra).lazy.compactMap({ environment[$0] }).first(where: { !$0.isEmpty }
                )
            else { continue }
            switch kind {
            case .value:
                out.insert(contentsOf: [flag, value], at: insertionPoint(out))
            case .repeated:
                for v in value.split(separator: ",").map(String.init) where !v.isEmpty {
                    out.insert(contentsOf: [flag, v], at: insertionPoint(out))
                }
            case .flag:
                if ["1", "true", "yes"].contains(value.lowercased()) { out.insert(flag, at: insertionPoint(out)) }
            }
        }
        return out
    }

    private static func insertionPoint(_ argv: [String]) -> Int { argv.firstIndex(of: "--") ?? argv.count }
}
