import Digest
import Foundation

/// A memory-mapped safetensors file (https://github.com/huggingface/safetensors format:
/// u64 little-endian header length, JSON header, raw little-endian tensor data).
///
/// Everything in the header is validated before any tensor is read, so a truncated or
/// garbage file fails with the tensor's name instead of reading out of bounds.
public final class SafeTensorsFile: @unchecked Sendable {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64"
        case i64 = "I64", i32 = "I32", i16 = "I16", i8 = "I8", u8 = "U8", bool = "BOOL"

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
        public let range: Range<Int>   // byte range within the data section
        public var count: Int { shape.reduce(1, *) }
    }

    public let path: String
    public let entries: [String: Entry]
    public let metadata: [String: String]
    private let data: Data          // mapped whole file
    private let dataStart: Int

    public init(url: URL) throws {
        path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw WeightsError.missingFile(path: path) }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw WeightsError.unreadable(path: path, reason: error.localizedDescription)
        }
        guard data.count >= 8 else {
            throw WeightsError.badHeader(path: path, reason: "file is \(data.count) bytes, shorter than the 8-byte header length")
        }
        let headerLength = data.withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian
        guard headerLength >= 2, headerLength <= UInt64(data.count - 8), headerLength < 100_000_000 else {
            throw WeightsError.badHeader(path: path, reason: "header length \(headerLength) does not fit a \(data.count)-byte file")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let json = try? JSONSerialization.jsonObject(with: headerData) as? [String: Any] else {
            throw WeightsError.badHeader(path: path, reason: "header is not a JSON object")
        }
        let start = 8 + Int(headerLength)
        let available = data.count - start
        var entries: [String: Entry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in json {
            if name == "__metadata__" {
                if let m = value as? [String: String] { metadata = m }
                continue
            }
            guard let info = value as? [String: Any] else {
                throw WeightsError.badTensor(path: path, tensor: name, reason: "header entry is not an object")
            }
            guard let dtypeName = info["dtype"] as? String else {
                throw WeightsError.badTensor(path: path, tensor: name, reason: "no dtype")
            }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw WeightsError.unsupportedDType(path: path, tensor: name, dtype: dtypeName)
            }
            guard let shape = (info["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  shape.count == (info["shape"] as? [Any])?.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw WeightsError.badTensor(path: path, tensor: name, reason: "shape is not a list of non-negative integers")
            }
            guard let offs = (info["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  offs.count == 2, offs[0] >= 0, offs[0] <= offs[1] else {
                throw WeightsError.badTensor(path: path, tensor: name, reason: "data_offsets must be [begin, end] with begin <= end")
            }
            guard offs[1] <= available else {
                throw WeightsError.badTensor(path: path, tensor: name,
                    reason: "data ends at byte \(offs[1]) but the file holds only \(available) data bytes (truncated?)")
            }
            let count = shape.reduce(1, *)
            guard offs[1] - offs[0] == count * dtype.size else {
                throw WeightsError.badTensor(path: path, tensor: name,
                    reason: "\(offs[1] - offs[0]) bytes for shape \(shape) of \(dtypeName) (expected \(count * dtype.size))")
            }
            entries[name] = Entry(name: name, dtype: dtype, shape: shape, range: offs[0]..<offs[1])
        }
        self.data = data
        self.dataStart = start
        self.entries = entries
        self.metadata = metadata
    }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

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
                        dst[i] = Float(Float16(bitPattern: UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                    }
                case .bf16:
                    for i in 0..<n {
                        let bits = UInt32(UInt16(littleEndian: src.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16
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
