import Foundation

/// CPU seconds used by this process and by the local PostgreSQL server's processes (every
/// process named `postgres`, from /proc), so `rstore bench workers` can say where a run's CPU
/// went on a small machine: a server on another host shows 0 here; and the load average, for
/// what the rest of the machine was doing. Linux only; zeros elsewhere.
struct BenchCPUShare {
    var own: Double
    /// CPU seconds per server process id (backends come and go with connections).
    var postgres: [String: Double]

    static func now() -> BenchCPUShare {
        BenchCPUShare(
            own: seconds(of: "self"),
            postgres: Dictionary(uniqueKeysWithValues: processes(named: "postgres").map { ($0, seconds(of: $0)) }))
    }

    /// `later - self` as fractions of all cores over `wall` seconds. A server process that
    /// started since counts from zero; one that exited since is lost (undercounted, never negative).
    func share(until later: BenchCPUShare, wall: Double) -> (own: Double, postgres: Double) {
        let cores = Double(ProcessInfo.processInfo.activeProcessorCount) * max(wall, 1e-9)
        let server = later.postgres.reduce(0.0) { $0 + max(0, $1.value - (postgres[$1.key] ?? 0)) }
        return ((later.own - own) / cores, server / cores)
    }

    /// utime + stime of /proc/<pid>/stat (fields 14 and 15, counted after the command name).
    static func seconds(of pid: String) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.range(of: ")", options: .backwards)
        else { return 0 }
        let fields = stat[close.upperBound...].split(separator: " ")
        guard fields.count > 13, let u = Double(fields[11]), let s = Double(fields[12]) else { return 0 }
        return (u + s) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// The 1-minute load average (runnable threads, all processes): how shared the machine was.
    static func loadAverage() -> Double {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8)).flatMap {
            $0.split(separator: " ").first.flatMap { Double($0) }
        } ?? 0
    }

    static func processes(named name: String) -> [String] {
        let pids = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return pids.filter { $0.allSatisfy(\.isNumber) }.filter {
            (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.trimmingCharacters(
                in: .whitespacesAndNewlines) == name
        }
    }
}
