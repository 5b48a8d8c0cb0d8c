import Training

/// What the job's planning needs to know about the images it trains on, measured once from the
/// splits (`TrainingSplits`) after the import.
public struct DatasetStatistics: Codable, Equatable, Sendable {
    public var trainImages: Int
    public var validationImages: Int
    public var testImages: Int
    /// TRAIN images per class (multi-label: with each label), indexed by label.
    public var trainClassCounts: [Int]
    /// TRAIN's most frequent class (the lowest index on a tie): what a model that learned nothing
    /// but the prior answers.
    public var majorityClass: Int
    /// The baseline's VALIDATION score (`Trainer.baselineScore`: the accuracy of always answering
    /// `majorityClass`, or, multi-label, the mean AP of each label's TRAIN prevalence as a constant
    /// score): every model must beat it to be picked or served without a warning.
    public var validationBaselineScore: Double

    enum CodingKeys: String, CodingKey {
        case trainImages = "train_images", validationImages = "validation_images", testImages = "test_images"
        case trainClassCounts = "train_class_counts", majorityClass = "majority_class"
        case validationBaselineScore = "validation_baseline_accuracy"
    }

    public init(trainImages: Int, validationImages: Int, testImages: Int, trainClassCounts: [Int], validationBaselineScore: Double) {
        self.trainImages = trainImages
        self.validationImages = validationImages
        self.testImages = testImages
        self.trainClassCounts = trainClassCounts
        majorityClass = trainClassCounts.indices.max { trainClassCounts[$0] < trainClassCounts[$1] } ?? 0
        self.validationBaselineScore = validationBaselineScore
    }

    /// The statistics of `trainer`'s dataset and splits.
    public init(trainer: Trainer) {
        let labels = trainer.dataset.labels, splits = trainer.splits
        var counts = [Int](repeating: 0, count: trainer.classCount)
        if let multiHot = trainer.multiHot {
            counts = multiHot.counts(splits.train)
        } else {
            for index in splits.train { counts[Int(labels[index])] += 1 }
        }
        self.init(trainImages: splits.train.count, validationImages: splits.validation.count, testImages: splits.test.count,
                  trainClassCounts: counts, validationBaselineScore: 0)
        validationBaselineScore = trainer.baselineScore(on: splits.validation, majorityClass: majorityClass)
    }

    /// TRAIN's largest class over its smallest present one (1 for a balanced set, or one class).
    public var imbalanceRatio: Double {
        let present = trainClassCounts.filter { $0 > 0 }
        guard let least = present.min(), let most = present.max() else { return 1 }
        return Double(most) / Double(least)
    }
}
