import Digest
import Foundation

/// A memory-mapped safetensors file (https://github.com/huggingface/safetensors format:
/// u64 little-endian header length, JSON header, raw little-endian tensor data).
///
/// Everything in the header is validated before any tensor is read, so a truncated or
/// garbage file fails with the tensor's name instead of reading out of bounds.
public final class SafeTensorsFile: @unchecked Sendable {
    public enum DType: String, Sendable {
        case f32 = "F32"
        case f16 = "F16"
        case bf16 = "BF16"
        case f64 = "F64"
        case i64 = "I64"
        case i32 = "I32"
        case i16 = "I16"
        case i8 = "I8"
        case u8 = "U8"
        case bool = "BOOL"

        public var size: Int {
            switch self {
            case .f64, .i64: return 8
            case .f32, .i32: return 4
            case .f16, .bf16, .i16: return 2
            case .i8, .u8, .bool: return 1
            }
        }
        public var isFloat: Bool { self == .f32 || self == .f16 || self == .bf16 }
    }

    public struct Entry: Sendable {
        public let name: String
        public let dtype: DType
        public let shape: [Int]
        public let range: Range<Int>  // byte range within the data section
        /// Elements (the shape's product, checked for overflow when the header was read).
        public let count: Int
    }

    /// Largest header accepted (the reference implementation's limit too).
    public static let maxHeaderBytes = 100_000_000
    /// Deepest JSON nesting accepted: a header is an object of objects of flat lists (depth 3),
    /// so a deeper one is refused before the parser spends time on it.
    static let maxHeaderDepth = 8

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let data: Data  // mapped whole file
    private let dataStart: Int

    public convenience init(url: URL) throws {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw WeightsError.missingFile(path: path) }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw WeightsError.unreadable(path: path, reason: error.localizedDescription)
        }
        try self.init(data: data, path: path)
    }

    /// Parses the bytes of a safetensors file (`path` only names it in errors). Every number in
    /// the header is checked before use: lengths and offsets against the file, shape products and
    /// byte sizes with overflow-reporting arithmetic, tensors against each other (no overlaps).
    public init(data: Data, path: String) throws {
        self.path = path
        guard data.count >= 8 else {
            throw WeightsError.badHeader(
                path: path, reason: "file is \(data.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard headerLength >= 2, headerLength <= UInt64(data.count - 8), headerLength <= UInt64(Self.maxHeaderBytes)
        else {
            throw WeightsError.badHeader(
                path: path,
                reason:
                    """
                    header length \(headerLength) does not fit a \(data.count)-byte file (at most \
                    \(Self.maxHeaderBytes))
                    """
            )
        }
        let start = 8 + Int(headerLength)
        let headerData = data.subdata(in: 8..<start)
        guard Self.nestingDepth(headerData) <= Self.maxHeaderDepth,
            let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any]
        else {
            throw WeightsError.badHeader(path: path, reason: "header is not a JSON object of tensor entries")
        }
        let available = data.count - start
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                if let m = value as? [String: String] { metadata = m }
                continue
            }
            entries[name] = try Self.entry(name, value, available: available, path: path)
        }
        // Tensors may not share bytes (a crafted header could alias one tensor onto another).
        let ranges = entries.values.filter { !$0.range.isEmpty }.sorted { $0.range.lowerBound < $1.range.lowerBound }
        for (a, b) in zip(ranges, ranges.dropFirst()) where b.range.lowerBound < a.range.upperBound {
            throw WeightsError.badTensor(
                path: path, tensor: b.name,
                reason:
                    """
                    data bytes \(b.range.lowerBound)..<\(b.range.upperBound) overlap tensor '\(a.name)' \
                    (\(a.range.lowerBound)..<\(a.range.upperBound))
                    """
            )
        }
        self.data = data
        self.dataStart = start
        self.entries = entries
        self.metadata = metadata
    }

    /// One header entry, validated against the `available` data bytes.
    private static func entry(_ name: String, _ value: Any, available: Int, path: String) throws -> Entry {
        guard let info = value as? [String: Any] else {
            throw WeightsError.badTensor(path: path, tensor: name, reason: "header entry is not an object")
        }
        guard let dtypeName = info["dtype"] as? String else {
            throw WeightsError.badTensor(path: path, tensor: name, reason: "no dtype")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw WeightsError.unsupportedDType(path: path, tensor: name, dtype: dtypeName)
        }
        guard let shape = integers(info["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
            throw WeightsError.badTensor(
                path: path, tensor: name, reason: "shape is not a list of non-negative integers")
        }
        guard let offs = integers(info["data_offsets"]), offs.count == 2, offs[0] >= 0, offs[0] <= offs[1] else {
            throw WeightsError.badTensor(
                path: path, tensor: name, reason: "data_offsets must be [begin, end] with 0 <= begin <= end")
        }
        guard offs[1] <= available else {
            throw WeightsError.badTensor(
                path: path, tensor: name,
                reason: "data ends at byte \(offs[1]) but the file holds only \(available) data bytes (truncated?)")
        }
        var count = 1
        for d in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: d)
            guard !overflow else {
                throw WeightsError.badTensor(
                    path: path, tensor: name, reason: "shape \(shape) has more elements than a 64-bit count holds")
            }
            count = product
        }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: dtype.size)
        guard !overflow, offs[1] - offs[0] == bytes else {
            throw WeightsError.badTensor(
                path: path, tensor: name,
                reason:
                    """
                    \(offs[1] - offs[0]) bytes for shape \(shape) of \(dtypeName) (expected \
                    \(overflow ? "more than 2^63" : "\(bytes)"))
                    """
            )
        }
        return Entry(name: name, dtype: dtype, shape: shape, range: offs[0]..<offs[1], count: count)
    }

    /// A JSON list of integers, each exactly representable (no fractions, no values beyond 2^53,
    /// where a double stops being exact and a conversion to Int could trap).
    private static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var out: [Int] = []
        out.reserveCapacity(list.count)
        for item in list {
            guard let n = item as? NSNumber, !(item is String) else { return nil }
            let d = n.doubleValue
            guard d.isFinite, d.rounded() == d, abs(d) <= 9_007_199_254_740_992 else { return nil }
            out.append(Int(d))
        }
        return out
    }

    /// Deepest bracket nesting of a JSON text, outside strings (a linear scan, no parsing).
    static func nestingDepth(_ json: Data) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in json {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "{"), UInt8(ascii: "["):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "}"), UInt8(ascii: "]"): depth -= 1
            default: break
            }
        }
        return deepest
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// IEEE half to float without the libgcc call (`__extendhfsf2`) Swift emits for
    /// `Float(Float16)` on baseline x86-64: that call was ~40% of a B/32 model load, which every
    /// CLI command pays. Exact for every input: normals and subnormals by one exact multiply by
    /// 2^112, Inf and NaN by forcing the exponent; branch-free, so the loop vectorises.
    @inline(__always)
    static func halfToFloat(_ h: UInt16) -> Float {
        let bits = UInt32(h)
        var out = (Float(bitPattern: (bits & 0x7fff) << 13) * Float(bitPattern: 0x7780_0000)).bitPattern
        if bits & 0x7c00 == 0x7c00 { out |= 0x7f80_0000 }
        return Float(bitPattern: out | (bits & 0x8000) << 16)
    }

    /// The tensor converted to float32, after checking its shape (when given).
    public func floats(_ name: String, shape expected: [Int]? = nil) throws -> [Float] {
        guard let e = entries[name] else { throw WeightsError.missingTensor(path: path, tensor: name) }
        if let expected, expected != e.shape {
            throw WeightsError.shapeMismatch(path: path, tensor: name, expected: expected, actual: e.shape)
        }
        guard e.dtype.isFloat else {
            throw WeightsError.unsupportedDType(path: path, tensor: name, dtype: e.dtype.rawValue)
        }
        let n = e.count
        var out = [Float](repeating: 0, count: n)
        data.withUnsafeBytes { raw in
            let src = raw.baseAddress! + dataStart + e.range.lowerBound
            out.withUnsafeMutableBufferPointer { dst in
                switch e.dtype {
                case .f32:
                    memcpy(dst.baseAddress!, src, n * 4)
                case .f16:
                    for i in 0..<n {
                        dst[i] = Self.halfToFloat(
                            UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                    }
                case .bf16:
                    for i in 0..<n {
                        let bits =
                            UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
                            << 16
                        dst[i] = Float(bitPattern: bits)
                    }
                default:
                    break
                }
            }
        }
        return out
    }

    /// The shape of a tensor, or a `missingTensor` error.
    public func shape(_ name: String) throws -> [Int] {
        guard let e = entries[name] else { throw WeightsError.missingTensor(path: path, tensor: name) }
        return e.shape
    }

    /// SHA-256 of the file's bytes: how stores and residual tokenizers name the weights.
    public func sha256() -> String { SHA256.hex(data) }
}
