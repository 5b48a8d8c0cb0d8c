import NN
import Testing
import Training
@testable import Search

@Suite struct FinalTrainingPlanTests {
    let space = SearchSpace(inputShape: [1, 28, 28], classes: 10, imbalanced: false)

    @Test func aFinalTrainingNotMuchLongerThanTheTrialStartsFromItsWeightsUnchanged() {
        let small = space.startingArchitectures()[2]  // no augmentation
        // Trial: 50k images × 2 epochs; final: 5 epochs → 2.5× the trial's work.
        let plan = FinalTrainingPlan(candidate: small, trialImageEpochs: 100_000, trainImages: 50_000, epochs: 5, seed: 3)
        #expect(plan.horizonRatio == 2.5)
        #expect(plan.warmStart)
        #expect(plan.candidate == small)
        #expect(plan.config == FinalTrainingPlan.config(small, epochs: 5, seed: 3))
        #expect(plan.config.schedule == .warmupStableDecay)
        #expect(plan.notes.isEmpty)
    }

    @Test func aLongFinalTrainingStartsFreshAndAddsAugmentationOnlyWhereThereIsNone() {
        let small = space.startingArchitectures()[2]
        // The 60-minute case: a 6-epoch trial, a 42-epoch final.
        let plan = FinalTrainingPlan(candidate: small, trialImageEpochs: 300_000, trainImages: 50_000, epochs: 42, seed: 0)
        #expect(plan.horizonRatio == 7)
        #expect(!plan.warmStart)
        #expect(plan.config.augmentation == AugmentationOptions(cropPadding: 2, horizontalFlip: true, erasingProbability: 0.25))
        #expect(plan.config.epochs == 42 && plan.config.optimizer == small.optimizer && plan.config.learningRate == small.learningRate)
        #expect(plan.candidate.summary.contains("crop 2") && plan.candidate.summary.contains("erase 0.25"))
        #expect(plan.notes.count == 3)

        // Each missing augmentation is added on its own; one the candidate has is kept.
        let vgg = space.startingArchitectures()[0]  // translation and flips, no erasing
        let erasing = FinalTrainingPlan(candidate: vgg, trialImageEpochs: 300_000, trainImages: 50_000, epochs: 42, seed: 0)
        #expect(erasing.config.augmentation == AugmentationOptions(cropPadding: vgg.cropPadding, horizontalFlip: true, erasingProbability: 0.25))
        #expect(erasing.notes.count == 2)
        let resnet = space.startingArchitectures()[1]  // already translates and erases
        let kept = FinalTrainingPlan(candidate: resnet, trialImageEpochs: 300_000, trainImages: 50_000, epochs: 42, seed: 0)
        #expect(!kept.warmStart)
        #expect(kept.config.augmentation == resnet.trainingConfig(epochs: 42, seed: 0).augmentation)
        #expect(kept.notes.count == 1)
    }

    @Test func aFinalTrainingLongAgainstItsTrialButShortInEpochsAddsNoAugmentation() {
        let small = space.startingArchitectures()[2]
        // The 10-minute case on a slower machine: a one-epoch trial, an 18-epoch final (18× the trial).
        let plan = FinalTrainingPlan(candidate: small, trialImageEpochs: 50_000, trainImages: 50_000, epochs: 18, seed: 0)
        #expect(plan.horizonRatio == 18 && !plan.warmStart)
        #expect(plan.candidate == small)
        #expect(plan.config == FinalTrainingPlan.config(small, epochs: 18, seed: 0))
        #expect(plan.notes.count == 1, "only the fresh start is noted: \(plan.notes)")
        // The threshold: from `regularizationEpochs` epochs on, it does.
        let epochs = FinalTrainingPlan.regularizationEpochs
        #expect(FinalTrainingPlan(candidate: small, trialImageEpochs: 50_000, trainImages: 50_000, epochs: epochs, seed: 0).candidate != small)
        #expect(FinalTrainingPlan(candidate: small, trialImageEpochs: 50_000, trainImages: 50_000, epochs: epochs - 1, seed: 0).candidate == small)
    }

    @Test func aSeedTrainedWithoutASearchKeepsItsConfigurationAndStartsFresh() {
        let resnet = space.startingArchitectures()[1]
        let plan = FinalTrainingPlan(candidate: resnet, trialImageEpochs: nil, trainImages: 50_000, epochs: 9, seed: 1)
        #expect(!plan.warmStart)
        #expect(plan.config == FinalTrainingPlan.config(resnet, epochs: 9, seed: 1))
        #expect(plan.notes.isEmpty)
    }
}
