import Foundation
import Testing
import TestSupport
@testable import Energy

/// The RAPL reader on powercap trees made here, laid out as Linux lays out `/sys/class/powercap`.
@Suite struct RAPLReaderTests {
    /// A fresh fixture tree: `zones` maps a zone folder to its files (`name`, `energy_uj`, `max_energy_range_uj`).
    static func tree(_ zones: [String: [String: String]]) throws -> URL {
        let root = processScratchDirectory(prefix: "autovision-energy-").appendingPathComponent(UUID().uuidString, isDirectory: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("intel-rapl"), withIntermediateDirectories: true)  // the control type
        for (zone, files) in zones {
            let folder = root.appendingPathComponent(zone, isDirectory: true)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            for (file, contents) in files { try Data(contents.utf8).write(to: folder.appendingPathComponent(file)) }
        }
        return root
    }

    static func package(_ index: Int, energy: UInt64, range: UInt64 = 262_143_328_850) -> [String: String] {
        ["name": "package-\(index)\n", "energy_uj": "\(energy)\n", "max_energy_range_uj": "\(range)\n"]
    }

    static func setEnergy(_ root: URL, zone: String, _ energy: UInt64) throws {
        try Data("\(energy)\n".utf8).write(to: root.appendingPathComponent(zone).appendingPathComponent("energy_uj"))
    }

    @Test func readsThePackageZonesOnly() throws {
        let root = try Self.tree([
            "intel-rapl:0": Self.package(0, energy: 1_000_000),
            "intel-rapl:1": Self.package(1, energy: 2_000_000),
            "intel-rapl:0:0": ["name": "core\n", "energy_uj": "5\n", "max_energy_range_uj": "10\n"],  // inside package 0
            "intel-rapl:2": ["name": "psys\n", "energy_uj": "7\n", "max_energy_range_uj": "10\n"],  // the platform: left out
        ])
        let reading = try #require(RAPLReader(root: root).read())
        #expect(reading.domains.keys.sorted() == ["intel-rapl:0", "intel-rapl:1"])
        #expect(reading.domains["intel-rapl:1"] == RAPLReading.Counter(microjoules: 2_000_000, rangeMicrojoules: 262_143_328_850))
    }

    @Test func joulesAreSummedOverThePackages() throws {
        let root = try Self.tree(["intel-rapl:0": Self.package(0, energy: 1_000_000), "intel-rapl:1": Self.package(1, energy: 5_000_000)])
        let reader = RAPLReader(root: root)
        let before = try #require(reader.read())
        try Self.setEnergy(root, zone: "intel-rapl:0", 4_500_000)  // +3.5 J
        try Self.setEnergy(root, zone: "intel-rapl:1", 6_000_000)  // +1 J
        #expect(before.joules(until: try #require(reader.read())) == 4.5)
    }

    @Test func aCounterThatWrappedAddsTheRestOfItsRange() throws {
        let root = try Self.tree(["intel-rapl:0": Self.package(0, energy: 262_143_000_000)])
        let reader = RAPLReader(root: root)
        let before = try #require(reader.read())
        try Self.setEnergy(root, zone: "intel-rapl:0", 671_150)  // wrapped: 328 850 µJ to the range, then 671 150 µJ
        #expect(before.joules(until: try #require(reader.read())) == 1.0)
    }

    @Test func unreadableMissingOrUnparseableFilesGiveNoReading() throws {
        #expect(RAPLReader(root: URL(fileURLWithPath: "/nonexistent-powercap")).read() == nil)
        #expect(RAPLReader(root: try Self.tree([:])).read() == nil)  // no package zone (this VM's case)
        #expect(RAPLReader(root: try Self.tree(["intel-rapl:0": ["name": "package-0", "energy_uj": "12"]])).read() == nil)  // no range
        #expect(RAPLReader(root: try Self.tree(["intel-rapl:0": Self.package(0, energy: 12).merging(["energy_uj": "12 µJ\n"]) { $1 }])).read() == nil)
        #expect(RAPLReader(root: try Self.tree(["intel-rapl:0": Self.package(0, energy: 12).merging(["energy_uj": "-12\n"]) { $1 }])).read() == nil)
        #expect(RAPLReader(root: try Self.tree(["intel-rapl:0": Self.package(0, energy: 11, range: 10)])).read() == nil)  // above its range
        // One package readable and one not is no reading: half the machine would be counted.
        let root = try Self.tree(["intel-rapl:0": Self.package(0, energy: 1), "intel-rapl:1": Self.package(1, energy: 1)])
        let energy = root.appendingPathComponent("intel-rapl:1/energy_uj")
        try FileManager.default.setAttributes([.posixPermissions: 0o000], ofItemAtPath: energy.path)  // root only, as since CVE-2020-8694
        defer { try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: energy.path) }
        if getuid() != 0 { #expect(RAPLReader(root: root).read() == nil) }  // root reads it anyway
        // A read that fails for root too: `energy_uj` a folder (EISDIR).
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: energy.path)
        try FileManager.default.removeItem(at: energy)
        try FileManager.default.createDirectory(at: energy, withIntermediateDirectories: false)
        #expect(RAPLReader(root: root).read() == nil)
    }

    @Test func readingsOfDifferentPackagesHaveNoDifference() {
        let counter = RAPLReading.Counter(microjoules: 1, rangeMicrojoules: 10)
        #expect(RAPLReading(domains: ["intel-rapl:0": counter]).joules(until: RAPLReading(domains: ["intel-rapl:1": counter])) == nil)
    }

    @Test func zoneNames() {
        #expect(RAPLReader.isTopLevelZone("intel-rapl:0"))
        #expect(RAPLReader.isTopLevelZone("intel-rapl:12"))
        #expect(!RAPLReader.isTopLevelZone("intel-rapl:0:1"))
        #expect(!RAPLReader.isTopLevelZone("intel-rapl"))
        #expect(!RAPLReader.isTopLevelZone("intel-rapl:"))
        #expect(!RAPLReader.isTopLevelZone("intel-rapl-mmio:0"))
    }
}
