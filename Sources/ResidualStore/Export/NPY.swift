import Foundation

/// NumPy's `.npy` format (versions 1-3, little-endian, C order): headers for the writers and
/// a reader of one float vector, for `rstore search --vector F.npy`.
///
/// The reader treats the file as hostile: its size is bounded before it is read, the header
/// length is checked against the file, and the header (a Python dict literal) is parsed by
/// a small grammar that accepts only `'descr'`, `'fortran_order'` and `'shape'` with literal
/// values; nothing is evaluated.
public enum NPY {
    public static let magic: [UInt8] = [0x93] + Array("NUMPY".utf8)

    /// A version-1.0 header for `descr` (e.g. `<f4`) and `shape`, padded so the data starts at
    /// a multiple of 64 bytes. `countWidth` right-aligns the first dimension in that many
    /// characters, so a streaming writer can rewrite the count in place.
    public static func header(descr: String, shape: [Int], countWidth: Int = 0) -> Data {
        var dims = shape.map(String.init)
        if let first = dims.first, first.count < countWidth {
            dims[0] = String(repeating: " ", count: countWidth - first.count) + first
        }
        let shapeText = dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.joined(separator: ", ") + ")"
        var text = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        while (10 + text.utf8.count + 1) % 64 != 0 { text += " " }
        text += "\n"
        var data = Data(magic + [1, 0])
        let len = UInt16(text.utf8.count)
        data.append(contentsOf: [UInt8(len & 0xff), UInt8(len >> 8)])
        data.append(Data(text.utf8))
        return data
    }

    /// One float32 array of `shape` as a whole `.npy` file.
    public static func data(_ values: [Float], shape: [Int]) -> Data {
        var d = header(descr: "<f4", shape: shape)
        values.withUnsafeBufferPointer { d.append(Data(buffer: $0)) }
        return d
    }

    /// The vector stored in `url`: float32 or float64, shape `(n,)` or `(1, n)`. Files over
    /// `maxBytes` are refused before they are read.
    public static func readVector(_ url: URL, maxBytes: Int = 1 << 20) throws -> [Float] {
        let path = url.path
        func bad(_ why: String) -> NPYError { .bad(path: path, reason: why) }
        guard let attrs = try? FileManager.default.attributesOfItem(atPath: path),
            let size = (attrs[.size] as? NSNumber)?.intValue
        else {
            throw bad("cannot read the file")
        }
        guard (attrs[.type] as? FileAttributeType) == .typeRegular else { throw bad("not a regular file") }
        guard size <= maxBytes else { throw bad("\(size) bytes, more than the \(maxBytes) a query vector may have") }
        guard let data = FileManager.default.contents(atPath: path) else { throw bad("cannot read the file") }
        return try vector(from: data, path: path)
    }

    /// Parses `data` (a whole `.npy` file) as a float vector; `path` names it in errors.
    public static func vector(from data: Data, path: String) throws -> [Float] {
        func bad(_ why: String) -> NPYError { .bad(path: path, reason: why) }
        let bytes = [UInt8](data)
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            throw bad("not a .npy file (no \\x93NUMPY magic)")
        }
        let major = bytes[6]
        guard (1...3).contains(major) else { throw bad("unknown .npy version \(major).\(bytes[7])") }
        let headerLength: Int
        let start: Int
        if major == 1 {
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            start = 10
        } else {
            guard bytes.count >= 12 else { throw bad("the file ends inside its header length") }
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
            start = 12
        }
        guard headerLength <= bytes.count - start else {
            throw bad("header of \(headerLength) bytes runs past the end of the \(bytes.count)-byte file")
        }
        guard let text = String(bytes: bytes[start..<(start + headerLength)], encoding: major == 3 ? .utf8 : .isoLatin1)
        else {
            throw bad("the header is not text")
        }
        var parser = HeaderParser(text: text, path: path)
        let h = try parser.parse()
        let width: Int
        switch h.descr {
        case "<f4": width = 4
        case "<f8": width = 8
        default: throw bad("dtype '\(h.descr.prefix(16))' is not little-endian float32 or float64 ('<f4', '<f8')")
        }
        let n: Int
        switch h.shape.count {
        case 1: n = h.shape[0]
        case 2 where h.shape[0] == 1: n = h.shape[1]
        default: throw bad("shape \(h.shape) is not one vector: (n,) or (1, n)")
        }
        guard !(h.fortranOrder && h.shape.count > 1 && h.shape[0] > 1) else { throw bad("Fortran order") }
        let body = bytes.count - start - headerLength
        guard n >= 0, n <= body / width, body == n * width else {
            throw bad(
                """
                shape \(h.shape) needs \(n.multipliedReportingOverflow(by: width).partialValue) bytes of data, the \
                file has \(body)
                """
            )
        }
        let raw = bytes[(start + headerLength)...]
        var out = [Float]()
        out.reserveCapacity(n)
        raw.withUnsafeBytes { p in
            for i in 0..<n {
                if width == 4 {
                    out.append(
                        Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: i * 4, as: UInt32.self)))
                    )
                } else {
                    out.append(
                        Float(
                            Double(
                                bitPattern: UInt64(
                                    littleEndian: p.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)))))
                }
            }
        }
        return out
    }

    /// The three keys of a header dict, parsed from its literal text (no evaluation).
    struct Header {
        var descr: String
        var fortranOrder: Bool
        var shape: [Int]
    }

    struct HeaderParser {
        let chars: [Character]
        let path: String
        var i = 0
        init(text: String, path: String) {
            chars = Array(text)
            self.path = path
        }

        func bad(_ why: String) -> NPYError { .bad(path: path, reason: "header: \(why)") }

        mutating func skipSpace() {
            while i < chars.count, chars[i] == " " || chars[i] == "\n" || chars[i] == "\t" { i += 1 }
        }
        mutating func expect(_ c: Character) throws {
            skipSpace()
            guard i < chars.count, chars[i] == c else { throw bad("expected '\(c)' at character \(i)") }
            i += 1
        }
        mutating func peek() -> Character? {
            skipSpace()
            return i < chars.count ? chars[i] : nil
        }

        mutating func string() throws -> String {
            skipSpace()
            guard i < chars.count, chars[i] == "'" || chars[i] == "\"" else {
                throw bad("expected a quoted string at character \(i)")
            }
            let q = chars[i]
            i += 1
            var s = ""
            while i < chars.count, chars[i] != q {
                guard s.count < 64 else { throw bad("a string longer than 64 characters") }
                s.append(chars[i])
                i += 1
            }
            guard i < chars.count else { throw bad("an unterminated string") }
            i += 1
            return s
        }

        mutating func word() throws -> String {
            skipSpace()
            var s = ""
            while i < chars.count, chars[i].isLetter {
                s.append(chars[i])
                i += 1
                if s.count > 8 { break }
            }
            return s
        }

        mutating func shape() throws -> [Int] {
            try expect("(")
            var dims: [Int] = []
            while peek() != ")" {
                skipSpace()
                var digits = ""
                while i < chars.count, chars[i].isASCII, chars[i].isNumber {
                    digits.append(chars[i])
                    i += 1
                }
                guard !digits.isEmpty, digits.count <= 12, let d = Int(digits) else {
                    throw bad("a dimension that is not a small non-negative integer")
                }
                guard dims.count < 8 else { throw bad("more than 8 dimensions") }
                dims.append(d)
                if peek() == "," { i += 1 } else { break }
            }
            try expect(")")
            return dims
        }

        mutating func parse() throws -> Header {
            var descr: String?
            var fortran: Bool?
            var shape: [Int]?
            try expect("{")
            while peek() != "}" {
                let key = try string()
                try expect(":")
                switch key {
                case "descr":
                    guard descr == nil else { throw bad("'descr' twice") }
                    descr = try string()
                case "fortran_order":
                    guard fortran == nil else { throw bad("'fortran_order' twice") }
                    switch try word() {
                    case "True": fortran = true
                    case "False": fortran = false
                    default: throw bad("'fortran_order' is not True or False")
                    }
                case "shape":
                    guard shape == nil else { throw bad("'shape' twice") }
                    shape = try self.shape()
                default:
                    throw bad("unknown key '\(key.prefix(32))'")
                }
                if peek() == "," { i += 1 } else { break }
            }
            try expect("}")
            guard let descr, let fortran, let shape else {
                throw bad("'descr', 'fortran_order' and 'shape' are required")
            }
            return Header(descr: descr, fortranOrder: fortran, shape: shape)
        }
    }
}

/// A `.npy` file that cannot be read as asked.
public enum NPYError: Error, CustomStringConvertible, Equatable {
    case bad(path: String, reason: String)

    public var description: String {
        switch self {
        case .bad(let p, let why): return "\(p): not a usable .npy vector: \(why)"
        }
    }
}
