import ArgumentParser
import Foundation
import RStoreCommandLine
import Tensor

/// `rstore bench blas`: which OpenBLAS kernels this process runs (and who chose them) and the
/// sgemm roofline they reach; the quick check that the automatic choice (BLASCore) took effect.
struct BenchBLASCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blas", abstract: "OpenBLAS kernels in use and their sgemm GFLOP/s.")

    @Option(help: "Seconds to time sgemm (0: only report the kernels).") var seconds = 1.0
    @Flag(help: "Print one JSON object.") var json = false

    struct Result: Encodable {
        var blas_core: String, blas_core_choice: String, blas_default_core: String?
        var sgemm_gflops: Double?
    }

    func run() throws {
        let r = Result(
            blas_core: BLAS.coreName, blas_core_choice: BLASCore.choice,
            blas_default_core: BLASCore.choice == "auto"
                ? ProcessInfo.processInfo.environment[BLASCore.guardVariable] : nil,
            sgemm_gflops: seconds > 0 ? Roofline.sgemmGFLOPs(seconds: seconds) : nil)
        if json {
            try printJSON(r)
            return
        }
        print("OpenBLAS kernels: \(BLASCore.summary)")
        if let g = r.sgemm_gflops { print(String(format: "sgemm %.1f GFLOP/s (threads %d)", g, BLAS.threads)) }
    }
}
