import Foundation

/// Energy some work used, and its emissions: one work unit's (a trial, the final training, …) or the
/// sum of a job's units, whichever worker ran each.
///
/// JSON (`snake_case`, stable): `kwh`, `gco2e`, `method` (`rapl`, `cpu-time estimate`, or `rapl and
/// cpu-time estimate` for a sum of both), `joules`, `rapl_joules`, `estimated_joules`, `cpu_seconds`,
/// `watts_per_core`, `grid_intensity_gco2e_per_kwh`. The first three and `joules` are derived and
/// ignored when decoding.
public struct EnergyUse: Codable, Sendable, Equatable {
    /// The method names of the JSON `method`.
    public static let raplMethod = "rapl"
    public static let estimateMethod = "cpu-time estimate"

    /// Joules measured by the RAPL package counters (the process's share of them).
    public var raplJoules: Double
    /// Joules estimated as CPU seconds × `wattsPerCore` where RAPL could not be read.
    public var estimatedJoules: Double
    /// CPU seconds of the processes that did the work (user + system).
    public var cpuSeconds: Double
    /// gCO2e of `joules` at the grid intensity of the worker that measured each part.
    public var gramsCO2e: Double
    /// Watts per busy core of the estimate; for a sum of units measured with different settings,
    /// their mean weighted by CPU seconds.
    public var wattsPerCore: Double
    /// gCO2e per kWh; for a sum, the effective intensity (`gramsCO2e / kilowattHours`) when any energy was used.
    public var gridIntensity: Double

    public init(raplJoules: Double = 0, estimatedJoules: Double = 0, cpuSeconds: Double, wattsPerCore: Double, gridIntensity: Double) {
        self.raplJoules = max(0, raplJoules)
        self.estimatedJoules = max(0, estimatedJoules)
        self.cpuSeconds = max(0, cpuSeconds)
        self.wattsPerCore = wattsPerCore
        self.gridIntensity = gridIntensity
        gramsCO2e = (self.raplJoules + self.estimatedJoules) / Self.joulesPerKilowattHour * gridIntensity
    }

    /// Nothing used yet, with the settings a sum starts from.
    public static func zero(_ settings: EnergySettings) -> EnergyUse {
        EnergyUse(cpuSeconds: 0, wattsPerCore: settings.wattsPerCore, gridIntensity: settings.gridIntensity)
    }

    /// 1 kWh = 3.6 MJ.
    public static let joulesPerKilowattHour = 3_600_000.0

    /// Joules in all.
    public var joules: Double { raplJoules + estimatedJoules }
    /// Kilowatt-hours in all.
    public var kilowattHours: Double { joules / Self.joulesPerKilowattHour }

    /// How the energy was found: `rapl`, `cpu-time estimate`, or both for a sum of units measured either way.
    public var method: String {
        switch (raplJoules > 0, estimatedJoules > 0) {
        case (true, true): "\(Self.raplMethod) and \(Self.estimateMethod)"
        case (true, false): Self.raplMethod
        default: Self.estimateMethod
        }
    }

    /// The sum of two measurements (of two units, or of one job's units so far).
    public static func + (a: EnergyUse, b: EnergyUse) -> EnergyUse {
        var sum = a
        sum.raplJoules += b.raplJoules
        sum.estimatedJoules += b.estimatedJoules
        sum.cpuSeconds += b.cpuSeconds
        sum.gramsCO2e += b.gramsCO2e
        // Equal settings stay exactly as they were; different ones (workers configured apart) are averaged by what they weighed on.
        if a.wattsPerCore != b.wattsPerCore, sum.cpuSeconds > 0 {
            sum.wattsPerCore = (a.wattsPerCore * a.cpuSeconds + b.wattsPerCore * b.cpuSeconds) / sum.cpuSeconds
        }
        if a.gridIntensity != b.gridIntensity, sum.joules > 0 {
            sum.gridIntensity = sum.gramsCO2e / sum.kilowattHours
        }
        return sum
    }

    enum CodingKeys: String, CodingKey {
        case kilowattHours = "kwh", gramsCO2e = "gco2e", method, joules
        case raplJoules = "rapl_joules", estimatedJoules = "estimated_joules", cpuSeconds = "cpu_seconds"
        case wattsPerCore = "watts_per_core", gridIntensity = "grid_intensity_gco2e_per_kwh"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        raplJoules = try c.decode(Double.self, forKey: .raplJoules)
        estimatedJoules = try c.decode(Double.self, forKey: .estimatedJoules)
        cpuSeconds = try c.decode(Double.self, forKey: .cpuSeconds)
        gramsCO2e = try c.decode(Double.self, forKey: .gramsCO2e)
        wattsPerCore = try c.decode(Double.self, forKey: .wattsPerCore)
        gridIntensity = try c.decode(Double.self, forKey: .gridIntensity)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        for (key, value) in [(CodingKeys.kilowattHours, kilowattHours), (.gramsCO2e, gramsCO2e), (.joules, joules), (.raplJoules, raplJoules),
                             (.estimatedJoules, estimatedJoules), (.cpuSeconds, cpuSeconds), (.wattsPerCore, wattsPerCore),
                             (.gridIntensity, gridIntensity)] {
            try c.encode(value.isFinite ? value : 0, forKey: key)
        }
        try c.encode(method, forKey: .method)
    }

    /// One line for a terminal: `0.000123 kWh, 0.058 gCO2e (cpu-time estimate: 110 CPU-s × 4 W per core; grid 475 gCO2e/kWh)`.
    public var summary: String {
        let how = raplJoules > 0 && estimatedJoules == 0
            ? "RAPL package counters, the processes' share"
            : "\(method): \(Self.format(cpuSeconds, digits: 1)) CPU-s, \(Self.format(wattsPerCore, digits: 2)) W per core"
        return "\(Self.format(kilowattHours, significant: 3)) kWh, \(Self.format(gramsCO2e, significant: 3)) gCO2e "
            + "(\(how); grid \(Self.format(gridIntensity, digits: 0)) gCO2e/kWh)"
    }

    /// `value` with `digits` decimals (`4.00`).
    public static func format(_ value: Double, digits: Int) -> String { String(format: "%.\(digits)f", value) }

    /// `value` with `significant` significant digits, in plain notation for the small figures of a job (0.000123).
    public static func format(_ value: Double, significant: Int) -> String {
        guard value.isFinite, value > 0 else { return "0" }
        let decimals = max(0, significant - 1 - Int(floor(log10(value))))
        return String(format: "%.\(min(decimals, 12))f", value)
    }
}
