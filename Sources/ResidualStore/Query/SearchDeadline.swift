import Foundation

/// A search that must answer by a time: it runs on its own thread while the caller waits for
/// its report until `at`; when `at` passes first, `control` is cancelled and stage 1's coarse
/// answer (`SearchProgress.coarse`) is the answer. Stage 1 takes milliseconds, stage 2 up to
/// seconds a video when the frame tier does not hold its frames: a caller with a deadline
/// would rather have coarse boundaries than none. Stage 1's answer is waited for even past
/// `at` (without it there is nothing to show); errors are thrown as the search throws them.
/// `run` returns only once the search thread has stopped.
public struct SearchDeadline: Sendable {
    public var at: Date
    public var control: QueryControl

    public init(at: Date, control: QueryControl) {
        self.at = at
        self.control = control
    }

    /// `search` given the progress callback to pass to `Library.searchReport`; `passed`: the
    /// deadline came first and the report is stage 1's.
    public func run(
        _ search: @escaping @Sendable (@escaping @Sendable (SearchProgress) -> Void) throws -> SearchReport
    ) throws -> (report: SearchReport, passed: Bool) {
        let state = State()
        let (at, control) = (at, control)
        let thread = Thread {
            let result = Result {
                try search {
                    guard case .coarse(let r) = $0 else { return }
                    state.set { $0.coarse = r }
                    // Past the deadline already: stage 1's answer is the answer; stage 2 stops here.
                    if Date() >= at { control.cancel() }
                }
            }
            state.set { $0.result = result }
        }
        thread.stackSize = 8 << 20  // as the main thread: the search runs what the CLI ran on it
        thread.start()
        let (coarse, result) = state.wait(until: at)
        switch result {
        case .success(let report)?:
            return (report, false)
        case .failure(let error)?:
            // Cancelled by the deadline (above) after stage 1 answered.
            if let coarse, error as? QueryError == .cancelled, control.isCancelled { return (coarse, true) }
            throw error
        case nil:
            // Stop stage 2 and wait for it to stop (at its next check: one decoded frame or one
            // encoder batch): a caller that returns and exits must not tear down what it uses.
            control.cancel()
            state.waitForResult()
            return (coarse!, true)
        }
    }

    /// What the search thread has handed over so far.
    private final class State: @unchecked Sendable {
        var coarse: SearchReport?
        var result: Result<SearchReport, any Error>?
        private let condition = NSCondition()

        func set(_ change: (State) -> Void) {
            condition.lock()
            change(self)
            condition.broadcast()
            condition.unlock()
        }

        /// The final result if it comes by `deadline`; else stage 1's report (or the result,
        /// whichever comes first after it).
        func wait(until deadline: Date) -> (SearchReport?, Result<SearchReport, any Error>?) {
            condition.lock()
            defer { condition.unlock() }
            while result == nil && condition.wait(until: deadline) {}
            while result == nil && coarse == nil { condition.wait() }
            return (coarse, result)
        }

        /// Until the search thread has handed over its result (or error).
        func waitForResult() {
            condition.lock()
            defer { condition.unlock() }
            while result == nil { condition.wait() }
        }
    }
}
