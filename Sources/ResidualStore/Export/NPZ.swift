import Foundation
import Support

/// NumPy's `.npz`: a zip archive of `.npy` files, written as a stored (uncompressed) zip,
/// which `numpy.load` reads as it reads its own `savez`. Zip32 only: the whole archive stays
/// under 4 GiB (`rstore embed` writes a bounded range).
public enum NPZ {
    /// One array: its name (without `.npy`) and the whole `.npy` bytes.
    public typealias Entry = (name: String, npy: Data)

    /// The archive of `entries`, in order.
    public static func archive(_ entries: [Entry]) throws -> Data {
        var out = Data()
        var central = Data()
        func le16(_ v: Int, _ d: inout Data) { d.append(contentsOf: [UInt8(v & 0xff), UInt8((v >> 8) & 0xff)]) }
        func le32(_ v: UInt32, _ d: inout Data) { withUnsafeBytes(of: v.littleEndian) { d.append(contentsOf: $0) } }
        for e in entries {
            let name = Data((e.name + ".npy").utf8)
            guard out.count + e.npy.count + name.count + 64 < Int(UInt32.max) else {
                throw NPYError.bad(path: e.name, reason: "the archive would pass 4 GiB (zip32)")
            }
            let crc = CRC32.checksum(e.npy)
            let offset = UInt32(out.count)
            let size = UInt32(e.npy.count)
            // Local file header: version 2.0, no flags, stored, no time.
            le32(0x0403_4b50, &out)
            le16(20, &out)
            le16(0, &out)
            le16(0, &out)
            le16(0, &out)
            le16(0x21, &out)
            le32(crc, &out)
            le32(size, &out)
            le32(size, &out)
            le16(name.count, &out)
            le16(0, &out)
            out.append(name)
            out.append(e.npy)
            le32(0x0201_4b50, &central)
            le16(20, &central)
            le16(20, &central)
            le16(0, &central)
            le16(0, &central)
            le16(0, &central)
            le16(0x21, &central)
            le32(crc, &central)
            le32(size, &central)
            le32(size, &central)
            le16(name.count, &central)
            le16(0, &central)
            le16(0, &central)
            le16(0, &central)
            le16(0, &central)
            le32(0, &central)
            le32(offset, &central)
            central.append(name)
        }
        let cdOffset = UInt32(out.count)
        out.append(central)
        le32(0x0605_4b50, &out)
        le16(0, &out)
        le16(0, &out)
        le16(entries.count, &out)
        le16(entries.count, &out)
        le32(UInt32(central.count), &out)
        le32(cdOffset, &out)
        le16(0, &out)
        return out
    }

    /// `.npy` bytes of float64 values, shape (n,).
    public static func float64(_ values: [Double]) -> Data {
        var d = NPY.header(descr: "<f8", shape: [values.count])
        values.withUnsafeBufferPointer { d.append(Data(buffer: $0)) }
        return d
    }

    /// `.npy` bytes of int64 values, shape (n,).
    public static func int64(_ values: [Int]) -> Data {
        var d = NPY.header(descr: "<i8", shape: [values.count])
        values.map { Int64($0).littleEndian }.withUnsafeBufferPointer { d.append(Data(buffer: $0)) }
        return d
    }

    /// `.npy` bytes of one-character strings (numpy `<U1`, UTF-32), shape (n,).
    public static func characters(_ values: [Character]) -> Data {
        var d = NPY.header(descr: "<U1", shape: [values.count])
        for c in values {
            let scalar = c.unicodeScalars.first?.value ?? 0
            withUnsafeBytes(of: scalar.littleEndian) { d.append(contentsOf: $0) }
        }
        return d
    }
}
