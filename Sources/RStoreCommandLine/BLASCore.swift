import Foundation
import Tensor

/// Makes OpenBLAS use this CPU's own kernels.
///
/// Why: Debian's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not recognise every current CPU and falls
/// back to its SSE3 `Prescott` kernels: on the AVX-512 machines of Dec 2026 sgemm runs at 65
/// GFLOP/s instead of 306 (`SkylakeX`; 159 with `Haswell`), and a cold CLI search's stage 2
/// takes 4.2 s instead of 1.3 s (docs/DESIGN.md, "OpenBLAS kernel choice"). OpenBLAS reads
/// `OPENBLAS_CORETYPE` once, when the library loads, before `main` runs; so the only way to
/// choose from inside rstore is to set the variable and exec the same binary again, once.
///
/// The rule: only when the user has not set `OPENBLAS_CORETYPE` and OpenBLAS picked a generic
/// (pre-AVX) core; the replacement is chosen from /proc/cpuinfo's flags, never assumed:
/// AVX-512 F+BW+VL+DQ -> SkylakeX, else AVX2+FMA -> Haswell, else leave it.
public enum BLASCore {
    /// Set on the re-exec to the core OpenBLAS chose by itself; its presence stops a second exec.
    public static let guardVariable = "RSTORE_BLAS_DEFAULT_CORE"

    /// OpenBLAS's x86-64 cores without AVX kernels (what it falls back to for an unknown CPU).
    public static let genericCores: Set<String> = [
        "prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai",
        "coppermine", "northwood", "banias", "opteron", "opteron_sse3", "barcelona",
        "bobcat", "generic", "unknown",
    ]

    /// The core to ask for, or nil to leave OpenBLAS's choice.
    public static func preferred(current: String, cpuFlags: Set<String>) -> String? {
        guard genericCores.contains(current.lowercased()) else { return nil }
        if cpuFlags.isSuperset(of: ["avx512f", "avx512bw", "avx512vl", "avx512dq"]) { return "SkylakeX" }
        if cpuFlags.isSuperset(of: ["avx2", "fma"]) { return "Haswell" }
        return nil
    }

    /// The flags of the first processor in /proc/cpuinfo's text (all cores share them).
    public static func cpuFlags(_ cpuinfo: String) -> Set<String> {
        guard let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
            let colon = line.firstIndex(of: ":")
        else { return [] }
        return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }

    /// Called first thing in `main`: sets the variable and re-execs when the rule says so. If
    /// the exec fails, the process goes on with OpenBLAS's own choice.
    public static func adoptMachineKernels() {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env[guardVariable] == nil,
            let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)
        else { return }
        let current = BLAS.coreName
        guard let want = preferred(current: current, cpuFlags: cpuFlags(info)) else { return }
        setenv("OPENBLAS_CORETYPE", want, 1)
        setenv(guardVariable, current, 1)
        let argv = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", argv)
        unsetenv("OPENBLAS_CORETYPE")
        unsetenv(guardVariable)
        for p in argv { free(p) }
    }

    /// Who chose the kernels: "auto" (this rule), "user" (OPENBLAS_CORETYPE) or "default".
    public static var choice: String {
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] != nil else { return "default" }
        return env[guardVariable] != nil ? "auto" : "user"
    }

    /// One line for benchmark output: the kernels in use and who chose them.
    public static var summary: String {
        let core = BLAS.coreName
        switch choice {
        case "auto":
            return
                """
                \(core) (chosen for this CPU; OpenBLAS alone picked \
                \(ProcessInfo.processInfo.environment[guardVariable] ?? "?"))
                """
        case "user": return "\(core) (OPENBLAS_CORETYPE set by the user)"
        default: return "\(core) (OpenBLAS's own choice)"
        }
    }
}
