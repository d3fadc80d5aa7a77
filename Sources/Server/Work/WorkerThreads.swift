import Foundation

/// A few threads of our own for work that blocks (store calls, decoding). libdispatch on
/// Linux runs its concurrent queues on about one thread per core and adds a thread only
/// about once a second when those block: a few calls stuck on a stopped database delayed
/// every other queued block (timers included) by seconds. These threads are started on
/// demand up to `count` and end when the pool is released; the caller (`WorkLimiter`) never
/// submits more than `count` jobs at once, so none waits for a thread.
final class WorkerThreads: @unchecked Sendable {
    private final class Shared: @unchecked Sendable {
        let condition = NSCondition()
        var jobs: [@Sendable () -> Void] = []
        var idle = 0
        var started = 0
        var closed = false
    }

    private let shared = Shared()
    let count: Int
    let name: String

    init(count: Int, name: String) {
        self.count = max(1, count)
        self.name = name
    }

    deinit {
        shared.condition.lock()
        shared.closed = true
        shared.condition.broadcast()
        shared.condition.unlock()
    }

    func submit(_ job: @escaping @Sendable () -> Void) {
        let s = shared
        s.condition.lock()
        s.jobs.append(job)
        let spawn = s.idle == 0 && s.started < count
        if spawn { s.started += 1 }
        s.condition.signal()
        s.condition.unlock()
        guard spawn else { return }
        let thread = Thread {
            while true {
                s.condition.lock()
                while s.jobs.isEmpty && !s.closed {
                    s.idle += 1
                    s.condition.wait()
                    s.idle -= 1
                }
                if s.jobs.isEmpty {
                    s.started -= 1
                    s.condition.unlock()
                    return
                }
                let next = s.jobs.removeFirst()
                s.condition.unlock()
                next()
            }
        }
        thread.name = name
        thread.start()
    }
}
