import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// CPU time of threads, for cost breakdowns that hold when work runs on helper threads
/// (libavcodec's frame threads, OpenBLAS and dispatch workers) the caller cannot time itself.
/// Linux: per-thread run time from `/proc/self/task/<tid>/schedstat` (nanoseconds), names
/// from `comm` (a thread inherits its creator's name, so a decoder's frame threads carry the
/// name of the thread that opened it). Elsewhere every figure is 0.
public enum ThreadCPU {
    /// CPU seconds of the calling thread.
    public static func current() -> Double {
        var ts = timespec()
        guard clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0 else { return 0 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// CPU seconds of the whole process so far (threads that exited included).
    public static func process() -> Double {
        var ts = timespec()
        guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0 else { return 0 }
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The calling thread's kernel id (from /proc/thread-self, "<pid>/task/<tid>"; 0 if unknown).
    public static func currentID() -> Int32 {
        var buf = [CChar](repeating: 0, count: 64)
        let n = readlink("/proc/thread-self", &buf, 63)
        guard n > 0 else { return 0 }
        let link = String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return link.split(separator: "/").last.flatMap { Int32($0) } ?? 0
    }

    /// The calling thread's name as the kernel has it ("" where unknown).
    public static func currentName() -> String {
        read("/proc/thread-self/comm")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    /// Names the calling thread for the kernel (what `comm` and threads it creates from now on
    /// show; Foundation's `Thread.name` does not reach it on Linux). At most 15 bytes are kept.
    public static func nameCurrent(_ name: String) {
        // /proc/thread-self/comm is what pthread_setname_np writes (not importable here).
        let fd = open("/proc/thread-self/comm", O_WRONLY)
        guard fd >= 0 else { return }
        defer { close(fd) }
        let bytes = Array(name.utf8.prefix(15))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    }

    /// One live thread: id, name and CPU seconds so far.
    public struct Sample: Sendable, Equatable {
        public var tid: Int32
        public var name: String
        public var seconds: Double
    }

    /// Every live thread of the process (empty where /proc is missing).
    public static func threads() -> [Sample] {
        guard let dir = opendir("/proc/self/task") else { return [] }
        defer { closedir(dir) }
        var out: [Sample] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let tid = Int32(name) else { continue }
            let base = "/proc/self/task/\(tid)/"
            guard let stat = read(base + "schedstat"), let ns = stat.split(separator: " ").first.flatMap({ Double($0) })
            else { continue }
            let comm = read(base + "comm")?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            out.append(Sample(tid: tid, name: comm, seconds: ns / 1e9))
        }
        return out
    }

    /// CPU seconds of the live threads named `name`.
    public static func seconds(named name: String) -> Double {
        threads().filter { $0.name == name }.reduce(0) { $0 + $1.seconds }
    }

    /// A small /proc file's text (nil when it cannot be read).
    private static func read(_ path: String) -> String? {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 128)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, 127) }
        guard n > 0 else { return nil }
        return String(decoding: buf[0..<n], as: UTF8.self)
    }
}
