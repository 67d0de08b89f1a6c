import Foundation
import Models

/// FOCUS step 5's canvas: regions of one image, each resized to fit an encoder-sized cell (aspect
/// kept, centred), pasted in a grid that keeps their order: one row left to right when they spread
/// more across than down, one column top to bottom otherwise, and for more than three regions a
/// near-square grid in reading order of their centres.
public enum Canvas {
    /// Cell (column, row) of each region, in the order given, and the grid size.
    public static func layout(_ regions: [PixelBox]) -> (columns: Int, rows: Int, cells: [(column: Int, row: Int)]) {
        let n = regions.count
        guard n > 0 else { return (0, 0, []) }
        let xs = regions.map(\.centerX), ys = regions.map(\.centerY)
        let spreadX = xs.max()! - xs.min()!, spreadY = ys.max()! - ys.min()!
        if n <= 3 {
            if spreadX >= spreadY {
                let order = regions.indices.sorted { xs[$0] != xs[$1] ? xs[$0] < xs[$1] : $0 < $1 }
                var cells = [(column: Int, row: Int)](repeating: (0, 0), count: n)
                for (slot, i) in order.enumerated() { cells[i] = (slot, 0) }
                return (n, 1, cells)
            }
            let order = regions.indices.sorted { ys[$0] != ys[$1] ? ys[$0] < ys[$1] : $0 < $1 }
            var cells = [(column: Int, row: Int)](repeating: (0, 0), count: n)
            for (slot, i) in order.enumerated() { cells[i] = (0, slot) }
            return (1, n, cells)
        }
        let columns = Int(Double(n).squareRoot().rounded(.up)), rows = (n + columns - 1) / columns
        // Rows by y, then each row by x.
        let byY = regions.indices.sorted { ys[$0] != ys[$1] ? ys[$0] < ys[$1] : $0 < $1 }
        var cells = [(column: Int, row: Int)](repeating: (0, 0), count: n)
        for r in 0..<rows {
            let members = byY[(r * columns)..<min(n, (r + 1) * columns)].sorted { xs[$0] != xs[$1] ? xs[$0] < xs[$1] : $0 < $1 }
            for (c, i) in members.enumerated() { cells[i] = (c, r) }
        }
        return (columns, rows, cells)
    }

    /// The canvas pixels (cells of `cell` x `cell`, background colour between).
    public static func compose(_ regions: [PixelBox], from image: RGBImage, cell: Int,
                               background: (r: UInt8, g: UInt8, b: UInt8)) -> RGBImage {
        let (columns, rows, cells) = layout(regions)
        var canvas = RGBImage(width: max(1, columns * cell), height: max(1, rows * cell), fill: background)
        for (region, place) in zip(regions, cells) {
            let crop = image.cropped(to: region)
            let w = crop.width, h = crop.height
            let scale = Double(cell) / Double(max(w, h))
            let rw = max(1, Int((Double(w) * scale).rounded())), rh = max(1, Int((Double(h) * scale).rounded()))
            let resized = crop.resized(width: rw, height: rh, resample: .bicubic)
            canvas.paste(resized, x: place.column * cell + (cell - rw) / 2, y: place.row * cell + (cell - rh) / 2)
        }
        return canvas
    }
}

extension RGBImage {
    /// The pixels of `box` (integral bounds), clipped to the image; at least one pixel.
    public func cropped(to box: PixelBox) -> RGBImage {
        let b = box.integral
        let x0 = min(max(b.x, 0), width - 1), y0 = min(max(b.y, 0), height - 1)
        return cropped(x: x0, y: y0, width: min(b.width, width - x0), height: min(b.height, height - y0))
    }
}
