import Foundation
import Testing
import TestSupport
@testable import Energy

/// The fallback's arithmetic, the sums of units, the settings, and the meter on fixture trees.
@Suite struct EnergyMeterTests {
    @Test func theEstimateIsCPUSecondsTimesWattsPerCore() {
        let settings = EnergySettings(wattsPerCore: 4, gridIntensity: 475)
        let use = EnergyMeter.estimate(cpuSeconds: 900, settings: settings)  // 900 CPU-s × 4 W = 3 600 J = 0.001 kWh
        #expect(use.estimatedJoules == 3600 && use.raplJoules == 0)
        #expect(abs(use.kilowattHours - 0.001) < 1e-15)
        #expect(abs(use.gramsCO2e - 0.475) < 1e-12)  // 0.001 kWh × 475 gCO2e/kWh
        #expect(use.method == "cpu-time estimate")
    }

    @Test func unitsSumAndKeepTheirSettings() {
        let a = EnergyUse(estimatedJoules: 3600, cpuSeconds: 900, wattsPerCore: 4, gridIntensity: 475)
        let b = EnergyUse(raplJoules: 7200, cpuSeconds: 100, wattsPerCore: 4, gridIntensity: 475)
        let sum = a + b
        #expect(sum.joules == 10_800 && sum.cpuSeconds == 1000 && sum.wattsPerCore == 4 && sum.gridIntensity == 475)
        #expect(abs(sum.gramsCO2e - 0.003 * 475) < 1e-12)
        #expect(sum.method == "rapl and cpu-time estimate")
        #expect(b.method == "rapl")
        // Workers configured apart: the sum's intensity is the effective one, its watts the CPU-time-weighted mean.
        let c = EnergyUse(estimatedJoules: 3600, cpuSeconds: 300, wattsPerCore: 12, gridIntensity: 25)
        let mixed = a + c
        #expect(abs(mixed.gramsCO2e - (0.475 + 0.025)) < 1e-12)
        #expect(abs(mixed.gridIntensity - 250) < 1e-9)
        #expect(abs(mixed.wattsPerCore - 6) < 1e-12)  // (4 × 900 + 12 × 300) / 1200
        #expect(EnergyUse.zero(EnergySettings()) + a == a)
    }

    @Test func json() throws {
        let use = EnergyUse(estimatedJoules: 3600, cpuSeconds: 900, wattsPerCore: 4, gridIntensity: 475)
        let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(use)) as! [String: Any]
        #expect(Set(json.keys) == ["kwh", "gco2e", "method", "joules", "rapl_joules", "estimated_joules", "cpu_seconds", "watts_per_core",
                                   "grid_intensity_gco2e_per_kwh"])
        #expect(json["method"] as? String == "cpu-time estimate")
        #expect(try JSONDecoder().decode(EnergyUse.self, from: JSONEncoder().encode(use)) == use)
        #expect(use.summary == "0.00100 kWh, 0.475 gCO2e (cpu-time estimate: 900.0 CPU-s, 4.00 W per core; grid 475 gCO2e/kWh)")
    }

    @Test func settingsFromTheEnvironment() throws {
        #expect(try EnergySettings.fromEnvironment([:]) == EnergySettings(wattsPerCore: 4, gridIntensity: 475))
        let set = try EnergySettings.fromEnvironment(["AUTOVISION_WATTS_PER_CORE": "7.5", "AUTOVISION_GRID_INTENSITY": "56"])
        #expect(set.wattsPerCore == 7.5 && set.gridIntensity == 56)
        #expect(throws: EnergySettingsError.self) { try EnergySettings.fromEnvironment(["AUTOVISION_GRID_INTENSITY": "lots"]) }
        #expect(throws: EnergySettingsError.self) { try EnergySettings.fromEnvironment(["AUTOVISION_WATTS_PER_CORE": "-1"]) }
    }

    @Test func machineCPUTimeFromProcStat() throws {
        let folder = processScratchDirectory(prefix: "autovision-energy-").appendingPathComponent(UUID().uuidString, isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let stat = folder.appendingPathComponent("stat")
        try Data("cpu  100 20 30 5000 40 6 4 70 0 0\ncpu0 50 10 15 2500 20 3 2 35 0 0\n".utf8).write(to: stat)
        #expect(MachineCPUTime(path: stat, ticksPerSecond: 100).busySeconds() == 1.6)  // (100 + 20 + 30 + 6 + 4) ticks
        try Data("cpu garbage\n".utf8).write(to: stat)
        #expect(MachineCPUTime(path: stat, ticksPerSecond: 100).busySeconds() == nil)
        #expect(MachineCPUTime(path: folder.appendingPathComponent("none")).busySeconds() == nil)
        #expect(EnergyMeter.share(processCPUSeconds: 3, machineBusySeconds: 12) == 0.25)
        #expect(EnergyMeter.share(processCPUSeconds: 3, machineBusySeconds: 2) == 1)
        #expect(EnergyMeter.share(processCPUSeconds: 3, machineBusySeconds: nil) == 1)
    }

    /// With no RAPL (this VM), the meter estimates from the process's own CPU time.
    @Test func withoutRAPLTheMeterEstimatesFromCPUTime() {
        let settings = EnergySettings(wattsPerCore: 4, gridIntensity: 475, raplRoot: URL(fileURLWithPath: "/nonexistent-powercap"))
        let meter = EnergyMeter(settings: settings)
        var x = 0.0
        for i in 0..<3_000_000 { x += sin(Double(i)) }  // some CPU time
        let use = meter.used()
        #expect(x.isFinite && use.method == "cpu-time estimate" && use.raplJoules == 0)
        #expect(use.cpuSeconds > 0 && use.estimatedJoules == use.cpuSeconds * 4)
    }

    /// With a readable RAPL tree the meter takes the package's energy, its samples crossing a wrap,
    /// split by the process's share of the machine's busy CPU time.
    @Test func withRAPLTheMeterSumsSamplesAcrossAWrap() throws {
        let root = try RAPLReaderTests.tree(["intel-rapl:0": RAPLReaderTests.package(0, energy: 262_143_000_000)])
        let stat = root.appendingPathComponent("stat")
        try Data("cpu  0 0 0 0 0 0 0 0 0 0\n".utf8).write(to: stat)
        let meter = EnergyMeter(settings: EnergySettings(raplRoot: root, procStat: stat), sampleSeconds: 3600)
        try RAPLReaderTests.setEnergy(root, zone: "intel-rapl:0", 671_150)  // wrapped: +1 J
        // The process's CPU time over a machine that was this busy in the meantime: a share far below 1 would show.
        try Data("cpu  1000000 0 0 0 0 0 0 0 0 0\n".utf8).write(to: stat)  // 10 000 busy seconds at 100 ticks/s
        let use = meter.used()
        #expect(use.method == "rapl" && use.estimatedJoules == 0)
        let busy = try #require(MachineCPUTime(path: stat).busySeconds())  // 10 000 s at Linux's 100 ticks/s
        #expect(use.raplJoules > 0 && use.raplJoules <= 1 && use.raplJoules == min(1, use.cpuSeconds / busy))
        // RAPL that stops being readable hands the unit to the estimate, whole.
        let second = EnergyMeter(settings: EnergySettings(raplRoot: root, procStat: stat), sampleSeconds: 3600)
        try Data("garbage\n".utf8).write(to: root.appendingPathComponent("intel-rapl:0/energy_uj"))
        let fallback = second.used()
        #expect(fallback.method == "cpu-time estimate" && fallback.raplJoules == 0 && fallback.estimatedJoules == fallback.cpuSeconds * 4)
    }
}
