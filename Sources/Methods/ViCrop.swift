import Foundation
import Models

/// ViCrop's parameters ("MLLMs Know Where to Look", rel-att; baselines document A2).
public struct ViCropOptions: Sendable, Codable, Equatable, Hashable {
    /// Decoder layer whose attention is read (0-based); nil: 14 for 32 layers (the paper's
    /// ATT_LAYER), else round(14/32 × layers).
    public var layer: Int?
    /// The `_high` variant: images over `resolutionThreshold` are cut into blocks, one map each.
    public var high = true
    public var resolutionThreshold = 1024
    /// Crop side multipliers of the encoder input tried by the adaptive box selection.
    public var ratios: [Double] = [1, 1.2, 1.4, 1.6, 1.8, 2]

    public init() {}

    public func attentionLayer(count: Int) -> Int { layer ?? min(count - 1, Int((14.0 / 32.0 * Double(count)).rounded())) }
}

/// ViCrop rel-att: the last token's attention to the image for the question, divided by the same for
/// a generic description prompt, locates the detail; the answer is generated on [image, crop].
public struct ViCrop: AnsweringMethod {
    public let name = "vicrop"
    public let options: ViCropOptions
    /// Decoder layers of the model (to pick the attention layer).
    public let layers: Int

    public static let generalQuestion = "Write a general description of the image."
    public static let shortAnswer = " Answer the question using a single word or phrase."

    public init(options: ViCropOptions = ViCropOptions(), layers: Int) {
        self.options = options
        self.layers = layers
    }

    /// The `_high` blocks: v = ceil(H / 1024) rows, h = max(1, int(v·W/H)) columns of
    /// ceil(W/h) × ceil(H/v) pixels (the last ones clipped), row-major. One block for small images.
    public func blocks(width: Int, height: Int) -> (columns: Int, rows: Int, boxes: [PixelBox]) {
        guard options.high, max(width, height) > options.resolutionThreshold else {
            return (1, 1, [PixelBox(x: 0, y: 0, width: Double(width), height: Double(height))])
        }
        let v = Int((Double(height) / Double(options.resolutionThreshold)).rounded(.up))
        let h = max(1, Int(Double(v) * Double(width) / Double(height)))   // the original can give 0 for tall images
        let bw = (width + h - 1) / h, bh = (height + v - 1) / v
        var boxes: [PixelBox] = []
        for r in 0..<v {
            for c in 0..<h {
                let x = c * bw, y = r * bh
                boxes.append(PixelBox(x: Double(x), y: Double(y), width: Double(min(bw, width - x)), height: Double(min(bh, height - y))))
            }
        }
        return (h, v, boxes)
    }

    public func answer(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Answer {
        let size = try executor.imageSize(of: question.image)
        let (columns, rows, boxes) = blocks(width: size.width, height: size.height)
        let layer = options.attentionLayer(count: layers)
        let asked = executor.chatTemplate.prompt(question: question.text + Self.shortAnswer, image: true)
        let general = executor.chatTemplate.prompt(question: Self.generalQuestion + Self.shortAnswer, image: true)
        // Per block, the ratio map, resampled below onto one uniform grid over the whole image.
        var blockMaps: [(RelevanceMap, ImageGeometry)] = []
        for box in boxes {
            let view = boxes.count == 1 ? ImageView(image: question.image) : ImageView(image: question.image, crop: box)
            func attention(_ prompt: String) throws -> (RelevanceMap, ImageGeometry) {
                let out = try executor.run(ModelTask(prompt: prompt, views: [view], operation: .attention(layer: layer), bucket: .search),
                                           ledger: &ledger)
                guard case .relevance(let m, let g) = out else { preconditionFailure("an attention task returns a map") }
                return (m, g)
            }
            var (q, g) = try attention(asked)
            let (base, _) = try attention(general)
            for i in q.scores.indices { q.scores[i] = base.scores[i] > 0 ? q.scores[i] / base.scores[i] : 0 }
            blockMaps.append((q, g))
        }
        let side = blockMaps[0].0.rows
        let mapW = side * columns, mapH = side * rows
        var map = [Float](repeating: 0, count: mapW * mapH)
        let cellW = Double(size.width) / Double(mapW), cellH = Double(size.height) / Double(mapH)
        for r in 0..<mapH {
            for c in 0..<mapW {
                let x = (Double(c) + 0.5) * cellW, y = (Double(r) + 0.5) * cellH
                guard let b = boxes.firstIndex(where: { x >= $0.x && x < $0.x + $0.width && y >= $0.y && y < $0.y + $0.height }) else { continue }
                let (m, g) = blockMaps[b]
                let p = g.fromOriginal(x: x - boxes[b].x, y: y - boxes[b].y)
                let mc = min(max(Int(p.x / Double(g.inputWidth) * Double(m.columns)), 0), m.columns - 1)
                let mr = min(max(Int(p.y / Double(g.inputHeight) * Double(m.rows)), 0), m.rows - 1)
                map[r * mapW + c] = m[mr, mc]
            }
        }
        let crop = Self.box(map: map, columns: mapW, rows: mapH, width: size.width, height: size.height,
                            bboxSize: executor.inputSize, ratios: options.ratios)
        let views = crop.map { [ImageView(image: question.image), ImageView(image: question.image, crop: $0)] } ?? [ImageView(image: question.image)]
        return try executor.answerMultipleChoice(question, on: views, ledger: &ledger)
    }

    /// `bbox_from_att_image_adaptive`: for each ratio, the window of bbox_size·ratio pixels (in cells)
    /// with the largest sum (stride 1, first maximum in x-outer, y-inner order), scored by how much it
    /// beats its up-to-four neighbour windows per cell; the sharpest ratio's square, centred on the
    /// window and kept inside the image. nil means the full image.
    public static func box(map: [Float], columns: Int, rows: Int, width: Int, height: Int, bboxSize: Int,
                           ratios: [Double]) -> PixelBox? {
        let bsX = Double(width) / Double(columns), bsY = Double(height) / Double(rows)
        var best: (difference: Double, centre: (Double, Double), side: Double)?
        for ratio in ratios {
            let bnX = min(Int(Double(bboxSize) * ratio / bsX), columns), bnY = min(Int(Double(bboxSize) * ratio / bsY), rows)
            if columns - bnX < 1 && rows - bnY < 1 {
                if ratio == 1 { return nil }
                continue
            }
            guard bnX >= 1, bnY >= 1 else { continue }
            let nx = columns - bnX + 1, ny = rows - bnY + 1
            var sums = [Double](repeating: 0, count: nx * ny)   // [x][y]
            var top = (sum: -Double.infinity, x: 0, y: 0)
            for x in 0..<nx {
                for y in 0..<ny {
                    var s = 0.0
                    for r in y..<(y + bnY) { for c in x..<(x + bnX) { s += Double(map[r * columns + c]) } }
                    sums[x * ny + y] = s
                    if s > top.sum { top = (s, x, y) }
                }
            }
            var neighbours: [Double] = []
            for (dx, dy) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                let x = top.x + dx, y = top.y + dy
                if x >= 0, x < nx, y >= 0, y < ny { neighbours.append(sums[x * ny + y]) }
            }
            let mean = neighbours.isEmpty ? top.sum : neighbours.reduce(0, +) / Double(neighbours.count)
            let difference = (top.sum - mean) / Double(bnX * bnY)
            let centre = (Double(top.x) * bsX + bsX * Double(bnX) / 2, Double(top.y) * bsY + bsY * Double(bnY) / 2)
            if best == nil || difference > best!.difference {
                best = (difference, centre, Double(bboxSize) * ratio)
            }
        }
        guard let b = best else { return nil }
        let s = b.side.rounded(.down)
        let half = (s / 2).rounded(.down)
        let cx = min(max(b.centre.0, half), Double(width) - half), cy = min(max(b.centre.1, half), Double(height) - half)
        let x0 = max(0, cx - half), y0 = max(0, cy - half)
        return PixelBox(x: x0, y: y0, width: min(Double(width), cx + half) - x0, height: min(Double(height), cy + half) - y0)
    }
}
