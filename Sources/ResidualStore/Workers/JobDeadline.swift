import Foundation

/// Runs `expire` once, `seconds` from now, on its own thread, unless cancelled first: how an
/// `IndexWorker` gives up a job that runs past `--job-deadline`.
final class JobDeadline: @unchecked Sendable {
    private let cond = NSCondition()
    private var state = 0  // 0 pending, 1 cancelled, 2 fired

    init(after seconds: Double, _ expire: @escaping @Sendable () -> Void) {
        let until = Date().addingTimeInterval(seconds)
        let thread = Thread { [self] in
            cond.lock()
            while state == 0, cond.wait(until: until) {}
            let fire = state == 0
            if fire { state = 2 }
            cond.unlock()
            if fire { expire() }
        }
        thread.start()
    }

    /// Stops it if it has not fired; returns whether it had fired (the deadline passed).
    func cancel() -> Bool {
        cond.lock()
        defer { cond.unlock() }
        if state == 0 {
            state = 1
            cond.signal()
        }
        return state == 2
    }
}
