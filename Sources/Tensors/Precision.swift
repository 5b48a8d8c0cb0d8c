import CKernels

/// The arithmetic of a network's matrix products (convolutions and dense layers).
///
/// - `fp32`: operands and sums in fp32 (OpenBLAS `sgemm`).
/// - `bf16`: operands rounded to bf16 (round to nearest even), products summed in fp32, as PyTorch's
///   CPU autocast does for convolutions and linear layers; weights, optimizer state and BatchNorm
///   statistics stay fp32. On CPUs with AVX512_BF16 the products run on `vdpbf16ps` at twice the fp32
///   rate (`av_gemm_bf16`); elsewhere the rounded operands go through `sgemm`, with the same rounding
///   and slower than fp32. In bf16, Winograd's transforms stay fp32 and its 16 products round their
///   operands (docs/decisions/0039).
///
/// A model is trained and served in one precision: it is kept in the checkpoint.
public enum Precision: String, Codable, Sendable, CaseIterable, CustomStringConvertible {
    case fp32
    case bf16

    /// Whether this CPU runs bf16 products natively (AVX512_BF16, detected at run time).
    public static var hardwareSupportsBF16: Bool { av_bf16_supported() != 0 }

    /// The precision `auto` stands for on this machine: bf16 where the CPU runs it natively, else fp32.
    public static var automatic: Precision { hardwareSupportsBF16 ? .bf16 : .fp32 }

    /// Parses `fp32`, `bf16` or `auto` (case-insensitive); nil for anything else.
    public init?(choice: String) {
        switch choice.lowercased() {
        case "auto": self = Self.automatic
        case let name: guard let value = Precision(rawValue: name) else { return nil }; self = value
        }
    }

    public var description: String { rawValue }

    /// `x` rounded to the nearest bf16 value, as fp32 (ties to even; NaN stays NaN).
    public static func roundedToBF16(_ x: Float) -> Float {
        var input = x, output: Float = 0
        av_round_to_bf16(&input, &output, 1)
        return output
    }
}
