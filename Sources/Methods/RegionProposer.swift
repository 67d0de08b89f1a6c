import Foundation
import Models

/// FOCUS step 3's parameters, in map cells (method document). Defaults are LLaVA-1.5's on a 24×24
/// grid; `scaled(toGrid:)` carries them to other grids.
public struct ProposalOptions: Sendable, Codable, Equatable, Hashable {
    /// Anchors at most.
    public var k: Int
    /// Starting square side.
    public var sMin: Int
    /// Largest square side.
    public var sMax: Int
    /// Least Euclidean distance between anchors.
    public var sDist: Double
    /// IoU above which a lower-ranked square is suppressed.
    public var nms: Double
    /// Least mean normalised score of a grown square.
    public var expandThreshold: Double

    public init(k: Int = 30, sMin: Int = 3, sMax: Int = 5, sDist: Double = 2, nms: Double = 0.3, expandThreshold: Double = 0.5) {
        self.k = k
        self.sMin = sMin
        self.sMax = sMax
        self.sDist = sDist
        self.nms = nms
        self.expandThreshold = expandThreshold
    }

    /// LLaVA-1.5's defaults for a run of `steps` verification steps: k = 15 below 4 steps, else 30;
    /// s_dist 2 for V*Bench-like images, 3 otherwise.
    public static func llava15(steps: Int, vstarLike: Bool = true) -> ProposalOptions {
        ProposalOptions(k: steps < 4 ? 15 : 30, sDist: vstarLike ? 2 : 3)
    }

    /// The sides and distance for another model's grid. LLaVA-1.5's 24-cell grid keeps the paper's
    /// values. Elsewhere they are scaled so that a crop spans the same multiple of the encoder's input
    /// as the paper's on V*Bench (5 cells of a 2246-px image's 93.6-px cells = 1.39 × 336 px):
    /// factor = (inputSize / cellPixels) / (336 / 93.6); at least one cell.
    ///
    /// **Decision:** s_max stays at least s_min + 2, so that a square can still grow once around its
    /// anchor, as the paper's 3 → 5 can. The pixel rule alone gives the toy model (96-px input,
    /// 171-px cells) s_min = s_max = 1: every crop one cell, which cuts any object larger than a
    /// cell in half (its halves then fail verification) and leaves the expansion threshold nothing
    /// to decide. With 1 → 3, a peak on one cell stays a one-cell crop (a small object seen large)
    /// and a peak spread over its neighbours grows to three.
    ///
    /// **Decision:** k is left as it is. Scaling it to keep the share of the map the starting squares
    /// cover (the paper's 30 squares of 3×3 on 24×24 cover 47 %; the toy's 30 one-cell squares 21 %)
    /// would give the toy k = 68: measured on the toy's held-out small objects it changed FOCUS-8's
    /// accuracy by +0.5 and +3.0 points on two benchmarks of 200 questions at 23-32 % more search passes,
    /// since the extra anchors are checked mostly on absent targets, where each adds a chance of a
    /// false Yes.
    public func scaled(toGrid side: Int, cellPixels: Double, inputSize: Int) -> ProposalOptions {
        guard side != 24 else { return self }
        let f = (Double(inputSize) / cellPixels) / (336.0 / 93.6)
        var o = self
        o.sMin = max(1, Int((Double(sMin) * f).rounded()))
        o.sMax = max(o.sMin + 2, Int((Double(sMax) * f).rounded()))
        o.sDist = max(1, sDist * f)
        return o
    }
}

/// A square of map cells: rows `row..<row+side`, columns `column..<column+side`.
public struct CellSquare: Sendable, Codable, Equatable, Hashable {
    public var row: Int
    public var column: Int
    public var side: Int

    public init(row: Int, column: Int, side: Int) {
        self.row = row
        self.column = column
        self.side = side
    }

    public func iou(_ other: CellSquare) -> Double {
        let r = max(0, min(row + side, other.row + other.side) - max(row, other.row))
        let c = max(0, min(column + side, other.column + other.side) - max(column, other.column))
        let inter = Double(r * c)
        return inter / Double(side * side + other.side * other.side - r * c)
    }
}

/// One candidate region: its anchor cell, the anchor's normalised score, and the grown square.
public struct Proposal: Sendable, Codable, Equatable {
    public var anchorRow: Int
    public var anchorColumn: Int
    public var score: Float
    public var square: CellSquare
}

/// FOCUS step 3: anchors in descending score at least s_dist apart, squares grown from s_min while
/// the grown square stays relevant, NMS; then the squares in original pixels.
public enum RegionProposer {
    public static func propose(_ map: RelevanceMap, options: ProposalOptions) -> [Proposal] {
        let rows = map.rows, columns = map.columns
        let scores = map.minMaxNormalized
        // Descending score; ties in reading order, so the result does not depend on the sort.
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var anchors: [(Int, Int)] = []
        for index in order {
            guard anchors.count < options.k else { break }
            let r = index / columns, c = index % columns
            let farEnough = anchors.allSatisfy { a in
                let dr = Double(a.0 - r), dc = Double(a.1 - c)
                return (dr * dr + dc * dc).squareRoot() >= options.sDist
            }
            if farEnough { anchors.append((r, c)) }
        }
        let limit = min(rows, columns)
        func square(centredOn r: Int, _ c: Int, side: Int) -> CellSquare {
            let s = min(side, limit)
            let r0 = min(max(r - (s - 1) / 2, 0), rows - s), c0 = min(max(c - (s - 1) / 2, 0), columns - s)
            return CellSquare(row: r0, column: c0, side: s)
        }
        func mean(_ q: CellSquare) -> Double {
            var total: Double = 0
            for r in q.row..<(q.row + q.side) {
                for c in q.column..<(q.column + q.side) { total += Double(scores[r * columns + c]) }
            }
            return total / Double(q.side * q.side)
        }
        var proposals: [Proposal] = []
        for (r, c) in anchors {
            var q = square(centredOn: r, c, side: options.sMin)
            while q.side + 2 <= min(options.sMax, limit) {
                let grown = square(centredOn: r, c, side: q.side + 2)
                guard mean(grown) >= options.expandThreshold else { break }
                q = grown
            }
            let candidate = Proposal(anchorRow: r, anchorColumn: c, score: scores[r * columns + c], square: q)
            // Anchors are already in descending score, so NMS keeps the earlier square.
            if proposals.allSatisfy({ $0.square.iou(q) <= options.nms }) { proposals.append(candidate) }
        }
        return proposals
    }

    /// A square in original pixels through the preprocessing geometry (clipped to the image), then
    /// enlarged around its centre to at least the encoder's input side (or the whole image).
    public static func pixelBox(_ square: CellSquare, grid: (rows: Int, columns: Int), geometry: ImageGeometry,
                                minimumSide: Int) -> PixelBox {
        let a = geometry.cellToOriginal(column: square.column, row: square.row, columns: grid.columns, rows: grid.rows)
        let b = geometry.cellToOriginal(column: square.column + square.side - 1, row: square.row + square.side - 1,
                                        columns: grid.columns, rows: grid.rows)
        let box = PixelBox(x: a.x0, y: a.y0, width: max(0, b.x1 - a.x0), height: max(0, b.y1 - a.y0))
        return box.enlarged(toAtLeast: Double(minimumSide), imageWidth: geometry.originalWidth, imageHeight: geometry.originalHeight)
    }
}
