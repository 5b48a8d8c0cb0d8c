import Foundation
import Metrics
import Training

/// Training throughput of the jobs a `JobRunner` trains, through swift-metrics.
///
/// The factory is the runner's: the server passes its own (exported on `GET /metrics`); the default,
/// `MetricsSystem.factory`, is a no-op unless the process bootstrapped a backend.
///
/// Fed by each job's epoch events (the final training; search trials send none):
/// - `autovision_training_images_per_second`: the sum over the jobs in training of each one's last
///   epoch rate (`EpochRecord.imagesPerSecond`: images of the epoch / its seconds); 0 when no job trains.
/// - `autovision_training_images_total`: training images processed, each epoch counted as its rate ×
///   its duration (`EpochRecord.seconds` is cumulative, so the first epoch also counts the setup time).
public final class TrainingMetrics: @unchecked Sendable {
    static let imagesPerSecond = "autovision_training_images_per_second"
    static let images = "autovision_training_images_total"
    /// HELP text of these series, for exporters that show it.
    public static let help = [
        imagesPerSecond: "Training images per second: the sum over the jobs in training of each one's last epoch rate (0 when none trains).",
        images: "Training images processed by the jobs' training epochs (each epoch's measured rate times its duration).",
    ]

    private let rate: Gauge
    private let processed: Counter
    private let lock = NSLock()
    private var rates: [String: Double] = [:]  // job ID → last epoch's images/s
    private var elapsed: [String: Double] = [:]  // job ID → seconds of training at its last epoch

    init(factory: any MetricsFactory) {
        rate = Gauge(label: Self.imagesPerSecond, factory: factory)
        processed = Counter(label: Self.images, factory: factory)
        rate.record(0)
    }

    /// Job `id` finished an epoch.
    func record(_ epoch: EpochRecord, job id: String) {
        lock.lock()
        defer { lock.unlock() }
        let seconds = max(0, epoch.seconds - (elapsed[id] ?? 0))
        elapsed[id] = epoch.seconds
        processed.increment(by: Int64((epoch.imagesPerSecond * seconds).rounded()))
        rates[id] = epoch.imagesPerSecond
        rate.record(rates.values.reduce(0, +))
    }

    /// Job `id` stopped (done, failed or cancelled): it no longer adds to the rate.
    func finished(job id: String) {
        lock.lock()
        defer { lock.unlock() }
        rates[id] = nil
        elapsed[id] = nil
        rate.record(rates.values.reduce(0, +))
    }
}
