// Output: directories, whole-file writes and a worker pool, with failures turned into `SynthError`s
// that name the path.
import Foundation

enum Output {
    /// Creates `directory` (and its parents) or explains why it cannot be.
    static func makeDirectory(_ directory: URL) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else {
                throw SynthError(.output, "cannot use \(directory.path) as the output directory: it is a file")
            }
        } else {
            do {
                try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            } catch {
                throw SynthError(.output,
                    "cannot create the output directory \(directory.path) (\(obstacle(directory) ?? reason(error))); choose a writable --out")
            }
        }
        guard FileManager.default.isWritableFile(atPath: directory.path) else {
            throw SynthError(.output, "cannot write into the output directory \(directory.path); choose a writable --out")
        }
    }

    /// Why a directory cannot be created, in words: an ancestor that is a file or is not writable.
    static func obstacle(_ directory: URL) -> String? {
        var ancestor = directory.deletingLastPathComponent()
        while ancestor.path != "/" && !FileManager.default.fileExists(atPath: ancestor.path) {
            ancestor = ancestor.deletingLastPathComponent()
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) else { return nil }
        if !isDirectory.boolValue { return "\(ancestor.path) is a file, not a directory" }
        if !FileManager.default.isWritableFile(atPath: ancestor.path) { return "\(ancestor.path) is not writable" }
        return nil
    }

    static func write(_ data: Data, to url: URL) throws {
        do { try data.write(to: url) } catch {
            throw SynthError(.output, "cannot write \(url.path) (\(reason(error)))")
        }
    }

    static func write(_ text: String, to url: URL) throws { try write(Data(text.utf8), to: url) }

    static func reason(_ error: Error) -> String {
        let ns = error as NSError
        if let underlying = ns.userInfo[NSUnderlyingErrorKey] as? NSError,
           let posix = POSIXErrorCode(rawValue: Int32(underlying.code)), underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(posix.rawValue))
        }
        return ns.localizedDescription
    }

    /// Removes files of a previous run in `directory` whose names match `isOurs`, so that a folder
    /// scan (as some V*Bench loaders do) sees only this run's files.
    static func removeStale(in directory: URL, isOurs: (String) -> Bool) throws {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names where isOurs(name) {
            do { try FileManager.default.removeItem(at: directory.appendingPathComponent(name)) } catch {
                throw SynthError(.output, "cannot remove the old file \(directory.appendingPathComponent(name).path) (\(reason(error)))")
            }
        }
    }
}

/// Runs `body(i)` for every i in 0..<count on `workers` threads, each pulling the next index; the
/// first error thrown stops the others from starting new items and is rethrown.
func parallelFor(_ count: Int, workers: Int, _ body: @escaping @Sendable (Int) throws -> Void) throws {
    let state = WorkQueue(count: count)
    let threads = max(1, min(workers, count))
    if threads == 1 {
        for i in 0..<count { try body(i) }
        return
    }
    DispatchQueue.concurrentPerform(iterations: threads) { _ in
        while let i = state.next() {
            do { try body(i) } catch { state.fail(error) }
        }
    }
    if let error = state.error { throw error }
}

/// The shared counter and first error of `parallelFor`.
private final class WorkQueue: @unchecked Sendable {
    private let lock = NSLock()
    private var nextIndex = 0
    private let count: Int
    private(set) var error: Error?

    init(count: Int) { self.count = count }

    func next() -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard error == nil, nextIndex < count else { return nil }
        defer { nextIndex += 1 }
        return nextIndex
    }

    func fail(_ error: Error) {
        lock.lock(); defer { lock.unlock() }
        if self.error == nil { self.error = error }
    }
}

/// Slots filled by index from several threads (each index written once, read after all are done).
final class Slots<T>: @unchecked Sendable {
    private var items: [T?]
    private let lock = NSLock()

    init(count: Int) { items = Array(repeating: nil, count: count) }

    subscript(index: Int) -> T? {
        get { lock.lock(); defer { lock.unlock() }; return items[index] }
        set { lock.lock(); defer { lock.unlock() }; items[index] = newValue }
    }

    var all: [T] { lock.lock(); defer { lock.unlock() }; return items.map { $0! } }
}
