import CLIP
import Store

extension AnchorQuantizer {
    /// The round trip of the store's own codec: encode to a blob and decode it, so training and
    /// evaluation feed A bit for bit the I-feature reconstruction reads back from SQLite.
    package static func stored(_ codec: FeatureCodec) -> AnchorQuantizer {
        codec == .f32
            ? .exact
            : AnchorQuantizer(name: codec.rawValue) { rows, dim in
                rows.isEmpty ? [] : try FeatureCodec.decode(codec.encode(rows, dim: dim)).values
            }
    }
}
