import Foundation
import Support
import TestSupport
import XCTest

@testable import CLIP
@testable import Store

/// One fuzz campaign per decoder of untrusted bytes: safetensors files, vocab.json, merges.txt,
/// frame-offset blobs and feature blobs (this branch persists no stage-1 matrix file). Seeds are
/// real inputs: the tiny test model's files and blobs made by the encoders.
final class DecoderFuzzTests: XCTestCase {
    static let fixtures = TestPaths.tinyCLIP

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: fixtures.appendingPathComponent(name)))
    }

    // MARK: safetensors

    func testSafeTensorsFiles() throws {
        let tiny = try Self.bytes("model.safetensors")
        let headerEnd =
            8 + Int(tiny[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) })
        var w = SafeTensorsWriter()
        w.add("a", shape: [2, 3], values: [1, -2, 3, 0.5, 0, 7])
        w.add("h", shape: [4], values: [1, 2, 65504, -0.25], asFloat16: true)
        w.add("e", shape: [0, 5], values: [])
        w.metadata = ["format": "pt"]
        let small = FileManager.default.temporaryDirectory.appendingPathComponent(
            "fuzz-\(UUID().uuidString).safetensors")
        try w.write(to: small)
        defer { try? FileManager.default.removeItem(at: small) }
        let bf16Header =
            #"{"b":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]},"i":{"dtype":"I32","shape":[1],"data_offsets":[4,8]}}"#
        let bf16 =
            withUnsafeBytes(of: UInt64(bf16Header.utf8.count).littleEndian) { Array($0) } + Array(bf16Header.utf8) + [
                0x80, 0x3f, 0, 0xc0, 1, 0, 0, 0,
            ]

        var loop = FuzzLoop(
            target: "safetensors", seeds: [tiny, [UInt8](try Data(contentsOf: small)), bf16],
            dictionary: [
                "{", "}", "[", "]", ",", ":", "\"", "-1", "0", "1.5", "1e308", "4294967296", "9223372036854775807",
                "9223372036854775808", "18446744073709551616", "\"F32\"", "\"F16\"", "\"BF16\"", "\"I64\"", "\"BOOL\"",
                "\"shape\"", "\"dtype\"", "\"data_offsets\"", "\"__metadata__\"", "null", "true", "[[[[[[[[", "\\u0000",
            ],
            hotBytes: headerEnd)
        loop.run { input in
            let data = Data(input)
            let file: SafeTensorsFile
            do { file = try SafeTensorsFile(data: data, path: "fuzz.safetensors") } catch is WeightsError {
                return .refused
            }
            var bytes = 0
            for e in file.entries.values {
                guard e.range.upperBound <= data.count, e.count * e.dtype.size == e.range.count else {
                    throw InvariantBroken(
                        "tensor \(e.name): \(e.count) x \(e.dtype) in \(e.range) of a \(data.count)-byte file")
                }
                bytes += e.range.count
                if e.dtype.isFloat {
                    guard try file.floats(e.name).count == e.count else {
                        throw InvariantBroken("tensor \(e.name): wrong float count")
                    }
                }
            }
            guard bytes <= data.count else {
                throw InvariantBroken("tensors hold \(bytes) bytes of a \(data.count)-byte file (overlap)")
            }
            return .decoded
        }
    }

    // MARK: vocab.json and merges.txt

    /// A small valid vocabulary (the 512 byte symbols, specials, a few merges) and its merges.
    static func smallTokenizer() -> (vocab: [UInt8], merges: [UInt8]) {
        var tokens = ByteEncoder.scalars.map { String(Character($0)) }
        tokens += tokens.map { $0 + "</w>" }
        tokens += ["th", "the</w>", "in", "ing</w>", "<|startoftext|>", "<|endoftext|>"]
        let object = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, $0) })
        let vocab = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return ([UInt8](vocab), Array("#version: 0.2\nt h\nth e</w>\ni n\nin g</w>\n".utf8))
    }

    /// Mutates one file (`which`: 0 vocab.json, 1 merges.txt) of each seed pair, the other
    /// file staying that pair's; half of the inputs each.
    func tokenizerLoop(target: String, mutating which: Int) throws {
        let pairs = [
            Self.smallTokenizer(), (vocab: try Self.bytes("vocab.json"), merges: try Self.bytes("merges.txt")),
        ]
        let vocabURL = URL(fileURLWithPath: "/fuzz/vocab.json")
        let mergesURL = URL(fileURLWithPath: "/fuzz/merges.txt")
        for (p, pair) in pairs.enumerated() {
            var loop = FuzzLoop(
                target: "\(target)-\(p == 0 ? "small" : "tiny")", seeds: [which == 0 ? pair.vocab : pair.merges],
                dictionary: which == 0
                    ? [
                        "{", "}", "\"", ":", ",", "-1", "0", "2147483647", "2147483648", "515", "1e3",
                        "\"<|endoftext|>\"", "\\u00ff", "\\ud800", "\u{FFFD}",
                    ]
                    : [
                        "\n", " ", "\r\n", "#version: 0.2\n", "</w>", "t", "h", "th", "\u{0100}", "\u{00A0}",
                        "\u{FFFD}",
                    ])
            loop.run(count: FuzzLoop.count / 2) { input in
                let vocab = which == 0 ? input : pair.vocab
                let merges = which == 0 ? pair.merges : input
                let model: BPEModel
                do {
                    model = try BPEModel(
                        vocab: Data(vocab), vocabURL: vocabURL, merges: Data(merges), mergesURL: mergesURL)
                } catch is TokenizerError { return .refused }
                guard model.vocabulary.count <= BPEModel.maxVocabulary else {
                    throw InvariantBroken("\(model.vocabulary.count) tokens")
                }
                var ids: [Int32] = []
                for word in ["the", "thing", "ÿ€x", "a", String(repeating: "in", count: 40)] {
                    model.encodeWord(Array(word.utf8), into: &ids)
                }
                if let bad = ids.first(where: { $0 < 0 || Int($0) >= model.vocabulary.count }) {
                    throw InvariantBroken("id \(bad) outside the \(model.vocabulary.count)-token vocabulary")
                }
                return .decoded
            }
        }
    }

    func testVocabularyFiles() throws { try tokenizerLoop(target: "vocab", mutating: 0) }
    func testMergesFiles() throws { try tokenizerLoop(target: "merges", mutating: 1) }

    // MARK: Store blobs

    /// `blob` with its payload stored raw (flag set), so mutations reach the varints directly.
    static func storedRaw(_ blob: Data) throws -> [UInt8] {
        var b = [UInt8](blob)
        guard b[4] & 1 == 0 else { return b }
        let raw = try OffsetCodec.unpack(blob).raw
        b[4] |= 1
        b.replaceSubrange(13..<17, with: withUnsafeBytes(of: UInt32(raw.count).littleEndian) { Array($0) })
        b.replaceSubrange(17..<21, with: withUnsafeBytes(of: CRC32.checksum(raw).littleEndian) { Array($0) })
        b.replaceSubrange(21..., with: raw)
        return b
    }

    /// A legacy "RSO1" blob (pts delta, pts - seek point, time XOR previous time; always LZ4).
    static func legacyOffsets(_ offsets: [FrameOffsetRecord]) -> [UInt8] {
        var raw: [UInt8] = []
        var prevPTS: Int64 = 0
        var prevTime = 0.0
        for o in offsets {
            OffsetCodec.varint(OffsetCodec.zigzag(o.pts - prevPTS), &raw)
            OffsetCodec.varint(OffsetCodec.zigzag(o.pts - o.seekPTS), &raw)
            OffsetCodec.varint(o.time.bitPattern ^ prevTime.bitPattern, &raw)
            prevPTS = o.pts
            prevTime = o.time
        }
        let payload = LZ4Block.compress(raw)!
        var b = Data("RSO1".utf8)
        for v in [UInt32(offsets.count), UInt32(offsets.first?.index ?? 0), UInt32(raw.count), CRC32.checksum(payload)]
        { b.appendLE(v) }
        return [UInt8](b) + payload
    }

    /// Recomputes the CRC of an offsets or feature blob so mutations get past it.
    static func fixChecksum(_ b: inout [UInt8], crcAt: Int, payloadAt: Int) {
        guard b.count >= payloadAt else { return }
        let crc = CRC32.checksum(b[payloadAt...])
        b.replaceSubrange(crcAt..<(crcAt + 4), with: withUnsafeBytes(of: crc.littleEndian) { Array($0) })
    }

    func testOffsetBlobs() throws {
        let regular = (480..<720).map { (k: Int) -> FrameOffsetRecord in
            let pts = Int64(k) * 6400 + 512
            let seek = Int64(k / 20) * 128_000 + 512
            return FrameOffsetRecord(index: k, pts: pts, time: Double(k) * 0.5, seekPTS: seek)
        }
        var state: UInt64 = 7
        var pts: Int64 = 0
        let vfr = (0..<97).map { k -> FrameOffsetRecord in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            if state >> 61 != 0 { pts += Int64(state >> 50) }
            return FrameOffsetRecord(index: k, pts: pts, time: Double(pts) / 90_000, seekPTS: pts - Int64(state >> 58))
        }
        let one = [FrameOffsetRecord(index: 0, pts: -3, time: 0, seekPTS: -3)]
        var seeds: [[UInt8]] = []
        for o in [regular, vfr, one] {
            let blob = try OffsetCodec.encode(o)
            seeds += [[UInt8](blob), try Self.storedRaw(blob)]
        }
        seeds.append(Self.legacyOffsets(regular))
        var loop = FuzzLoop(target: "offsets", seeds: seeds, hotBytes: 24)
        loop.fixup = { b in
            let legacy = b.starts(with: "RSO1".utf8)
            Self.fixChecksum(&b, crcAt: legacy ? 16 : 17, payloadAt: legacy ? 20 : 21)
        }
        loop.run { input in
            let decoded: [FrameOffsetRecord]
            do { decoded = try OffsetCodec.decode(Data(input)) } catch { return .refused }  // typed: BlobError
            guard decoded.count * OffsetCodec.minFrameBytes <= OffsetCodec.maxRawBytes else {
                throw InvariantBroken("\(decoded.count) frames")
            }
            for (i, o) in decoded.enumerated() where o.index != (decoded.first?.index ?? 0) + i {
                throw InvariantBroken("indices not consecutive")
            }
            // What decodes re-encodes to the same offsets (or is refused by the encoder with a typed error).
            if let again = try? OffsetCodec.decode(OffsetCodec.encode(decoded)) {
                let same = zip(again, decoded).allSatisfy {
                    $0.index == $1.index && $0.pts == $1.pts && $0.seekPTS == $1.seekPTS
                        && $0.time.bitPattern == $1.time.bitPattern
                }
                guard same, again.count == decoded.count else {
                    throw InvariantBroken("re-encoding changed the offsets")
                }
            }
            return .decoded
        }
    }

    func testFeatureBlobs() throws {
        var seeds: [[UInt8]] = []
        var state: UInt64 = 3
        func value() -> Float {
            state = state &* 6_364_136_223_846_793_005 &+ 1
            return Float(Int64(bitPattern: state) >> 40) / Float(1 << 23)
        }
        for codec in FeatureCodec.allCases {
            for (dim, count) in [(4, 3), (512, 2), (24, 80)] {
                seeds.append([UInt8](try codec.encode((0..<(dim * count)).map { _ in value() }, dim: dim)))
            }
            seeds.append([UInt8](try codec.encode([Float](repeating: 0.25, count: 64 * 40), dim: 64)))  // LZ4-compressed
        }
        var loop = FuzzLoop(target: "features", seeds: seeds, hotBytes: 24)
        loop.fixup = { Self.fixChecksum(&$0, crcAt: 15, payloadAt: 19) }
        loop.run { input in
            let blob = Data(input)
            let decoded: (dim: Int, values: [Float])
            do { decoded = try FeatureCodec.decode(blob) } catch { return .refused }  // typed: BlobError
            let h = try FeatureCodec.header(blob)
            guard h.dim == decoded.dim, h.count * h.dim == decoded.values.count,
                h.count * h.codec.rawBytes(dim: h.dim) <= FeatureCodec.maxRawBytes
            else {
                throw InvariantBroken("decoded \(decoded.values.count) values; header \(h)")
            }
            return .decoded
        }
    }
}
