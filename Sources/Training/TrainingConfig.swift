import NN

/// Hyper-parameters of one training run: what a search trial varies besides the architecture.
public struct TrainingConfig: Codable, Sendable, Equatable {
    public enum OptimizerKind: String, Codable, Sendable, CaseIterable {
        /// SGD with Nesterov momentum 0.9 and decoupled weight decay.
        case sgd
        case adam
        /// Adam with decoupled weight decay (Loshchilov & Hutter 2019).
        case adamw
    }

    public enum ScheduleKind: String, Codable, Sendable, CaseIterable {
        /// Linear warm-up then cosine decay to 0 over the planned epochs.
        case cosine
        /// One-cycle (Smith & Topin 2017).
        case oneCycle = "one_cycle"
        case constant
        /// Warm-up, constant peak, then a cool-down over the last `decayFraction` of the steps
        /// (`WarmupStableDecaySchedule`); the trainer starts the cool-down early on a plateau or
        /// when the deadline nears, so training ends annealed whenever it ends.
        case warmupStableDecay = "warmup_stable_decay"
    }

    public var optimizer: OptimizerKind = .adamw
    /// Peak learning rate.
    public var learningRate: Float = 2e-3
    /// Decoupled weight decay per step, multiplied by the learning rate (PyTorch convention).
    public var weightDecay: Float = 5e-4
    public var batchSize = 128
    /// Epochs the schedule is planned for; a deadline or early stop may end training sooner.
    public var epochs = 10
    public var schedule: ScheduleKind = .cosine
    /// Warm-up length for the cosine schedule, in epochs.
    public var warmupEpochs: Double = 0.5
    /// Share of the steps in the cool-down of `warmupStableDecay` (also of the steps run so far,
    /// for a cool-down started early).
    public var decayFraction = 0.2
    public var augmentation = AugmentationOptions.none
    /// ε of label smoothing (Szegedy et al. 2016); 0 = off.
    public var labelSmoothing: Float = 0
    /// Weight each example's loss by its class's "balanced" weight `N / (K · n_c)` (inverse TRAIN
    /// frequency; `SoftmaxCrossEntropy` weights whole examples, as Keras's `class_weight` does).
    public var classWeighting = false
    /// How often each class is drawn into an epoch (`ClassSampling`; single-label only, multi-label
    /// training keeps the natural order).
    public var classSampling = ClassSampling.natural
    /// Clip the global gradient norm to this value; `nil` = off.
    public var gradientClipNorm: Float? = 5
    /// Seeds weight initialisation, shuffling, dropout and augmentation.
    public var seed: UInt64 = 0
    /// Stop when VALIDATION accuracy has not improved by `minimumImprovement` for this many epochs.
    public var patience = 4
    /// Share of the planned epochs that always runs before an early stop: one-cycle and warm-up
    /// schedules raise the learning rate first, and VALIDATION accuracy often dips until it anneals
    /// (a warm-started final training stopped at its 11th of 42 epochs without this). With
    /// `warmupStableDecay` a plateau past this point starts the cool-down rather than stopping.
    public var earliestStop = 0.5
    public var minimumImprovement = 0.001
    /// With `warmupStableDecay`, a plateau in the stable phase also needs the mean training loss to
    /// have fallen by less than this fraction over the last `patience` epochs.
    public var minimumTrainLossDecrease = 0.01

    public init() {}

    /// The learning-rate schedule for `stepsPerEpoch`.
    public func makeSchedule(stepsPerEpoch: Int) -> any LearningRateSchedule {
        let total = max(1, epochs * stepsPerEpoch)
        switch schedule {
        case .cosine:
            let warmup = Int(warmupEpochs * Double(stepsPerEpoch))
            return CosineSchedule(initial: learningRate, decaySteps: max(1, total - warmup), warmupSteps: warmup, end: 0)
        case .oneCycle:
            return OneCycleSchedule(maximum: learningRate, totalSteps: total)
        case .constant:
            return ConstantSchedule(learningRate)
        case .warmupStableDecay:
            return WarmupStableDecaySchedule(peak: learningRate, totalSteps: total, decayFraction: decayFraction)
        }
    }

    public func makeOptimizer() -> any Optimizer {
        switch optimizer {
        case .sgd: SGD(learningRate: learningRate, momentum: 0.9, weightDecay: weightDecay, nesterov: true)
        case .adam: Adam(learningRate: learningRate)
        case .adamw: AdamW(learningRate: learningRate, weightDecay: weightDecay)
        }
    }
}
