import Foundation

/// The figures a worker turns measurements into energy and emissions with.
public struct EnergySettings: Sendable, Equatable {
    /// Watts one fully busy logical core (hardware thread) draws, for the CPU-time estimate when RAPL
    /// cannot be read: 4 W, CodeCarbon's `DEFAULT_POWER_PER_CORE` ("4 W per thread", used when the CPU
    /// is not in its TDP table; `codecarbon/core/cpu.py`, https://github.com/mlco2/codecarbon), i.e. a
    /// server CPU's TDP shared among its threads (Intel ARK's Xeon Platinum 8280: 205 W TDP, 56 threads, 3.7 W each).
    public static let defaultWattsPerCore = 4.0
    /// Carbon intensity of the grid, in gCO2e per kWh: 475, the world average CodeCarbon defaults to when
    /// it has no figure for the country (docs/explanation/faq.md; IEA, Global Energy & CO2 Status Report
    /// 2019, https://www.iea.org/reports/global-energy-co2-status-report-2019/emissions).
    public static let defaultGridIntensity = 475.0
    /// The environment variables that set the defaults of `--watts-per-core` and `--grid-intensity`.
    public static let wattsPerCoreVariable = "AUTOVISION_WATTS_PER_CORE"
    public static let gridIntensityVariable = "AUTOVISION_GRID_INTENSITY"
    /// Largest accepted values: a core drawing more than 1 kW or a grid above 2,000 gCO2e/kWh (coal is
    /// ~1,000) is a typo, not a setting.
    public static let wattsPerCoreRange = 0.0...1000.0
    public static let gridIntensityRange = 0.0...2000.0

    /// Watts per busy logical core for the CPU-time estimate.
    public var wattsPerCore: Double
    /// gCO2e per kWh of the electricity used.
    public var gridIntensity: Double
    /// The powercap folder RAPL is read from (`RAPLReader`).
    public var raplRoot: URL
    /// The `/proc/stat` that splits a RAPL package's energy between processes (`MachineCPUTime`).
    public var procStat: URL

    public init(wattsPerCore: Double = EnergySettings.defaultWattsPerCore, gridIntensity: Double = EnergySettings.defaultGridIntensity,
                raplRoot: URL = RAPLReader.defaultRoot, procStat: URL = MachineCPUTime.defaultPath) {
        self.wattsPerCore = wattsPerCore
        self.gridIntensity = gridIntensity
        self.raplRoot = raplRoot
        self.procStat = procStat
    }

    /// The defaults, or the values of `AUTOVISION_WATTS_PER_CORE` / `AUTOVISION_GRID_INTENSITY` when set.
    /// - Throws: `EnergySettingsError` for a value that is not a number in range: a typo must not
    ///   silently give every job the default.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> EnergySettings {
        var settings = EnergySettings()
        if let text = environment[wattsPerCoreVariable], !text.isEmpty {
            settings.wattsPerCore = try parse(text, name: wattsPerCoreVariable, range: wattsPerCoreRange)
        }
        if let text = environment[gridIntensityVariable], !text.isEmpty {
            settings.gridIntensity = try parse(text, name: gridIntensityVariable, range: gridIntensityRange)
        }
        return settings
    }

    /// `text` as a number in `range`.
    /// - Throws: `EnergySettingsError.invalid` naming the setting.
    public static func parse(_ text: String, name: String, range: ClosedRange<Double>) throws -> Double {
        guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value.isFinite, range.contains(value) else {
            throw EnergySettingsError.invalid("\(name) must be a number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }
}

/// A setting of `EnergySettings` that is not a number in its range.
public enum EnergySettingsError: Error, CustomStringConvertible, Equatable {
    case invalid(String)

    public var description: String {
        switch self {
        case let .invalid(message): message
        }
    }
}
