/// Scratch buffers for one forward pass over `rows` tokens.
final class Workspace {
    let norm: UnsafeMutablePointer<Float>
    let qkv: UnsafeMutablePointer<Float>
    let attn: UnsafeMutablePointer<Float>
    let mlp: UnsafeMutablePointer<Float>

    init(rows: Int, config c: TowerConfig) {
        norm = .allocate(capacity: rows * c.width)
        qkv = .allocate(capacity: rows * 3 * c.width)
        attn = .allocate(capacity: rows * c.width)
        mlp = .allocate(capacity: rows * c.mlpWidth)
    }

    deinit {
        norm.deallocate()
        qkv.deallocate()
        attn.deallocate()
        mlp.deallocate()
    }
}
