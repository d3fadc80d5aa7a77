import Foundation
import Metrics
import Prometheus

/// What `GET /metrics` reports, recorded through swift-metrics and rendered by
/// swift-prometheus. Each server has its own registry and factory (handed to every metric,
/// nothing bootstrapped globally), so servers in one process (the tests) keep apart.
///
/// Names: `rstore_http_requests_total` and `rstore_http_request_duration_seconds` by method,
/// route pattern and status; `rstore_search_stage1_seconds`, `rstore_search_stage2_seconds`;
/// `rstore_search_frame_inputs_total` by source (`tier` or `decoded`) and the ratio
/// `rstore_frame_tier_hit_ratio`; `rstore_ingest_frames_total`, `rstore_ingest_seconds_total`
/// and `rstore_ingest_frames_per_second` (the last file indexed here); the gauges
/// `rstore_index_queue_depth`, `rstore_work_running`, `rstore_work_queued` and `rstore_videos`
/// are set when scraped.
final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    let factory: PrometheusMetricsFactory
    private let tier = TierCounts()

    init() {
        var f = PrometheusMetricsFactory(registry: registry)
        // Seconds, from a thumbnail cache hit to a dense range at the frame budget.
        f.defaultDurationHistogramBuckets = [
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
        ].map { Duration.milliseconds(Int64($0 * 1000)) }
        factory = f
    }

    /// One request answered: its method, the route pattern it matched (never the raw path or
    /// query), its status and how long it took.
    func request(method: String, route: String, status: Int, nanoseconds: UInt64) {
        let dims = [("method", method), ("route", route), ("status", String(status))]
        Counter(label: "rstore_http_requests_total", dimensions: dims, factory: factory).increment()
        Metrics.Timer(label: "rstore_http_request_duration_seconds", dimensions: dims, factory: factory)
            .recordNanoseconds(Int64(clamping: nanoseconds))
    }

    /// A search's stage times and where stage 2's P-frame inputs came from.
    func search(stage1Ms: Double, stage2Ms: Double, tierHits: Int, decoded: Int) {
        Metrics.Timer(label: "rstore_search_stage1_seconds", factory: factory).recordNanoseconds(
            Int64(max(0, stage1Ms) * 1e6))
        Metrics.Timer(label: "rstore_search_stage2_seconds", factory: factory).recordNanoseconds(
            Int64(max(0, stage2Ms) * 1e6))
        Counter(label: "rstore_search_frame_inputs_total", dimensions: [("source", "tier")], factory: factory)
            .increment(by: tierHits)
        Counter(label: "rstore_search_frame_inputs_total", dimensions: [("source", "decoded")], factory: factory)
            .increment(by: decoded)
        let ratio = tier.add(hits: tierHits, decoded: decoded)
        Gauge(label: "rstore_frame_tier_hit_ratio", factory: factory).record(ratio)
    }

    /// A file indexed by this server: its sampled frames and the seconds it took.
    func ingested(frames: Int, seconds: Double) {
        guard frames > 0, seconds > 0 else { return }
        Counter(label: "rstore_ingest_frames_total", factory: factory).increment(by: frames)
        FloatingPointCounter(label: "rstore_ingest_seconds_total", factory: factory).increment(by: seconds)
        Gauge(label: "rstore_ingest_frames_per_second", factory: factory).record(Double(frames) / seconds)
    }

    func gauge(_ name: String, _ value: Double) {
        Gauge(label: name, factory: factory).record(value)
    }

    /// The Prometheus text exposition of everything recorded.
    func render() -> [UInt8] { registry.emitToBuffer() }

    /// Stage-2 inputs served by the tier against those decoded, since the server started.
    private final class TierCounts: @unchecked Sendable {
        private let lock = NSLock()
        private var hits = 0, decoded = 0
        func add(hits h: Int, decoded d: Int) -> Double {
            lock.withLock {
                hits += max(0, h)
                decoded += max(0, d)
                return hits + decoded == 0 ? 0 : Double(hits) / Double(hits + decoded)
            }
        }
    }
}
