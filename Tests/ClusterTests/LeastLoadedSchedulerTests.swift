import XCTest

@testable import Cluster

/// The dispatch rule on hand-made node tables.
final class LeastLoadedSchedulerTests: XCTestCase {
    func id(_ s: String) -> [UInt8] { Array(s.utf8) }

    func scheduler(_ nodes: [(String, Int)]) -> LeastLoadedScheduler {
        var s = LeastLoadedScheduler(depth: 2)
        for (i, (name, slots)) in nodes.enumerated() {
            s.nodes[id(name)] = NodeState(routingID: id(name), nodeID: name, slots: slots, now: Double(i))
        }
        return s
    }

    func testLeastInFlightPerSlotWins() {
        var s = scheduler([("a", 1), ("b", 2)])
        s.assign(1, to: id("a"), image: nil)
        s.assign(2, to: id("b"), image: nil)
        // a: 1/1, b: 1/2.
        XCTAssertEqual(s.pick(image: nil), id("b"))
        s.assign(3, to: id("b"), image: nil)
        // a: 1/1, b: 2/2: tie on load; earliest joined.
        XCTAssertEqual(s.pick(image: nil), id("a"))
    }

    func testCachedImageBreaksTiesBeforeLatency() {
        var s = scheduler([("a", 1), ("b", 1)])
        s.nodes[id("a")]!.latency = 0.01
        s.nodes[id("b")]!.latency = 0.5
        s.nodes[id("b")]!.lastImage = "/img/1.jpg"
        XCTAssertEqual(s.pick(image: "/img/1.jpg"), id("b"), "the node that holds the image")
        XCTAssertEqual(s.pick(image: "/img/2.jpg"), id("a"), "otherwise the faster node")
        XCTAssertEqual(s.pick(image: nil), id("a"))
    }

    func testFullNodesTakeNothingAndDeadNodesHandBackTheirTasks() {
        var s = scheduler([("a", 1)])
        s.assign(1, to: id("a"), image: nil)
        s.assign(2, to: id("a"), image: nil)
        XCTAssertNil(s.pick(image: nil), "depth 2 per slot reached")
        XCTAssertEqual(s.capacity, 0)
        XCTAssertTrue(s.complete(1, on: id("a"), roundTrip: 0.2, busy: 0.15, failed: false))
        XCTAssertFalse(s.complete(1, on: id("a"), roundTrip: 0.2, busy: 0.15, failed: false), "a late duplicate")
        XCTAssertEqual(s.nodes[id("a")]!.latency, 0.2)
        XCTAssertEqual(s.pick(image: nil), id("a"))
        s.nodes[id("a")]!.lastSeen = 10
        XCTAssertTrue(s.expire(before: 5).isEmpty)
        let dead = s.expire(before: 11)
        XCTAssertEqual(dead.map(\.nodeID), ["a"])
        XCTAssertEqual(dead[0].inFlight, [2])
        XCTAssertNil(s.pick(image: nil))
    }
}
