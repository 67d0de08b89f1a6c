import ArgumentParser
import Benchmarks
import FocusCommandLine
import Foundation
import Tensors

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a benchmark the way a run would, and report what it holds (before a long run, or to find a bad record).",
        discussion: "Prints the questions per category and every skipped record (with --skip-bad); exits non-zero on the first malformed record otherwise. HR-Bench images are written to --images as a run would.")

    @OptionGroup var benchmark: BenchmarkOptions

    func run() throws {
        let source = try benchmark.source
        let clock = ContinuousClock(), start = clock.now
        let loaded = try source.load(skipBad: benchmark.skipBad)
        let elapsed = clock.now - start
        print("\(source): \(loaded.report)")
        for (category, n) in loaded.counts { print("  \(category): \(n)") }
        for s in loaded.skipped { print("skipped \(s)") }
        if let q = loaded.questions.first {
            print("first question: \(q.id) [\(q.category)] \(q.text.prefix(80)) options \(q.options.count), answer \(q.label ?? "-"), image \(q.image.path)")
        }
        let seconds = elapsed.seconds
        FileHandle.standardError.write(Data(String(format: "read in %.1f s\n", seconds).utf8))
    }
}
