import Foundation

/// The one progress bar of the CLI: a redrawn line on a terminal (stderr), plain log lines
/// otherwise, so piped and logged runs stay readable. Indexing and training both draw it.
final class ProgressBar: @unchecked Sendable {
    let isTTY = isatty(STDERR_FILENO) == 1
    private let start = Date()
    private var lastDraw = Date.distantPast
    private var lastLogged = Date.distantPast
    private var shown = false
    private let lock = NSLock()

    /// `done`/`total` frames of the current file; `file` is i of n.
    func update(file: Int, of files: Int, name: String, done: Int, total: Int, framesSoFar: Int) {
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        let elapsed = now.timeIntervalSince(start)
        let rate = elapsed > 0 ? Double(framesSoFar) / elapsed : 0
        let remaining = rate > 0 && total > done ? Double(total - done) / rate : 0
        if isTTY {
            draw(
                done, total,
                String(
                    format: "file %d/%d  %d/%d frames  %.1f frames/s  ETA %@  %@",
                    file, files, done, total, rate, Self.clock(remaining), String(name.suffix(40))), now: now)
        } else if now.timeIntervalSince(lastLogged) > 5 {
            lastLogged = now
            log(String(format: "file %d/%d %@: %d/%d frames, %.1f frames/s", file, files, name, done, total, rate))
        }
    }

    /// `done` of `total` steps of `label` (terminal only: a log has the caller's own lines).
    func update(_ label: String, done: Int, total: Int) {
        lock.lock()
        defer { lock.unlock() }
        guard isTTY, total > 0 else { return }
        draw(done, total, "\(done)/\(total) \(label)", now: Date())
    }

    /// Redraws the bar at most ten times a second (the last step always).
    private func draw(_ done: Int, _ total: Int, _ text: String, now: Date) {
        guard now.timeIntervalSince(lastDraw) > 0.1 || done >= total else { return }
        lastDraw = now
        let width = 24
        let fraction = total > 0 ? min(1, Double(done) / Double(total)) : 0
        let filled = Int(fraction * Double(width))
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        FileHandle.standardError.write(Data(("\r[\(bar)] " + text + "\u{1B}[K").utf8))
        shown = true
    }

    /// A message on its own line (clears the bar first on a terminal).
    func log(_ message: String) {
        let prefix = isTTY ? "\r\u{1B}[K" : ""
        FileHandle.standardError.write(Data((prefix + message + "\n").utf8))
    }

    /// Clears the bar (before other output, and at the end).
    func finish() {
        if isTTY && shown { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        shown = false
    }

    static func clock(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600
            ? String(format: "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60) : String(format: "%d:%02d", s / 60, s % 60)
    }
}
