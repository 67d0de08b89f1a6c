import Foundation

// The `model` stage: byte-pair encoding of one pre-tokenized word, as `tokenizers`' `models/bpe`
// does it. The word starts as one symbol per Unicode scalar (or per byte token with
// `byte_fallback`); the pair with the lowest merge rank is merged first, leftmost on ties, until no
// adjacent pair has a merge. Symbols are a linked list over arrays and candidate merges sit in a
// min-heap, skipping entries that went stale, as `word.rs` does.

/// A BPE vocabulary with its merge table, read from `tokenizer.json`'s `model`.
final class BPEModel: Sendable {
    /// Token text -> id, and back.
    let vocab: [ExactString: Int]
    let tokens: [Int: String]

    /// (left id, right id) packed into one key -> (rank, merged id).
    private let merges: [UInt64: Merge]
    /// Ids of single-scalar tokens by scalar value; the fast path when there is no subword prefix
    /// or suffix.
    private let scalarIDs: [UInt32: Int]
    /// Ids of `<0x00>`…`<0xFF>` for `byte_fallback`.
    private let byteIDs: [Int?]

    private let unkToken: String?
    private let fuseUnk: Bool
    private let byteFallback: Bool
    private let ignoreMerges: Bool
    private let continuingSubwordPrefix: String?
    private let endOfWordSuffix: String?
    private let cache = WordCache(capacity: 10_000)

    struct Merge {
        let rank: Int32
        let newID: Int32
    }

    init(field: JSONField) throws {
        if let type = field.optional("type") {
            let name = try type.string()
            guard name == "BPE" else {
                throw type.error("'\(name)' is not supported; focus reads BPE tokenizers")
            }
        }
        unkToken = try field.optionalString("unk_token")
        fuseUnk = try field.bool("fuse_unk", default: false)
        byteFallback = try field.bool("byte_fallback", default: false)
        ignoreMerges = try field.bool("ignore_merges", default: false)
        continuingSubwordPrefix = try field.optionalString("continuing_subword_prefix").flatMap { $0.isEmpty ? nil : $0 }
        endOfWordSuffix = try field.optionalString("end_of_word_suffix").flatMap { $0.isEmpty ? nil : $0 }

        // Vocabulary.
        let vocabField = try field.required("vocab")
        guard case .object(let entries) = vocabField.value else { throw vocabField.error("must be an object") }
        var vocab = [ExactString: Int](minimumCapacity: entries.count)
        var tokens = [Int: String](minimumCapacity: entries.count)
        for entry in entries {
            let token = entry.key
            guard case .number(_, let id?) = entry.value, id >= 0, id <= Int(Int32.max) else {
                throw vocabField.error("maps '\(token)' to something that is not a token id")
            }
            vocab[ExactString(token)] = id
            tokens[id] = token
        }
        self.vocab = vocab
        self.tokens = tokens

        var scalarIDs = [UInt32: Int]()
        for (token, id) in vocab {
            var scalars = token.string.unicodeScalars.makeIterator()
            if let first = scalars.next(), scalars.next() == nil { scalarIDs[first.value] = id }
        }
        self.scalarIDs = scalarIDs
        byteIDs = (0..<256).map { vocab[ExactString(String(format: "<0x%02X>", $0))] }

        // Merges: "a b" strings (older files) or ["a", "b"] pairs; rank is the position.
        let mergesField = try field.required("merges")
        let prefix = continuingSubwordPrefix ?? ""
        var merges = [UInt64: Merge]()
        var rank: Int32 = 0
        for entry in try mergesField.array() {
            let left: String
            let right: String
            switch entry.value {
            case .string(let line):
                if line.hasPrefix("#version") { continue }
                // Split on scalars: as Characters, " " followed by a combining mark would be one unit.
                let parts = line.unicodeScalars.split(separator: " ", omittingEmptySubsequences: false)
                guard parts.count == 2 else { throw entry.error("must be two tokens separated by one space") }
                left = String(String.UnicodeScalarView(parts[0]))
                right = String(String.UnicodeScalarView(parts[1]))
            case .array(let pair):
                guard pair.count == 2, case .string(let a) = pair[0], case .string(let b) = pair[1] else {
                    throw entry.error("must be \"a b\" or [\"a\", \"b\"]")
                }
                left = a
                right = b
            default:
                throw entry.error("must be \"a b\" or [\"a\", \"b\"]")
            }
            guard let leftID = vocab[ExactString(left)] else { throw entry.error("names '\(left)', which is not in model.vocab") }
            guard let rightID = vocab[ExactString(right)] else { throw entry.error("names '\(right)', which is not in model.vocab") }
            var joined = left
            joined.unicodeScalars.append(contentsOf: right.unicodeScalars.dropFirst(
                !prefix.isEmpty && right.unicodeScalars.starts(with: prefix.unicodeScalars) ? prefix.unicodeScalars.count : 0))
            guard let newID = vocab[ExactString(joined)] else { throw entry.error("makes '\(joined)', which is not in model.vocab") }
            // A repeated pair keeps its last rank, as the Rust map does.
            merges[Self.key(leftID, rightID)] = Merge(rank: rank, newID: Int32(newID))
            rank += 1
        }
        self.merges = merges
    }

    @inline(__always)
    private static func key(_ left: Int, _ right: Int) -> UInt64 {
        UInt64(UInt32(truncatingIfNeeded: left)) << 32 | UInt64(UInt32(truncatingIfNeeded: right))
    }

    // MARK: - Tokenizing

    /// Appends the ids of one pre-tokenized word.
    func tokenize(_ word: [Unicode.Scalar], into ids: inout [Int]) {
        if word.isEmpty { return }
        if ignoreMerges, let id = vocab[ExactString(String(scalars: word))] {
            ids.append(id)
            return
        }
        guard word.count < 64 else {
            ids.append(contentsOf: mergeWord(word))
            return
        }
        if let cached = cache.get(word) {
            ids.append(contentsOf: cached)
            return
        }
        let result = mergeWord(word)
        cache.put(word, result)
        ids.append(contentsOf: result)
    }

    private func initialID(of word: [Unicode.Scalar], at index: Int) -> Int? {
        if continuingSubwordPrefix == nil && endOfWordSuffix == nil {
            return scalarIDs[word[index].value]
        }
        return vocab[ExactString(symbolText(of: word, at: index))]
    }

    private func symbolText(of word: [Unicode.Scalar], at index: Int) -> String {
        var text = String(word[index])
        if index > 0, let prefix = continuingSubwordPrefix { text = prefix + text }
        if index == word.count - 1, let suffix = endOfWordSuffix { text.unicodeScalars.append(contentsOf: suffix.unicodeScalars) }
        return text
    }

    /// `BPE::merge_word`: initial symbols (with byte fallback and unknown-token fusing), then merges.
    private func mergeWord(_ word: [Unicode.Scalar]) -> [Int] {
        var symbols: [Int] = []
        symbols.reserveCapacity(word.count)
        var pendingUnk = false
        let unkID = unkToken.flatMap { vocab[ExactString($0)] }
        for index in word.indices {
            if let id = initialID(of: word, at: index) {
                if pendingUnk, let unkID {
                    symbols.append(unkID)
                    pendingUnk = false
                }
                symbols.append(id)
                continue
            }
            if byteFallback {
                var bytes: [Int] = []
                var complete = true
                let text = symbolText(of: word, at: index)
                for byte in text.utf8 {
                    guard let id = byteIDs[Int(byte)] else { complete = false; break }
                    bytes.append(id)
                }
                // Byte tokens do not flush a pending unknown token (the Rust loop `continue`s).
                if complete {
                    symbols.append(contentsOf: bytes)
                    continue
                }
            }
            if let unkID {
                if pendingUnk && !fuseUnk { symbols.append(unkID) }
                pendingUnk = true
            }
        }
        if pendingUnk, let unkID { symbols.append(unkID) }
        return merge(symbols)
    }

    /// Applies merges lowest rank first (leftmost on ties) over a linked list of symbols.
    private func merge(_ initial: [Int]) -> [Int] {
        let count = initial.count
        if count < 2 { return initial }
        var ids = initial  // [symbols]
        var next = Array(1...count)  // [symbols]; count means "none"
        var prev = Array(-1..<(count - 1))  // [symbols]; -1 means "none"
        var alive = [Bool](repeating: true, count: count)  // [symbols]
        var heap = MergeHeap()
        heap.reserve(count)
        for position in 0..<(count - 1) {
            if let merge = merges[Self.key(ids[position], ids[position + 1])] {
                heap.push(MergeHeap.Entry(rank: merge.rank, position: Int32(position), newID: merge.newID))
            }
        }
        while let top = heap.pop() {
            let position = Int(top.position)
            guard alive[position] else { continue }
            let right = next[position]
            guard right < count else { continue }
            // Stale entry: one side has changed since it was queued.
            guard let merge = merges[Self.key(ids[position], ids[right])], merge.newID == top.newID else { continue }
            ids[position] = Int(top.newID)
            alive[right] = false
            next[position] = next[right]
            if next[right] < count { prev[next[right]] = position }
            let before = prev[position]
            if before >= 0, let merge = merges[Self.key(ids[before], ids[position])] {
                heap.push(MergeHeap.Entry(rank: merge.rank, position: Int32(before), newID: merge.newID))
            }
            let after = next[position]
            if after < count, let merge = merges[Self.key(ids[position], ids[after])] {
                heap.push(MergeHeap.Entry(rank: merge.rank, position: Int32(position), newID: merge.newID))
            }
        }
        var result: [Int] = []
        result.reserveCapacity(count)
        for index in 0..<count where alive[index] { result.append(ids[index]) }
        return result
    }
}

// MARK: - Merge queue

/// A binary min-heap of candidate merges ordered by (rank, position).
struct MergeHeap {
    struct Entry {
        let rank: Int32
        let position: Int32
        let newID: Int32

        @inline(__always)
        static func precedes(_ a: Entry, _ b: Entry) -> Bool {
            a.rank != b.rank ? a.rank < b.rank : a.position < b.position
        }
    }

    private var entries: [Entry] = []

    mutating func reserve(_ count: Int) { entries.reserveCapacity(count) }

    mutating func push(_ entry: Entry) {
        entries.append(entry)
        var child = entries.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Entry.precedes(entries[child], entries[parent]) else { break }
            entries.swapAt(child, parent)
            child = parent
        }
    }

    mutating func pop() -> Entry? {
        guard let first = entries.first else { return nil }
        let last = entries.removeLast()
        if entries.isEmpty { return first }
        entries[0] = last
        var parent = 0
        let count = entries.count
        while true {
            let left = 2 * parent + 1
            if left >= count { break }
            let right = left + 1
            let smaller = right < count && Entry.precedes(entries[right], entries[left]) ? right : left
            guard Entry.precedes(entries[smaller], entries[parent]) else { break }
            entries.swapAt(smaller, parent)
            parent = smaller
        }
        return first
    }
}

// MARK: - Word cache

/// Per-word results, shared between threads. Words repeat a lot in prompts ("▁the", "Ġof");
/// the cache stops growing at `capacity` entries, as the Rust one does.
final class WordCache: @unchecked Sendable {
    // Guarded by `lock`.
    private var entries: [[Unicode.Scalar]: [Int]] = [:]
    private let lock = NSLock()
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func get(_ key: [Unicode.Scalar]) -> [Int]? {
        lock.lock()
        defer { lock.unlock() }
        return entries[key]
    }

    func put(_ key: [Unicode.Scalar], _ value: [Int]) {
        lock.lock()
        defer { lock.unlock() }
        if entries.count < capacity { entries[key] = value }
    }
}
