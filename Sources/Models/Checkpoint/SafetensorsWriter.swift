import Foundation

/// Writes `.safetensors` files, streaming one tensor at a time so that large random checkpoints
/// (benchmarks, tests of bad input) never sit in memory whole.
public enum SafetensorsWriter {
    public enum DType: String, Sendable {
        case f32 = "F32", f16 = "F16"
        var size: Int { self == .f32 ? 4 : 2 }
    }

    public struct Spec: Sendable {
        public let name: String
        public let shape: [Int]
        public let dtype: DType
        public init(_ name: String, _ shape: [Int], _ dtype: DType = .f32) {
            self.name = name
            self.shape = shape
            self.dtype = dtype
        }
        var count: Int { shape.reduce(1, *) }
    }

    /// Writes `tensors` in order; `fill` receives each tensor's name and a Float32 buffer to fill,
    /// which is then stored in the tensor's dtype.
    public static func write(to url: URL, tensors: [Spec], metadata: [String: String] = ["format": "pt"],
                             fill: (String, UnsafeMutableBufferPointer<Float>) -> Void) throws {
        var header: [String: Any] = ["__metadata__": metadata]
        var offset = 0
        for t in tensors {
            let bytes = t.count * t.dtype.size
            header[t.name] = ["dtype": t.dtype.rawValue, "shape": t.shape, "data_offsets": [offset, offset + bytes]]
            offset += bytes
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while json.count % 8 != 0 { json.append(0x20) }   // pad with spaces so the data is aligned
        guard FileManager.default.createFile(atPath: url.path, contents: nil) else {
            throw CheckpointError(message: "cannot create \(url.path)")
        }
        let handle = try FileHandle(forWritingTo: url)
        defer { try? handle.close() }
        var length = UInt64(json.count).littleEndian
        try handle.write(contentsOf: Data(bytes: &length, count: 8))
        try handle.write(contentsOf: json)
        for t in tensors {
            let values = UnsafeMutableBufferPointer<Float>.allocate(capacity: max(t.count, 1))
            defer { values.deallocate() }
            values.initialize(repeating: 0)
            fill(t.name, UnsafeMutableBufferPointer(rebasing: values[0..<t.count]))
            switch t.dtype {
            case .f32:
                try handle.write(contentsOf: Data(buffer: UnsafeBufferPointer(rebasing: values[0..<t.count])))
            case .f16:
                var halves = [UInt16](repeating: 0, count: t.count)
                for i in 0..<t.count { halves[i] = Float16(values[i]).bitPattern.littleEndian }
                try halves.withUnsafeBytes { try handle.write(contentsOf: Data($0)) }
            }
        }
    }
}
