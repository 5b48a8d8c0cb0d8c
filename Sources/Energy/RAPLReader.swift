import Foundation

/// Reads the CPU packages' energy counters of Intel's RAPL (Running Average Power Limit) from the
/// Linux powercap sysfs tree: `ROOT/intel-rapl:N/energy_uj` (microjoules, monotonic until it wraps)
/// and `max_energy_range_uj` (the value at which it wraps to 0). Linux exposes AMD's RAPL (Zen,
/// kernel 5.8 and later) under the same `intel-rapl` names.
///
/// Only the package domains count: the top-level zones `intel-rapl:N` whose `name` starts with
/// `package` (their `core`/`uncore` sub-zones are inside them; `psys` is the whole platform and
/// `dram` the memory), as CodeCarbon's default (`codecarbon/core/cpu.py`, `IntelRAPL`: package
/// domains, DRAM and psys left out; https://github.com/mlco2/codecarbon) and CarbonTracker
/// (`carbontracker/components/cpu/intel.py`: zones named `package`, psys excluded;
/// https://github.com/lfwa/carbontracker) do.
///
/// The reader takes its sysfs root as a parameter so tests run it on a fixture tree. Since
/// CVE-2020-8694 distributions make `energy_uj` readable by root only: an unreadable, missing or
/// unparseable file makes the reading `nil`, and the caller falls back to its estimate; it never throws.
public struct RAPLReader: Sendable {
    /// The powercap folder, `/sys/class/powercap` on Linux.
    public static let defaultRoot = URL(fileURLWithPath: "/sys/class/powercap", isDirectory: true)

    public let root: URL

    public init(root: URL = RAPLReader.defaultRoot) {
        self.root = root
    }

    /// The counters of every package domain, or `nil` when there is none or one of them cannot be
    /// read (a partial sum would undercount the machine).
    public func read() -> RAPLReading? {
        guard let entries = try? FileManager.default.contentsOfDirectory(atPath: root.path) else { return nil }
        var domains: [String: RAPLReading.Counter] = [:]
        for entry in entries where Self.isTopLevelZone(entry) {
            let zone = root.appendingPathComponent(entry, isDirectory: true)
            guard let name = Self.text(zone.appendingPathComponent("name")) else { return nil }
            guard name.hasPrefix("package") else { continue }
            guard let energy = Self.number(zone.appendingPathComponent("energy_uj")),
                  let range = Self.number(zone.appendingPathComponent("max_energy_range_uj")), range > 0, energy <= range else { return nil }
            domains[entry] = RAPLReading.Counter(microjoules: energy, rangeMicrojoules: range)
        }
        return domains.isEmpty ? nil : RAPLReading(domains: domains)
    }

    /// `intel-rapl:N`, a package-level zone (not `intel-rapl:N:M`, a sub-zone, nor `intel-rapl`, the control type).
    static func isTopLevelZone(_ entry: String) -> Bool {
        let parts = entry.split(separator: ":", omittingEmptySubsequences: false)
        return parts.count == 2 && parts[0] == "intel-rapl" && !parts[1].isEmpty && parts[1].allSatisfy(\.isASCII) && Int(parts[1]) != nil
    }

    static func text(_ url: URL) -> String? {
        guard let data = FileManager.default.contents(atPath: url.path), data.count <= 4096 else { return nil }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static func number(_ url: URL) -> UInt64? { text(url).flatMap { UInt64($0) } }
}

/// One reading of the package counters (`RAPLReader.read()`), by zone (`intel-rapl:0`, …).
public struct RAPLReading: Sendable, Equatable {
    public struct Counter: Sendable, Equatable {
        /// `energy_uj`: microjoules since an arbitrary origin.
        public var microjoules: UInt64
        /// `max_energy_range_uj`: the counter's largest value, after which it starts again from 0.
        public var rangeMicrojoules: UInt64

        public init(microjoules: UInt64, rangeMicrojoules: UInt64) {
            self.microjoules = microjoules
            self.rangeMicrojoules = rangeMicrojoules
        }
    }

    public var domains: [String: Counter]

    public init(domains: [String: Counter]) {
        self.domains = domains
    }

    /// Joules the packages used from `self` to `later`, summed over the packages, or `nil` when the
    /// two readings do not name the same packages.
    ///
    /// A counter lower than before wrapped once: the energy is what was left to the range plus the
    /// new value (CodeCarbon's `RAPLFile.delta`, `codecarbon/core/rapl.py`, adds `max_energy_range_uj`
    /// the same way). A counter that wraps twice between two readings cannot be told from one that
    /// wrapped once, so callers read at least once per wrap period (`EnergyMeter.raplSampleSeconds`).
    public func joules(until later: RAPLReading) -> Double? {
        guard Set(domains.keys) == Set(later.domains.keys) else { return nil }
        var microjoules = 0.0
        for (zone, before) in domains {
            guard let after = later.domains[zone] else { return nil }
            if after.microjoules >= before.microjoules {
                microjoules += Double(after.microjoules - before.microjoules)
            } else {
                let range = max(before.rangeMicrojoules, after.rangeMicrojoules)
                guard range >= before.microjoules else { return nil }
                microjoules += Double(range - before.microjoules) + Double(after.microjoules)
            }
        }
        return microjoules / 1_000_000
    }
}
