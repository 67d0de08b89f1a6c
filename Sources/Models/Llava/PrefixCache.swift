/// The KV caches of recent prompt prefixes, so that prompts about an image already seen skip the
/// vision tower and the decoder pass over the image's tokens.
///
/// Every search method asks several questions about one view: ZoomEye two confidence prompts per
/// patch, FOCUS a verification and then the answer on the same crop, a cluster node the tasks of
/// several questions about one image. Their prompts share everything up to the image's last token,
/// which for LLaVA-1.5 is almost all of the prompt (576 of ~600 tokens).
///
/// Bounded by bytes, because an entry's size is the model's (1.3 MB for the toy model, about 600 MB
/// for llava-1.5-7b at 600 tokens), and by entries, because reuse is near in time (the prompts of one
/// search step, the questions a node holds at once): views seen long ago are not asked about again,
/// and a small model should not fill the byte budget with them. The least recently used entries go
/// first; an entry larger than the whole budget is never kept. A reference type: one cache serves one executor's
/// successive tasks, and is not shared between threads.
public final class PrefixCache<Key: Hashable> {
    /// The most bytes of key and value storage the entries may hold together.
    public let byteBudget: Int
    /// The most entries.
    public let maxEntries: Int
    /// Lookups that found their prefix, and those that did not.
    public private(set) var hits = 0
    public private(set) var misses = 0
    /// Bytes the entries hold now.
    public private(set) var bytes = 0

    /// A prefix's keys and values, and the geometry of each image in it (which a relevance map
    /// needs to land on the image's pixels).
    public struct Prefix {
        public let cache: KVCache
        public let geometries: [ImageGeometry]

        public init(cache: KVCache, geometries: [ImageGeometry]) {
            self.cache = cache
            self.geometries = geometries
        }
    }

    private struct Entry {
        var prefix: Prefix
        var lastUse: UInt64
    }
    private var entries: [Key: Entry] = [:]
    private var clock: UInt64 = 0

    public init(byteBudget: Int, maxEntries: Int = 32) {
        self.byteBudget = max(0, byteBudget)
        self.maxEntries = max(1, maxEntries)
    }

    public var count: Int { entries.count }

    /// The prefix stored for `key`, or nil. Its cache stays this cache's: extend a `fork` of it.
    public func lookup(_ key: Key) -> Prefix? {
        guard var entry = entries[key] else {
            misses += 1
            return nil
        }
        hits += 1
        clock += 1
        entry.lastUse = clock
        entries[key] = entry
        return entry.prefix
    }

    /// Keeps `prefix` (whose cache the caller must not change afterwards) for `key`, evicting the
    /// least recently used entries until it fits. Returns false when it is larger than the whole budget.
    @discardableResult
    public func store(_ key: Key, _ prefix: Prefix) -> Bool {
        let size = prefix.cache.byteCount
        guard size <= byteBudget else { return false }
        if let old = entries.removeValue(forKey: key) { bytes -= old.prefix.cache.byteCount }
        while bytes + size > byteBudget || entries.count >= maxEntries, let victim = entries.min(by: { $0.value.lastUse < $1.value.lastUse }) {
            entries.removeValue(forKey: victim.key)
            bytes -= victim.value.prefix.cache.byteCount
        }
        clock += 1
        entries[key] = Entry(prefix: prefix, lastUse: clock)
        bytes += size
        return true
    }

    public func removeAll() {
        entries.removeAll()
        bytes = 0
    }
}
