import Foundation
internal import FerrioUniFFI

/// Fresh settings for a reconnection attempt, returned by ``ClientOptions/beforeReconnect``;
/// a field left `nil` keeps its current value.
public struct ReconnectUpdate: Sendable {
    /// A new server URL (its path is ignored: namespaces stay as they are).
    public var url: String?
    /// New query parameters, replacing the previous ones.
    public var query: [String: String]?
    /// New extra headers, replacing the previous ones.
    public var extraHeaders: [String: String]?
    /// A new auth payload for every namespace, e.g. a refreshed token.
    public var auth: [String: JSONValue]?

    /// An update of the given fields.
    public init(
        url: String? = nil, query: [String: String]? = nil, extraHeaders: [String: String]? = nil,
        auth: [String: JSONValue]? = nil
    ) {
        self.url = url
        self.query = query
        self.extraHeaders = extraHeaders
        self.auth = auth
    }

    func native() throws -> FerrioUniFFI.ReconnectUpdate {
        FerrioUniFFI.ReconnectUpdate(
            url: url, query: query, extraHeaders: extraHeaders, authJson: try auth.map(authJSON))
    }
}

/// The native library's hook: runs the async closure and waits for it on the blocking
/// thread the library calls it on (never one of its runtime's workers). An error thrown
/// crosses as the hook's error: the library logs it and the attempt goes on unchanged.
final class ReconnectHookBridge: FerrioUniFFI.ReconnectHook, @unchecked Sendable {
    private let block: @Sendable (Int) async -> ReconnectUpdate

    init(_ block: @escaping @Sendable (Int) async -> ReconnectUpdate) {
        self.block = block
    }

    func beforeAttempt(attempt: UInt32) throws -> FerrioUniFFI.ReconnectUpdate {
        let result = Locked<ReconnectUpdate?>(nil)
        let done = DispatchSemaphore(value: 0)
        let block = self.block
        Task {
            let update = await block(Int(attempt))
            result.withLock { $0 = update }
            done.signal()
        }
        done.wait()
        return try result.withLock { $0 ?? ReconnectUpdate() }.native()
    }
}
