// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
    // Release builds skip the run-time exclusivity checks: NIO's ByteBuffer and our own class fields are inlined
    // into every command, and the checks (a thread-local access set per access) cost 10-25% of the CPU per command
    // at pipeline 16 (docs/PERFORMANCE.md). Debug builds, and so `swift test`, keep them. Tools version 6.2 lets a
    // package with unsafe flags be a versioned dependency, so the library stays embeddable.
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

let package = Package(
    name: "Swiftlet",
    products: [
        .library(name: "Swiftlet", targets: ["Swiftlet"]),
        .library(name: "SwiftletClient", targets: ["SwiftletClient"]),
        .executable(name: "swiftlet-server", targets: ["swiftlet-server"]),
        .executable(name: "swiftlet-memcached", targets: ["swiftlet-memcached"]),
        .executable(name: "swiftlet-check-rdb", targets: ["swiftlet-check-rdb"]),
        .executable(name: "swiftlet-check-aof", targets: ["swiftlet-check-aof"]),
        .executable(name: "swiftlet-cli", targets: ["swiftlet-cli"]),
        .executable(name: "swiftlet-benchmark", targets: ["swiftlet-benchmark"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        .target(
            name: "SwiftletRESP",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletKeyspace",
            dependencies: [.product(name: "DequeModule", package: "swift-collections")],
            swiftSettings: swiftSettings
        ),
        // The memcached store: slab classes, pages, chunks, per-class LRU (pure Swift, one thread, no I/O).
        .target(
            name: "SwiftletMemcachedStore",
            dependencies: ["SwiftletKeyspace"],
            swiftSettings: swiftSettings
        ),
        // memcached's protocols (text, meta, binary) and statistics over the memcached store.
        .target(
            name: "SwiftletMemcached",
            dependencies: ["SwiftletMemcachedStore", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .target(name: "CSwiftletSupport"),
        // Debian's Lua 5.1 with lua-cjson and LuaBitOp (liblua5.1-0-dev, lua-cjson-dev, lua-bitop-dev).
        .systemLibrary(
            name: "CLua51",
            pkgConfig: "lua5.1",
            providers: [.apt(["liblua5.1-0-dev", "lua-cjson-dev", "lua-bitop-dev"])]
        ),
        // The interpreter as Redis embeds it, behind a C boundary: every Lua call (and so every Lua error, a longjmp)
        // stays in C; Swift calls its functions and is called back through plain C function pointers.
        // (The libraries are named here too: a module map's `link` reaches only Swift code that imports it.)
        .target(
            name: "CSwiftletScripting",
            dependencies: ["CLua51"],
            linkerSettings: [
                .linkedLibrary("lua5.1"), .linkedLibrary("lua5.1-cjson"), .linkedLibrary("lua5.1-bitop"),
            ]
        ),
        // The counting malloc (used_memory); linked only into swiftlet-server, never into the embeddable library.
        .target(name: "CSwiftletAllocator", dependencies: ["CSwiftletSupport"]),
        .target(
            name: "SwiftletPersistence",
            dependencies: ["SwiftletKeyspace"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletConfig",
            dependencies: ["SwiftletKeyspace"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletEngine",
            dependencies: [
                "SwiftletRESP", "SwiftletKeyspace", "SwiftletConfig", "SwiftletPersistence", "CSwiftletSupport",
                "CSwiftletScripting", .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletServer",
            dependencies: [
                "SwiftletRESP", "SwiftletKeyspace", "SwiftletConfig", "SwiftletEngine", "SwiftletMemcached",
                "CSwiftletSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SwiftletClient",
            dependencies: [
                "SwiftletRESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Swiftlet",
            dependencies: [
                "SwiftletServer", "SwiftletEngine", "SwiftletKeyspace", "SwiftletRESP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swiftlet-server",
            dependencies: [
                "SwiftletServer", "SwiftletEngine", "SwiftletConfig", "SwiftletMemcached", "CSwiftletSupport",
                "CSwiftletAllocator",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings,
            // The Swift runtime linked in statically (`swift build --static-swift-stdlib` for this one binary): its
            // thread-local reads, one per exclusivity check in NIO's ByteBuffer writes, become plain loads instead
            // of `__tls_get_addr` calls into a shared library (7% of MULTI/SET/EXEC's time at pipeline 16; a
            // quarter of the server's user time per request). See docs/PERFORMANCE.md.
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux]))]
        ),
        .executableTarget(
            name: "swiftlet-memcached",
            dependencies: [
                "SwiftletServer", "SwiftletMemcached", "SwiftletMemcachedStore", "CSwiftletSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings,
            // The Swift runtime linked in statically, as for swiftlet-server (see there).
            linkerSettings: [.unsafeFlags(["-static-stdlib"], .when(platforms: [.linux]))]
        ),
        // The client tools' shared plumbing: blocking sockets connected as hiredis connects them.
        .target(name: "SwiftletToolSupport", swiftSettings: swiftSettings),
        // redis-cli's behaviour for Swiftlet: options, connection, reply formatting (the executable is a thin main).
        .target(
            name: "SwiftletCLI",
            dependencies: ["SwiftletRESP", "SwiftletToolSupport", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swiftlet-cli",
            dependencies: ["SwiftletCLI"],
            swiftSettings: swiftSettings
        ),
        // redis-benchmark's behaviour for Swiftlet: options, tests, the load loop, latency histograms and reports.
        .target(
            name: "SwiftletBenchmark",
            dependencies: [
                "SwiftletRESP", "SwiftletToolSupport", "CSwiftletSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swiftlet-benchmark",
            dependencies: ["SwiftletBenchmark"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swiftlet-check-rdb",
            dependencies: ["SwiftletPersistence", "SwiftletKeyspace"],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "swiftlet-check-aof",
            dependencies: ["SwiftletPersistence", "SwiftletKeyspace"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletPersistenceTests",
            dependencies: ["SwiftletPersistence", "SwiftletKeyspace"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletRESPTests",
            dependencies: ["SwiftletRESP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletKeyspaceTests",
            dependencies: ["SwiftletKeyspace"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletEngineTests",
            dependencies: [
                "SwiftletEngine", "SwiftletConfig", "SwiftletKeyspace", "SwiftletRESP",
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // Read from the source tree by path (see CommandSpecSnapshotTests), not bundled.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletMemcachedTests",
            dependencies: [
                "SwiftletMemcached", "SwiftletMemcachedStore", .product(name: "NIOCore", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletCLITests",
            dependencies: ["SwiftletCLI", "SwiftletRESP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletBenchmarkTests",
            dependencies: ["SwiftletBenchmark", "SwiftletRESP", .product(name: "NIOCore", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletConfigTests",
            dependencies: ["SwiftletConfig"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletTests",
            dependencies: ["Swiftlet", "SwiftletRESP"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SwiftletServerTests",
            dependencies: [
                "Swiftlet", "SwiftletServer", "SwiftletClient", "SwiftletRESP", "SwiftletMemcached",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
