#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// CPU time of this process, in seconds: user plus system time of all its threads (`getrusage`
/// `RUSAGE_SELF`) and of its children that ended and were waited for (`RUSAGE_CHILDREN`).
///
/// A job's work units run in the process that claims them (`autovision worker`, or the test process),
/// on its threads (the batch-parallel workers, OpenBLAS's): `RUSAGE_SELF` is their time. A worker
/// starts no child processes; `RUSAGE_CHILDREN` is counted as CodeCarbon's process mode counts a
/// process's children (`codecarbon/external/hardware.py`, `CPU._get_power_from_cpu_load`, user +
/// system time of the process and its children), so a unit that ever runs a tool as a child still pays for it.
public enum ProcessCPUTime {
    /// Seconds of CPU time used by this process and its waited-for children so far.
    public static func seconds() -> Double {
        #if canImport(Glibc)
        seconds(of: __rusage_who_t(RUSAGE_SELF.rawValue)) + seconds(of: __rusage_who_t(RUSAGE_CHILDREN.rawValue))
        #else
        seconds(of: RUSAGE_SELF) + seconds(of: RUSAGE_CHILDREN)
        #endif
    }

    #if canImport(Glibc)
    private typealias Who = __rusage_who_t
    #else
    private typealias Who = Int32
    #endif

    private static func seconds(of who: Who) -> Double {
        var usage = rusage()
        guard getrusage(who, &usage) == 0 else { return 0 }
        return seconds(usage.ru_utime) + seconds(usage.ru_stime)
    }

    private static func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
}

/// Busy CPU time of the whole machine, in seconds, from the first line of `/proc/stat` (`cpu  user
/// nice system idle iowait irq softirq steal guest guest_nice`, in clock ticks of `_SC_CLK_TCK`):
/// user + nice + system + irq + softirq. Idle and iowait are not busy; steal is time the hypervisor
/// gave to other machines, whose energy is not this package's; guest time is already in user.
///
/// It splits a RAPL package's energy between the processes that ran on it by their CPU time, as
/// Scaphandre attributes RAPL power to processes (https://github.com/hubblo-org/scaphandre,
/// `sensors/utils.rs`: a process's share of the jiffies of `/proc/stat`).
public struct MachineCPUTime: Sendable {
    public static let defaultPath = URL(fileURLWithPath: "/proc/stat")

    public let path: URL
    /// Clock ticks per second of the counters (`sysconf(_SC_CLK_TCK)`, 100 on Linux).
    public let ticksPerSecond: Double

    public init(path: URL = MachineCPUTime.defaultPath, ticksPerSecond: Double = Double(max(1, sysconf(Int32(_SC_CLK_TCK))))) {
        self.path = path
        self.ticksPerSecond = ticksPerSecond
    }

    /// Busy seconds of all CPUs since boot, or `nil` when the file is missing, unreadable or not in that format.
    public func busySeconds() -> Double? {
        guard let data = FileManager.default.contents(atPath: path.path) else { return nil }
        guard let line = String(decoding: data.prefix(4096), as: UTF8.self).split(separator: "\n").first else { return nil }
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.first == "cpu", fields.count >= 8 else { return nil }
        let ticks = fields.dropFirst().prefix(7).compactMap { UInt64($0) }
        guard ticks.count == 7 else { return nil }
        let busy = ticks[0] + ticks[1] + ticks[2] + ticks[5] + ticks[6]  // user, nice, system, irq, softirq
        return Double(busy) / ticksPerSecond
    }
}
