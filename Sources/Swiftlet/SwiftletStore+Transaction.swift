import NIOCore
public import SwiftletRESP

/// A transaction in progress on its own connection-like session (so WATCH and the MULTI queue belong to it alone,
/// whatever other tasks do with the store meanwhile). Commands given to it are queued and run by EXEC when the
/// `withTransaction` body returns.
public final class SwiftletTransaction: Sendable {
    private let loop: any EventLoop
    private let box: NIOLoopBound<SwiftletStore.Box>

    init(loop: any EventLoop, box: NIOLoopBound<SwiftletStore.Box>) {
        self.loop = loop
        self.box = box
    }

    /// Queues a command; the reply is `QUEUED`, or the error that will make EXEC abort (unknown command, arity).
    @discardableResult
    public func execute(_ arguments: [[UInt8]]) async throws -> RESPValue {
        try await SwiftletStore.run(arguments, in: self.box, on: self.loop)
    }

    @discardableResult
    public func execute(_ arguments: String...) async throws -> RESPValue {
        try await self.execute(arguments.map { Array($0.utf8) })
    }

    func close() async {
        let box = self.box
        try? await self.loop.submit { box.value.close() }.get()
    }
}

extension SwiftletStore {
    /// Runs `body` as a MULTI/EXEC transaction: MULTI on enter, EXEC when the body returns (its replies are returned),
    /// DISCARD when it throws (the error is rethrown). With `watching`, the keys are WATCHed first, and a change to
    /// any of them by anyone before EXEC makes the transaction do nothing and return `nil`, as EXEC does.
    ///
    ///     let replies = try await store.withTransaction(watching: ["balance"]) { tx in
    ///         try await tx.execute("DECRBY", "balance", "10")
    ///         try await tx.execute("RPUSH", "ledger", "-10")
    ///     }
    public func withTransaction(
        watching keys: [String] = [],
        _ body: (SwiftletTransaction) async throws -> Void
    ) async throws -> [RESPValue]? {
        let box = try await self.loop.submit { [state = self.stateBox] in
            NIOLoopBound(Box(state: state.value.state), eventLoop: state.eventLoop)
        }.get()
        let transaction = SwiftletTransaction(loop: self.loop, box: box)
        if !keys.isEmpty {
            _ = try await Self.run([Array("WATCH".utf8)] + keys.map { Array($0.utf8) }, in: box, on: self.loop)
        }
        _ = try await Self.run([Array("MULTI".utf8)], in: box, on: self.loop)
        do {
            try await body(transaction)
        } catch {
            _ = try? await Self.run([Array("DISCARD".utf8)], in: box, on: self.loop)
            await transaction.close()
            throw error
        }
        let reply = try await Self.run([Array("EXEC".utf8)], in: box, on: self.loop)
        await transaction.close()
        switch reply {
        case .array(let values?): return values
        case .array(nil), .null: return nil
        case .error(let message): throw SwiftletError.transactionAborted(String(buffer: message))
        default: return [reply]
        }
    }
}

/// Errors of the embedded API.
public enum SwiftletError: Error, Equatable {
    /// EXEC refused the transaction (EXECABORT: a queued command was rejected).
    case transactionAborted(String)
}
