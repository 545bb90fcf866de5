#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A line editor in the manner of linenoise (the one redis-cli links): on a terminal it puts stdin in raw mode and
/// edits the line in place, with history, tab completion that cycles through candidates and a grey hint after the
/// cursor; on a pipe or file it reads plain lines with no prompt; on a `dumb` terminal it prints the prompt and
/// reads a cooked line.
///
/// Editing is in linenoise's multi-line mode (a long line wraps onto more rows), the mode redis-cli turns on.
final class LineEditor {
    /// What the editor does with a key, after the bytes that make it were read.
    private enum Key {
        static let ctrlA: UInt8 = 1
        static let ctrlB: UInt8 = 2
        static let ctrlC: UInt8 = 3
        static let ctrlD: UInt8 = 4
        static let ctrlE: UInt8 = 5
        static let ctrlF: UInt8 = 6
        static let ctrlH: UInt8 = 8
        static let tab: UInt8 = 9
        static let ctrlK: UInt8 = 11
        static let ctrlL: UInt8 = 12
        static let enter: UInt8 = 13
        static let ctrlN: UInt8 = 14
        static let ctrlP: UInt8 = 16
        static let ctrlT: UInt8 = 20
        static let ctrlU: UInt8 = 21
        static let ctrlW: UInt8 = 23
        static let escape: UInt8 = 27
        static let backspace: UInt8 = 127
    }

    /// The line being edited and where the cursor is, as bytes (like linenoise, one byte is one column).
    private struct EditState {
        var buffer: [UInt8] = []
        var position = 0
        let prompt: [UInt8]
        /// How far back in the history the line shown is (0: the line being typed).
        var historyIndex = 0
    }

    private let historyFile: String?
    private let completion: ((String) -> [String])?
    /// Settable so the REPL can turn hints off (`:set nohints`).
    var hints: ((String) -> String?)?
    private var history: ReplHistory
    private let input: Int32 = 0
    private let output = FileOutput.standardOutput
    /// Whether stdin is a terminal: history is kept (and the file written) only then, as in redis-cli.
    let isTerminal: Bool
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var reachedEnd = false
    /// The cursor position of the last refresh and the most rows the line has used (linenoise's `oldpos` and
    /// `maxrows`), to clear the right rows.
    private var oldPosition = 0
    private var maximumRows = 0

    /// - Parameters:
    ///   - historyFile: read now and rewritten by ``addHistory(_:)`` (only when stdin is a terminal).
    ///   - completion: the whole lines that can replace what was typed, in the order tab shows them.
    ///   - hints: the text shown in grey after the cursor for what was typed.
    init(
        historyFile: String?,
        completion: ((String) -> [String])? = nil,
        hints: ((String) -> String?)? = nil
    ) {
        self.historyFile = historyFile
        self.completion = completion
        self.hints = hints
        self.isTerminal = isatty(0) != 0
        self.history = ReplHistory()
        if self.isTerminal, let historyFile {
            self.history.load(from: historyFile)
        }
        if self.isTerminal {
            TerminalRestore.installTerminationHandlers()
        }
    }

    /// Reads one line.
    /// - Returns: the line without its newline; nil at end of input (ctrl-d on an empty line, ctrl-c, EOF on a
    ///   pipe).
    func readLine(prompt: String) -> String? {
        guard self.isTerminal else {
            return self.readPlainLine().map { String(decoding: $0, as: UTF8.self) }
        }
        if Self.isUnsupportedTerminal() {
            self.output.write(prompt)
            guard var line = self.readPlainLine() else { return nil }
            while let last = line.last, last == 10 || last == 13 { line.removeLast() }
            return String(decoding: line, as: UTF8.self)
        }
        var saved = termios()
        guard tcgetattr(self.input, &saved) == 0 else {
            return self.readPlainLine().map { String(decoding: $0, as: UTF8.self) }
        }
        var raw = saved
        // linenoise's enableRawMode: no break, no CR to NL, no parity check, no strip, no flow control; no output
        // processing; 8-bit chars; no echo, canonical mode, extended functions or signal characters.
        raw.c_iflag &= ~tcflag_t(BRKINT | ICRNL | INPCK | ISTRIP | IXON)
        raw.c_oflag &= ~tcflag_t(OPOST)
        raw.c_cflag |= tcflag_t(CS8)
        raw.c_lflag &= ~tcflag_t(ECHO | ICANON | IEXTEN | ISIG)
        withUnsafeMutableBytes(of: &raw.c_cc) { cc in
            cc[Int(VMIN)] = 1
            cc[Int(VTIME)] = 0
        }
        // Saved where a signal handler can reach it: SIGTERM, SIGHUP, SIGQUIT and the REPLs' SIGINT restore it.
        TerminalRestore.save(saved)
        tcsetattr(self.input, TCSAFLUSH, &raw)
        defer {
            TerminalRestore.restore()
            self.output.write("\n")
        }
        return self.edit(prompt: Array(prompt.utf8)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// Adds a line to the history (not a repeat of the last one; the oldest goes beyond 100) and rewrites the
    /// history file, as redis-cli's `linenoiseHistoryAdd` + `linenoiseHistorySave`. Nothing when stdin is not a
    /// terminal.
    func addHistory(_ line: String) {
        guard self.isTerminal else { return }
        self.history.add(Array(line.utf8))
        if let historyFile { self.history.save(to: historyFile) }
    }

    /// Clears the screen (`clear`, ctrl-l).
    func clearScreen() {
        self.output.write("\u{1b}[H\u{1b}[2J")
    }

    // MARK: - Plain lines

    /// linenoise's NoTTY path: bytes up to a newline; the last line may lack one; nil at end of input.
    private func readPlainLine() -> [UInt8]? {
        var line: [UInt8] = []
        while let byte = self.readByte() {
            if byte == 10 { return line }
            line.append(byte)
        }
        return line.isEmpty ? nil : line
    }

    /// One byte of stdin, read in chunks on a pipe (one at a time on a terminal, so nothing typed ahead is lost).
    private func readByte() -> UInt8? {
        if self.pendingOffset < self.pending.count {
            defer { self.pendingOffset += 1 }
            return self.pending[self.pendingOffset]
        }
        if self.reachedEnd && !self.isTerminal { return nil }
        var chunk = [UInt8](repeating: 0, count: self.isTerminal ? 1 : 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(self.input, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            if count <= 0 {
                self.reachedEnd = true
                return nil
            }
            self.pending = Array(chunk[0..<count])
            self.pendingOffset = 1
            return self.pending[0]
        }
    }

    private static func isUnsupportedTerminal() -> Bool {
        guard let term = getenv("TERM") else { return false }
        return ["dumb", "cons25", "emacs"].contains(String(cString: term).lowercased())
    }

    // MARK: - Editing

    /// linenoiseEdit: reads keys until enter (the line), ctrl-c or ctrl-d on an empty line (nil).
    private func edit(prompt: [UInt8]) -> [UInt8]? {
        var state = EditState(prompt: prompt)
        self.oldPosition = 0
        self.maximumRows = 0
        // The line being typed is the newest history entry while editing, as in linenoise.
        self.history.entries.append([])
        defer { self.history.entries.removeLast() }
        self.output.write(prompt)
        while true {
            guard var key = self.readByte() else { return state.buffer.isEmpty ? nil : state.buffer }
            if key == Key.tab, self.completion != nil {
                guard let next = self.complete(&state) else { return state.buffer.isEmpty ? nil : state.buffer }
                if next == 0 { continue }
                key = next
            }
            switch key {
            case Key.enter:
                self.move(&state, to: state.buffer.count)
                // Redraw without the hint, so it does not stay on the screen.
                if self.hints != nil { self.refresh(state, showHints: false) }
                return state.buffer
            case Key.ctrlC:
                return nil
            case Key.backspace, Key.ctrlH:
                if state.position > 0 {
                    state.buffer.remove(at: state.position - 1)
                    state.position -= 1
                    self.refresh(state)
                }
            case Key.ctrlD:
                if state.buffer.isEmpty { return nil }
                self.deleteUnderCursor(&state)
            case Key.ctrlT:
                if state.position > 0 && state.position < state.buffer.count {
                    state.buffer.swapAt(state.position - 1, state.position)
                    if state.position != state.buffer.count - 1 { state.position += 1 }
                    self.refresh(state)
                }
            case Key.ctrlB: self.move(&state, to: state.position - 1)
            case Key.ctrlF: self.move(&state, to: state.position + 1)
            case Key.ctrlP: self.browseHistory(&state, older: true)
            case Key.ctrlN: self.browseHistory(&state, older: false)
            case Key.escape:
                guard self.escapeSequence(&state) else { return state.buffer }
            case Key.ctrlU:
                state.buffer = []
                state.position = 0
                self.refresh(state)
            case Key.ctrlK:
                state.buffer.removeSubrange(state.position...)
                self.refresh(state)
            case Key.ctrlA: self.move(&state, to: 0)
            case Key.ctrlE: self.move(&state, to: state.buffer.count)
            case Key.ctrlL:
                self.clearScreen()
                self.refresh(state)
            case Key.ctrlW:
                var start = state.position
                while start > 0 && state.buffer[start - 1] == 32 { start -= 1 }
                while start > 0 && state.buffer[start - 1] != 32 { start -= 1 }
                state.buffer.removeSubrange(start..<state.position)
                state.position = start
                self.refresh(state)
            default:
                state.buffer.insert(key, at: state.position)
                state.position += 1
                self.refresh(state)
            }
        }
    }

    /// The bytes after ESC: arrows, home/end (`ESC [ H`, `ESC O H`, ...), delete (`ESC [ 3 ~`).
    /// - Returns: false at end of input.
    private func escapeSequence(_ state: inout EditState) -> Bool {
        guard let first = self.readByte(), let second = self.readByte() else { return false }
        if first == UInt8(ascii: "[") {
            if second >= UInt8(ascii: "0") && second <= UInt8(ascii: "9") {
                guard let third = self.readByte() else { return false }
                if third == UInt8(ascii: "~") && second == UInt8(ascii: "3") { self.deleteUnderCursor(&state) }
                return true
            }
            switch second {
            case UInt8(ascii: "A"): self.browseHistory(&state, older: true)
            case UInt8(ascii: "B"): self.browseHistory(&state, older: false)
            case UInt8(ascii: "C"): self.move(&state, to: state.position + 1)
            case UInt8(ascii: "D"): self.move(&state, to: state.position - 1)
            case UInt8(ascii: "H"): self.move(&state, to: 0)
            case UInt8(ascii: "F"): self.move(&state, to: state.buffer.count)
            default: break
            }
        } else if first == UInt8(ascii: "O") {
            if second == UInt8(ascii: "H") { self.move(&state, to: 0) }
            if second == UInt8(ascii: "F") { self.move(&state, to: state.buffer.count) }
        }
        return true
    }

    private func deleteUnderCursor(_ state: inout EditState) {
        guard state.position < state.buffer.count else { return }
        state.buffer.remove(at: state.position)
        self.refresh(state)
    }

    private func move(_ state: inout EditState, to position: Int) {
        guard position >= 0 && position <= state.buffer.count && position != state.position else { return }
        state.position = position
        self.refresh(state)
    }

    /// Up/down (ctrl-p/ctrl-n): keeps what was edited in the entry left, shows the next one with the cursor at
    /// its end.
    private func browseHistory(_ state: inout EditState, older: Bool) {
        let count = self.history.entries.count
        guard count > 1 else { return }
        self.history.entries[count - 1 - state.historyIndex] = state.buffer
        state.historyIndex += older ? 1 : -1
        if state.historyIndex < 0 {
            state.historyIndex = 0
            return
        }
        if state.historyIndex >= count {
            state.historyIndex = count - 1
            return
        }
        state.buffer = self.history.entries[count - 1 - state.historyIndex]
        state.position = state.buffer.count
        self.refresh(state)
    }

    /// Tab: shows each candidate in turn (tab again: the next, then the line as typed, with a beep); escape
    /// restores the typed line; any other key takes the candidate shown and is then handled as usual.
    /// - Returns: the key that ended the cycling (0 when there was nothing to complete), nil at end of input.
    private func complete(_ state: inout EditState) -> UInt8? {
        let candidates = self.completion?(String(decoding: state.buffer, as: UTF8.self)).map { Array($0.utf8) } ?? []
        if candidates.isEmpty {
            Self.beep()
            return 0
        }
        var index = 0
        while true {
            if index < candidates.count {
                var shown = state
                shown.buffer = candidates[index]
                shown.position = shown.buffer.count
                self.refresh(shown)
            } else {
                self.refresh(state)
            }
            guard let key = self.readByte() else { return nil }
            switch key {
            case Key.tab:
                index = (index + 1) % (candidates.count + 1)
                if index == candidates.count { Self.beep() }
            case Key.escape:
                if index < candidates.count { self.refresh(state) }
                return key
            default:
                if index < candidates.count {
                    state.buffer = candidates[index]
                    state.position = state.buffer.count
                }
                return key
            }
        }
    }

    private static func beep() {
        FileOutput.standardError.write([7])
    }

    // MARK: - Drawing

    /// linenoise's multi-line refresh (the mode redis-cli turns on): clear the rows the line used, write the
    /// prompt, the line and the hint in grey, then put the cursor back on its row and column.
    private func refresh(_ state: EditState, showHints: Bool = true) {
        let columns = Self.terminalColumns()
        let promptLength = state.prompt.count
        let length = state.buffer.count
        var rows = (promptLength + length + columns - 1) / columns
        let oldCursorRow = (promptLength + self.oldPosition + columns) / columns
        let oldRows = self.maximumRows
        self.maximumRows = max(self.maximumRows, rows)
        var out: [UInt8] = []
        if oldRows - oldCursorRow > 0 { out += Array("\u{1b}[\(oldRows - oldCursorRow)B".utf8) }
        for _ in 0..<max(oldRows - 1, 0) { out += Array("\r\u{1b}[0K\u{1b}[1A".utf8) }
        out += Array("\r\u{1b}[0K".utf8) + state.prompt + state.buffer
        if showHints, let hints = self.hints, promptLength + length < columns,
            let hint = hints(String(decoding: state.buffer, as: UTF8.self))
        {
            let room = columns - (promptLength + length)
            // linenoise's color sequence for color 90, not bold.
            out += Array("\u{1b}[0;90;49m".utf8) + Array(hint.utf8).prefix(room) + Array("\u{1b}[0m".utf8)
        }
        // At the very end of a row, go to the start of the next one.
        if state.position > 0 && state.position == length && (state.position + promptLength) % columns == 0 {
            out += Array("\n\r".utf8)
            rows += 1
            self.maximumRows = max(self.maximumRows, rows)
        }
        let cursorRow = (promptLength + state.position + columns) / columns
        if rows - cursorRow > 0 { out += Array("\u{1b}[\(rows - cursorRow)A".utf8) }
        let column = (promptLength + state.position) % columns
        out += Array((column > 0 ? "\r\u{1b}[\(column)C" : "\r").utf8)
        self.oldPosition = state.position
        self.output.write(out)
    }

    private static func terminalColumns() -> Int {
        var size = winsize()
        if ioctl(1, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col > 0 { return Int(size.ws_col) }
        return 80
    }
}
