import NN

/// `TestTimeAugmentation` inside the graph: the views of `TestTimeAugmentation.probabilities`,
/// stacked on the batch axis before the network, and the mean of their softmax after it.
enum ONNXTestTimeAugmentation {
    /// (dx, dy) of the `shifts` views besides the image itself, in `TestTimeAugmentation`'s order.
    static let oneShifts = [(1, 0), (-1, 0), (0, 1), (0, -1)]

    /// `[N, C, H, W]` → `[V·N, C, H, W]`, view-major (the image itself first).
    static func emitViews(into graph: inout ONNXGraphBuilder, input: String, policy: TestTimeAugmentation,
                          height: Int, width: Int) -> String {
        let others: [String]
        switch policy {
        case .none: return input
        case .horizontalFlip: others = [emitMirror(into: &graph, input)]
        case .shifts: others = oneShifts.map { emitShift(into: &graph, input, dx: $0.0, dy: $0.1, height: height, width: width) }
        }
        return graph.node("Concat", [input] + others, [ONNXAttribute.int("axis", 0)])
    }

    /// Softmax `[V·N, K]` → `[N, K]`: reshaped to `[V, N, K]` and averaged over the views.
    static func emitMean(into graph: inout ONNXGraphBuilder, probabilities: String, policy: TestTimeAugmentation, classes: Int) -> String {
        guard policy.views > 1 else { return probabilities }
        let shape = graph.int64s("views_shape", [Int64(policy.views), -1, Int64(classes)])
        let stacked = graph.node("Reshape", [probabilities, shape])
        return graph.node("ReduceMean", [stacked], [ONNXAttribute.ints("axes", [0]), ONNXAttribute.int("keepdims", 0)])
    }

    /// Left to right: Slice of axis 3 from the last column backwards (step −1, end INT64_MIN).
    static func emitMirror(into graph: inout ONNXGraphBuilder, _ x: String) -> String {
        let starts = graph.int64s("mirror_starts", [-1]), ends = graph.int64s("mirror_ends", [Int64.min])
        let axes = graph.int64s("mirror_axes", [3]), steps = graph.int64s("mirror_steps", [-1])
        return graph.node("Slice", [x, starts, ends, axes, steps])
    }

    /// Moved `dx` pixels right and `dy` down, the uncovered edge 0 (`TestTimeAugmentation.shifted`):
    /// Slice keeps the part that stays in the frame, Pad adds the zeros on the side it left.
    static func emitShift(into graph: inout ONNXGraphBuilder, _ x: String, dx: Int, dy: Int, height: Int, width: Int) -> String {
        let starts = graph.int64s("shift_starts", [Int64(max(0, -dy)), Int64(max(0, -dx))])
        let ends = graph.int64s("shift_ends", [Int64(height - max(0, dy)), Int64(width - max(0, dx))])
        let axes = graph.int64s("shift_axes", [2, 3])
        let kept = graph.node("Slice", [x, starts, ends, axes])
        // pads: [x1_begin, x2_begin, …, x1_end, x2_end, …] over N, C, H, W.
        let pads = graph.int64s("shift_pads", [0, 0, Int64(max(0, dy)), Int64(max(0, dx)), 0, 0, Int64(max(0, -dy)), Int64(max(0, -dx))])
        return graph.node("Pad", [kept, pads])
    }
}
