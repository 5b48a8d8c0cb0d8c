import ArgumentParser
import Energy
import Foundation

/// How the jobs' work units turn what they measured into energy and CO2e, shared by `worker`, `train`
/// and `serve` (which pass them to the workers they start). A setting of the machine that runs the
/// units, so it is given to the worker, not kept with the job.
struct EnergyArguments: ParsableArguments {
    @Option(help: ArgumentHelp("Watts one fully busy core draws, for the CPU-time estimate where RAPL cannot be read. "
                               + "Default: $\(EnergySettings.wattsPerCoreVariable), else \(EnergySettings.defaultWattsPerCore) "
                               + "(CodeCarbon's default of 4 W per thread).", valueName: "WATTS"))
    var wattsPerCore: Double?
    @Option(help: ArgumentHelp("Carbon intensity of the electricity, in gCO2e per kWh. Default: $\(EnergySettings.gridIntensityVariable), "
                               + "else \(EnergySettings.defaultGridIntensity) (the world average CodeCarbon uses; IEA 2019).", valueName: "GCO2E_PER_KWH"))
    var gridIntensity: Double?

    func validate() throws {
        _ = try settings()
    }

    /// The options, over the environment's values, over the defaults.
    /// - Throws: `ValidationError` for a value out of range or an environment variable that is not a number.
    func settings() throws -> EnergySettings {
        var settings: EnergySettings
        do { settings = try EnergySettings.fromEnvironment() } catch { throw ValidationError("\(error)") }
        if let wattsPerCore {
            try Validate.range(wattsPerCore, EnergySettings.wattsPerCoreRange, "--watts-per-core")
            settings.wattsPerCore = wattsPerCore
        }
        if let gridIntensity {
            try Validate.range(gridIntensity, EnergySettings.gridIntensityRange, "--grid-intensity")
            settings.gridIntensity = gridIntensity
        }
        return settings
    }

    /// The same settings as arguments of a worker process (`autovision worker`).
    func workerArguments() throws -> [String] {
        let settings = try settings()
        return ["--watts-per-core", String(settings.wattsPerCore), "--grid-intensity", String(settings.gridIntensity)]
    }
}
