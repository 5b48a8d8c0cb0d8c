/// Folding an inference BatchNorm `z = y · a[o] + s[o]` (`BatchNorm.inferenceAffine()`, running
/// statistics) into the layer `y = W·x + b` before it: `W′[o, …] = a[o] · W[o, …]`,
/// `b′[o] = a[o] · b[o] + s[o]`. Exact in real arithmetic; in Float32 the folded layer differs from
/// the two layers by rounding only (a few ulps of each output).
enum BatchNormFolding {
    /// - Parameters:
    ///   - weight: `[outputs, weightsPerOutput]` row-major (OIHW for a convolution, `[out, in]` for dense).
    ///   - bias: `[outputs]`, or `nil` for a layer without bias (taken as zeros).
    ///   - scale: `a`, `[outputs]`.
    ///   - shift: `s`, `[outputs]`.
    /// - Returns: the folded weight (same layout) and bias `[outputs]`.
    static func fold(weight: [Float], bias: [Float]?, scale: [Float], shift: [Float]) -> (weight: [Float], bias: [Float]) {
        let outputs = scale.count
        precondition(outputs > 0 && weight.count % outputs == 0 && shift.count == outputs && (bias?.count ?? outputs) == outputs)
        let perOutput = weight.count / outputs
        var folded = weight
        for o in 0..<outputs {
            for i in o * perOutput..<(o + 1) * perOutput { folded[i] *= scale[o] }
        }
        let foldedBias = (0..<outputs).map { o in (bias?[o] ?? 0) * scale[o] + shift[o] }
        return (folded, foldedBias)
    }
}
