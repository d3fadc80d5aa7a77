import Foundation

/// CPU seconds used by this process and by the local PostgreSQL server's processes (every
/// process named `postgres`, from /proc), so `rstore bench workers` can say where a run's CPU
/// went on a small machine: a server on another host shows 0 here. Linux only; zeros elsewhere.
struct BenchCPUShare {
    var own: Double
    var postgres: Double

    static func now() -> BenchCPUShare {
        BenchCPUShare(own: seconds(of: "self"), postgres: processes(named: "postgres").reduce(0) { $0 + seconds(of: $1) })
    }

    /// `later - self` as fractions of all cores over `wall` seconds.
    func share(until later: BenchCPUShare, wall: Double) -> (own: Double, postgres: Double) {
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount) * max(wall, 1e-9)
        return ((later.own - own) / cores, (later.postgres - postgres) / cores)
    }

    /// utime + stime of /proc/<pid>/stat (fields 14 and 15, counted after the command name).
    static func seconds(of pid: String) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.range(of: ")", options: .backwards) else { return 0 }
        let fields = stat[close.upperBound...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    static func processes(named name: String) -> [String] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { $0.allSatisfy(\.isNumber) }.filter {
            (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == name
        }
    }
}
