import CZeroMQ
import Foundation

/// CURVE key files: `PREFIX.key` holds the secret key, `PREFIX.pub` the public key, each one Z85 line
/// (40 characters). The secret file is written with mode 0600.
public enum CurveKeys {
    public static func generate(prefix: String) throws -> (publicKey: String, secretKey: String) {
        let pair = try ZMQSocket.curveKeyPair()
        let fm = FileManager.default
        guard fm.createFile(atPath: prefix + ".key", contents: Data((pair.secretKey + "\n").utf8),
                            attributes: [.posixPermissions: 0o600]) else {
            throw WireError("cannot write \(prefix).key")
        }
        do { try Data((pair.publicKey + "\n").utf8).write(to: URL(fileURLWithPath: prefix + ".pub")) } catch {
            throw WireError("cannot write \(prefix).pub: \(error.localizedDescription)")
        }
        return pair
    }

    public static func read(prefix: String) throws -> (publicKey: String, secretKey: String) {
        (try readKey(prefix + ".pub"), try readKey(prefix + ".key"))
    }

    public static func readPublic(_ path: String) throws -> String { try readKey(path) }

    /// Public keys, one per line (blank lines and `#` comments skipped).
    public static func readAllowList(_ path: String) throws -> [String] {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw WireError("cannot read the allow-list \(path): \(error.localizedDescription)")
        }
        var keys: [String] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard line.count == 40 else { throw WireError("\(path) line \(n + 1): a Z85 public key has 40 characters, got \(line.count)") }
            keys.append(line)
        }
        return keys
    }

    static func readKey(_ path: String) throws -> String {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw WireError("cannot read the key file \(path): \(error.localizedDescription)")
        }
        let key = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard key.count == 40 else { throw WireError("\(path) does not hold a Z85 CURVE key (40 characters)") }
        return key
    }
}

/// The ZAP handler that admits only allow-listed CURVE public keys (RFC 27). libzmq asks it, over
/// an in-process REP socket, about every new CURVE connection; it runs on the coordinator's I/O thread.
final class ZAPHandler {
    let socket: ZMQSocket
    let allowed: Set<String>
    private(set) var refused = 0

    init(context: ZMQContext = .shared, allowed: [String]) throws {
        socket = try ZMQSocket(.rep, context: context)
        try socket.bind("inproc://zeromq.zap.01")
        self.allowed = Set(allowed)
    }

    /// Answers every pending request.
    func serve() throws {
        while let frames = try socket.receive() {
            guard frames.count >= 6 else { continue }
            let version = frames[0], requestID = frames[1], mechanism = String(decoding: frames[5], as: UTF8.self)
            var ok = false
            if mechanism == "CURVE", frames.count >= 7, frames[6].count == 32 {
                var text = [CChar](repeating: 0, count: 41)
                let key = frames[6]
                _ = key.withUnsafeBufferPointer { zmq_z85_encode(&text, $0.baseAddress, 32) }
                ok = allowed.contains(String(decoding: text.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            if !ok { refused += 1 }
            try socket.send([version, requestID, Array((ok ? "200" : "400").utf8),
                             Array((ok ? "OK" : "public key not on the allow-list").utf8), [], []], dontWait: false)
        }
    }
}
