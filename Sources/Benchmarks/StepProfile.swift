import Foundation
import Tensors

/// Where the timed training steps of `bench train --profile` spent their time (issue 26, item 3).
///
/// Layer kinds, the loss, the optimizer and batch assembly are timed on the calling thread around each
/// call, and given as shares of the steps' wall time (a layer's share includes its parallel work and
/// the waits for it). GEMM and im2col / col2im are timed inside the worker threads, and given as shares
/// of the workers' time (wall time × workers), with the GEMMs' achieved rate per core against one
/// core's measured peak.
public struct StepProfile: Encodable, Sendable {
    public struct Share: Encodable, Sendable {
        public var kind: String
        /// Seconds over all profiled steps (thread-seconds for the worker kernels).
        public var seconds: Double
        /// A fraction: of the steps' wall time, or of the workers' time for the worker kernels.
        public var share: Double
    }

    public var steps: Int
    /// Wall-clock seconds of the profiled steps together.
    public var stepSeconds: Double
    public var workers: Int
    /// Calling-thread kinds, and `other` (what no kind covers: residual additions, dispatch, bookkeeping).
    public var layers: [Share]
    /// GEMM and im2col / col2im in the worker threads.
    public var kernels: [Share]
    /// GEMM floating-point operations (2·m·n·k each) per second of GEMM thread time, in GFLOP/s: one core's rate.
    public var gemmGFLOPsPerCore: Double
    /// One core's measured peak: fp32 FMA on the widest vectors (`Profile.peakGFLOPs`).
    public var peakFP32GFLOPsPerCore: Double
    /// One core's measured peak of bf16 dot products; nil without AVX512_BF16.
    public var peakBF16GFLOPsPerCore: Double?

    enum CodingKeys: String, CodingKey {
        case steps, workers, layers, kernels
        case stepSeconds = "step_seconds", gemmGFLOPsPerCore = "gemm_gflops_per_core"
        case peakFP32GFLOPsPerCore = "peak_fp32_gflops_per_core", peakBF16GFLOPsPerCore = "peak_bf16_gflops_per_core"
    }

    /// The profile of the counters `Profile` holds, for steps that took `steps` seconds each.
    static func measured(steps: [Double], peak: (fp32: Double, bf16: Double?)) -> StepProfile {
        let wall = steps.reduce(0, +), workers = Threading.workerCount
        let layerKinds: [Profile.Category] = [.convolution, .dense, .batchNorm, .pooling, .elementwise, .loss, .optimizer, .data]
        var layers = layerKinds.map { Share(kind: $0.name, seconds: Profile.seconds($0), share: Profile.seconds($0) / max(wall, 1e-12)) }
        let covered = layers.reduce(0) { $0 + $1.seconds }
        layers.append(Share(kind: "other", seconds: max(0, wall - covered), share: max(0, wall - covered) / max(wall, 1e-12)))
        let workerSeconds = wall * Double(workers)
        let kernels = [Profile.Category.gemm, .im2col].map {
            Share(kind: $0.name, seconds: Profile.seconds($0), share: Profile.seconds($0) / max(workerSeconds, 1e-12))
        }
        let gemmSeconds = Profile.seconds(.gemm)
        return StepProfile(
            steps: steps.count, stepSeconds: wall, workers: workers, layers: layers, kernels: kernels,
            gemmGFLOPsPerCore: gemmSeconds > 0 ? Profile.gemmOperations / gemmSeconds / 1e9 : 0,
            peakFP32GFLOPsPerCore: peak.fp32, peakBF16GFLOPsPerCore: peak.bf16)
    }

    /// The profile as text, one kind a line.
    public var summary: String {
        var lines = [String(format: "profile of %d training steps (%.1f ms each, %d workers):", steps, stepSeconds / Double(max(steps, 1)) * 1e3, workers)]
        lines.append("  share of the step's wall time:")
        func line(_ share: Share) -> String {
            "    " + share.kind.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%5.1f %%", share.share * 100)
        }
        lines += layers.map(line)
        lines.append("  share of the workers' time:")
        lines += kernels.map(line)
        var rate = String(format: "  GEMM: %.1f GFLOP/s per core; one core's peak: fp32 FMA %.1f GFLOP/s (GEMM at %.0f %%)",
                          gemmGFLOPsPerCore, peakFP32GFLOPsPerCore, gemmGFLOPsPerCore / max(peakFP32GFLOPsPerCore, 1e-9) * 100)
        if let bf16 = peakBF16GFLOPsPerCore {
            rate += String(format: ", bf16 dot %.1f GFLOP/s (GEMM at %.0f %%)", bf16, gemmGFLOPsPerCore / bf16 * 100)
        }
        lines.append(rate)
        return lines.joined(separator: "\n")
    }
}
