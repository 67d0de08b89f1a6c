import Foundation

/// The live progress line of a long command (`focus eval`, `focus-coord run`, `focus synth-train`).
///
/// On a terminal the line is redrawn in place. Evaluations usually run under nohup, a batch
/// scheduler or CI, where stderr is a file: there a line redrawn with carriage returns once a second
/// becomes a single line of megabytes that `tail` and `grep` cannot read. So when stderr is not a
/// terminal the progress is written as ordinary lines, at most one per `logInterval`, and the last
/// state is always written when the command finishes.
public final class ProgressLine: @unchecked Sendable {
    /// Clears the terminal line the cursor is on (carriage return, then ANSI "erase to end of line").
    static let clearLine = "\r\u{1B}[K"

    public let interactive: Bool
    private let logInterval: Duration
    private let write: @Sendable (String) -> Void
    private let clock = ContinuousClock()
    private let lock = NSLock()
    private var current: String?
    private var currentWritten = false
    private var lastWrite: ContinuousClock.Instant?

    /// - Parameters:
    ///   - interactive: redraw in place; by default, whether stderr is a terminal.
    ///   - logInterval: the least time between two progress lines when not interactive.
    ///   - write: where the text goes (stderr by default).
    public init(interactive: Bool = isatty(STDERR_FILENO) != 0, logInterval: Duration = .seconds(30),
                write: @escaping @Sendable (String) -> Void = { FileHandle.standardError.write(Data($0.utf8)) }) {
        self.interactive = interactive
        self.logInterval = logInterval
        self.write = write
    }

    /// The progress now. Safe to call from any thread.
    public func update(_ text: String) {
        lock.withLock {
            current = text
            if interactive {
                write(Self.clearLine + text)
                currentWritten = true
                return
            }
            let now = clock.now
            if let lastWrite, now - lastWrite < logInterval {
                currentWritten = false
                return
            }
            write(text + "\n")
            lastWrite = now
            currentWritten = true
        }
    }

    /// A message on a line of its own. On a terminal the live line is cleared first and redrawn after,
    /// so the message is not glued to it.
    public func message(_ text: String) {
        lock.withLock {
            guard interactive else {
                write(text + "\n")
                return
            }
            write(Self.clearLine + text + "\n" + (current ?? ""))
        }
    }

    /// Ends the live line: on a terminal it stays as it is; in a log its last state is written if the
    /// interval held it back.
    public func finish() {
        lock.withLock {
            if interactive {
                if current != nil { write("\n") }
            } else if let current, !currentWritten {
                write(current + "\n")
                currentWritten = true
            }
            current = nil
        }
    }
}
