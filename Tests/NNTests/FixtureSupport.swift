import Foundation
import NN
import Tensors
import TestSupport

/// Loads a golden-value fixture from this target's `Fixtures` resource folder.
func fixture(_ name: String) throws -> Fixture {
    guard let directory = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
        throw CocoaError(.fileNoSuchFile)
    }
    return try Fixture.load(name, from: directory)
}

/// Copies a fixture tensor into a parameter, checking the shape.
func assign(_ tensor: Tensor, to parameter: Parameter) {
    precondition(tensor.shape == parameter.value.shape, "fixture \(tensor.shape) vs parameter \(parameter.value.shape)")
    parameter.value = tensor
}

/// Largest absolute difference between two tensors of the same element count.
func maxDifference(_ a: Tensor, _ b: Tensor) -> Float {
    precondition(a.count == b.count, "\(a.shape) vs \(b.shape)")
    var worst: Float = 0
    for i in 0..<a.count { worst = max(worst, abs(a[i] - b[i])) }
    return worst
}
