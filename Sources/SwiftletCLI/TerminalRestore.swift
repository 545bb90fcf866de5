#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The terminal settings the line editor replaced with raw mode, where a signal handler can reach them. Only the
/// REPL's one thread writes them, and only while no raw mode is on; the handlers only read them.
nonisolated(unsafe) private var savedTerminalSettings = termios()
/// 1 while stdin is in raw mode (the settings above are the ones to put back).
nonisolated(unsafe) private var terminalIsRaw: Int32 = 0

/// Puts the terminal back when the process ends on a signal at the prompt, as linenoise's `atexit` hook does for
/// redis-cli's `exit(1)`: raw mode (no echo, no canonical lines) must not outlive the process.
enum TerminalRestore {
    /// Records the settings to restore; called just before raw mode is turned on.
    static func save(_ settings: termios) {
        savedTerminalSettings = settings
        terminalIsRaw = 1
    }

    /// Restores the saved settings if raw mode is on. Async-signal-safe: `tcsetattr` is.
    static func restore() {
        guard terminalIsRaw != 0 else { return }
        terminalIsRaw = 0
        _ = tcsetattr(0, TCSAFLUSH, &savedTerminalSettings)
    }

    /// Whether raw mode is on, for tests.
    static var isRaw: Bool { terminalIsRaw != 0 }

    /// Installs ``restoreAndReraise`` for SIGTERM, SIGHUP and SIGQUIT (their default action then ends the process).
    static func installTerminationHandlers() {
        for signalNumber in [SIGTERM, SIGHUP, SIGQUIT] {
            signal(signalNumber, restoreAndReraise)
        }
    }

    /// Restores the terminal, then lets the signal do what it does by default.
    static let restoreAndReraise: @convention(c) (Int32) -> Void = { signalNumber in
        TerminalRestore.restore()
        signal(signalNumber, SIG_DFL)
        // The signal is blocked while its handler runs: it is delivered, with its default action, on return.
        raise(signalNumber)
    }
}
