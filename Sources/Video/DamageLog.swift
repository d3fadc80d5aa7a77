import Foundation

/// What a decode pass found wrong with a file and concealed instead of failing: corrupt packets,
/// pictures the decoder had to patch up, packets it refused, and an end that comes before the
/// container says it should. Times are seconds since the stream start.
public struct DamageReport: Codable, Sendable, Equatable {
    /// A stretch of the timeline with damage, and what kind.
    public struct Span: Codable, Sendable, Equatable {
        public var start: Double
        public var end: Double
        public var kinds: [String]
    }

    /// Packets the demuxer flagged as corrupt (sent to the decoder anyway, which conceals them).
    public var corruptPackets = 0
    /// Decoded pictures flagged corrupt or concealed (kept: they are what a player shows).
    public var damagedFrames = 0
    /// Packets or frames the decoder rejected (skipped).
    public var decodeErrors = 0
    /// The file ends early (read error, or data stops before the container's duration): the
    /// time of the last decodable data, and why.
    public var truncatedAt: Double?
    public var truncation: String?
    /// Damaged stretches, merged when less than `DamageLog.mergeGap` apart; at most
    /// `DamageLog.maxSpans` (later events only count).
    public var spans: [Span] = []

    public init() {}

    public var isClean: Bool { corruptPackets == 0 && damagedFrames == 0 && decodeErrors == 0 && truncatedAt == nil }

    /// One line for people: counts, spans and the truncation point.
    public var summary: String {
        var parts: [String] = []
        if corruptPackets > 0 { parts.append("\(corruptPackets) corrupt packets") }
        if damagedFrames > 0 { parts.append("\(damagedFrames) damaged pictures") }
        if decodeErrors > 0 { parts.append("\(decodeErrors) decode errors") }
        if let t = truncatedAt {
            parts.append(String(format: "truncated at %.3f s (%@)", t, truncation ?? "ends early"))
        }
        if !spans.isEmpty {
            parts.append(
                "spans " + spans.map { String(format: "%.3f-%.3f s", $0.start, $0.end) }.joined(separator: ", "))
        }
        return parts.isEmpty ? "clean" : parts.joined(separator: "; ")
    }
}

/// Collects damage events of the passes of one `VideoReader` opened with `concealDamage`.
/// Thread-safe (the sequential pass decodes on its own thread); bounded in memory.
public final class DamageLog: @unchecked Sendable {
    public enum Kind: String, Sendable {
        case corruptPacket = "corrupt packet"
        case damagedFrame = "damaged picture"
        case decodeError = "decode error"
    }

    /// Events closer than this (seconds) join one span.
    public static let mergeGap = 1.0
    public static let maxSpans = 64

    private let lock = NSLock()
    private var current = DamageReport()

    public init() {}

    /// A snapshot of what was recorded so far.
    public var report: DamageReport { lock.withLock { current } }

    /// Forgets everything (a new pass over the same file reports afresh).
    public func reset() { lock.withLock { current = DamageReport() } }

    func record(_ kind: Kind, at time: Double?) {
        lock.withLock {
            switch kind {
            case .corruptPacket: current.corruptPackets += 1
            case .damagedFrame: current.damagedFrames += 1
            case .decodeError: current.decodeErrors += 1
            }
            guard let time, time.isFinite else { return }
            if var last = current.spans.last, time >= last.start - Self.mergeGap, time <= last.end + Self.mergeGap {
                last.start = min(last.start, time)
                last.end = max(last.end, time)
                if !last.kinds.contains(kind.rawValue) { last.kinds.append(kind.rawValue) }
                current.spans[current.spans.count - 1] = last
            } else if current.spans.count < Self.maxSpans {
                current.spans.append(.init(start: time, end: time, kinds: [kind.rawValue]))
            }
        }
    }

    func truncated(at time: Double, reason: String) {
        lock.withLock {
            if current.truncatedAt == nil || time < current.truncatedAt! {
                current.truncatedAt = max(0, time)
                current.truncation = reason
            }
        }
    }
}
