import XCTest
@testable import Models

final class ComputeEstimateTests: XCTestCase {
    /// tiny-llava-sp worked by hand: CLIP 32 wide, 64 MLP, 16 patches + CLS, 2 of 3 blocks used
    /// (feature layer -2); projector 32→48→48 over 16 image tokens; decoder 48 wide, q 48, kv 24,
    /// MLP 96, 2 layers, vocabulary 1024.
    func testEstimateOfTinyLlavaByHand() throws {
        let config = try LlavaConfig(directory: Fixtures.url("models/tiny-llava-sp"))
        let e = config.estimate(newTokens: 10, images: 1)
        // patch embedding 2·16·32·147 = 150528; block 2·17·(4·32² + 2·32·64) + 4·17²·32 = 315520
        XCTAssertEqual(e.vision, 150_528 + 2 * 315_520)
        // 2·16·(32·48 + 48·48)
        XCTAssertEqual(e.projector, 122_880)
        // per layer 2·10·(48·48 + 2·48·24 + 48·48 + 3·48·96) + 4·(10·11/2)·48 = 425280; lm head 2·48·1024
        XCTAssertEqual(e.decoder, 2 * 425_280 + 98_304)
        // With 5 cached tokens, each of the 10 new tokens also attends to them: + 4·50·48 per layer.
        XCTAssertEqual(config.estimate(newTokens: 10, images: 0, cached: 5).decoder, 2 * (425_280 + 9_600) + 98_304)
    }
}
