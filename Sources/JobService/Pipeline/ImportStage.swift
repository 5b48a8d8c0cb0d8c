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
    /// What the baseline does, for messages: "always answering 'coat'", or, multi-label, "scoring
    /// each label by its TRAIN prevalence".
    var baselineDescription: String {
        trainer.multiHot == nil ? "always answering '\(majorityLabel)'" : "scoring each label by its TRAIN prevalence"
    }
}

extension TrainingJob {
    /// The store's value that keeps the import's `ImportSummary`, beside its decoded dataset (artifact
    /// `JobFolder.datasetName`): what a later unit opens instead of the manifest.
    static let importKey = "import"

    /// Imports the manifest (timed apart from the budget), opens its decoded images and keeps both in
    /// the store (the summary as value `importKey`, the decoded dataset as an artifact). A job on an
    /// uploaded dataset opens the decoded images its import made instead (`DatasetArtifacts.decodedImport`).
    /// - Throws: `ManifestError` for a manifest that cannot be read; `JobError.nothingImported`
    ///   when too few images were imported to train and evaluate;
    ///   `StoreError` when the store does not take them.
    func importData() throws -> ImportedData {
        try update { $0.state = .importing }
        if let datasetID = record.datasetID,
           let (summary, file) = try DatasetArtifacts.decodedImport(of: datasetID, options: options.importOptions, store: store) {
            say("opening the decoded images of dataset \(datasetID) (its import made them)")
            try recordImport(summary)
            try store.saveValue(jobID: id, key: Self.importKey, try JSONEncoder.sorted.encode(summary))
            try store.writeArtifact(jobID: id, name: JobFolder.datasetName, contentsOf: file)
            return try openImported(summary: summary, dataset: try DecodedDataset(contentsOf: file), announcing: true)
        }
        say("importing \(options.manifest.path)")
        let imported = try DatasetImporter(options: options.importOptions).importManifest(at: options.manifest)
        try recordImport(imported.summary)
        let summary = imported.summary
        say("imported \(summary.images) images in \(String(format: "%.1f", summary.importSeconds)) s (\(summary.rejected.count) rows rejected)")
        return try openImported(summary: summary, dataset: try keep(imported), announcing: true)
    }

    /// Writes the import's summary to the job's folder and record, and checks that it can train.
    private func recordImport(_ summary: ImportSummary) throws {
        try folder.writeAtomically(try JSONEncoder.sorted.encode(summary), to: folder.importURL)
        try update {
            $0.manifestSHA256 = summary.manifestSHA256
            $0.importSeconds = summary.importSeconds
        }
        try checkImported(summary)
    }

    /// Opens (or writes) the import's decoded dataset in the shared cache and keeps it, with the
    /// summary, in the store.
    private func keep(_ imported: ImportResult) throws -> DecodedDataset {
        let cache = try DatasetCache.open(for: imported, in: options.jobsDirectory.appendingPathComponent("cache"),
                                          maxPixels: options.importOptions.maxPixels)
        try store.saveValue(jobID: id, key: Self.importKey, try JSONEncoder.sorted.encode(imported.summary))
        try store.writeArtifact(jobID: id, name: JobFolder.datasetName, contentsOf: cache.dataset.url)
        return cache.dataset
    }

    /// The import unit's data, for a later unit run in a new process: its summary and decoded dataset
    /// as the store keeps them (the manifest and its images are not read again).
    /// - Throws: `DatasetCacheError` for a decoded dataset that does not verify; what `importData`
    ///   throws when the store has none (a job imported by an earlier version).
    func restoredImport() throws -> ImportedData {
        guard let summaryJSON = try store.value(jobID: id, key: Self.importKey),
              let file = try store.artifactFile(jobID: id, name: JobFolder.datasetName) else {
            // A job whose import ran before imports were kept in the store: import the manifest again.
            say("importing \(options.manifest.path) again: the store has no decoded images of this job")
            let imported = try DatasetImporter(options: options.importOptions).importManifest(at: options.manifest)
            try checkImported(imported.summary)
            return try openImported(summary: imported.summary, dataset: try keep(imported), announcing: false)
        }
        say("opening the decoded images the import kept (this unit runs in a new process)")
        let summary = try JSONDecoder().decode(ImportSummary.self, from: summaryJSON)
        return try openImported(summary: summary, dataset: try DecodedDataset(contentsOf: file), announcing: false)
    }

    private func checkImported(_ summary: ImportSummary) throws {
        guard summary.imported > 0, summary.working != nil else {
            throw JobError.nothingImported("no labelled image imported (\(summary.rejected.count) rows rejected; run autovision import to see why)")
        }
    }

    /// Splits the decoded images into TRAIN / VALIDATION / TEST and measures them.
    /// - Parameter announcing: say the splits' notes (once per job, by the import unit).
    private func openImported(summary: ImportSummary, dataset: DecodedDataset, announcing: Bool) throws -> ImportedData {
        let splits = TrainingSplits(dataset: dataset)
        if announcing { for note in splits.notes { say(note) } }
        guard !splits.train.isEmpty else { throw SearchError.noTrainingImages }
        guard !splits.validation.isEmpty, !splits.test.isEmpty else {
            throw JobError.nothingImported("too few images to train and evaluate: give VALIDATION and TEST images, or at least 3 TRAIN images")
        }
        var trainer = Trainer(dataset: dataset, splits: splits)
        trainer.precision = options.precision
        return ImportedData(summary: summary, dataset: dataset, trainer: trainer, statistics: DatasetStatistics(trainer: trainer))
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
            let energy = unitEnergy()
            try update {
                $0.state = .searching
                $0.add(energy)
            }
        }
        try chargeTime()
    }
}
