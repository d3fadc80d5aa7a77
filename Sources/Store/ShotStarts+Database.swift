import Foundation
import GRDB
import Timeline

/// A video's shot starts in a BLOB: LEB128 varints of the gaps between them (the first from
/// frame 0), a byte or two a cut; NULL for none. Decoding checks every gap is positive and the
/// count is bounded by the bytes, so a corrupt row fails to load instead of misplacing I-frames.
extension ShotStarts: DatabaseValueConvertible {
    public var databaseValue: DatabaseValue { StoreRules.encode(self)?.databaseValue ?? .null }

    public static func fromDatabaseValue(_ dbValue: DatabaseValue) -> ShotStarts? {
        if dbValue.isNull { return ShotStarts.none }
        guard let data = Data.fromDatabaseValue(dbValue) else { return nil }
        return try? decode(data)
    }

    /// The list from its stored bytes; throws on a truncated varint, a zero gap or an overflow.
    public static func decode(_ data: Data) throws -> ShotStarts {
        let bytes = [UInt8](data)
        var pos = 0
        var frames: [Int] = []
        var last = 0
        while pos < bytes.count {
            guard let gap = OffsetCodec.readVarint(bytes, &pos), gap > 0, gap < UInt64(Int32.max) else {
                throw StoreError.invalidArgument("corrupt shot starts at byte \(pos) of \(bytes.count)")
            }
            let (next, overflow) = last.addingReportingOverflow(Int(gap))
            guard !overflow else { throw StoreError.invalidArgument("corrupt shot starts: frame index overflows") }
            frames.append(next)
            last = next
        }
        return try ShotStarts(frames)
    }
}
