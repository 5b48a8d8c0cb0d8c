import Foundation

/// `machine`: the computer the job ran on, so budgets and timings can be compared.
public struct MachineInfo: Codable, Sendable, Equatable {
    /// CPU model name (`/proc/cpuinfo` "model name"), or "unknown".
    public var cpu: String
    /// Logical cores available to the process.
    public var cores: Int
    /// Operating system name and version (`/etc/os-release` PRETTY_NAME plus the kernel version).
    public var os: String
    /// Physical memory in bytes (`/proc/meminfo` MemTotal).
    public var memoryBytes: Int

    public init(cpu: String, cores: Int, os: String, memoryBytes: Int) {
        self.cpu = cpu
        self.cores = cores
        self.os = os
        self.memoryBytes = memoryBytes
    }

    enum CodingKeys: String, CodingKey {
        case cpu, cores, os
        case memoryBytes = "memory_bytes"
    }

    /// Reads the current machine from `/proc/cpuinfo`, `/proc/meminfo` and `/etc/os-release`,
    /// falling back to `ProcessInfo` where those files do not exist (macOS).
    public static func current() -> MachineInfo {
        let process = ProcessInfo.processInfo
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu = field(named: "model name", in: cpuinfo, separator: ":")
            ?? field(named: "Hardware", in: cpuinfo, separator: ":") ?? "unknown"
        var memory = Int(clamping: process.physicalMemory)
        if let meminfo = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let total = field(named: "MemTotal", in: meminfo, separator: ":"),
           let kibibytes = Int(total.split(separator: " ").first ?? "") {
            memory = kibibytes * 1024
        }
        var kernel = utsname()
        uname(&kernel)
        let release = withUnsafeBytes(of: &kernel.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var os = "Linux \(release)"
        if let osRelease = try? String(contentsOfFile: "/etc/os-release", encoding: .utf8),
           let pretty = field(named: "PRETTY_NAME", in: osRelease, separator: "=") {
            os = "\(pretty.trimmingCharacters(in: CharacterSet(charactersIn: "\""))), kernel \(release)"
        }
        return MachineInfo(cpu: cpu, cores: process.activeProcessorCount, os: os, memoryBytes: memory)
    }

    /// The trimmed value of the first `name<separator>value` line.
    static func field(named name: String, in text: String, separator: Character) -> String? {
        for line in text.split(separator: "\n") {
            guard let split = line.firstIndex(of: separator) else { continue }
            if line[..<split].trimmingCharacters(in: .whitespaces) == name {
                return line[line.index(after: split)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }
}
