import ArgumentParser
import Foundation
import Tensors

/// `--precision fp32|bf16|auto`: the arithmetic of the networks a command trains (`Precision`).
struct PrecisionArguments: ParsableArguments {
    static let variable = "AUTOVISION_PRECISION"

    @Option(help: ArgumentHelp("Arithmetic of the matrix products in training and serving: fp32, bf16 (bf16 operands, fp32 sums, "
                               + "fp32 weights) or auto (bf16 where the CPU has AVX512_BF16, else fp32). Default: $\(variable), else auto.",
                               valueName: "fp32|bf16|auto"))
    var precision: String?

    func validate() throws {
        _ = try resolved()
    }

    /// The option, over the environment's value, over `auto`, resolved on this machine.
    /// - Throws: `ValidationError` for anything but fp32, bf16 or auto.
    func resolved() throws -> Precision {
        let choice = precision ?? ProcessInfo.processInfo.environment[Self.variable] ?? "auto"
        guard let value = Precision(choice: choice) else {
            throw ValidationError("precision must be fp32, bf16 or auto, got '\(choice)'"
                + (precision == nil ? " (from $\(Self.variable))" : ""))
        }
        return value
    }
}
