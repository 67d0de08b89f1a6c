// focus-bench: prefill timings of the fixture checkpoints and of a LLaVA-1.5-shaped model with random
// weights at a quarter of the real widths (generated here into a temporary directory, never committed).
//
//   swift run -c release focus-bench [--repeat N] [--threads N] [--keep DIR]
//   swift run -c release focus-bench write-quarter DIR     (the random quarter-width checkpoint alone)
//   swift run -c release focus-bench forward --model DIR [--repeat N] [--threads N] [--dump DIR]
//        (one JSON line: prefill, decode, FOCUS passes, sgemm peak, products' rate, RSS; see ForwardBench)
import Foundation
import Models
import Tensors

struct Shape {
    var name: String
    var vision: (hidden: Int, intermediate: Int, layers: Int, heads: Int, image: Int, patch: Int)
    var text: (hidden: Int, intermediate: Int, layers: Int, heads: Int, kvHeads: Int, vocab: Int)
}

let quarter = Shape(name: "llava-1.5-quarter",
                    vision: (256, 1024, 24, 4, 336, 14),
                    text: (1024, 2752, 32, 8, 8, 32064))

/// Writes config, random F16 weights, the tokenizer of a fixture, and a 336 px processor config.
func makeRandomCheckpoint(_ s: Shape, at dir: URL, tokenizerFrom fixture: URL) throws {
    let fm = FileManager.default
    try fm.createDirectory(at: dir, withIntermediateDirectories: true)
    for f in ["tokenizer.json", "tokenizer_config.json"] {
        try? fm.removeItem(at: dir.appendingPathComponent(f))
        try fm.copyItem(at: fixture.appendingPathComponent(f), to: dir.appendingPathComponent(f))
    }
    let tokenizer = try Tokenizer(directory: dir)
    let imageToken = tokenizer.id(forToken: "<image>")!
    let config: [String: Any] = [
        "model_type": "llava", "image_token_index": imageToken, "vision_feature_layer": -2,
        "vision_feature_select_strategy": "default", "projector_hidden_act": "gelu",
        "vision_config": ["model_type": "clip_vision_model", "hidden_size": s.vision.hidden,
                          "intermediate_size": s.vision.intermediate, "num_hidden_layers": s.vision.layers,
                          "num_attention_heads": s.vision.heads, "image_size": s.vision.image,
                          "patch_size": s.vision.patch, "hidden_act": "quick_gelu"],
        "text_config": ["model_type": "llama", "hidden_size": s.text.hidden, "intermediate_size": s.text.intermediate,
                        "num_hidden_layers": s.text.layers, "num_attention_heads": s.text.heads,
                        "num_key_value_heads": s.text.kvHeads, "vocab_size": s.text.vocab,
                        "max_position_embeddings": 4096, "rms_norm_eps": 1e-5, "eos_token_id": 2],
    ]
    try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys])
        .write(to: dir.appendingPathComponent("config.json"))
    let processor: [String: Any] = [
        "do_resize": true, "size": ["shortest_edge": s.vision.image], "resample": 3,
        "do_center_crop": true, "crop_size": ["height": s.vision.image, "width": s.vision.image],
        "do_rescale": true, "rescale_factor": 1.0 / 255, "do_normalize": true,
        "image_mean": [0.48145466, 0.4578275, 0.40821073], "image_std": [0.26862954, 0.26130258, 0.27577711],
        "do_convert_rgb": true, "image_processor_type": "CLIPImageProcessor",
    ]
    try JSONSerialization.data(withJSONObject: processor, options: [.prettyPrinted, .sortedKeys])
        .write(to: dir.appendingPathComponent("preprocessor_config.json"))

    var specs: [SafetensorsWriter.Spec] = []
    func add(_ name: String, _ shape: [Int]) { specs.append(.init(name, shape, .f16)) }
    let v = s.vision, t = s.text, vp = "vision_tower.vision_model.", tp = "language_model.model."
    add(vp + "embeddings.class_embedding", [v.hidden])
    add(vp + "embeddings.patch_embedding.weight", [v.hidden, 3, v.patch, v.patch])
    add(vp + "embeddings.position_embedding.weight", [(v.image / v.patch) * (v.image / v.patch) + 1, v.hidden])
    add(vp + "pre_layrnorm.weight", [v.hidden]); add(vp + "pre_layrnorm.bias", [v.hidden])
    for i in 0..<v.layers {
        let b = vp + "encoder.layers.\(i)."
        for p in ["q_proj", "k_proj", "v_proj", "out_proj"] {
            add(b + "self_attn.\(p).weight", [v.hidden, v.hidden]); add(b + "self_attn.\(p).bias", [v.hidden])
        }
        for n in ["layer_norm1", "layer_norm2"] { add(b + n + ".weight", [v.hidden]); add(b + n + ".bias", [v.hidden]) }
        add(b + "mlp.fc1.weight", [v.intermediate, v.hidden]); add(b + "mlp.fc1.bias", [v.intermediate])
        add(b + "mlp.fc2.weight", [v.hidden, v.intermediate]); add(b + "mlp.fc2.bias", [v.hidden])
    }
    add("multi_modal_projector.linear_1.weight", [t.hidden, v.hidden]); add("multi_modal_projector.linear_1.bias", [t.hidden])
    add("multi_modal_projector.linear_2.weight", [t.hidden, t.hidden]); add("multi_modal_projector.linear_2.bias", [t.hidden])
    let hd = t.hidden / t.heads
    add(tp + "embed_tokens.weight", [t.vocab, t.hidden])
    for i in 0..<t.layers {
        let b = tp + "layers.\(i)."
        add(b + "self_attn.q_proj.weight", [t.heads * hd, t.hidden])
        add(b + "self_attn.k_proj.weight", [t.kvHeads * hd, t.hidden])
        add(b + "self_attn.v_proj.weight", [t.kvHeads * hd, t.hidden])
        add(b + "self_attn.o_proj.weight", [t.hidden, t.heads * hd])
        add(b + "mlp.gate_proj.weight", [t.intermediate, t.hidden])
        add(b + "mlp.up_proj.weight", [t.intermediate, t.hidden])
        add(b + "mlp.down_proj.weight", [t.hidden, t.intermediate])
        add(b + "input_layernorm.weight", [t.hidden]); add(b + "post_attention_layernorm.weight", [t.hidden])
    }
    add(tp + "norm.weight", [t.hidden])
    add("language_model.lm_head.weight", [t.vocab, t.hidden])

    var state: UInt64 = 0x9E3779B97F4A7C15
    try SafetensorsWriter.write(to: dir.appendingPathComponent("model.safetensors"), tensors: specs) { name, buffer in
        let isNorm = name.contains("norm") && name.hasSuffix(".weight")
        for i in buffer.indices {
            if isNorm { buffer[i] = 1; continue }
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            buffer[i] = (Float(state >> 40) / Float(1 << 24) - 0.5) * 0.04   // uniform, std ≈ 0.0115
        }
    }
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

func measure(_ model: LlavaModel, image: RGBImage, repeats: Int) throws -> (tokens: Int, vision: Double, prefill: Double, flops: Double) {
    let prompt = ChatTemplate(model: model).prompt(question: "What is the color of the star? Answer with the option's letter from the given choices directly.")
    let input = try model.input(prompt: prompt, images: [image])
    let clock = ContinuousClock()
    var vision: [Double] = [], prefill: [Double] = []
    _ = try model.prefill(input, cache: model.makeCache(capacity: input.tokens.count))   // warm-up
    for _ in 0..<repeats {
        vision.append((clock.measure { _ = model.imageFeatures(input.images[0]) }).seconds)
        let cache = model.makeCache(capacity: input.tokens.count)
        prefill.append((try clock.measure { _ = try model.prefill(input, cache: cache) }).seconds)
    }
    return (input.tokens.count, median(vision), median(prefill), model.config.estimate(newTokens: input.tokens.count, images: 1).total)
}

let arguments = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = arguments.firstIndex(of: name), i + 1 < arguments.count else { return nil }
    return arguments[i + 1]
}
let repeats = Int(option("--repeat") ?? "3") ?? 3
if let threads = option("--threads").flatMap(Int.init) { setBLASThreads(threads) }
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
let fixtures = root.appendingPathComponent("Tests/Fixtures")

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("focus-bench: \(message)\n".utf8))
    exit(1)
}
switch arguments.first {
case "write-quarter":
    guard arguments.count == 2 else { fail("usage: focus-bench write-quarter DIR") }
    let dir = URL(fileURLWithPath: arguments[1])
    if !FileManager.default.fileExists(atPath: dir.appendingPathComponent("model.safetensors").path) {
        do { try makeRandomCheckpoint(quarter, at: dir, tokenizerFrom: fixtures.appendingPathComponent("models/tiny-llava-sp")) } catch {
            fail("cannot write \(dir.path): \(error)")
        }
    }
    exit(0)
case "forward":
    guard let model = option("--model") else { fail("forward needs --model DIR") }
    let bench = ForwardBench(model: URL(fileURLWithPath: model), repeats: max(1, repeats),
                             threads: Int(option("--threads") ?? "") ?? ProcessInfo.processInfo.activeProcessorCount,
                             dump: option("--dump").map { URL(fileURLWithPath: $0) })
    do {
        let result = try bench.run()
        print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
    } catch {
        fail("\(model): \(error)")
    }
    exit(0)
default:
    break
}
let keep = option("--keep").map { URL(fileURLWithPath: $0) }
let randomDir = keep ?? FileManager.default.temporaryDirectory.appendingPathComponent("focus-bench-\(quarter.name)")

var rows: [(String, Int, Double, Double, Double, Double)] = []
for name in ["tiny-llava-sp", "tiny-llava-bl", "tiny-llava-qw"] {
    let clock = ContinuousClock()
    var model: LlavaModel?
    let load = (try clock.measure { model = try LlavaModel(directory: fixtures.appendingPathComponent("models/\(name)")) }).seconds
    let image = try ImageDecoder.decode(contentsOf: fixtures.appendingPathComponent("references/\(name)/wide.png"))
    let m = try measure(model!, image: image, repeats: repeats)
    rows.append((name, m.tokens, load, m.vision, m.prefill, m.flops))
}
if !FileManager.default.fileExists(atPath: randomDir.appendingPathComponent("model.safetensors").path) {
    FileHandle.standardError.write(Data("writing random \(quarter.name) checkpoint to \(randomDir.path)…\n".utf8))
    try makeRandomCheckpoint(quarter, at: randomDir, tokenizerFrom: fixtures.appendingPathComponent("models/tiny-llava-sp"))
}
do {
    let clock = ContinuousClock()
    var model: LlavaModel?
    let load = (try clock.measure { model = try LlavaModel(directory: randomDir) }).seconds
    let image = try ImageDecoder.decode(contentsOf: fixtures.appendingPathComponent("references/tiny-llava-sp/wide.png"))
    let m = try measure(model!, image: image, repeats: repeats)
    rows.append((quarter.name, m.tokens, load, m.vision, m.prefill, m.flops))
}
if keep == nil { try? FileManager.default.removeItem(at: randomDir) }

print("| model | prompt tokens | load s | vision ms | prefill ms (vision + decoder) | prefill GFLOP | GFLOP/s |")
print("|---|---:|---:|---:|---:|---:|---:|")
for r in rows {
    print("| \(r.0) | \(r.1) | \(String(format: "%.2f", r.2)) | \(String(format: "%.1f", r.3 * 1000)) | \(String(format: "%.1f", r.4 * 1000)) | \(String(format: "%.2f", r.5 / 1e9)) | \(String(format: "%.1f", r.5 / r.4 / 1e9)) |")
}
