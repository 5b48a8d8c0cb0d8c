import CBLAS
import Dispatch
import Foundation

/// How the two (or more) cores are used. One policy, set in one place (`Threading.configure`):
/// never threaded BLAS inside a parallel loop.
public enum ThreadingPolicy: Sendable, Equatable, CustomStringConvertible {
    /// Layers split the batch (or channels/rows) across `workers` threads; OpenBLAS runs single-threaded.
    case batchParallel(workers: Int)
    /// Loops run serially on the calling thread; OpenBLAS threads each GEMM over `threads` threads.
    case threadedBLAS(threads: Int)

    public var description: String {
        switch self {
        case let .batchParallel(workers): "batch-parallel, \(workers) workers, 1-thread BLAS"
        case let .threadedBLAS(threads): "serial loops, \(threads)-thread BLAS"
        }
    }
}

/// The process-wide threading policy and the parallel loop every kernel uses.
///
/// Default: `.batchParallel(workers: cores)`, chosen by measurement on this 2-core machine with
/// `autovision bench train --model medium --timed-batches 30 --threading batch|blas` (2026-11-29, others'
/// builds running, so absolute figures are low; the ratio is the point):
///
/// | policy | medium train img/s | medium infer img/s |
/// |---|---|---|
/// | batch-parallel, 1-thread BLAS | 1,063 | 2,974 |
/// | serial loops, 2-thread BLAS   |   531 | 1,296 |
///
/// Per-image convolution GEMMs (e.g. 64 × 196 × 288) are too small for OpenBLAS to split well, and
/// under threaded BLAS im2col, pooling, activations and BatchNorm run on one core.
/// Override with the environment variable `AUTOVISION_THREADING=blas` (threaded BLAS) or
/// `AUTOVISION_THREADS=N`. Results are deterministic for a fixed policy and worker count: work is
/// split into fixed contiguous chunks and partial sums are reduced in worker order.
public enum Threading {
    private final class State: @unchecked Sendable {
        let lock = NSLock()
        var policy: ThreadingPolicy

        init() {
            let environment = ProcessInfo.processInfo.environment
            let cores = max(1, Int(environment["AUTOVISION_THREADS"] ?? "") ?? ProcessInfo.processInfo.activeProcessorCount)
            policy = environment["AUTOVISION_THREADING"] == "blas" ? .threadedBLAS(threads: cores) : .batchParallel(workers: cores)
            Threading.apply(policy)
        }
    }

    private static let state = State()

    /// The policy in force.
    public static var policy: ThreadingPolicy {
        state.lock.lock()
        defer { state.lock.unlock() }
        return state.policy
    }

    /// Sets the policy for the whole process. Call between training steps, not during one.
    public static func configure(_ policy: ThreadingPolicy) {
        state.lock.lock()
        defer { state.lock.unlock() }
        state.policy = policy
        apply(policy)
    }

    private static func apply(_ policy: ThreadingPolicy) {
        switch policy {
        case .batchParallel: openblas_set_num_threads(1)
        case let .threadedBLAS(threads): openblas_set_num_threads(Int32(max(1, threads)))
        }
    }

    /// Marks the threads inside `serially` (a non-nil value; a thread starts without one).
    private static let serialKey: pthread_key_t = {
        var key = pthread_key_t()
        precondition(pthread_key_create(&key, nil) == 0, "no thread-specific key left")
        return key
    }()

    /// Runs `body` with every `parallelFor` in it inline on the calling thread (one worker), whatever
    /// the policy. For callers that run several networks side by side, one per core (a served model's
    /// instances): each keeps its core busy through the serial parts of its forward pass, where one
    /// network split across the cores would leave them idle. OpenBLAS runs at the policy's thread
    /// count: one under the default `.batchParallel`; under `.threadedBLAS`, concurrent callers share
    /// its threads.
    public static func serially<T>(_ body: () throws -> T) rethrows -> T {
        // The policy's OpenBLAS thread count must be in force before the first GEMM: inside `serially`
        // nothing else reads the policy, and OpenBLAS's default (every core) makes concurrent callers
        // contend for its threads.
        _ = state
        let outer = pthread_getspecific(serialKey)
        pthread_setspecific(serialKey, UnsafeRawPointer(bitPattern: 1))
        defer { pthread_setspecific(serialKey, outer) }
        return try body()
    }

    /// Number of workers `parallelFor` splits into (1 under `.threadedBLAS` and inside `serially`).
    public static var workerCount: Int {
        if pthread_getspecific(serialKey) != nil { return 1 }
        switch policy {
        case let .batchParallel(workers): return max(1, workers)
        case .threadedBLAS: return 1
        }
    }

    /// Runs `body(range, worker)` over `0..<count` split into at most `workerCount` contiguous
    /// chunks; chunk `w` goes to worker `w`. Runs inline when there is one worker or when
    /// `count * costPerItem` is below `minimumWork` (threads are not worth waking).
    public static func parallelFor(
        _ count: Int, costPerItem: Int = 1, minimumWork: Int = 32_768,
        _ body: (_ range: Range<Int>, _ worker: Int) -> Void
    ) {
        if count <= 0 { return }
        let workers = min(workerCount, count)
        if workers == 1 || count * costPerItem < minimumWork {
            body(0..<count, 0)
            return
        }
        // The loop does not return before every worker has finished, so `body` never escapes.
        withoutActuallyEscaping(body) { body in
            let work = UncheckedSendable(body)
            DispatchQueue.concurrentPerform(iterations: workers) { worker in
                work.value(chunk(worker, of: workers, count: count), worker)
            }
        }
    }

    /// The range of items worker `worker` of `workers` gets out of `count`.
    public static func chunk(_ worker: Int, of workers: Int, count: Int) -> Range<Int> {
        (count * worker / workers)..<(count * (worker + 1) / workers)
    }
}

/// A growable scratch buffer owned by one layer, reused across batches (no per-batch allocation).
/// Not thread-safe to grow; workers take disjoint slices after `reserve`.
public final class Workspace {
    public private(set) var pointer: UnsafeMutablePointer<Float>
    public private(set) var capacity: Int

    public init() {
        capacity = 0
        pointer = UnsafeMutablePointer<Float>.allocate(capacity: 1)
    }

    /// Ensures room for `count` floats and returns the base pointer (contents unspecified).
    @discardableResult
    public func reserve(_ count: Int) -> UnsafeMutablePointer<Float> {
        if count > capacity {
            pointer.deallocate()
            pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            capacity = count
        }
        return pointer
    }

    deinit { pointer.deallocate() }
}

/// Wraps a value that is shared across `parallelFor` workers on purpose (each touches a disjoint part).
public struct UncheckedSendable<Value>: @unchecked Sendable {
    public let value: Value
    public init(_ value: Value) { self.value = value }
}
