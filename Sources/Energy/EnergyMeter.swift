import Foundation

/// Measures the energy this process uses from its start to each `used()`: the share of the RAPL
/// package counters that matches this process's share of the machine's busy CPU time where RAPL can
/// be read, otherwise the process's CPU time × `EnergySettings.wattsPerCore`.
///
/// A job's work unit starts one when it starts and records `used()` with its result. RAPL counts the
/// whole package (every process on it), so its energy is split by CPU time: the unit's process gets
/// its CPU seconds over the machine's busy CPU seconds (`MachineCPUTime`), as Scaphandre does; with
/// `/proc/stat` unreadable the unit gets the whole package's energy, CodeCarbon's "machine" mode.
public final class EnergyMeter: @unchecked Sendable {
    /// Seconds between RAPL readings while the meter runs: a package counter of the usual 2^38 µJ
    /// (262 kJ) range wraps after 44 minutes at 100 W, and reading every minute never misses a wrap
    /// below 4 kW per package.
    public static let raplSampleSeconds = 60.0

    public let settings: EnergySettings
    private let reader: RAPLReader
    private let machine: MachineCPUTime
    private let startCPUSeconds: Double
    private let startMachineBusy: Double?
    private let lock = NSLock()
    /// The last RAPL reading and the joules summed up to it; `nil` once RAPL could not be read (the estimate takes over).
    private var lastReading: RAPLReading?
    private var raplJoules = 0.0
    private var timer: (any DispatchSourceTimer)?

    /// Starts measuring now.
    /// - Parameter sampleSeconds: seconds between RAPL readings (`raplSampleSeconds`); tests pass less.
    public init(settings: EnergySettings = EnergySettings(), sampleSeconds: Double = EnergyMeter.raplSampleSeconds) {
        self.settings = settings
        reader = RAPLReader(root: settings.raplRoot)
        machine = MachineCPUTime(path: settings.procStat)
        startCPUSeconds = ProcessCPUTime.seconds()
        lastReading = reader.read()
        startMachineBusy = lastReading == nil ? nil : machine.busySeconds()
        if lastReading != nil {
            let timer = DispatchSource.makeTimerSource(queue: .global(qos: .utility))
            timer.schedule(deadline: .now() + sampleSeconds, repeating: sampleSeconds)
            timer.setEventHandler { [weak self] in self?.sample() }
            timer.resume()
            self.timer = timer
        }
    }

    deinit { timer?.cancel() }

    /// Adds the package energy since the last reading; RAPL that stops being readable (or whose
    /// packages change) ends RAPL for this meter, and `used()` estimates instead.
    private func sample() {
        lock.lock()
        defer { lock.unlock() }
        guard let last = lastReading else { return }
        if let now = reader.read(), let joules = last.joules(until: now) {
            raplJoules += joules
            lastReading = now
        } else {
            lastReading = nil
        }
    }

    /// What the process used since the meter started: RAPL when it was readable throughout, the CPU-time estimate otherwise.
    public func used() -> EnergyUse {
        sample()
        let cpuSeconds = max(0, ProcessCPUTime.seconds() - startCPUSeconds)
        lock.lock()
        let rapl = lastReading == nil ? nil : raplJoules
        lock.unlock()
        if let rapl {
            let share = Self.share(processCPUSeconds: cpuSeconds, machineBusySeconds: machine.busySeconds().flatMap { end in
                startMachineBusy.map { end - $0 }
            })
            return EnergyUse(raplJoules: rapl * share, cpuSeconds: cpuSeconds, wattsPerCore: settings.wattsPerCore,
                             gridIntensity: settings.gridIntensity)
        }
        return Self.estimate(cpuSeconds: cpuSeconds, settings: settings)
    }

    /// The CPU-time estimate: `cpuSeconds` × `settings.wattsPerCore` joules (a watt is a joule per second).
    public static func estimate(cpuSeconds: Double, settings: EnergySettings) -> EnergyUse {
        EnergyUse(estimatedJoules: cpuSeconds * settings.wattsPerCore, cpuSeconds: cpuSeconds, wattsPerCore: settings.wattsPerCore,
                  gridIntensity: settings.gridIntensity)
    }

    /// The process's share of the package's energy: its CPU seconds over the machine's busy CPU
    /// seconds in the same interval, at most 1 (the two clocks tick apart); 1 when the machine's are unknown or 0.
    public static func share(processCPUSeconds: Double, machineBusySeconds: Double?) -> Double {
        guard let machineBusySeconds, machineBusySeconds > 0 else { return 1 }
        return min(1, max(0, processCPUSeconds / machineBusySeconds))
    }
}
