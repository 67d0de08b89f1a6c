import ArgumentParser
import Foundation
import Models
import Reports

struct ReportCmd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Merge runs into the FOCUS paper's Table 10 form, with the efficiency ratio and an accuracy-vs-FPs plot.",
        discussion: """
            Reads each RUN's results.jsonl (and manifest.json for the method's setting and the benchmark), \
            prints the table as Markdown, and writes OUT/report.md, OUT/report.csv (one line per run and \
            category), and per benchmark OUT/accuracy-vs-fps.svg and .png (one file pair per benchmark, \
            suffixed with its number when there are several).
            """)

    @Argument(help: "Run folders (any methods, settings and benchmarks).")
    var runs: [String]

    @Option(name: .long, help: "Folder for report.md, report.csv and the plots.")
    var out: String = "out/report"

    func run() throws {
        guard !runs.isEmpty else { throw ValidationError("give at least one run folder") }
        let loaded = try runs.map { try ReportRun(directory: URL(fileURLWithPath: $0)) }
        let report = Report(runs: loaded)
        let dir = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try Data(report.markdown.utf8).write(to: dir.appendingPathComponent("report.md"))
        try Data(report.csv.utf8).write(to: dir.appendingPathComponent("report.csv"))
        let benchmarks = report.benchmarks
        for (i, benchmark) in benchmarks.enumerated() {
            let chart = AccuracyChart.make(report, benchmark: benchmark)
            let name = benchmarks.count == 1 ? "accuracy-vs-fps" : "accuracy-vs-fps-\(i + 1)"
            try Data(chart.svg.utf8).write(to: dir.appendingPathComponent(name + ".svg"))
            try ImageEncoder.png(chart.render()).write(to: dir.appendingPathComponent(name + ".png"))
        }
        print(report.markdown, terminator: "")
        FileHandle.standardError.write(Data("focus report: wrote \(dir.path)/report.md, report.csv and \(benchmarks.count) plot(s)\n".utf8))
    }
}
