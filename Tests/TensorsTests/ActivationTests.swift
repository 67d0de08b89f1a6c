import Tensors
import XCTest

/// Every `Activation` against transformers' `ACT2FN` (itself checked against the torch formulas
/// when the fixture is written), and the config-name aliases.
final class ActivationTests: XCTestCase {
    struct Alias: Decodable {
        let canonical: String
        let output: [Double]
    }

    struct Gated: Decodable {
        let up: [Double]
        let outputs: [String: [Double]]
    }

    struct File: Decodable {
        let input: [Double]
        let outputs: [String: [Double]]
        let aliases: [String: Alias]
        let gated: Gated
    }

    func run(_ activation: Activation, on input: [Float]) -> [Float] {
        var x = input
        x.withUnsafeMutableBufferPointer { activation.apply($0.baseAddress!, count: $0.count) }
        return x
    }

    func testEveryActivationMatchesTransformers() throws {
        let file = try Fixtures.kernels("activations.json", as: File.self)
        XCTAssertEqual(Set(file.outputs.keys), Set(Activation.allCases.map(\.rawValue)),
                       "the fixture covers exactly the cases focus knows")
        let input = file.input.float32
        for activation in Activation.allCases {
            let expected = try XCTUnwrap(file.outputs[activation.rawValue]).float32
            assertClose(run(activation, on: input), expected, activation.rawValue)
        }
    }

    /// `applyGated` (SiLU's one-pass path and the others' two passes) against `ACT2FN[name](x) * up`,
    /// over the whole input and over a prefix that ends in a partial block of eight.
    func testGatedMatchesActivationTimesUp() throws {
        let file = try Fixtures.kernels("activations.json", as: File.self)
        let input = file.input.float32, up = file.gated.up.float32
        for activation in Activation.allCases {
            let expected = try XCTUnwrap(file.gated.outputs[activation.rawValue]).float32
            for count in [input.count, input.count - 3] {
                var x = Array(input[..<count])
                x.withUnsafeMutableBufferPointer { x in
                    up.withUnsafeBufferPointer { activation.applyGated(x.baseAddress!, times: $0.baseAddress!, count: x.count) }
                }
                assertClose(x, Array(expected[..<count]), "\(activation.rawValue), gated, \(count) values")
            }
        }
    }

    func testConfigNamesAndAliases() throws {
        let file = try Fixtures.kernels("activations.json", as: File.self)
        for activation in Activation.allCases {
            XCTAssertEqual(Activation(configName: activation.rawValue), activation)
        }
        XCTAssertEqual(Activation(configName: "swish"), .silu)
        XCTAssertEqual(Activation(configName: "gelu_fast"), .geluTanh)
        XCTAssertNil(Activation(configName: "gelu_tanh"))
        XCTAssertNil(Activation(configName: "QUICK_GELU"))
        XCTAssertNil(Activation(configName: ""))

        // An alias must compute what transformers computes for that name.
        let input = file.input.float32
        XCTAssertEqual(Set(file.aliases.keys), ["swish", "gelu_fast"])
        for (alias, reference) in file.aliases {
            let activation = try XCTUnwrap(Activation(configName: alias), alias)
            XCTAssertEqual(activation.rawValue, reference.canonical, alias)
            assertClose(run(activation, on: input), reference.output.float32, "alias \(alias)")
        }
    }

    func testDecodesFromConfigJSON() throws {
        let decoded = try JSONDecoder().decode([Activation].self, from: Data(#"["quick_gelu","gelu_pytorch_tanh"]"#.utf8))
        XCTAssertEqual(decoded, [.quickGELU, .geluTanh])
    }
}
