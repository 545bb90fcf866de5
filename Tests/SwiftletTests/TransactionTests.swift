import Swiftlet
import SwiftletRESP
import Testing

/// `withTransaction` on the embedded store: MULTI on enter, EXEC on exit, DISCARD when the body throws.
struct TransactionTests {
    struct Failure: Error {}

    @Test func bodyIsExecutedAtomicallyOnExit() async throws {
        let store = SwiftletStore()
        _ = try await store.execute("SET", "balance", "100")
        let replies = try await store.withTransaction { tx in
            let queued = try await tx.execute("DECRBY", "balance", "30")
            #expect(queued.string == "QUEUED")
            // Queued, not run yet: the store still sees the old value.
            #expect(try await store.execute("GET", "balance").string == "100")
            try await tx.execute("RPUSH", "ledger", "-30")
        }
        #expect(replies?.count == 2)
        #expect(replies?.first?.integer == 70)
        #expect(try await store.execute("GET", "balance").string == "70")
        #expect(try await store.execute("LLEN", "ledger").integer == 1)
    }

    @Test func throwingBodyDiscardsTheTransaction() async throws {
        let store = SwiftletStore()
        await #expect(throws: Failure.self) {
            _ = try await store.withTransaction { tx in
                try await tx.execute("SET", "k", "v")
                throw Failure()
            }
        }
        #expect(try await store.execute("EXISTS", "k").integer == 0)
        // The store's own session is not left inside MULTI.
        #expect(try await store.execute("SET", "k", "w").string == "OK")
    }

    @Test func watchedKeyChangedByAnotherClientAbortsWithNil() async throws {
        let store = SwiftletStore()
        _ = try await store.execute("SET", "counter", "1")
        let replies = try await store.withTransaction(watching: ["counter"]) { tx in
            // Another client (the store's own session) changes the watched key before EXEC.
            _ = try await store.execute("INCR", "counter")
            try await tx.execute("SET", "counter", "100")
        }
        #expect(replies == nil)
        #expect(try await store.execute("GET", "counter").string == "2")
    }

    @Test func queuedErrorAbortsWithExecabort() async throws {
        let store = SwiftletStore()
        await #expect(throws: SwiftletError.self) {
            _ = try await store.withTransaction { tx in
                try await tx.execute("SET", "a", "1")
                try await tx.execute("NOSUCHCOMMAND")
            }
        }
        #expect(try await store.execute("EXISTS", "a").integer == 0)
    }
}
