import CFFmpeg
import Foundation

// libav constants and helpers shared by the decoding types (MediaInput, SamplingClock,
// RGBConverter, ImageFile): error codes Swift cannot import as macros, logging, time conversion.

enum LibAV {
    static let nopts: Int64 = rstore_av_nopts_value()
    static let eof: Int32 = rstore_averror_eof()
    static let eagain: Int32 = rstore_averror_eagain()
    static let invalidData: Int32 = rstore_averror_invaliddata()
    static let decoderNotFound: Int32 = rstore_averror_decoder_not_found()
    static let streamNotFound: Int32 = rstore_averror_stream_not_found()

    /// Largest accepted picture side; libav itself accepts far larger, but nothing real is.
    static let maxSide = 16384
    static let maxPixels = 16384 * 16384 / 2

    /// libav logs to stderr; keep it quiet unless RSTORE_AV_LOG=<level> (e.g. 32 = info, 16 = error).
    private static let logLevelOnce: Void = {
        if let s = ProcessInfo.processInfo.environment["RSTORE_AV_LOG"], let l = Int32(s) {
            rstore_set_log_level(l)
        } else {
            rstore_set_log_level(AV_LOG_FATAL)
        }
    }()
    static func configureLogging() { _ = logLevelOnce }

    static func errorString(_ code: Int32) -> String {
        var buf = [CChar](repeating: 0, count: 256)
        if av_strerror(code, &buf, buf.count) < 0 { return "libav error \(code)" }
        return buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
    }

    /// `(pts - start) x timeBase` in seconds, exact when the difference fits 64 bits and without
    /// trapping when a hostile file puts it beyond.
    static func seconds(_ pts: Int64, from start: Int64, timeBase: AVRational) -> Double {
        let (delta, overflow) = pts.subtractingReportingOverflow(start)
        let d = overflow ? Double(pts) - Double(start) : Double(delta)
        return d * Double(timeBase.num) / Double(timeBase.den)
    }

    static func codecName(_ id: AVCodecID) -> String {
        if let n = avcodec_get_name(id) { return String(cString: n) }
        return "unknown"
    }
}
