import Foundation

/// A one-line progress bar on a terminal (stderr), plain log lines otherwise, so piped and
/// logged runs stay readable.
final class ProgressBar: @unchecked Sendable {
    private let isTTY = isatty(STDERR_FILENO) == 1
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastLogged = Date.distantPast
    private let lock = NSLock()

    /// `done`/`total` frames of the current file; `file` is i of n.
    func update(file: Int, of files: Int, name: String, done: Int, total: Int, framesSoFar: Int) {
        lock.lock(); defer { lock.unlock() }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(framesSoFar) / elapsed : 0
        let remaining = rate > 0 && total > done ? Double(total - done) / rate : 0
        if isTTY {
            guard now.timeIntervalSince(lastDraw) > 0.1 else { return }
            lastDraw = now
            let width = 24
            let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
            let filled = Int(fraction * Double(width))
            let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
            let line = String(format: "\r[%@] file %d/%d  %d/%d frames  %.1f frames/s  ETA %@  %@",
                              bar, file, files, done, total, rate, Self.clock(remaining), String(name.suffix(40)))
            FileHandle.standardError.write(Data((line + "\u{1B}[K").utf8))
        } else if now.timeIntervalSince(lastLogged) > 5 {
            lastLogged = now
            log(String(format: "file %d/%d %@: %d/%d frames, %.1f frames/s", file, files, name, done, total, rate))
        }
    }

    /// A message on its own line (clears the bar first on a terminal).
    func log(_ message: String) {
        let prefix = isTTY ? "\r\u{1B}[K" : ""
        FileHandle.standardError.write(Data((prefix + message + "\n").utf8))
    }

    func finish() {
        if isTTY { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
