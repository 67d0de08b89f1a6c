import Foundation
import Tensors

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Types

/// The dtypes focus converts to Float32. Other dtypes are read from the header (so that their byte
/// ranges are checked) but rejected when loaded.
public enum SafetensorsDType: String, Sendable, CaseIterable {
    case f32 = "F32"
    case f16 = "F16"
    case bf16 = "BF16"

    /// Bytes per element of every dtype the safetensors format defines with a whole-byte size, so that
    /// the size check covers tensors focus does not load. Sub-byte types (F4, F6_*) are not listed:
    /// their sizes are not checked.
    static let elementSizes: [String: Int] = [
        "BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1, "F8_E8M0": 1,
        "I16": 2, "U16": 2, "F16": 2, "BF16": 2,
        "I32": 4, "U32": 4, "F32": 4,
        "I64": 8, "U64": 8, "F64": 8, "C64": 8,
    ]
}

/// One tensor as the header describes it.
public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    /// The dtype string exactly as in the header ("F32", "BF16", "I64", …).
    public let dtype: String
    public let shape: [Int]
    /// The tensor's bytes as offsets into the whole file (the header's `data_offsets` plus the
    /// 8-byte length prefix and the header), so they index the memory map directly.
    public let byteRange: Range<Int>
}

// MARK: - File

/// A memory-mapped .safetensors file (POSIX open/fstat/mmap, PROT_READ, MAP_PRIVATE; unmapped in deinit).
///
/// Layout: an 8-byte little-endian header length N, N bytes of JSON header, then the data area.
/// Everything is validated in `init`, so a file that opens is consistent: every tensor's bytes lie
/// inside the file and match its dtype and shape. Immutable after `init`: `tensor(_:)` may be called
/// from several threads at once.
public final class SafetensorsFile: @unchecked Sendable {
    /// Headers above this are refused before parsing (the limit of the reference Rust implementation).
    public static let maxHeaderBytes = 100_000_000

    public let url: URL
    public let entries: [String: SafetensorsEntry]
    public let metadata: [String: String]

    private let base: UnsafeRawPointer  // the whole file, PROT_READ
    private let mappedBytes: Int

    public init(url: URL) throws {
        self.url = url
        let (base, size) = try Self.map(url)
        do {
            (entries, metadata) = try Self.parseHeader(base: base, fileSize: size, path: url.path)
        } catch {
            munmap(UnsafeMutableRawPointer(mutating: base), size)
            throw error
        }
        self.base = base
        self.mappedBytes = size
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), mappedBytes)
    }

    /// Float32 tensor; F16/BF16 converted; F32 returned as a zero-copy view of the map when 4-byte
    /// aligned, else copied.
    ///
    /// A zero-copy view is read-only memory (the map is PROT_READ): writing through its pointer faults.
    /// Copy a tensor before changing it in place. The view keeps this file mapped while it lives.
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entries[name] else {
            throw CheckpointError(
                .missingTensor,
                "tensor '\(name)' is not in \(url.lastPathComponent): check the name against the file's \(entries.count) tensors"
            )
        }
        guard let dtype = SafetensorsDType(rawValue: entry.dtype) else {
            throw CheckpointError(
                .unsupportedDType,
                "tensor '\(name)' in \(url.lastPathComponent) has dtype \(entry.dtype); focus loads F32, F16 and BF16"
            )
        }
        let count = entry.shape.reduce(1, *)  // validated in init: no overflow, matches the byte range
        let source = base + entry.byteRange.lowerBound
        switch dtype {
        case .f32:
            if Int(bitPattern: source) % MemoryLayout<Float>.alignment == 0, count > 0 {
                let floats = UnsafeMutablePointer(mutating: source.assumingMemoryBound(to: Float.self))
                return Tensor(shape: entry.shape, storage: TensorStorage(borrowing: floats, count: count, owner: self))
            }
            let storage = TensorStorage(count: count)
            UnsafeMutableRawPointer(storage.base).copyMemory(from: source, byteCount: count * 4)
            return Tensor(shape: entry.shape, storage: storage)
        case .f16:
            let storage = TensorStorage(count: count)
            convertF16ToF32(from: source, to: storage.base, count: count)
            release(entry.byteRange)
            return Tensor(shape: entry.shape, storage: storage)
        case .bf16:
            let storage = TensorStorage(count: count)
            convertBF16ToF32(from: source, to: storage.base, count: count)
            release(entry.byteRange)
            return Tensor(shape: entry.shape, storage: storage)
        }
    }

    /// Drops the mapped pages wholly inside `range` from this process's resident set once a tensor
    /// has been converted out of them: otherwise a 16-bit checkpoint's file pages stay resident beside
    /// their Float32 copies until the file is unmapped, and a node's peak memory is weights × 1.5. The
    /// map is private and never written, so a later read simply pages the bytes in again.
    private func release(_ range: Range<Int>) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (range.lowerBound + page - 1) / page * page, end = range.upperBound / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, MADV_DONTNEED)
    }

    // MARK: - Mapping

    private static func map(_ url: URL) throws -> (UnsafeRawPointer, Int) {
        let path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT {
                throw CheckpointError(.notFound, "safetensors file \(path) does not exist: check the path")
            }
            throw CheckpointError(.io, "cannot open \(path): \(String(cString: strerror(code)))")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw CheckpointError(.io, "cannot read the size of \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw CheckpointError(.io, "\(path) is not a regular file: pass a .safetensors file")
        }
        let size = Int(info.st_size)
        guard size >= 8 else {
            throw CheckpointError(
                .truncated,
                "\(path) has only \(size) bytes, fewer than the 8-byte header length: the file is truncated or not a safetensors file"
            )
        }
        guard let raw = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0),
              raw != UnsafeMutableRawPointer(bitPattern: -1)
        else {
            throw CheckpointError(.io, "cannot map \(path) (\(size) bytes): \(String(cString: strerror(errno)))")
        }
        return (UnsafeRawPointer(raw), size)
    }

    // MARK: - Header

    private static func parseHeader(
        base: UnsafeRawPointer, fileSize: Int, path: String
    ) throws -> ([String: SafetensorsEntry], [String: String]) {
        let headerLength = UInt64(littleEndian: base.loadUnaligned(as: UInt64.self))
        let available = fileSize - 8
        guard headerLength <= UInt64(maxHeaderBytes) else {
            throw CheckpointError(
                .malformed,
                "\(path): header says \(headerLength) bytes, more than the \(maxHeaderBytes)-byte limit: the file is corrupt or not a safetensors file"
            )
        }
        guard headerLength <= UInt64(available) else {
            throw CheckpointError(
                .truncated,
                "\(path): header says \(headerLength) bytes but the file has only \(available) after the length prefix: the file is truncated or not a safetensors file"
            )
        }
        let headerBytes = Int(headerLength)
        let dataStart = 8 + headerBytes
        let dataSize = fileSize - dataStart

        let json = Data(bytes: base + 8, count: headerBytes)
        guard let parsed = try? JSONSerialization.jsonObject(with: json) else {
            throw CheckpointError(
                .malformed,
                "\(path): the \(headerBytes)-byte header is not valid JSON: the file is corrupt or not a safetensors file"
            )
        }
        guard let header = parsed as? [String: Any] else {
            throw CheckpointError(
                .malformed,
                "\(path): the header is not a JSON object of tensors: the file is corrupt or not a safetensors file"
            )
        }

        var metadata: [String: String] = [:]
        var entries: [String: SafetensorsEntry] = [:]
        entries.reserveCapacity(header.count)
        for (name, value) in header {
            if name == "__metadata__" {
                guard let map = value as? [String: Any] else {
                    throw CheckpointError(.malformed, "\(path): __metadata__ is not a JSON object: the file is corrupt")
                }
                for (key, item) in map {
                    guard let text = item as? String else {
                        throw CheckpointError(
                            .malformed,
                            "\(path): __metadata__ field '\(key)' is not a string (safetensors metadata maps strings to strings): the file is corrupt"
                        )
                    }
                    metadata[key] = text
                }
                continue
            }
            entries[name] = try parseEntry(name: name, value: value, dataStart: dataStart, dataSize: dataSize, path: path)
        }
        return (entries, metadata)
    }

    private static func parseEntry(
        name: String, value: Any, dataStart: Int, dataSize: Int, path: String
    ) throws -> SafetensorsEntry {
        func malformed(_ problem: String) -> CheckpointError {
            CheckpointError(.malformed, "\(path): tensor '\(name)' \(problem): the file is corrupt")
        }
        guard let fields = value as? [String: Any] else { throw malformed("is not a JSON object") }
        guard let dtype = fields["dtype"] as? String else { throw malformed("has no string field \"dtype\"") }
        guard let shapeValues = fields["shape"] as? [Any] else { throw malformed("has no array field \"shape\"") }
        guard let offsetValues = fields["data_offsets"] as? [Any] else {
            throw malformed("has no array field \"data_offsets\"")
        }

        var shape: [Int] = []
        shape.reserveCapacity(shapeValues.count)
        for item in shapeValues {
            guard let dim = jsonInteger(item), dim >= 0 else {
                throw malformed("has shape \(jsonList(shapeValues)) with an entry that is not a non-negative integer")
            }
            shape.append(dim)
        }
        var count = 1
        for dim in shape {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            guard !overflow else { throw malformed("has shape \(shape), whose element count overflows") }
            count = product
        }

        guard offsetValues.count == 2, let begin = jsonInteger(offsetValues[0]), let end = jsonInteger(offsetValues[1]),
              begin >= 0, end >= 0
        else {
            throw malformed("has data_offsets \(jsonList(offsetValues)), not two non-negative integers")
        }
        guard begin <= end else { throw malformed("has data_offsets [\(begin), \(end)] that end before they begin") }
        if let elementSize = SafetensorsDType.elementSizes[dtype] {
            let (bytes, overflow) = count.multipliedReportingOverflow(by: elementSize)
            guard !overflow, bytes == end - begin else {
                throw malformed(
                    "has \(end - begin) data bytes but dtype \(dtype) and shape \(shape) need \(overflow ? "more than Int.max" : String(bytes))"
                )
            }
        }
        guard end <= dataSize else {
            throw CheckpointError(
                .truncated,
                "\(path): tensor '\(name)' needs data bytes [\(begin), \(end)) but the file has only \(dataSize) after the header: the file is truncated (download it again)"
            )
        }
        return SafetensorsEntry(name: name, dtype: dtype, shape: shape, byteRange: (dataStart + begin)..<(dataStart + end))
    }

    /// A JSON array as written in the header, for messages: `[-1, 4]`.
    private static func jsonList(_ values: [Any]) -> String {
        "[" + values.map { "\($0)" }.joined(separator: ", ") + "]"
    }

    /// An integral JSON number as `Int`; nil for fractions, strings and other values. (`NSNumber`
    /// bridging converts only exact values; it cannot tell `true` from 1, which is harmless here.)
    private static func jsonInteger(_ value: Any) -> Int? {
        value as? Int
    }
}
