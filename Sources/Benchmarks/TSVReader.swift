import Foundation

/// Reads a tab-separated file one record at a time, as pandas writes it (`to_csv(sep="\t")`, which
/// is how VLMEvalKit publishes HR-Bench and MME-RealWorld): a field holding a tab, a newline or a
/// quote is wrapped in double quotes, with inner quotes doubled. A record may therefore span lines.
///
/// Memory is bounded by the longest record (an HR-Bench 8K row carries a base64 JPEG of ~10 MB), not
/// by the file (4.6 GB): the file is read in fixed chunks.
public final class TSVReader {
    public struct FormatError: Error, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    public let url: URL
    /// The line on which the record last returned by `next()` started (1-based).
    public private(set) var recordLine = 0
    /// Bytes consumed so far (for progress).
    public var bytesRead: UInt64 { dropped + UInt64(position) }
    private var dropped: UInt64 = 0

    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private var position = 0
    private var atEnd = false
    private var line = 1
    private let chunkSize: Int

    public init(url: URL, chunkSize: Int = 4 << 20) throws {
        self.url = url
        self.chunkSize = chunkSize
        do { handle = try FileHandle(forReadingFrom: url) } catch {
            throw FormatError(message: "\(url.path): cannot open (\(error.localizedDescription))")
        }
    }

    deinit { try? handle.close() }

    /// Refills the buffer, keeping the unread bytes. Returns false at the end of the file.
    private func fill() throws -> Bool {
        if atEnd { return false }
        if position > 0 {
            buffer.removeFirst(position)
            dropped += UInt64(position)
            position = 0
        }
        let data: Data?
        do { data = try handle.read(upToCount: chunkSize) } catch {
            throw FormatError(message: "\(url.path): read failed at byte \(bytesRead) (\(error.localizedDescription))")
        }
        guard let data, !data.isEmpty else {
            atEnd = true
            return false
        }
        buffer.append(contentsOf: data)
        return true
    }

    /// The next record's fields (UTF-8 decoded), or nil at the end of the file. Blank lines are skipped.
    public func next() throws -> [String]? {
        guard let raw = try nextRaw() else { return nil }
        return try raw.map(text)
    }

    /// The next record's fields as bytes (a base64 image need not become a String to be decoded).
    public func nextRaw() throws -> [[UInt8]]? {
        let tab = UInt8(ascii: "\t"), newline = UInt8(ascii: "\n"), quote = UInt8(ascii: "\"")
        var fields: [[UInt8]] = []
        var field: [UInt8] = []
        var quoted = false, startedField = false, sawAny = false
        recordLine = line
        while true {
            if position >= buffer.count, try !fill() {
                if quoted {
                    throw FormatError(message: "\(url.lastPathComponent) line \(recordLine): a quoted field is not closed before the end of the file (truncated?)")
                }
                if !sawAny { return nil }
                fields.append(field)
                return fields
            }
            if quoted {
                // Everything up to the next quote belongs to the field.
                let (end, newlines) = buffer.withUnsafeBufferPointer { b -> (Int, Int) in
                    var i = position, n = 0
                    while i < b.count, b[i] != quote { if b[i] == newline { n += 1 }; i += 1 }
                    return (i, n)
                }
                field.append(contentsOf: buffer[position..<end])
                line += newlines
                position = end
                guard position < buffer.count else { continue }
                position += 1   // the quote
                if position >= buffer.count { _ = try fill() }
                if position < buffer.count, buffer[position] == quote {
                    field.append(quote)   // a doubled quote
                    position += 1
                } else {
                    quoted = false
                }
                continue
            }
            if !startedField, buffer[position] == quote {
                quoted = true
                startedField = true
                sawAny = true
                position += 1
                continue
            }
            // An unquoted field runs to the next tab or newline.
            let end = buffer.withUnsafeBufferPointer { b -> Int in
                var i = position
                while i < b.count, b[i] != tab, b[i] != newline { i += 1 }
                return i
            }
            if end > position {
                field.append(contentsOf: buffer[position..<end])
                startedField = true
                sawAny = true
            }
            position = end
            guard position < buffer.count else { continue }
            let separator = buffer[position]
            position += 1
            if separator == tab {
                fields.append(field)
                field.removeAll(keepingCapacity: true)
                startedField = false
                sawAny = true
                continue
            }
            line += 1
            if !sawAny {
                recordLine = line
                continue
            }
            if field.last == UInt8(ascii: "\r") { field.removeLast() }
            fields.append(field)
            return fields
        }
    }

    func text(_ bytes: [UInt8]) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(message: "\(url.lastPathComponent) line \(recordLine): a field is not valid UTF-8")
        }
        return s
    }
}
