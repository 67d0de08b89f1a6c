import Foundation
import Tensors

/// All the tensors of a checkpoint directory: `model.safetensors`, or `model.safetensors.index.json` + shards
/// (only the shards actually named are opened), or if neither exists, all `*.safetensors` files in the directory.
///
/// Opening maps the files and validates their headers; no tensor data is read until `tensor(_:shape:)`.
/// Immutable after `init`, so loads may run on several threads at once.
public final class CheckpointWeights: @unchecked Sendable {
    public static let singleFileName = "model.safetensors"
    public static let indexFileName = "model.safetensors.index.json"

    public let directory: URL
    /// The opened files, in the order they were found.
    public let files: [SafetensorsFile]
    /// Every tensor name, sorted.
    public let names: [String]

    private struct Location {
        let file: SafetensorsFile
        let entry: SafetensorsEntry
    }

    private let locations: [String: Location]

    public init(directory: URL) throws {
        self.directory = directory
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        guard fm.fileExists(atPath: directory.path, isDirectory: &isDirectory) else {
            throw CheckpointError(
                .notFound,
                "checkpoint directory \(directory.path) does not exist: pass the folder that holds \(Self.singleFileName) or \(Self.indexFileName)"
            )
        }
        guard isDirectory.boolValue else {
            throw CheckpointError(
                .notFound,
                "\(directory.path) is a file, not a checkpoint directory: pass the folder that holds it"
            )
        }

        let single = directory.appendingPathComponent(Self.singleFileName)
        let index = directory.appendingPathComponent(Self.indexFileName)
        var locations: [String: Location] = [:]
        if fm.fileExists(atPath: single.path) {
            let file = try SafetensorsFile(url: single)
            files = [file]
            for (name, entry) in file.entries { locations[name] = Location(file: file, entry: entry) }
        } else if fm.fileExists(atPath: index.path) {
            (files, locations) = try Self.openSharded(index: index, directory: directory)
        } else {
            (files, locations) = try Self.openLoose(directory: directory)
        }
        self.locations = locations
        names = locations.keys.sorted()
    }

    // MARK: - Lookup

    public func contains(_ name: String) -> Bool { locations[name] != nil }

    public func shape(of name: String) -> [Int]? { locations[name]?.entry.shape }

    /// The header entry of `name` (dtype, shape, byte range) and the file that holds it.
    public func entry(_ name: String) -> (entry: SafetensorsEntry, file: URL)? {
        locations[name].map { ($0.entry, $0.file.url) }
    }

    /// Loads `name` and checks it has `shape`; errors name the tensor, its file, the found and the expected shape.
    public func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        try tensor(anyOf: [name], shape: shape)
    }

    /// The first of `candidates` that exists (for checkpoint name layouts that differ only in prefix); the error lists every candidate tried.
    public func tensor(anyOf candidates: [String], shape: [Int]) throws -> Tensor {
        guard let name = candidates.first(where: { locations[$0] != nil }), let location = locations[name] else {
            throw missing(candidates)
        }
        guard location.entry.shape == shape else {
            throw CheckpointError(
                .shapeMismatch,
                "tensor '\(name)' in \(location.file.url.lastPathComponent) has shape \(location.entry.shape) but \(shape) was expected: the checkpoint does not match its config"
            )
        }
        return try location.file.tensor(name)
    }

    /// The first prefix in `prefixes` under which some tensor exists (e.g. ["vision_tower.vision_model.", "model.vision_tower.vision_model.", "model.vision_tower.", "vision_tower."]); nil if none.
    public func firstPrefix(among prefixes: [String]) -> String? {
        prefixes.first { prefix in
            // `names` is sorted, so the first name not below `prefix` is the only one to check.
            var low = 0
            var high = names.count
            while low < high {
                let mid = (low + high) / 2
                if names[mid] < prefix { low = mid + 1 } else { high = mid }
            }
            return low < names.count && names[low].hasPrefix(prefix)
        }
    }

    // MARK: - Errors

    private func missing(_ candidates: [String]) -> CheckpointError {
        let tried = candidates.map { "'\($0)'" }.joined(separator: ", ")
        let what = candidates.count == 1 ? "tensor \(tried) is not" : "none of the tensors \(tried) is"
        // Names that share the last two dot-separated components usually show the layout that was meant.
        let tails = Set(candidates.map { $0.split(separator: ".").suffix(2).joined(separator: ".") })
        let similar = names.filter { name in tails.contains { !$0.isEmpty && name.hasSuffix($0) } }.prefix(3)
        let hint = similar.isEmpty
            ? "check the name layout of its \(names.count) tensors"
            : "similar names there: \(similar.map { "'\($0)'" }.joined(separator: ", "))"
        return CheckpointError(.missingTensor, "\(what) in checkpoint \(directory.path): \(hint)")
    }

    // MARK: - Layouts

    /// `model.safetensors.index.json`: a `weight_map` from tensor name to shard file name.
    private static func openSharded(
        index: URL, directory: URL
    ) throws -> ([SafetensorsFile], [String: Location]) {
        let data: Data
        do {
            data = try Data(contentsOf: index)
        } catch {
            throw CheckpointError(.io, "cannot read \(index.path): \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) else {
            throw CheckpointError(.malformed, "\(index.path) is not valid JSON: download it again")
        }
        guard let root = object as? [String: Any], let rawMap = root["weight_map"] as? [String: Any] else {
            throw CheckpointError(
                .malformed,
                "\(index.path) has no \"weight_map\" object from tensor names to shard files: download it again"
            )
        }
        var weightMap: [String: String] = [:]
        for (name, value) in rawMap {
            guard let shard = value as? String, !shard.isEmpty else {
                throw CheckpointError(
                    .malformed,
                    "\(index.path) maps tensor '\(name)' to \(value), not a shard file name: download it again"
                )
            }
            weightMap[name] = shard
        }

        // Open each shard the index names once, in sorted order; a missing shard is named with a tensor it holds.
        var shardFiles: [String: SafetensorsFile] = [:]
        var files: [SafetensorsFile] = []
        let byShard = Dictionary(grouping: weightMap.keys, by: { weightMap[$0]! })
        for shard in byShard.keys.sorted() {
            let url = directory.appendingPathComponent(shard)
            guard FileManager.default.fileExists(atPath: url.path) else {
                let held = byShard[shard]!.sorted()
                let more = held.count > 1 ? " and \(held.count - 1) more" : ""
                throw CheckpointError(
                    .notFound,
                    "\(index.path) names shard \(shard) (for '\(held[0])'\(more)), which is not in \(directory.path): download every shard the index lists"
                )
            }
            let file = try SafetensorsFile(url: url)
            shardFiles[shard] = file
            files.append(file)
        }

        var locations: [String: Location] = [:]
        locations.reserveCapacity(weightMap.count)
        for (name, shard) in weightMap {
            let file = shardFiles[shard]!
            guard let entry = file.entries[name] else {
                throw CheckpointError(
                    .missingTensor,
                    "\(index.path) maps tensor '\(name)' to \(shard), but that shard has no such tensor: the index and the shards do not match (download them again)"
                )
            }
            locations[name] = Location(file: file, entry: entry)
        }
        return (files, locations)
    }

    /// Neither a single file nor an index: every `*.safetensors` in the directory, sorted by name.
    private static func openLoose(directory: URL) throws -> ([SafetensorsFile], [String: Location]) {
        let contents: [String]
        do {
            contents = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw CheckpointError(.io, "cannot list \(directory.path): \(error.localizedDescription)")
        }
        let shardNames = contents.filter { $0.hasSuffix(".safetensors") && !$0.hasPrefix(".") }.sorted()
        guard !shardNames.isEmpty else {
            throw CheckpointError(
                .noWeights,
                "no safetensors in \(directory.path): expected \(singleFileName), \(indexFileName) with its shards, or *.safetensors files"
            )
        }
        var files: [SafetensorsFile] = []
        var locations: [String: Location] = [:]
        for shard in shardNames {
            let file = try SafetensorsFile(url: directory.appendingPathComponent(shard))
            files.append(file)
            for (name, entry) in file.entries {
                if let other = locations[name] {
                    throw CheckpointError(
                        .duplicateTensor,
                        "tensor '\(name)' is in both \(other.file.url.lastPathComponent) and \(shard) in \(directory.path): remove the extra file"
                    )
                }
                locations[name] = Location(file: file, entry: entry)
            }
        }
        return (files, locations)
    }
}
