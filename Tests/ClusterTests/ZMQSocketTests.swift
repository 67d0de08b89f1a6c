import CZeroMQ
import Foundation
import XCTest

@testable import Cluster

/// The libzmq wrapper on real sockets over 127.0.0.1.
final class ZMQSocketTests: XCTestCase {
    func routerAndDealer() throws -> (ZMQSocket, ZMQSocket, String) {
        let router = try ZMQSocket(.router)
        try router.setRouterMandatory()
        try router.bind("tcp://127.0.0.1:*")
        let endpoint = router.lastEndpoint
        XCTAssertTrue(endpoint.hasPrefix("tcp://127.0.0.1:"), endpoint)
        let dealer = try ZMQSocket(.dealer)
        try dealer.setRoutingID(Array("node-a".utf8))
        try dealer.connect(endpoint)
        return (router, dealer, endpoint)
    }

    func receive(_ socket: ZMQSocket, within seconds: Double = 5) throws -> [[UInt8]] {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try ZMQSocket.poll([socket], timeout: 0.1)[0], let frames = try socket.receive() { return frames }
        }
        XCTFail("nothing received within \(seconds) s")
        return []
    }

    func testMultipartRoundTripThroughRouterAndDealer() throws {
        let (router, dealer, _) = try routerAndDealer()
        let big = [UInt8]((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        try dealer.send([Array("hello".utf8), [], big])
        let got = try receive(router)
        XCTAssertEqual(got.count, 4, "routing id + three frames")
        XCTAssertEqual(got[0], Array("node-a".utf8))
        XCTAssertEqual(got[1], Array("hello".utf8))
        XCTAssertEqual(got[2], [])
        XCTAssertEqual(got[3], big)
        try router.send([got[0], Array("welcome".utf8)])
        XCTAssertEqual(try receive(dealer), [Array("welcome".utf8)])
    }

    func testRouterMandatoryRefusesUnknownPeers() throws {
        let (router, _, _) = try routerAndDealer()
        XCTAssertThrowsError(try router.send([Array("nobody".utf8), [1]])) { error in
            XCTAssertEqual((error as? ZMQError)?.code, EHOSTUNREACH, "\(error)")
        }
    }

    func testPollTimesOutAndWakeupWakesIt() throws {
        let (router, _, _) = try routerAndDealer()
        let start = Date()
        XCTAssertEqual(try ZMQSocket.poll([router], timeout: 0.2), [false])
        XCTAssertGreaterThanOrEqual(Date().timeIntervalSince(start), 0.15)
        XCTAssertNil(try router.receive(), "nothing waiting")
        let wakeup = try Wakeup()
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.1) { wakeup.signal() }
        let woke = Date()
        XCTAssertEqual(try ZMQSocket.poll([router], fds: [wakeup.readFD], timeout: 10), [false, true])
        XCTAssertLessThan(Date().timeIntervalSince(woke), 5)
        wakeup.drain()
        XCTAssertEqual(try ZMQSocket.poll([router], fds: [wakeup.readFD], timeout: 0), [false, false])
    }

    func testBadEndpointsNameThemselves() throws {
        let socket = try ZMQSocket(.router)
        XCTAssertThrowsError(try socket.bind("tcp://300.1.1.1:5")) { XCTAssertTrue("\($0)".contains("zmq_bind(tcp://300.1.1.1:5)"), "\($0)") }
        XCTAssertThrowsError(try socket.connect("nonsense")) { XCTAssertTrue("\($0)".contains("zmq_connect(nonsense)"), "\($0)") }
    }

    func testCurveWithAnAllowList() throws {
        let server = try ZMQSocket.curveKeyPair(), allowed = try ZMQSocket.curveKeyPair(), stranger = try ZMQSocket.curveKeyPair()
        let zap = try ZAPHandler(allowed: [allowed.publicKey])
        let router = try ZMQSocket(.router)
        try router.makeCurveServer(secretKey: server.secretKey)
        try router.bind("tcp://127.0.0.1:*")
        func client(_ pair: (publicKey: String, secretKey: String)) throws -> ZMQSocket {
            let d = try ZMQSocket(.dealer)
            try d.makeCurveClient(publicKey: pair.publicKey, secretKey: pair.secretKey, serverKey: server.publicKey)
            try d.connect(router.lastEndpoint)
            try d.send([Array("from \(pair.publicKey.prefix(4))".utf8)], dontWait: false)
            return d
        }
        let good = try client(allowed), bad = try client(stranger)
        var received: [[UInt8]] = []
        let deadline = Date().addingTimeInterval(3)
        while Date() < deadline {
            let ready = try ZMQSocket.poll([router, zap.socket], timeout: 0.1)
            if ready[1] { try zap.serve() }
            if ready[0], let frames = try router.receive() { received.append(frames[1]) }
        }
        XCTAssertEqual(received, [Array("from \(allowed.publicKey.prefix(4))".utf8)], "only the allow-listed node gets through")
        XCTAssertGreaterThanOrEqual(zap.refused, 1)
        _ = (good, bad)
    }
}
