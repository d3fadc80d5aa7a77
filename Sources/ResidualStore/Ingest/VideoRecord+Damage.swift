import Foundation
import Store
import Video

extension VideoRecord {
    /// The damage concealed while this video was indexed (nil: clean, or the stored JSON is
    /// unreadable, which `rstore verify` has no say on: it is informational only).
    public var damageReport: DamageReport? {
        guard let damage, let report = try? JSONDecoder().decode(DamageReport.self, from: Data(damage.utf8)) else {
            return nil
        }
        return report
    }
}
