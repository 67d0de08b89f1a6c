import Foundation
import XCTest
import Methods
import Models
@testable import Benchmarks

/// Every loader on its fixture in the published format (written by scripts/make-benchmark-fixtures.py
/// with Python's csv, json and base64, not by focus), and the errors on malformed records.
final class BenchmarkLoaderTests: XCTestCase {
    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/benchmarks")
    var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("focus-loaders-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(at: scratch) }

    func hrbench(_ file: String, folder: String = "hrbench") -> BenchmarkSource {
        BenchmarkSource(format: .hrbench, path: Self.fixtures.appendingPathComponent("\(folder)/\(file)"),
                        images: scratch.appendingPathComponent("images"))
    }

    func testSpecsNameTheFormat() throws {
        XCTAssertEqual(try BenchmarkSource(parsing: "hrbench:/d/hr_bench_8k.tsv").format, .hrbench)
        XCTAssertEqual(try BenchmarkSource(parsing: "hrbench:/d/hr_bench_8k.tsv").path.path, "/d/hr_bench_8k.tsv")
        XCTAssertEqual(try BenchmarkSource(parsing: "mmerw:m.json", images: "/img").images?.path, "/img")
        XCTAssertEqual(try BenchmarkSource(parsing: "out/bench").format, .vstar, "a bare folder is V*Bench's layout")
        XCTAssertEqual(try BenchmarkSource(parsing: "synth:out/bench").format, .synth)
        XCTAssertThrowsError(try BenchmarkSource(parsing: "parquet:x.parquet")) { error in
            XCTAssertTrue(String(describing: error).contains("unknown format 'parquet'"), "\(error)")
        }
    }

    func testVStarFixture() throws {
        let loaded = try BenchmarkSource(format: .vstar, path: Self.fixtures.appendingPathComponent("vstar")).load()
        XCTAssertEqual(loaded.counts.map(\.category), ["direct_attributes", "relative_position"])
        XCTAssertEqual(loaded.counts.map(\.questions), [2, 1])
        XCTAssertEqual(loaded.report, "3 questions (direct_attributes 2, relative_position 1)")
        let q = loaded.questions[0]
        XCTAssertEqual(q.options, ["blue", "red", "white", "green"], "the shuffled order of test_questions.jsonl")
        XCTAssertEqual(q.label, "B")
        XCTAssertEqual(q.targets, ["umbrella"])
        XCTAssertEqual(q.boxes, [PixelBox(x: 10, y: 8, width: 12, height: 9)])
        let image = try ImageDecoder.decode(contentsOf: q.image)
        XCTAssertEqual([image.width, image.height], [64, 48])
        XCTAssertEqual(loaded.questions[2].targets, ["cup", "dog"])
        XCTAssertEqual(loaded.questions[2].boxes.count, 2)
    }

    func testHRBenchFixtureIsStreamedWithItsImagesWrittenOnce() throws {
        let source = hrbench("hr_bench_fixture.tsv")
        let loaded = try source.load()
        XCTAssertEqual(loaded.report, "8 questions (cross 4, single 4)")
        XCTAssertEqual(loaded.questions.map(\.id), (0..<8).map(String.init))
        XCTAssertEqual(loaded.questions.map { $0.label ?? "" }, ["A", "D", "C", "B", "A", "D", "C", "B"],
                       "the correct option moves A -> D -> C -> B over the cycles")
        XCTAssertEqual(loaded.questions.map { $0.groups["cycle"] ?? "" }, (0..<8).map { "cycle_\($0 % 4)" })
        let quoted = loaded.questions[4]
        XCTAssertEqual(quoted.text, "Which word is on the \"EXIT\" sign\tabove the door?\nLook closely.",
                       "a quoted field keeps its tab, newline and doubled quotes")
        XCTAssertEqual(quoted.options, ["EXIT", "ENTER", "PUSH", "PULL"])
        XCTAssertEqual(loaded.questions[5].options, ["ENTER", "PUSH", "PULL", "EXIT"])
        for q in loaded.questions {
            XCTAssertEqual(q.image.deletingLastPathComponent().lastPathComponent, "images")
            let image = try ImageDecoder.decode(contentsOf: q.image)
            XCTAssertEqual([image.width, image.height], [96, 64])
        }
        // A second load finds the images and leaves them alone.
        let first = try FileManager.default.attributesOfItem(atPath: loaded.questions[0].image.path)[.modificationDate] as? Date
        Thread.sleep(forTimeInterval: 0.02)
        _ = try source.load()
        let second = try FileManager.default.attributesOfItem(atPath: loaded.questions[0].image.path)[.modificationDate] as? Date
        XCTAssertEqual(first, second)
    }

    func testMMERealWorldFixture() throws {
        let folder = Self.fixtures.appendingPathComponent("mmerw")
        let loaded = try BenchmarkSource(format: .mmerw, path: folder.appendingPathComponent("MME_RealWorld_fixture.json"),
                                         images: folder.appendingPathComponent("images")).load()
        XCTAssertEqual(loaded.questions.count, 3)
        let q = loaded.questions[0]
        XCTAssertEqual(q.id, "Perception/Monitoring/Vehicle/0000")
        XCTAssertEqual(q.options, ["1", "2", "3", "4", "The image does not feature the cars."])
        XCTAssertEqual(q.label, "B")
        XCTAssertEqual(q.category, "Vehicle_Counting")
        XCTAssertEqual(q.groups, ["task": "Perception", "subtask": "Monitoring", "dataset": "synthetic"])
        XCTAssertEqual(loaded.questions[2].groups["task"], "Reasoning")
        XCTAssertEqual([try ImageDecoder.decode(contentsOf: q.image).width], [80])
    }

    func testMalformedRecordsNamePlaceAndFieldOrAreSkipped() throws {
        let bad = Self.fixtures.appendingPathComponent("bad")
        let cases: [(BenchmarkSource, [String])] = [
            (hrbench("hrbench_missing_field.tsv", folder: "bad"), ["line 3", "'answer'"]),
            (hrbench("hrbench_bad_base64.tsv", folder: "bad"), ["line 3", "'image'", "base64"]),
            (hrbench("hrbench_unknown_letter.tsv", folder: "bad"), ["line 3", "'answer'", "'F'"]),
            (BenchmarkSource(format: .mmerw, path: bad.appendingPathComponent("mmerw_missing_image.json"),
                             images: bad.appendingPathComponent("images")), ["record 2", "'Image'", "not_there.jpg"]),
            (BenchmarkSource(format: .mmerw, path: bad.appendingPathComponent("mmerw_unknown_letter.json"),
                             images: bad.appendingPathComponent("images")), ["record 2", "'Ground truth'", "'G'"]),
            (BenchmarkSource(format: .mmerw, path: bad.appendingPathComponent("mmerw_missing_field.json"),
                             images: bad.appendingPathComponent("images")), ["record 2", "'Text'", "missing"]),
        ]
        for (source, fragments) in cases {
            XCTAssertThrowsError(try source.load(), source.description) { error in
                let m = String(describing: error)
                for f in fragments { XCTAssertTrue(m.contains(f), "'\(f)' not in: \(m)") }
            }
            let loaded = try source.load(skipBad: true)
            XCTAssertEqual(loaded.questions.count, 1, source.description)
            XCTAssertEqual(loaded.skipped.count, 1)
            XCTAssertTrue(loaded.skipped[0].place.contains(fragments[0]), "\(loaded.skipped)")
            XCTAssertTrue(loaded.report.hasSuffix("1 record skipped"), loaded.report)
        }
        XCTAssertThrowsError(try hrbench("hrbench_missing_column.tsv", folder: "bad").load()) { error in
            let m = String(describing: error)
            XCTAssertTrue(m.contains("line 1") && m.contains("'category'"), m)
        }
    }

    func testTruncatedTSVIsAnErrorNotASilentlyShortBenchmark() throws {
        let source = Self.fixtures.appendingPathComponent("hrbench/hr_bench_fixture.tsv")
        let bytes = try Data(contentsOf: source)
        // Cut inside the quoted question of row 4 (line 6).
        let cut = bytes.range(of: Data("sign\tabove".utf8))!.lowerBound
        let truncated = scratch.appendingPathComponent("truncated.tsv")
        try bytes.prefix(cut).write(to: truncated)
        XCTAssertThrowsError(try BenchmarkSource(format: .hrbench, path: truncated, images: scratch).load()) { error in
            let m = String(describing: error)
            XCTAssertTrue(m.contains("line 6") && m.contains("not closed"), m)
        }
    }

    func testTSVReaderReadsRecordsAcrossChunkBoundaries() throws {
        let file = scratch.appendingPathComponent("t.tsv")
        try Data("a\tb\r\n\"x\"\"y\"\t\"1\n2\"\n\nlast\t\n".utf8).write(to: file)
        for chunk in [1, 2, 3, 64] {
            let reader = try TSVReader(url: file, chunkSize: chunk)
            XCTAssertEqual(try reader.next(), ["a", "b"], "chunk \(chunk)")
            XCTAssertEqual(try reader.next(), ["x\"y", "1\n2"])
            XCTAssertEqual(reader.recordLine, 2)
            XCTAssertEqual(try reader.next(), ["last", ""])
            XCTAssertEqual(reader.recordLine, 5)
            XCTAssertNil(try reader.next())
        }
    }

    func testBase64MatchesFoundation() {
        var rng = SystemRandomNumberGenerator()
        for length in [0, 1, 2, 3, 4, 5, 100, 1001] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            let encoded = Array(Data(bytes).base64EncodedString().utf8)
            XCTAssertEqual(Base64.decode(encoded), bytes, "length \(length)")
            XCTAssertEqual(Base64.decodedCount(encoded), length)
        }
        XCTAssertNil(Base64.decode(Array("not base64 at all!".utf8)))
        XCTAssertNil(Base64.decode(Array("QUJD=RA==".utf8)), "data after padding")
        XCTAssertNil(Base64.decode(Array("QUJDR".utf8)), "a lone sextet")
    }
}
