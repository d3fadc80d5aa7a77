/// Finds shot cuts between consecutive sampled frames from the pixels ingest decodes anyway,
/// so an I-frame can be placed at the start of every shot (a P-frame rebuilt from an anchor in
/// another scene gets both its residual token and its motion ranking from the wrong picture).
///
/// The signal is a colour histogram per quadrant (4 levels per RGB channel, 64 bins, 2 x 2
/// quadrants), compared as half the L1 distance, averaged over the quadrants: 0 for the same
/// colour layout, 1 for disjoint colours. Histograms ignore where things move inside a quadrant,
/// which is most of what changes between two frames of one shot 0.5 s apart (pans, people,
/// water); pixel differences fire on that motion. The quadrants keep enough layout to tell two
/// shots of similar palette apart.
///
/// The decision looks `window` frames ahead (ingest holds frames back until they are decided,
/// `lag` of them, under two seconds): a frame starts a shot when its distance to the previous frame is large in absolute
/// terms and large against the quieter side of its neighbourhood, the mean distance of the
/// `window` frames before it (within the current shot) or of the `window` after it, or very
/// large whatever the neighbours. A cut is a jump between two stretches of which at least one
/// is steady; motion inside a shot (a passer-by filling the frame, a pan) raises the distances
/// on both sides. Guards against storms: damaged frames (concealment smears) neither start a
/// shot nor serve as the frame before one, and shots are at least `minShotFrames` long, which
/// bounds the extra I-frames (see `ShotCutDetector.Settings`).
///
/// Within those first `minShotFrames` frames of a shot a second jump cannot open another shot,
/// but when it is stronger than the jump that opened this one, the shot start moves to it: a
/// flash or whip pan one sample before a real cut must not keep the real cut's frames leaning
/// on an anchor from the previous shot. So a cut is final only once `minShotFrames - 1` more
/// frames are decided, and decisions lag `window + minShotFrames - 1` frames behind the input.
public struct ShotCutDetector: Sendable {
    public struct Settings: Sendable, Equatable, Codable {
        /// Distance a cut must reach at least.
        public var minDistance: Double = 0.30
        /// Distance that is a cut whatever the recent distances were.
        public var hardDistance: Double = 0.60
        /// A cut's distance over the quieter side's mean distance.
        public var ratio: Double = 3.0
        /// Frames on each side of a candidate whose distances it is compared with (a decision
        /// lags this many frames plus `minShotFrames - 1` behind the input).
        public var window: Int = 2
        /// Fewest sampled frames between two cuts. With the fixed spacing N + 1 restarted at
        /// every cut, a shot of L >= N + 1 frames costs at most one I-frame more than L / (N + 1):
        /// callers pass N + 1, so adaptive placement at most doubles the I-frames.
        public var minShotFrames: Int = 3

        /// The settings adaptive I-frame placement runs with for N: shots of at least N + 1
        /// frames, the bound on extra I-frames (ingest, training and eval all use these).
        public static func adaptivePlacement(n: Int) -> Settings { Settings(minShotFrames: n + 1) }

        public init(
            minDistance: Double = 0.30, hardDistance: Double = 0.60, ratio: Double = 3.0,
            window: Int = 2, minShotFrames: Int = 3
        ) {
            self.minDistance = minDistance
            self.hardDistance = hardDistance
            self.ratio = ratio
            self.window = window
            self.minShotFrames = minShotFrames
        }
    }

    /// A frame's colour layout: 4 quadrants x 64 bins, each quadrant's counts summing to 1.
    public struct Signature: Sendable, Equatable {
        static let levels = 4, bins = 64, quadrants = 4
        public var histogram: [Float]

        /// Every second pixel in each direction is enough for a histogram and quarters the cost.
        public init(_ image: RGBImage) {
            var h = [Float](repeating: 0, count: Self.quadrants * Self.bins)
            let w = image.width
            let ht = image.height
            guard w >= 2, ht >= 2 else {
                histogram = h
                return
            }
            var counts = [Int](repeating: 0, count: Self.quadrants)
            image.pixels.withUnsafeBufferPointer { px in
                for y in stride(from: 0, to: ht, by: 2) {
                    let qy = y < ht / 2 ? 0 : 2
                    for x in stride(from: 0, to: w, by: 2) {
                        let q = qy + (x < w / 2 ? 0 : 1)
                        let i = (y * w + x) * 3
                        // 256 / 4 = 64 values per level: the top two bits of each channel.
                        let bin = Int(px[i] >> 6) << 4 | Int(px[i + 1] >> 6) << 2 | Int(px[i + 2] >> 6)
                        h[q * Self.bins + bin] += 1
                        counts[q] += 1
                    }
                }
            }
            for q in 0..<Self.quadrants where counts[q] > 0 {
                let s = 1 / Float(counts[q])
                for b in 0..<Self.bins { h[q * Self.bins + b] *= s }
            }
            histogram = h
        }

        /// Half the L1 distance per quadrant, averaged: in [0, 1].
        public func distance(to other: Signature) -> Double {
            var total: Float = 0
            for i in 0..<histogram.count { total += abs(histogram[i] - other.histogram[i]) }
            return Double(total) / 2 / Double(Self.quadrants)
        }
    }

    public let settings: Settings
    private var previous: Signature?
    private var previousDamaged = false
    /// Frames pushed but not yet decided: distance to the frame before (nil for the very
    /// first), and whether either frame was damaged.
    private var pending: [(distance: Double?, damaged: Bool)] = []
    /// Distances of the last decided frames of the current shot (at most `window`).
    private var before: [Double] = []
    private var sinceCut = 0
    private var decided = 0
    /// Decisions made but not yet returned: the last `minShotFrames - 1`, which a stronger cut
    /// may still change. `openedBy` is the distance of the cut that opened the current shot,
    /// while that cut is among them (nil once final, or for the video's first shot).
    private var unconfirmed: [Bool] = []
    private var openedBy: (index: Int, distance: Double)?

    public init(settings: Settings = Settings()) {
        precondition(
            settings.window >= 1 && settings.minShotFrames >= 1,
            "ShotCutDetector: window and minShotFrames must be >= 1")
        self.settings = settings
    }

    /// Every decided frame's distance to the frame before it, in order (nil for the first
    /// frame): for reports and tuning.
    public private(set) var distances: [Double?] = []

    /// Feeds the next sampled frame. Returns the decisions that became final, in frame order:
    /// true for a frame that starts a new shot. Decisions lag `lag` frames behind; `finish()`
    /// returns the rest. The first frame of a video starts the first shot but is not reported
    /// as a cut (it is an I-frame in every layout).
    public mutating func push(_ image: RGBImage, damaged: Bool = false) -> [Bool] {
        push(Signature(image), damaged: damaged)
    }

    public mutating func push(_ signature: Signature, damaged: Bool = false) -> [Bool] {
        pending.append((previous.map { signature.distance(to: $0) }, damaged || previousDamaged))
        previous = signature
        previousDamaged = damaged
        while pending.count > settings.window { decideFirst() }
        return release(keeping: settings.minShotFrames - 1)
    }

    /// Decisions for the frames still held back (the neighbourhood after them is cut short).
    public mutating func finish() -> [Bool] {
        while !pending.isEmpty { decideFirst() }
        return release(keeping: 0)
    }

    /// Frames a decision lags behind the frame pushed.
    public var lag: Int { settings.window + settings.minShotFrames - 1 }

    /// Returns the oldest unconfirmed decisions, keeping the last `count` (still changeable).
    private mutating func release(keeping count: Int) -> [Bool] {
        let n = max(0, unconfirmed.count - count)
        let out = Array(unconfirmed.prefix(n))
        unconfirmed.removeFirst(n)
        if let o = openedBy { openedBy = o.index >= n ? (o.index - n, o.distance) : nil }
        return out
    }

    private mutating func decideFirst() {
        let (distance, damaged) = pending.removeFirst()
        decided += 1
        distances.append(distance)
        guard let d = distance else {
            sinceCut = 0
            unconfirmed.append(false)
            return
        }
        sinceCut += 1
        let after = pending.prefix(settings.window).compactMap(\.distance)
        let quiet = min(Self.mean(before) ?? .infinity, Self.mean(after) ?? .infinity)
        let baseline = quiet.isFinite ? quiet : 0
        let jump =
            !damaged
            && (d >= settings.hardDistance || (d >= settings.minDistance && d >= settings.ratio * (baseline + 0.02)))
        if jump, sinceCut >= settings.minShotFrames {
            startShot(distance: d)
            return
        }
        if jump, let opener = openedBy, d > opener.distance {
            // Too close to the cut that opened this shot, and stronger: the shot starts here.
            unconfirmed[opener.index] = false
            startShot(distance: d)
            return
        }
        before.append(d)
        if before.count > settings.window { before.removeFirst() }
        unconfirmed.append(false)
    }

    private mutating func startShot(distance d: Double) {
        before.removeAll(keepingCapacity: true)
        sinceCut = 0
        openedBy = (unconfirmed.count, d)
        unconfirmed.append(true)
    }

    /// The frames of a whole sequence that start a shot (frame 0 is never reported), for
    /// callers that hold every frame already (training, evaluation). Ingest feeds `push` as it
    /// decodes instead.
    public static func shotStarts(_ images: some Sequence<RGBImage>, settings: Settings) -> [Int] {
        var detector = ShotCutDetector(settings: settings)
        let decisions = images.flatMap { detector.push($0) } + detector.finish()
        return decisions.indices.filter { decisions[$0] }
    }

    private static func mean(_ xs: some Collection<Double>) -> Double? {
        xs.isEmpty ? nil : xs.reduce(0, +) / Double(xs.count)
    }
}
