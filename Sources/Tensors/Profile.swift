import CKernels
import Dispatch

/// Where a training step's time goes (`autovision bench train --profile`): thread-seconds per kind of
/// work, summed over the threads that did it, and the GEMMs' multiply-adds. Off unless enabled; when
/// off, a measured block costs one relaxed atomic load.
public enum Profile {
    /// Kinds of work. Layer kinds are timed around each layer's forward and backward on the calling
    /// thread (wall time of the whole batch); `gemm` and `im2col` inside the worker threads of the
    /// convolution and dense layers (thread time), which are part of those layers' time.
    public enum Category: Int32, CaseIterable, Sendable {
        case convolution, dense, batchNorm, pooling, elementwise, optimizer, loss, data
        case gemm, im2col

        public var name: String {
            switch self {
            case .convolution: "convolution (all of it)"
            case .dense: "dense (all of it)"
            case .batchNorm: "BatchNorm"
            case .pooling: "pooling"
            case .elementwise: "elementwise (activations, dropout, flatten)"
            case .optimizer: "optimizer"
            case .loss: "loss"
            case .data: "data (batch assembly)"
            case .gemm: "GEMM, in worker threads"
            case .im2col: "im2col, col2im, Winograd transforms, in workers"
            }
        }
    }

    private static let flopSlot: Int32 = 31

    public static var isEnabled: Bool { av_profile_enabled() != 0 }

    /// Turns the counters on or off; they keep their sums.
    public static func setEnabled(_ enabled: Bool) { av_profile_set_enabled(enabled ? 1 : 0) }

    public static func reset() { av_profile_reset() }

    /// Runs `body`, adding its duration to `category` when profiling is on.
    @inline(__always)
    public static func measure<T>(_ category: Category, _ body: () throws -> T) rethrows -> T {
        guard isEnabled else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { av_profile_add(category.rawValue, Int64(DispatchTime.now().uptimeNanoseconds &- start)) }
        return try body()
    }

    /// Counts `2·m·n·k` floating-point operations of one GEMM (when profiling is on).
    @inline(__always)
    static func addGEMM(m: Int, n: Int, k: Int) {
        if isEnabled { av_profile_add(flopSlot, Int64(2 * m * n * k)) }
    }

    /// Seconds summed in `category` since the last `reset`.
    public static func seconds(_ category: Category) -> Double { Double(av_profile_read(category.rawValue)) / 1e9 }

    /// GEMM floating-point operations since the last `reset`.
    public static var gemmOperations: Double { Double(av_profile_read(flopSlot)) }

    /// One core's peak GFLOP/s: fp32 FMA on the widest vectors, and bf16 dot products (`nil` where the
    /// CPU has none), each measured for `seconds`.
    public static func peakGFLOPs(seconds: Double = 0.3) -> (fp32: Double, bf16: Double?) {
        let bf16 = av_peak_bf16_gflops(seconds)
        return (av_peak_fp32_gflops(seconds), bf16 > 0 ? bf16 : nil)
    }
}
