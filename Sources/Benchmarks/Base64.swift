/// Standard base64 (RFC 4648, `+/`, `=` padding) straight from bytes: an HR-Bench row's image is
/// ~3 MB of base64, and going through a String and Foundation costs more than reading the file.
enum Base64 {
    private static let table: [UInt8] = {
        var t = [UInt8](repeating: 255, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { t[Int(c)] = UInt8(i) }
        return t
    }()

    /// The decoded bytes, or nil when `input` holds anything but the alphabet, trailing padding and
    /// whitespace, or stops in the middle of a byte.
    static func decode(_ input: [UInt8]) -> [UInt8]? {
        var out = [UInt8]()
        out.reserveCapacity(input.count / 4 * 3)
        var acc: UInt32 = 0, bits = 0, padding = 0
        let ok = input.withUnsafeBufferPointer { b -> Bool in
            for c in b {
                if c == UInt8(ascii: "=") { padding += 1; continue }
                if c == 10 || c == 13 || c == 32 || c == 9 { continue }
                let v = table[Int(c)]
                if v == 255 || padding > 0 { return false }
                acc = (acc << 6) | UInt32(v)
                bits += 6
                if bits >= 8 {
                    bits -= 8
                    out.append(UInt8(truncatingIfNeeded: acc >> UInt32(bits)))
                }
            }
            return true
        }
        // Leftover bits must be the zero fill of a padded end (2 or 4 bits), never a lone 6.
        guard ok, padding <= 2, bits < 6 else { return nil }
        return out
    }

    /// How many bytes `input` decodes to, if it is valid: its alphabet characters × 6 bits, whole bytes.
    static func decodedCount(_ input: [UInt8]) -> Int {
        let symbols = input.withUnsafeBufferPointer { b in b.reduce(0) { $0 + (table[Int($1)] != 255 ? 1 : 0) } }
        return symbols * 6 / 8
    }
}
