import Foundation
import NN
import Tensors
import TestSupport
import Testing

@Suite struct OptimizerTests {
    /// Five steps with a fixed gradient sequence, against torch.optim (and NumPy for SGDW).
    @Test(arguments: ["sgd", "sgd_momentum", "sgd_nesterov", "adam", "adamw", "sgdw_nesterov"])
    func matchesPyTorch(name: String) throws {
        let f = try fixture("optimizers")
        let optimizer: any Optimizer = switch name {
        case "sgd": SGD(learningRate: 0.1)
        case "sgd_momentum": SGD(learningRate: 0.1, momentum: 0.9)
        case "sgd_nesterov": SGD(learningRate: 0.1, momentum: 0.9, nesterov: true)
        case "adam": Adam(learningRate: 0.01)
        case "adamw": AdamW(learningRate: 0.01, weightDecay: 0.1)
        default: SGD(learningRate: 0.1, momentum: 0.9, weightDecay: 0.01, nesterov: true)
        }
        let parameter = Parameter(name: "p", value: f.tensor("start"))
        for step in 0..<5 {
            parameter.gradient = f.tensor("grad\(step)")
            optimizer.step([parameter])
        }
        #expect(maxDifference(parameter.value, f.tensor(name)) < 1e-5, "\(name)")
    }

    /// The fixture's seven weights repeated three times: 16 go through the 8-lane update, 5 through
    /// its scalar tail. Every copy matches torch.optim, and the copies match each other bit for bit.
    @Test(arguments: ["adam", "adamw"])
    func vectorUpdateMatchesPyTorchAndTheScalarTail(name: String) throws {
        let f = try fixture("optimizers")
        let optimizer = name == "adam" ? Adam(learningRate: 0.01) : AdamW(learningRate: 0.01, weightDecay: 0.1)
        let repeated = { (t: Tensor) in Tensor(shape: [21], values: Array(repeating: t.storage, count: 3).flatMap { $0 }) }
        let parameter = Parameter(name: "p", value: repeated(f.tensor("start")))
        for step in 0..<5 {
            parameter.gradient = repeated(f.tensor("grad\(step)"))
            optimizer.step([parameter])
        }
        let expected = f.tensor(name).storage
        let copies = (0..<3).map { Array(parameter.value.storage[($0 * 7)..<($0 * 7 + 7)]) }
        #expect(copies.allSatisfy { zip($0, expected).allSatisfy { abs($0 - $1) < 1e-5 } }, "\(name): \(copies) vs \(expected)")
        #expect(copies[0] == copies[1] && copies[1] == copies[2])
    }

    @Test func clippingScalesToTheGlobalNorm() {
        let a = Parameter(name: "a", value: Tensor(shape: [2]))
        let b = Parameter(name: "b", value: Tensor(shape: [1]))
        a.gradient = Tensor(shape: [2], values: [3, 0])
        b.gradient = Tensor(shape: [1], values: [4])
        let norm = clipGradientNorm([a, b], maximumNorm: 1)
        #expect(abs(norm - 5) < 1e-6)
        let clipped = (a.gradient.squaredNorm() + b.gradient.squaredNorm()).squareRoot()
        #expect(abs(clipped - 1) < 1e-4)
        #expect(abs(a.gradient[0] - 0.6) < 1e-4 && abs(b.gradient[0] - 0.8) < 1e-4)
        // Below the limit nothing changes.
        #expect(clipGradientNorm([a, b], maximumNorm: 10) < 1.0001)
        #expect(abs(a.gradient[0] - 0.6) < 1e-4)
    }

    @Test func oneCycleMatchesPyTorch() throws {
        let expected = try fixture("onecycle").tensor("learningRates")
        let schedule = OneCycleSchedule(maximum: 0.1, totalSteps: 20)
        for step in 0..<20 {
            #expect(abs(schedule.learningRate(at: step) - expected[step]) < 1e-6, "step \(step)")
        }
    }

    @Test func cosineScheduleWarmsUpDecaysAndRoundTrips() throws {
        let schedule = CosineSchedule(initial: 0.1, decaySteps: 100, warmupSteps: 10, end: 0.001)
        #expect(abs(schedule.learningRate(at: 0) - 0.01) < 1e-7)
        #expect(abs(schedule.learningRate(at: 9) - 0.1) < 1e-7)
        #expect(abs(schedule.learningRate(at: 10) - 0.1) < 1e-7)
        #expect(abs(schedule.learningRate(at: 60) - (0.001 + 0.099 * 0.5)) < 1e-6)
        #expect(abs(schedule.learningRate(at: 110) - 0.001) < 1e-7)
        #expect(abs(schedule.learningRate(at: 500) - 0.001) < 1e-7)
        let decoded = try JSONDecoder().decode(CosineSchedule.self, from: JSONEncoder().encode(schedule))
        #expect(decoded == schedule)
    }

    @Test func warmupStableDecayHoldsThePeakAndCoolsDownWhereverItIsMoved() throws {
        // 100 steps: 5 of warm-up, 20 of cool-down (steps 80–99).
        let schedule = WarmupStableDecaySchedule(peak: 0.1, totalSteps: 100)
        #expect(schedule.warmupSteps == 5 && schedule.decayStart == 80 && schedule.decaySteps == 20)
        #expect(abs(schedule.learningRate(at: 0) - 0.02) < 1e-7)
        #expect(abs(schedule.learningRate(at: 4) - 0.1) < 1e-7)
        #expect(schedule.learningRate(at: 5) == 0.1 && schedule.learningRate(at: 79) == 0.1)
        #expect(!schedule.isStable(at: 4) && schedule.isStable(at: 5) && schedule.isStable(at: 79) && !schedule.isStable(at: 80))
        // "1 − sqrt": a quarter of the way down the cool-down, the rate is half the peak.
        #expect(abs(schedule.learningRate(at: 85) - 0.05) < 1e-6)
        #expect(schedule.learningRate(at: 100) == 0 && schedule.learningRate(at: 1000) == 0)
        // Cooling down early, at step 40 over 8 steps: the peak until 39, 0 from step 48.
        let early = schedule.coolingDown(at: 40, steps: 8)
        #expect(early.learningRate(at: 39) == 0.1)
        #expect(abs(early.learningRate(at: 42) - 0.05) < 1e-6)
        #expect(early.learningRate(at: 48) == 0 && !early.isStable(at: 40))
        let decoded = try JSONDecoder().decode(WarmupStableDecaySchedule.self, from: JSONEncoder().encode(early))
        #expect(decoded == early)
    }
}
