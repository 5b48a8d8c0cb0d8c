import CBLAS
import Foundation

/// Which OpenBLAS kernels run, and the one place that chooses them.
///
/// OpenBLAS picks its kernels when the library loads: from `OPENBLAS_CORETYPE` if set, else from
/// the CPU. This machine's environment sets `OPENBLAS_CORETYPE=Haswell` and `OPENBLAS_L2_SIZE=512`,
/// which force the AVX2 kernels on an AVX-512 CPU (AMD Zen 4); left alone, OpenBLAS 0.3.21 detects
/// the CPU as "Cooperlake" and uses AVX-512. Measured on this 2-core machine, same sitting
/// (`bench train`, train / inference img/s): small 5,223 / 18,034 → 6,728 / 25,191 and medium
/// 1,229 / 4,399 → 1,608 / 5,967. (The PyTorch reference script unsets the same two variables.)
///
/// Because the choice is made at load time, `relaunchWithFastestKernelsIfNeeded()` re-executes the
/// program once without them. `AUTOVISION_BLAS_KERNELS` controls it:
/// - unset or `auto`: drop inherited `OPENBLAS_CORETYPE`/`OPENBLAS_L2_SIZE`, let OpenBLAS detect the CPU;
/// - `inherit`: keep the environment as it is;
/// - any other value: use it as `OPENBLAS_CORETYPE` (e.g. `SkylakeX`, `Haswell`).
public enum BLASRuntime {
    /// The kernel family OpenBLAS selected ("Haswell", "SkylakeX", "Cooperlake", …).
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name)
    }

    /// The environment the program should run with, or nil when the current one is right.
    static func desiredEnvironmentChange(_ environment: [String: String]) -> (unset: [String], set: [String: String])? {
        if environment["AUTOVISION_BLAS_RELAUNCHED"] != nil { return nil }  // never loop
        switch environment["AUTOVISION_BLAS_KERNELS"] ?? "auto" {
        case "inherit":
            return nil
        case "auto":
            let inherited = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"].filter { environment[$0] != nil }
            return inherited.isEmpty ? nil : (inherited, [:])
        case let coreType:
            return environment["OPENBLAS_CORETYPE"] == coreType ? nil : (["OPENBLAS_L2_SIZE"], ["OPENBLAS_CORETYPE": coreType])
        }
    }

    /// Re-executes the current program once with the kernel environment described above, when it
    /// differs from the current one; returns normally otherwise (or if the exec fails). Call first
    /// thing in `main`, before any output or threads. Linux only.
    public static func relaunchWithFastestKernelsIfNeeded() {
        #if os(Linux)
        guard let change = desiredEnvironmentChange(ProcessInfo.processInfo.environment) else { return }
        for name in change.unset { unsetenv(name) }
        for (name, value) in change.set { setenv(name, value, 1) }
        setenv("AUTOVISION_BLAS_RELAUNCHED", "1", 1)
        var arguments: [UnsafeMutablePointer<CChar>?] = CommandLine.arguments.map { strdup($0) }
        arguments.append(nil)
        execv("/proc/self/exe", &arguments)
        // Only reached if exec failed: carry on with the kernels already loaded.
        for pointer in arguments { free(pointer) }
        #endif
    }
}
