import Dispatch

/// Runs `work` on a dispatch queue, off Swift's cooperative pool: file or store work that may block
/// for seconds (a zip extracted, an upload's files kept in the store).
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        DispatchQueue.global().async { continuation.resume(with: Result { try work() }) }
    }
}
