import Datasets
import Foundation
import Search
import Training

/// The import stage's value: the decoded images, their TRAIN / VALIDATION / TEST splits and the
/// statistics the plan is made from.
struct ImportedData {
    var summary: ImportSummary
    var dataset: DecodedDataset
    var trainer: Trainer
    var statistics: DatasetStatistics

    var splits: TrainingSplits { trainer.splits }
    var labels: [String] { dataset.header.labels }
    /// TRAIN's most frequent label: what the majority-class baseline always answers.
    var majorityLabel: String { labels[statistics.majorityClass] }
}

extension TrainingJob {
    /// Imports the manifest (timed apart from the budget) and opens its decoded images.
    /// - Parameter rebuilding: for a later unit run in a new process: the job's record and import
    ///   summary are left as the import unit wrote them.
    /// - Throws: `ManifestError` for a manifest that cannot be read; `JobError.nothingImported`
    ///   when too few images were imported to train and evaluate; `JobError.multiLabelNotSupported`.
    func importData(rebuilding: Bool = false) throws -> ImportedData {
        if !rebuilding { try update { $0.state = .importing } }
        say(rebuilding ? "opening the images of \(options.manifest.path) again (this unit runs in a new process)" : "importing \(options.manifest.path)")
        let imported = try DatasetImporter(options: options.importOptions).importManifest(at: options.manifest)
        let summary = imported.summary
        if !rebuilding {
            try folder.writeAtomically(try JSONEncoder.sorted.encode(summary), to: folder.importURL)
            try update {
                $0.manifestSHA256 = summary.manifestSHA256
                $0.importSeconds = summary.importSeconds
            }
        }
        if summary.multiLabel { throw JobError.multiLabelNotSupported }
        guard summary.imported > 0, summary.working != nil else {
            throw JobError.nothingImported("no labelled image imported (\(summary.rejected.count) rows rejected; run autovision import to see why)")
        }
        if !rebuilding { say("imported \(summary.images) images in \(String(format: "%.1f", summary.importSeconds)) s (\(summary.rejected.count) rows rejected)") }
        let cache = try DatasetCache.open(for: imported, in: options.jobsDirectory.appendingPathComponent("cache"),
                                          maxPixels: options.importOptions.maxPixels)
        let splits = TrainingSplits(dataset: cache.dataset)
        if !rebuilding { for note in splits.notes { say(note) } }
        guard !splits.train.isEmpty else { throw SearchError.noTrainingImages }
        guard !splits.validation.isEmpty, !splits.test.isEmpty else {
            throw JobError.nothingImported("too few images to train and evaluate: give VALIDATION and TEST images, or at least 3 TRAIN images")
        }
        let trainer = Trainer(dataset: cache.dataset, splits: splits)
        return ImportedData(summary: summary, dataset: cache.dataset, trainer: trainer, statistics: DatasetStatistics(trainer: trainer))
    }
}

extension TrainingJob {
    /// The import's unit: imports the data, plans the job (`plan(_:)`), and moves it on to its
    /// search, or straight to its final training when it has none.
    func importUnit() throws {
        let planned = try plan(try importData())
        self.planned = planned
        if let fixed = planned.fixed {
            try endSearch(fixedOutcome(planned, fixed: fixed))
        } else {
            try update { $0.state = .searching }
        }
        try chargeTime()
    }
}
