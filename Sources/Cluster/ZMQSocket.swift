import CZeroMQ
import Foundation

/// A libzmq failure, with the call that failed and libzmq's own words.
public struct ZMQError: Error, CustomStringConvertible, Equatable {
    public let call: String
    public let code: Int32
    public var description: String { "\(call): \(String(cString: zmq_strerror(code))) (errno \(code))" }

    static func last(_ call: String) -> ZMQError { ZMQError(call: call, code: zmq_errno()) }
}

/// One libzmq context per process. Sockets keep it alive; it is terminated when the last goes.
public final class ZMQContext: @unchecked Sendable {
    let handle: UnsafeMutableRawPointer

    public init() {
        handle = zmq_ctx_new()
    }

    deinit {
        // Every socket holds a reference, so none is open here; zmq_ctx_term cannot hang.
        while zmq_ctx_term(handle) != 0 && zmq_errno() == EINTR {}
    }

    public static let shared = ZMQContext()
}

/// A ZeroMQ socket. Not thread-safe, like the libzmq socket it wraps: each socket lives on the one
/// thread that polls it (the coordinator's and the node's event loops). Closed in `deinit`.
public final class ZMQSocket {
    public enum Kind {
        case router, dealer, pair, rep, req

        var raw: Int32 {
            switch self {
            case .rep: return ZMQ_REP
            case .req: return ZMQ_REQ
            case .router: return ZMQ_ROUTER
            case .dealer: return ZMQ_DEALER
            case .pair: return ZMQ_PAIR
            }
        }
    }

    let context: ZMQContext
    let handle: UnsafeMutableRawPointer
    public let kind: Kind

    public init(_ kind: Kind, context: ZMQContext = .shared) throws {
        guard let h = zmq_socket(context.handle, kind.raw) else { throw ZMQError.last("zmq_socket") }
        self.context = context
        self.handle = h
        self.kind = kind
        // Pending messages are dropped after 100 ms on close, so a dead peer never blocks shutdown.
        try setOption(ZMQ_LINGER, Int32(100))
    }

    deinit {
        zmq_close(handle)
    }

    // MARK: - Options

    public func setOption(_ option: Int32, _ value: Int32) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int32>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option))")
        }
    }

    public func setOption(_ option: Int32, _ value: Int64) throws {
        var v = value
        guard zmq_setsockopt(handle, option, &v, MemoryLayout<Int64>.size) == 0 else {
            throw ZMQError.last("zmq_setsockopt(\(option))")
        }
    }

    public func setOption(_ option: Int32, bytes: [UInt8]) throws {
        let rc = bytes.withUnsafeBytes { zmq_setsockopt(handle, option, $0.baseAddress, $0.count) }
        guard rc == 0 else { throw ZMQError.last("zmq_setsockopt(\(option))") }
    }

    public func setOption(_ option: Int32, string: String) throws {
        try setOption(option, bytes: Array(string.utf8))
    }

    /// The routing id a DEALER presents to a ROUTER (set before connecting).
    public func setRoutingID(_ id: [UInt8]) throws { try setOption(ZMQ_ROUTING_ID, bytes: id) }

    /// Sending to an unknown routing id fails with EHOSTUNREACH instead of vanishing.
    public func setRouterMandatory() throws { try setOption(ZMQ_ROUTER_MANDATORY, Int32(1)) }

    /// A peer reconnecting with a routing id still held by its old connection takes it over
    /// (otherwise libzmq ignores the newcomer, and a restarted node's tasks would vanish).
    public func setRouterHandover() throws { try setOption(ZMQ_ROUTER_HANDOVER, Int32(1)) }

    /// Messages larger than this are refused by libzmq, which drops the connection that sent them.
    public func setMaxMessageSize(_ bytes: Int64) throws { try setOption(ZMQ_MAXMSGSIZE, bytes) }

    // MARK: - Endpoints

    public func bind(_ endpoint: String) throws {
        guard zmq_bind(handle, endpoint) == 0 else { throw ZMQError.last("zmq_bind(\(endpoint))") }
    }

    public func connect(_ endpoint: String) throws {
        guard zmq_connect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_connect(\(endpoint))") }
    }

    public func disconnect(_ endpoint: String) throws {
        guard zmq_disconnect(handle, endpoint) == 0 else { throw ZMQError.last("zmq_disconnect(\(endpoint))") }
    }

    /// The endpoint actually bound (resolves `tcp://127.0.0.1:*` to the port the system chose).
    public var lastEndpoint: String {
        var buffer = [CChar](repeating: 0, count: 256)
        var size = buffer.count
        guard zmq_getsockopt(handle, ZMQ_LAST_ENDPOINT, &buffer, &size) == 0 else { return "" }
        return String(decoding: buffer.prefix(while: { $0 != 0 }).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: - Messages

    /// Sends one message of `frames` (all but the last with ZMQ_SNDMORE). With `dontWait`, a full
    /// queue or (ROUTER_MANDATORY) an unknown peer throws instead of blocking.
    public func send(_ frames: [[UInt8]], dontWait: Bool = true) throws {
        for (i, frame) in frames.enumerated() {
            var flags: Int32 = i < frames.count - 1 ? ZMQ_SNDMORE : 0
            if dontWait { flags |= ZMQ_DONTWAIT }
            while true {
                let rc = frame.withUnsafeBytes { zmq_send(handle, $0.baseAddress, $0.count, flags) }
                if rc >= 0 { break }
                if zmq_errno() == EINTR { continue }
                throw ZMQError.last("zmq_send")
            }
        }
    }

    /// Receives one whole multipart message, or nil when none is waiting (`dontWait`).
    public func receive(dontWait: Bool = true) throws -> [[UInt8]]? {
        var frames: [[UInt8]] = []
        var msg = zmq_msg_t()
        zmq_msg_init(&msg)
        defer { zmq_msg_close(&msg) }
        while true {
            let rc = zmq_msg_recv(&msg, handle, frames.isEmpty && dontWait ? ZMQ_DONTWAIT : 0)
            if rc < 0 {
                let e = zmq_errno()
                if e == EINTR { continue }
                if e == EAGAIN && frames.isEmpty { return nil }
                throw ZMQError(call: "zmq_msg_recv", code: e)
            }
            let size = zmq_msg_size(&msg)
            if let data = zmq_msg_data(&msg), size > 0 {
                frames.append(Array(UnsafeRawBufferPointer(start: data, count: size)))
            } else {
                frames.append([])
            }
            if zmq_msg_more(&msg) == 0 { return frames }
        }
    }

    /// Waits up to `timeout` seconds for any of `sockets` to have a message, or any of `fds` to be
    /// readable; returns which are ready, sockets first.
    public static func poll(_ sockets: [ZMQSocket], fds: [Int32] = [], timeout: Double) throws -> [Bool] {
        var items = sockets.map { zmq_pollitem_t(socket: $0.handle, fd: 0, events: Int16(ZMQ_POLLIN), revents: 0) }
        items += fds.map { zmq_pollitem_t(socket: nil, fd: $0, events: Int16(ZMQ_POLLIN), revents: 0) }
        let ms = Int(max(0, timeout) * 1000)
        let rc = zmq_poll(&items, Int32(items.count), ms)
        if rc < 0 {
            if zmq_errno() == EINTR { return [Bool](repeating: false, count: items.count) }
            throw ZMQError.last("zmq_poll")
        }
        return items.map { $0.revents & Int16(ZMQ_POLLIN) != 0 }
    }
}

/// Wakes a thread blocked in `ZMQSocket.poll` from any other thread: a pipe whose read end is polled
/// beside the sockets (ZeroMQ sockets themselves must not be touched from a second thread).
public final class Wakeup: @unchecked Sendable {
    public let readFD: Int32
    private let writeFD: Int32

    public init() throws {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ZMQError(call: "pipe", code: errno) }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
    }

    deinit {
        close(readFD)
        close(writeFD)
    }

    /// Makes the next (or current) poll return. Never blocks: a full pipe already means "wake up".
    public func signal() {
        var byte: UInt8 = 1
        _ = write(writeFD, &byte, 1)
    }

    /// Empties the pipe after a wake-up.
    public func drain() {
        var buffer = [UInt8](repeating: 0, count: 256)
        while read(readFD, &buffer, buffer.count) > 0 {}
    }
}

extension ZMQSocket {
    // MARK: - CURVE

    /// Makes this socket a CURVE server with its secret key (Z85, 40 characters).
    public func makeCurveServer(secretKey: String) throws {
        try setOption(ZMQ_CURVE_SERVER, Int32(1))
        try setOption(ZMQ_CURVE_SECRETKEY, string: secretKey)
    }

    /// Makes this socket a CURVE client of the server with `serverKey`.
    public func makeCurveClient(publicKey: String, secretKey: String, serverKey: String) throws {
        try setOption(ZMQ_CURVE_SERVERKEY, string: serverKey)
        try setOption(ZMQ_CURVE_PUBLICKEY, string: publicKey)
        try setOption(ZMQ_CURVE_SECRETKEY, string: secretKey)
    }

    /// A new CURVE key pair (Z85), from libzmq (needs libzmq built with libsodium, as Debian's is).
    public static func curveKeyPair() throws -> (publicKey: String, secretKey: String) {
        var pub = [CChar](repeating: 0, count: 41), sec = [CChar](repeating: 0, count: 41)
        guard zmq_curve_keypair(&pub, &sec) == 0 else { throw ZMQError.last("zmq_curve_keypair") }
        let text = { (b: [CChar]) in String(decoding: b.prefix(40).map { UInt8(bitPattern: $0) }, as: UTF8.self) }
        return (text(pub), text(sec))
    }
}
