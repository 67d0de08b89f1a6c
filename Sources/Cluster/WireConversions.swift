import Foundation
import Methods
import Models

/// A message that decoded as protobuf but does not say something focus can act on (a task without an
/// operation, an unknown bucket, a map whose size does not match its scores).
public struct WireError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

// MARK: - Tasks

extension Focus_Task {
    /// The wire form of a method's task.
    public init(_ task: ModelTask, id: UInt64, attempt: UInt32 = 0) {
        self.init()
        taskID = id
        self.attempt = attempt
        prompt = task.prompt
        views = task.views.map(Focus_ImageView.init)
        bucket = Focus_Bucket(task.bucket)
        switch task.operation {
        case .generate(let maxNewTokens):
            generate = .with { $0.maxNewTokens = UInt32(max(0, maxNewTokens)) }
        case .candidates(let words):
            candidates = .with { $0.words = words }
        case .relevance(let phrase, let options):
            relevance = .with {
                $0.phrase = phrase
                $0.options = Focus_RelevanceOptions(options)
            }
        case .attention(let layer):
            attention = .with { $0.layer = UInt32(max(0, layer)) }
        case .continuations(let texts):
            continuations = .with { $0.texts = texts }
        }
    }

    /// The task a node executes; throws on a task no method could have sent.
    public func modelTask() throws -> ModelTask {
        let op: ModelTask.Operation
        switch operation {
        case .generate(let g)?: op = .generate(maxNewTokens: Int(g.maxNewTokens))
        case .candidates(let c)?:
            guard !c.words.isEmpty else { throw WireError("task \(taskID): candidates without words") }
            op = .candidates(c.words)
        case .relevance(let r)?: op = .relevance(phrase: r.phrase, options: try r.options.relevanceOptions())
        case .attention(let a)?: op = .attention(layer: Int(a.layer))
        case .continuations(let c)?:
            guard !c.texts.isEmpty else { throw WireError("task \(taskID): continuations without texts") }
            op = .continuations(c.texts)
        case nil: throw WireError("task \(taskID) has no operation")
        }
        return ModelTask(prompt: prompt, views: try views.map { try $0.imageView() }, operation: op,
                         bucket: try bucket.computeBucket())
    }
}

extension Focus_Bucket {
    init(_ bucket: ComputeBucket) {
        switch bucket {
        case .extraction: self = .extraction
        case .search: self = .search
        case .answer: self = .answer
        }
    }

    func computeBucket() throws -> ComputeBucket {
        switch self {
        case .extraction: return .extraction
        case .search: return .search
        case .answer: return .answer
        default: throw WireError("unknown compute bucket \(rawValue)")
        }
    }
}

extension Focus_Box {
    init(_ box: PixelBox) {
        self.init()
        x = box.x
        y = box.y
        width = box.width
        height = box.height
    }

    func pixelBox() throws -> PixelBox {
        guard [x, y, width, height].allSatisfy(\.isFinite), width > 0, height > 0 else {
            throw WireError("box (\(x), \(y), \(width), \(height)) is not a box")
        }
        return PixelBox(x: x, y: y, width: width, height: height)
    }
}

extension Focus_ImageView {
    init(_ view: ImageView) {
        self.init()
        path = view.image.path
        if let crop = view.crop { self.crop = Focus_Box(crop) }
        canvas = (view.canvas ?? []).map(Focus_Box.init)
    }

    func imageView() throws -> ImageView {
        guard !path.isEmpty else { throw WireError("an image view without a path") }
        let url = URL(fileURLWithPath: path)
        if !canvas.isEmpty { return ImageView(image: url, canvas: try canvas.map { try $0.pixelBox() }) }
        return ImageView(image: url, crop: hasCrop ? try crop.pixelBox() : nil)
    }
}

extension Focus_RelevanceOptions {
    init(_ options: RelevanceOptions) {
        self.init()
        source = options.source.rawValue
        aggregation = options.aggregation.rawValue
        if let layers = options.layers {
            hasLayers_p = true
            layerStart = UInt32(layers.lowerBound)
            layerEnd = UInt32(layers.upperBound)
        }
    }

    func relevanceOptions() throws -> RelevanceOptions {
        guard let s = RelevanceOptions.Source(rawValue: source) else { throw WireError("unknown relevance source '\(source)'") }
        guard let a = RelevanceOptions.LayerAggregation(rawValue: aggregation) else {
            throw WireError("unknown layer aggregation '\(aggregation)'")
        }
        var options = RelevanceOptions(source: s, aggregation: a)
        if hasLayers_p {
            guard layerStart < layerEnd else { throw WireError("empty layer range \(layerStart)..<\(layerEnd)") }
            options.layers = Int(layerStart)..<Int(layerEnd)
        }
        return options
    }
}

// MARK: - Results

extension Focus_Result {
    /// A successful result.
    public init(taskID: UInt64, attempt: UInt32, output: TaskOutput, cost: TaskCost) {
        self.init()
        self.taskID = taskID
        self.attempt = attempt
        switch output {
        case .text(let text, let ids):
            self.text = .with {
                $0.text = text
                $0.tokenIds = ids.map { Int32(clamping: $0) }
            }
        case .logits(let values):
            logits = .with { $0.values = values }
        case .relevance(let map, let geometry):
            relevance = .with {
                $0.rows = UInt32(map.rows)
                $0.columns = UInt32(map.columns)
                $0.scores = map.scores
                $0.geometry = Focus_Geometry(geometry)
            }
        }
        self.cost = Focus_Cost(cost)
    }

    /// A failed task, with the node's message.
    public init(taskID: UInt64, attempt: UInt32, error: String) {
        self.init()
        self.taskID = taskID
        self.attempt = attempt
        self.error = error
    }

    /// The output and cost, or the node's error as `.failure`.
    public func decoded() throws -> Result<(output: TaskOutput, cost: TaskCost), TaskFailure> {
        let output: TaskOutput
        switch self.output {
        case .error(let message)?: return .failure(TaskFailure(message: message))
        case .text(let t)?: output = .text(t.text, ids: t.tokenIds.map(Int.init))
        case .logits(let l)?: output = .logits(l.values)
        case .relevance(let m)?:
            guard m.rows > 0, m.columns > 0, Int(m.rows) * Int(m.columns) == m.scores.count else {
                throw WireError("task \(taskID): a \(m.rows)x\(m.columns) map with \(m.scores.count) scores")
            }
            output = .relevance(RelevanceMap(rows: Int(m.rows), columns: Int(m.columns), scores: m.scores),
                                geometry: m.geometry.imageGeometry())
        case nil: throw WireError("result of task \(taskID) has no output")
        }
        return .success((output, try cost.taskCost()))
    }
}

/// A task that a node could not execute, with the node's message.
public struct TaskFailure: Error, Equatable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

extension Focus_Cost {
    init(_ cost: TaskCost) {
        self.init()
        bucket = Focus_Bucket(cost.bucket)
        forwardPasses = UInt32(clamping: cost.forwardPasses)
        prefillTokens = UInt32(clamping: cost.prefillTokens)
        generatedTokens = UInt32(clamping: cost.generatedTokens)
        flops = cost.flops
        seconds = cost.seconds
        cachedTokens = UInt32(clamping: cost.cachedTokens)
    }

    func taskCost() throws -> TaskCost {
        TaskCost(bucket: try bucket.computeBucket(), forwardPasses: Int(forwardPasses), prefillTokens: Int(prefillTokens),
                 generatedTokens: Int(generatedTokens), flops: flops, seconds: seconds, cachedTokens: Int(cachedTokens))
    }
}

extension Focus_Geometry {
    init(_ g: ImageGeometry) {
        self.init()
        originalWidth = Int32(g.originalWidth)
        originalHeight = Int32(g.originalHeight)
        padLeft = Int32(g.padLeft)
        padTop = Int32(g.padTop)
        paddedWidth = Int32(g.paddedWidth)
        paddedHeight = Int32(g.paddedHeight)
        resizedWidth = Int32(g.resizedWidth)
        resizedHeight = Int32(g.resizedHeight)
        cropLeft = Int32(g.cropLeft)
        cropTop = Int32(g.cropTop)
        inputWidth = Int32(g.inputWidth)
        inputHeight = Int32(g.inputHeight)
    }

    func imageGeometry() -> ImageGeometry {
        ImageGeometry(originalWidth: Int(originalWidth), originalHeight: Int(originalHeight), padLeft: Int(padLeft),
                      padTop: Int(padTop), paddedWidth: Int(paddedWidth), paddedHeight: Int(paddedHeight),
                      resizedWidth: Int(resizedWidth), resizedHeight: Int(resizedHeight), cropLeft: Int(cropLeft),
                      cropTop: Int(cropTop), inputWidth: Int(inputWidth), inputHeight: Int(inputHeight))
    }
}

// MARK: - Envelopes

extension Focus_Envelope {
    /// An envelope of this protocol version around `body`.
    public init(_ body: Focus_Envelope.OneOf_Body) {
        self.init()
        protocolVersion = Cluster.protocolVersion
        self.body = body
    }

    /// The one frame that carries this envelope.
    public func frame() throws -> [UInt8] { Array(try serializedData()) }

    /// Decodes a frame; a frame that is not an envelope throws `WireError` naming what was wrong.
    public static func decode(_ frame: [UInt8]) throws -> Focus_Envelope {
        let envelope: Focus_Envelope
        do {
            envelope = try Focus_Envelope(serializedBytes: frame)
        } catch {
            throw WireError("a \(frame.count)-byte frame is not a focus Envelope (\(error))")
        }
        guard envelope.body != nil else { throw WireError("an Envelope without a message") }
        return envelope
    }
}
