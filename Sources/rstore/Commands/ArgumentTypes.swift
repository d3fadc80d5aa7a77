import ArgumentParser
import CLIPTraining
import Logging

// Options parse straight into the engine's enums: a bad value is refused by the parser with
// the list of valid ones, and no command converts strings with `rawValue:)!` (the engine's
// own enums: RStoreCommandLine/EngineArguments.swift).
extension HoldoutSplit: ExpressibleByArgument {}
extension VisualLoss: ExpressibleByArgument {}
extension DistillationLoss: ExpressibleByArgument {}
extension TextDirections: ExpressibleByArgument {}
extension MaskSchedule: ExpressibleByArgument {}
extension Logger.Level: @retroactive ExpressibleByArgument {}

/// Refuses a sampling setting outside `SamplingLimits` as a usage error naming the option.
func checkSampling(_ problem: String?) throws {
    if let problem { throw ValidationError("--" + problem) }
}
