import FocusCommandLine
import Foundation
import XCTest

/// The progress line redraws itself only on a terminal; in a log it is plain lines, throttled, and
/// the last state is never lost.
final class ProgressLineTests: XCTestCase {
    final class Sink: @unchecked Sendable {
        private let lock = NSLock()
        private var parts: [String] = []
        var text: String { lock.withLock { parts.joined() } }
        func write(_ s: String) { lock.withLock { parts.append(s) } }
    }

    func testALogGetsTheFirstAndTheLastStateAsLinesAndNoCarriageReturns() {
        let sink = Sink()
        let line = ProgressLine(interactive: false, logInterval: .seconds(3600), write: sink.write)
        line.update("[1/3]")
        line.update("[2/3]")
        line.message("node n1 joined")
        line.update("[3/3]")
        line.finish()
        XCTAssertEqual(sink.text, "[1/3]\nnode n1 joined\n[3/3]\n")
    }

    func testALogWithoutAnIntervalGetsEveryStateOnce() {
        let sink = Sink()
        let line = ProgressLine(interactive: false, logInterval: .zero, write: sink.write)
        for i in 1...3 { line.update("[\(i)/3]") }
        line.finish()
        line.finish()
        XCTAssertEqual(sink.text, "[1/3]\n[2/3]\n[3/3]\n")
    }

    func testATerminalLineIsRedrawnAndAMessageDoesNotGlueToIt() {
        let sink = Sink()
        let line = ProgressLine(interactive: true, write: sink.write)
        let clear = "\r\u{1B}[K"
        line.update("[1/2] long progress text")
        line.message("node n1 joined")
        line.update("[2/2]")
        line.finish()
        XCTAssertEqual(sink.text, clear + "[1/2] long progress text" + clear + "node n1 joined\n[1/2] long progress text"
                       + clear + "[2/2]" + "\n")
    }
}
