import Foundation
import Models

/// ZoomEye's parameters (om-ai-lab/ZoomEye, LLaVA-1.5 wrapper defaults; baselines document A1).
public struct ZoomEyeOptions: Sendable, Codable, Equatable, Hashable {
    /// Children per split: 4 (2×2, or 1×4 / 4×1 for elongated nodes) or 2 (halves along the longer side).
    public var splitNum = 4
    /// Deepest level searched, the root being depth 0 and its children depth 1 (ZoomEye's
    /// `depth_limit`, 5 by default; the FOCUS paper also runs 1 and 2).
    public var depthLimit = 5
    /// b in w(d) = (1 − b)/D² · d² + b.
    public var biasValue = 0.2
    public var answeringUpper = 0.6
    public var answeringLower = 0.0
    /// Threshold decreases, applied in turn (the last one repeats).
    public var thresholdDecrease = [0.1, 0.1, 0.2]
    /// Type-2 regions are kept at this existence confidence or more.
    public var visualCueThreshold = 0.6
    /// Type-2 traversal depth.
    public var type2Depth = 2
    /// Two final boxes whose union's longer side exceeds this go on a canvas; nil: ZoomEye's 1000 px,
    /// set for a 336-px encoder, scaled to the model's as FOCUS's canvas distance is.
    public var sideThreshold: Double?
    /// Boxes closer than this (pixels) are merged before the union.
    public var mergeBuffer = 50.0

    public init() {}
}

/// ZoomEye (Shen et al.): visual cues from the model, then a best-first search over an image tree
/// whose node priorities mix an existence and a "latent" (common-sense) Yes/No confidence, stopped
/// by an answering confidence; type-2 cues get an exhaustive shallow traversal.
public struct ZoomEye: AnsweringMethod {
    public let name = "zoomeye"
    public let options: ZoomEyeOptions
    public let extractor: TargetExtractor

    public init(options: ZoomEyeOptions = ZoomEyeOptions(), extractor: TargetExtractor) {
        self.options = options
        self.extractor = extractor
    }

    // MARK: - Prompts (zoom_model.py, LLaVA-1.5)

    static func existencePrompt(_ cue: String) -> String { "Is there a \(cue) in the image? Answer Yes or No." }
    static func latentPrompt(_ cue: String) -> String {
        "According to your common sense knowledge and the content of the image, is it possible to find a \(cue) in the image? Answer Yes or No and tell the reason."
    }
    /// What the answering confidence asks about one cue of several (the question itself with one cue).
    static func appearanceQuestion(_ cue: String) -> String { "What is the appearance of the \(cue)?" }
    /// "the the" is in the original.
    static func answeringPrompt(_ question: String) -> String {
        "Question: \(question)\nCould you answer the question based on the the available visual information? Answer Yes or No."
    }

    // MARK: - Tree

    public struct Node: Sendable, Equatable, Codable {
        public var box: PixelBox
        public var depth: Int
    }

    /// Children of a node (`get_sub_patches`): a grid chosen by the aspect ratio, integer strides, the
    /// last row and column absorbing the remainder, row-major.
    public func children(of node: Node) -> [Node] {
        let w = node.box.width, h = node.box.height
        let ratio = h / w
        let (cols, rows): (Int, Int)
        if options.splitNum == 2 {
            (cols, rows) = w >= h ? (2, 1) : (1, 2)
        } else {
            (cols, rows) = ratio >= 2 ? (1, 4) : ratio <= 0.5 ? (4, 1) : (2, 2)
        }
        let sx = (w / Double(cols)).rounded(.down), sy = (h / Double(rows)).rounded(.down)
        var out: [Node] = []
        for r in 0..<rows {
            for c in 0..<cols {
                let x = node.box.x + Double(c) * sx, y = node.box.y + Double(r) * sy
                let cw = c == cols - 1 ? w - Double(c) * sx : sx, ch = r == rows - 1 ? h - Double(r) * sy : sy
                out.append(Node(box: PixelBox(x: x, y: y, width: cw, height: ch), depth: node.depth + 1))
            }
        }
        return out
    }

    /// A node is a leaf when its longer side is under the encoder's input.
    func isLeaf(_ node: Node, patch: Int) -> Bool { max(node.box.width, node.box.height) < Double(patch) }

    /// The depth of the tree (root 0) for an image, capped by `depthLimit`.
    public func maxDepth(width: Int, height: Int, patch: Int) -> Int {
        var node = Node(box: PixelBox(x: 0, y: 0, width: Double(width), height: Double(height)), depth: 0)
        while !isLeaf(node, patch: patch) && node.depth < options.depthLimit {
            // The deepest branch: the largest child.
            node = children(of: node).max { $0.box.area < $1.box.area }!
        }
        return node.depth
    }

    /// What the model sees for a node (`get_patch`): the node's box grown around its centre to at
    /// least the encoder's input, clipped to the image; the root is the full image.
    func view(of node: Node, image: URL, size: (width: Int, height: Int), patch: Int) -> ImageView {
        if node.depth == 0 { return ImageView(image: image) }
        return ImageView(image: image, crop: patchBox(node.box, size: size, patch: patch))
    }

    func patchBox(_ box: PixelBox, size: (width: Int, height: Int), patch: Int) -> PixelBox {
        let w = max(box.width, Double(patch)), h = max(box.height, Double(patch))
        var x = box.centerX - w / 2, y = box.centerY - h / 2
        x = max(0, min(x, Double(size.width) - w)); y = max(0, min(y, Double(size.height) - h))
        return PixelBox(x: x, y: y, width: min(w, Double(size.width)), height: min(h, Double(size.height)))
    }

    // MARK: - Confidence

    func confidence(_ question: String, on view: ImageView, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Double {
        let prompt = executor.chatTemplate.prompt(question: question, image: true)
        let l = try executor.yesNoLogits(prompt: prompt, views: [view], ledger: &ledger)
        return Double(Focus.confidence(yes: l.yes, no: l.no))
    }

    // MARK: - Answer

    public func answer(_ question: Question, executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Answer {
        let cues = try extractor.extract(question.text, executor: executor, ledger: &ledger)
        let size = try executor.imageSize(of: question.image)
        let patch = executor.inputSize
        let root = Node(box: PixelBox(x: 0, y: 0, width: Double(size.width), height: Double(size.height)), depth: 0)
        var searched: [Node] = []
        var fallbacks: [Fallback] = cues.names.isEmpty ? [.noTarget] : []
        if cues.all {
            for cue in cues.names {
                var name = cue
                if name.hasSuffix("s") { name.removeLast() }
                searched += try type2(name, root: root, image: question.image, size: size, patch: patch, executor: executor, ledger: &ledger)
            }
        } else {
            let single = cues.names.count == 1
            for cue in cues.names {
                let asked = single ? question.text : Self.appearanceQuestion(cue)
                if let node = try type1(cue, question: asked, multiCue: !single, root: root, image: question.image, size: size,
                                        patch: patch, executor: executor, ledger: &ledger) {
                    searched.append(node)
                } else {
                    fallbacks.append(.noRegion(cue))
                }
            }
        }
        let view = finalView(searched, image: question.image, size: size, patch: patch, inputSize: executor.inputSize)
        if view.isWholeImage && !cues.names.isEmpty { fallbacks.append(.fullImage) }
        var a = try executor.answerMultipleChoice(question, on: [view], ledger: &ledger)
        a.targets = cues.names
        a.record(fallbacks)
        return a
    }

    /// Best-first search for one type-1 cue (`zoom_eye_search_type1`); nil when no candidate passes.
    func type1(_ cue: String, question: String, multiCue: Bool, root: Node, image: URL, size: (width: Int, height: Int), patch: Int,
               executor: TaskExecutor, ledger: inout ComputeLedger) throws -> Node? {
        let depth = maxDepth(width: size.width, height: size.height, patch: patch)
        var queue: [(node: Node, priority: Double)] = [(root, .infinity)]
        var popped: [(node: Node, answering: Double)] = []
        var popLimit = 3 * depth
        var threshold = options.answeringUpper
        var decreases = options.thresholdDecrease
        var visitedBottom = false
        while !queue.isEmpty {
            let (node, _) = queue.removeFirst()
            let bottom = isLeaf(node, patch: patch) || node.depth >= depth
            if bottom { visitedBottom = true }
            // LLaVA-1.5 with several cues never answers from the root (force_no_root).
            if !(multiCue && node.depth == 0) {
                let answering = try confidence(Self.answeringPrompt(question), on: view(of: node, image: image, size: size, patch: patch),
                                               executor: executor, ledger: &ledger)
                popped.append((node, answering))
                if answering >= threshold && (!multiCue || visitedBottom) { return node }
            }
            if popped.count >= popLimit {
                let step = decreases.count > 1 ? decreases.removeFirst() : (decreases.first ?? 0.1)
                threshold -= step
                popLimit += 2
                if let best = popped.filter({ $0.answering >= threshold }).max(by: { $0.answering < $1.answering }) {
                    return best.node
                }
                if threshold < options.answeringLower { return nil }
            }
            if !bottom {
                for child in children(of: node) {
                    let v = view(of: child, image: image, size: size, patch: patch)
                    let existence = try confidence(Self.existencePrompt(cue), on: v, executor: executor, ledger: &ledger)
                    let latent = try confidence(Self.latentPrompt(cue), on: v, executor: executor, ledger: &ledger)
                    let d = Double(child.depth), dd = Double(max(depth, 1))
                    let w = (1 - options.biasValue) / (dd * dd) * d * d + options.biasValue
                    queue.append((child, w * existence + (1 - w) * latent))
                }
                // A stable sort, descending.
                queue = queue.enumerated().sorted { $0.element.priority != $1.element.priority ? $0.element.priority > $1.element.priority : $0.offset < $1.offset }.map(\.element)
            }
        }
        return popped.filter { $0.answering >= threshold }.max { $0.answering < $1.answering }?.node
    }

    /// Post-order traversal to `type2Depth` with an existence confidence on every node; a node is
    /// kept when it beats both the bar and its best descendant.
    func type2(_ cue: String, root: Node, image: URL, size: (width: Int, height: Int), patch: Int,
               executor: TaskExecutor, ledger: inout ComputeLedger) throws -> [Node] {
        var kept: [Node] = []
        func visit(_ node: Node) throws -> Double {
            var bestBelow = -Double.infinity
            if node.depth < options.type2Depth && !isLeaf(node, patch: patch) {
                for child in children(of: node) { bestBelow = max(bestBelow, try visit(child)) }
            }
            let c = try confidence(Self.existencePrompt(cue), on: view(of: node, image: image, size: size, patch: patch),
                                   executor: executor, ledger: &ledger)
            if c >= max(bestBelow, options.visualCueThreshold) { kept.append(node) }
            return max(c, bestBelow)
        }
        _ = try visit(root)
        return kept
    }

    /// The answer's view: the nodes' patches merged (50-px buffer) and united; two far boxes on a
    /// canvas; the full image when nothing was found or the root is among them.
    func finalView(_ nodes: [Node], image: URL, size: (width: Int, height: Int), patch: Int, inputSize: Int) -> ImageView {
        guard !nodes.isEmpty, !nodes.contains(where: { $0.depth == 0 }) else { return ImageView(image: image) }
        let boxes = PixelBox.mergingOverlaps(nodes.map { patchBox($0.box, size: size, patch: patch) }, buffer: options.mergeBuffer)
        let union = PixelBox.union(boxes)
        let side = options.sideThreshold ?? FocusOptions.scaledToEncoder(1000, inputSize: inputSize)
        if boxes.count == 2 && max(union.width, union.height) > side {
            return ImageView(image: image, canvas: boxes)
        }
        return ImageView(image: image, crop: union)
    }
}
