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
    public private(set) var bytesRead: UInt64 = 0

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
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false, startedField = false, sawAny = false
        recordLine = line
        while true {
            if position >= buffer.count {
                if try !fill() {
                    if quoted {
                        throw FormatError(message: "\(url.lastPathComponent) line \(recordLine): a quoted field is not closed before the end of the file (truncated?)")
                    }
                    if !sawAny { return nil }
                    fields.append(try text(field))
                    return fields
                }
            }
            let byte = buffer[position]
            position += 1
            bytesRead += 1
            if quoted {
                if byte == UInt8(ascii: "\"") {
                    if position >= buffer.count { _ = try fill() }
                    if position < buffer.count, buffer[position] == UInt8(ascii: "\"") {
                        field.append(byte)
                        position += 1
                        bytesRead += 1
                    } else {
                        quoted = false
                    }
                } else {
                    if byte == UInt8(ascii: "\n") { line += 1 }
                    field.append(byte)
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\t"):
                fields.append(try text(field))
                field.removeAll(keepingCapacity: true)
                startedField = false
                sawAny = true
            case UInt8(ascii: "\n"):
                line += 1
                if !sawAny && field.isEmpty {
                    recordLine = line
                    continue
                }
                if field.last == UInt8(ascii: "\r") { field.removeLast() }
                fields.append(try text(field))
                return fields
            case UInt8(ascii: "\"") where !startedField:
                quoted = true
                startedField = true
                sawAny = true
            default:
                field.append(byte)
                startedField = true
                sawAny = true
            }
        }
    }

    private func text(_ bytes: [UInt8]) throws -> String {
        guard let s = String(validating: bytes, as: UTF8.self) else {
            throw FormatError(message: "\(url.lastPathComponent) line \(recordLine): a field is not valid UTF-8")
        }
        return s
    }
}
