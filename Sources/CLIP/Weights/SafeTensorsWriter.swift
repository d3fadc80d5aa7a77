import Foundation
import Support

/// Writes float32 or float16 tensors as a safetensors file (header padded to 8 bytes, as the
/// reference writer does). Used for residual tokenizers and for generating random models.
public struct SafeTensorsWriter {
    private var tensors: [(name: String, shape: [Int], data: Data, dtype: String)] = []
    public var metadata: [String: String] = [:]

    public init() {}

    public mutating func add(_ name: String, shape: [Int], values: [Float], asFloat16: Bool = false) {
        precondition(shape.reduce(1, *) == values.count, "\(name): \(values.count) values for shape \(shape)")
        let data: Data
        if asFloat16 {
            data = values.map { Float16($0).bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        } else {
            data = values.map { $0.bitPattern.littleEndian }.withUnsafeBytes { Data($0) }
        }
        tensors.append((name, shape, data, asFloat16 ? "F16" : "F32"))
    }

    public func write(to url: URL) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            header[t.name] = ["dtype": t.dtype, "shape": t.shape, "data_offsets": [offset, offset + t.data.count]]
            offset += t.data.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (json.count + 8) % 8 != 0 { json.append(0x20) }
        var head = Data()
        head.appendLE(UInt64(json.count))
        head.append(json)
        // A crash never leaves a half-written file; the tensors are written as they are (no copy).
        try AtomicFile.write([head] + tensors.map(\.data), to: url)
    }
}
