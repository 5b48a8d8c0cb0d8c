import Foundation

/// What a job decides about its search before any trial, from the calibration
/// (`ArchitectureSearch.calibrate`) and the budget: the cost model the search starts from, the
/// rung sizes, whether the pick favours capacity, and the augmentation floor.
///
/// Part of the job's plan (`JobPlan`, kept with the job): a job resumed after an interruption
/// searches as the interrupted run did. Calibrating again could decide otherwise (probes vary
/// between calibrations), and trials of one search would then have been trained and scored under
/// two regimes. See docs/decisions/0003-calibration-probes.md.
public struct SearchRegime: Codable, Equatable, Sendable {
    /// The cost model before any trial.
    public var costModel: CostModel
    /// Rung 0's TRAIN images × epochs (`SearchSettings.baseImageEpochs`).
    public var baseImageEpochs: Int
    /// `SearchSettings.favourCapacityWithinNoise`.
    public var favourCapacityWithinNoise: Bool
    /// `SearchSpace.augmentationFloor`.
    public var augmentationFloor: AugmentationFloor

    enum CodingKeys: String, CodingKey {
        case costModel = "cost_model", baseImageEpochs = "base_image_epochs"
        case favourCapacityWithinNoise = "favour_capacity_within_noise", augmentationFloor = "augmentation_floor"
    }

    /// Why a regime read back from a file cannot be one a job decided, or `nil`.
    public var problem: String? {
        let cost = [costModel.secondsPerImage, costModel.secondsPerImageFLOP]
        if !cost.allSatisfy({ $0.isFinite && $0 >= 0 }) || cost.allSatisfy({ $0 == 0 }) { return "impossible cost model \(cost)" }
        if !(1...1_000_000_000).contains(baseImageEpochs) { return "impossible rung size \(baseImageEpochs)" }
        if !(0...64).contains(augmentationFloor.cropPadding) || !(0...1).contains(augmentationFloor.erasingProbability) {
            return "impossible augmentation floor"
        }
        return nil
    }

    public init(costModel: CostModel, baseImageEpochs: Int, favourCapacityWithinNoise: Bool, augmentationFloor: AugmentationFloor) {
        self.costModel = costModel
        self.baseImageEpochs = baseImageEpochs
        self.favourCapacityWithinNoise = favourCapacityWithinNoise
        self.augmentationFloor = augmentationFloor
    }

    /// The regime for a search of `searchSeconds` before a final training of `finalSeconds`, on
    /// `trainImages` TRAIN and `validationImages` VALIDATION images, with `calibration` pricing a
    /// network of `seedFLOPs` forward FLOPs per image (the first seed).
    /// - Parameters:
    ///   - settings: the job's search settings; a `baseImageEpochs` other than the default is kept.
    ///   - search: `false` for a job that trains one seed without a search (nothing is favoured or floored).
    public static func decide(calibration: CostModel, seedFLOPs: Double, settings: SearchSettings, searchSeconds: Double,
                              finalSeconds: Double, trainImages: Int, validationImages: Int, search: Bool) -> SearchRegime {
        var regime = SearchRegime(costModel: calibration, baseImageEpochs: settings.baseImageEpochs,
                                  favourCapacityWithinNoise: settings.favourCapacityWithinNoise, augmentationFloor: .none)
        if settings.baseImageEpochs == SearchSettings().baseImageEpochs {
            // Longer budgets buy longer trials (a rung-0 trial of the first seed takes ~1/40 of the
            // search's share), which ranks candidates at a horizon nearer the final training's.
            // At least one pass over TRAIN or 8,000 images, whichever is less.
            let floor = min(settings.baseImageEpochs, trainImages)
            regime.baseImageEpochs = max(floor, Int(searchSeconds / 40 / calibration.secondsPerImage(flops: seedFLOPs)))
        }
        // When the final training will be many times longer than the top rung's trials (priced
        // for the first seed), the pick allows for the short-horizon bias (see
        // `SearchSettings.favourCapacityWithinNoise`); when it will also be long in epochs, trials
        // train candidates with the augmentation `FinalTrainingPlan` would add (see `AugmentationFloor`).
        var sized = settings
        sized.baseImageEpochs = regime.baseImageEpochs
        let topRung = sized.rung(sized.rungs - 1, trainImages: trainImages)
        let finalEpochs = finalSeconds / calibration.seconds(flops: seedFLOPs, trainImages: Double(trainImages),
                                                             scoredImages: Double(validationImages))
        let horizonRatio = finalEpochs * Double(trainImages) / Double(topRung.images * topRung.epochs)
        if search, horizonRatio >= FinalTrainingPlan.regularizationRatio {
            regime.favourCapacityWithinNoise = true
            if FinalTrainingPlan.needsRegularization(horizonRatio: horizonRatio, epochs: finalEpochs) {
                regime.augmentationFloor = .longTraining
            }
        }
        return regime
    }

    /// Sets `settings` and `space` as this regime decided.
    public func apply(to settings: inout SearchSettings, space: inout SearchSpace) {
        settings.baseImageEpochs = baseImageEpochs
        settings.favourCapacityWithinNoise = favourCapacityWithinNoise
        space.augmentationFloor = augmentationFloor
    }
}
