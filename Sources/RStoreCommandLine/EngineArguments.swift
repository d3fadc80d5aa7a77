import ArgumentParser
import CLIP
import ResidualStore
import Store
import Timeline
import Video

// Options parse straight into the enums of the engine and its modules: a bad value is refused by the parser with
// the list of valid ones, and no command converts strings with `rawValue:)!`.
extension ReductionStrategy: ExpressibleByArgument {}
extension FeatureCodec: ExpressibleByArgument {}
extension IFramePlacement: ExpressibleByArgument {}
extension MotionSource: ExpressibleByArgument {}
extension Stage1Mode: ExpressibleByArgument {}
