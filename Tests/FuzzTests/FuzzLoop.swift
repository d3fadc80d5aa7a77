import Foundation
import XCTest

/// Runs one decoder over seeded, mutated inputs and checks that each input either decodes
/// (and its result respects the decoder's declared limits) or fails with the decoder's own
/// typed error. A trap fails the test process itself; a hang is turned into a failure by a
/// watchdog that saves the input and aborts.
///
/// `RSTORE_FUZZ_COUNT` sets inputs per decoder (default 2,000: a few seconds), `RSTORE_FUZZ_SEED`
/// the seed; `Tools/fuzz.sh` runs the long campaign. Failing inputs are written to
/// `$TMPDIR/rstore-fuzz-<target>-<seed>-<case>.bin` for replay.
struct FuzzLoop {
    enum Outcome { case decoded, refused }

    struct Stats: CustomStringConvertible {
        var target: String
        var cases = 0, decoded = 0, refused = 0
        var seconds = 0.0
        var slowestCase = 0.0
        var description: String {
            String(
                format: "fuzz %@: %d inputs (%d decoded, %d refused with a typed error) in %.1f s, slowest %.1f ms",
                target, cases, decoded, refused, seconds, slowestCase * 1000)
        }
    }

    static var count: Int { ProcessInfo.processInfo.environment["RSTORE_FUZZ_COUNT"].flatMap(Int.init) ?? 2_000 }
    static var seed: UInt64 { ProcessInfo.processInfo.environment["RSTORE_FUZZ_SEED"].flatMap(UInt64.init) ?? 1 }
    /// Longest one input may take before it counts as a hang.
    static let hangSeconds = 20.0

    let target: String
    let seeds: [[UInt8]]
    var mutator: Mutator
    /// Percent of inputs that are purely random instead of mutated seeds.
    var randomPercent = 3
    /// Repairs an input after mutation (e.g. recomputes a checksum so the mutation reaches the
    /// code behind it); applied to about half of the inputs.
    var fixup: ((inout [UInt8]) -> Void)?

    init(target: String, seeds: [[UInt8]], dictionary: [String] = [], hotBytes: Int? = nil) {
        precondition(!seeds.isEmpty)
        self.target = target
        self.seeds = seeds
        // Each target's stream depends on the seed and the target's name (FNV-1a), never on the run.
        let nameHash = target.utf8.reduce(UInt64(0xcbf2_9ce4_8422_2325)) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
        mutator = Mutator(seed: Self.seed ^ nameHash, dictionary: dictionary, hotBytes: hotBytes)
    }

    /// Runs `count` cases. `decode` returns the outcome, or throws for an unexpected error type
    /// (or a broken invariant); the loop records it with the input for replay.
    @discardableResult
    mutating func run(
        count: Int = FuzzLoop.count, file: StaticString = #filePath, line: UInt = #line,
        _ decode: ([UInt8]) throws -> Outcome
    ) -> Stats {
        var stats = Stats(target: target)
        let watchdog = Watchdog(target: target, limit: Self.hangSeconds)
        let start = Date()
        // The seeds themselves must decode: they are real inputs.
        for (i, s) in seeds.enumerated() {
            // XCTAssertEqual records a thrown error as the failure itself.
            XCTAssertEqual(try decode(s), .decoded, "\(target): seed \(i) must decode", file: file, line: line)
        }
        for k in 0..<count {
            var input: [UInt8]
            if mutator.chance(randomPercent) {
                input = mutator.random(maxLength: 256)
            } else {
                input = mutator.mutate(seeds[mutator.below(seeds.count)], others: seeds)
                if let fixup, mutator.chance(50) { fixup(&input) }
            }
            watchdog.begin(case: k, input: input)
            let t0 = Date()
            do {
                switch try decode(input) {
                case .decoded: stats.decoded += 1
                case .refused: stats.refused += 1
                }
            } catch {
                let saved = Self.save(input, target: target, k: k)
                XCTFail(
                    "\(target) case \(k) (seed \(Self.seed)): \(error); input saved to \(saved)", file: file, line: line
                )
            }
            stats.slowestCase = max(stats.slowestCase, Date().timeIntervalSince(t0))
            stats.cases += 1
        }
        watchdog.stop()
        stats.seconds = Date().timeIntervalSince(start)
        print(stats)
        return stats
    }

    static func save(_ input: [UInt8], target: String, k: Int) -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rstore-fuzz-\(target)-\(seed)-\(k).bin")
        try? Data(input).write(to: url)
        return url.path
    }
}

/// An invariant of a decoded result was broken (e.g. it holds more than its limits allow).
struct InvariantBroken: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}

/// Aborts the process, after saving the input, when one case runs longer than `limit`: a hang
/// becomes a failure with a reproducer instead of a stuck test run.
final class Watchdog: @unchecked Sendable {
    private let lock = NSLock()
    private var current: (k: Int, input: [UInt8], since: Date)?
    private var running = true
    private let target: String
    private let limit: Double

    init(target: String, limit: Double) {
        self.target = target
        self.limit = limit
        let t = Thread { [weak self] in
            while let self, self.poll() { Thread.sleep(forTimeInterval: 1) }
        }
        t.start()
    }

    func begin(case k: Int, input: [UInt8]) {
        lock.lock()
        current = (k, input, Date())
        lock.unlock()
    }

    func stop() {
        lock.lock()
        running = false
        lock.unlock()
    }

    private func poll() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard running else { return false }
        if let c = current, Date().timeIntervalSince(c.since) > limit {
            let saved = FuzzLoop.save(c.input, target: target, k: c.k)
            FileHandle.standardError.write(
                Data("fuzz \(target): case \(c.k) ran over \(limit) s (hang); input saved to \(saved)\n".utf8))
            abort()
        }
        return true
    }
}
