#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

extension FastTextCommandLine {
    static func help(_ o: FastTextTrainingOptions, _ q: FastTextQuantizeOptions) -> String {
        """

        The following arguments are mandatory:
          -input              training file path
          -output             output file path

        The following arguments are optional:
          -verbose            verbosity level [\(o.verbose)]

        The following arguments for the dictionary are optional:
          -minCount           minimal number of word occurences [\(o.minCount)]
          -minCountLabel      minimal number of label occurences [\(o.minCountLabel)]
          -wordNgrams         max length of word ngram [\(o.wordNgrams)]
          -bucket             number of buckets [\(o.bucket)]
          -minn               min length of char ngram [\(o.minn)]
          -maxn               max length of char ngram [\(o.maxn)]
          -t                  sampling threshold [\(formatC(o.t, "%g"))]
          -label              labels prefix [\(o.label)]

        The following arguments for training are optional:
          -lr                 learning rate [\(formatC(o.lr, "%g"))]
          -lrUpdateRate       change the rate of updates for the learning rate [\(o.lrUpdateRate)]
          -dim                size of word vectors [\(o.dim)]
          -ws                 size of the context window [\(o.ws)]
          -epoch              number of epochs [\(o.epoch)]
          -neg                number of negatives sampled [\(o.neg)]
          -loss               loss function {ns, hs, softmax, one-vs-all} [\(o.loss)]
          -thread             number of threads (set to 1 to ensure reproducible results) [\(o.thread)]
          -pretrainedVectors  pretrained word vectors for supervised learning []
          -saveOutput         whether output params should be saved [false]
          -seed               random generator seed  [\(o.seed)]

        The following arguments for quantization are optional:
          -cutoff             number of words and ngrams to retain [\(q.cutoff)]
          -retrain            whether embeddings are finetuned if a cutoff is applied [false]
          -qnorm              whether the norm is quantized separately [false]
          -qout               whether the classifier is quantized [false]
          -dsub               size of each sub-vector [\(q.dsub)]

        """
    }

    /// Parsed `-flag value` arguments of `supervised` and `quantize`.
    struct ParsedFlags {
        var train: FastTextTrainingOptions
        var quant = FastTextQuantizeOptions()
        var output = ""
        var input = ""
        var saveOutput = false
    }

    static func parseFlags(_ args: [String], quantize: Bool) throws -> ParsedFlags {
        var p = ParsedFlags(train: FastTextTrainingOptions(input: ""))
        if quantize {
            // `quantize` starts from the library defaults, not those of `supervised`.
            p.train.lr = 0.05
        }
        let helpText = help(p.train, p.quant)
        var i = 1
        func value(_ flag: String) throws -> String {
            guard i + 1 < args.count else { throw FastTextArgumentError("\(flag) is missing an argument" + helpText) }
            return args[i + 1]
        }
        func int(_ flag: String) throws -> Int {
            let v = try value(flag)
            guard let n = Int(v) else { throw FastTextArgumentError("\(flag) needs an integer, got '\(v)'") }
            return n
        }
        func double(_ flag: String) throws -> Double {
            let v = try value(flag)
            guard let n = Double(v) else { throw FastTextArgumentError("\(flag) needs a number, got '\(v)'") }
            return n
        }
        while i < args.count {
            let flag = args[i]
            guard flag.hasPrefix("-") else {
                throw FastTextArgumentError("Provided argument without a dash! Usage:" + helpText)
            }
            var step = 2
            switch flag {
            case "-h", "-help", "--help": throw FastTextArgumentError("Here is the help! Usage:" + helpText)
            case "-input": p.input = try value(flag)
            case "-output": p.output = try value(flag)
            case "-lr":
                let v = try double(flag)
                p.train.lr = v
                p.quant.lr = v
            case "-lrUpdateRate": p.train.lrUpdateRate = try int(flag)
            case "-dim": p.train.dim = try int(flag)
            case "-ws": p.train.ws = try int(flag)
            case "-epoch":
                let v = try int(flag)
                p.train.epoch = v
                p.quant.epoch = v
            case "-minCount": p.train.minCount = try int(flag)
            case "-minCountLabel": p.train.minCountLabel = try int(flag)
            case "-neg": p.train.neg = try int(flag)
            case "-wordNgrams": p.train.wordNgrams = try int(flag)
            case "-loss":
                let v = try value(flag)
                guard let l = FastTextLoss(name: v) else { throw FastTextArgumentError("Unknown loss: \(v)" + helpText) }
                p.train.loss = l
            case "-bucket": p.train.bucket = try int(flag)
            case "-minn": p.train.minn = try int(flag)
            case "-maxn": p.train.maxn = try int(flag)
            case "-thread":
                let v = try int(flag)
                p.train.thread = v
                p.quant.thread = v
            case "-t": p.train.t = try double(flag)
            case "-label": p.train.label = try value(flag)
            case "-verbose":
                let v = try int(flag)
                p.train.verbose = v
                p.quant.verbose = v
            case "-pretrainedVectors": p.train.pretrainedVectors = try value(flag)
            case "-saveOutput":
                p.saveOutput = true
                step = 1
            case "-seed": p.train.seed = try int(flag)
            case "-qnorm":
                p.quant.qnorm = true
                step = 1
            case "-retrain":
                p.quant.retrain = true
                step = 1
            case "-qout":
                p.quant.qout = true
                step = 1
            case "-cutoff": p.quant.cutoff = try int(flag)
            case "-dsub": p.quant.dsub = try int(flag)
            default:
                throw FastTextArgumentError("Unknown argument: \(flag)" + helpText)
            }
            i += step
        }
        return p
    }

    /// Checks that `path`'s folder can take a new file before spending time on training.
    static func checkWritable(_ path: String) throws {
        var dir = "."
        if let slash = path.lastIndex(of: "/") { dir = slash == path.startIndex ? "/" : String(path[..<slash]) }
        if access(dir, W_OK) != 0 {
            throw FastTextError("\(path) cannot be opened for saving: \(errnoText()) (folder \(dir))")
        }
    }

    static func supervised(_ args: [String]) throws -> Int32 {
        let p = try parseFlags(args, quantize: false)
        if p.input.isEmpty || p.output.isEmpty {
            throw FastTextArgumentError("Empty input or output path." + help(p.train, p.quant))
        }
        if p.input == "-" { throw FastTextError("Cannot use stdin for training!") }
        var options = p.train
        options.input = p.input
        try checkWritable(p.output + ".bin")
        let model = try FastTextModel.train(options)
        try model.write(to: p.output + ".bin")
        try model.writeVectors(to: p.output + ".vec")
        if p.saveOutput { try model.writeOutputVectors(to: p.output + ".output") }
        return 0
    }

    static func quantize(_ args: [String]) throws -> Int32 {
        if args.count < 2 {
            printError("usage: sluice fasttext quantize <args>" + help(FastTextTrainingOptions(input: ""), FastTextQuantizeOptions()))
            return 2
        }
        let p = try parseFlags(args, quantize: true)
        if p.output.isEmpty {
            throw FastTextArgumentError("Empty output path: quantize reads OUTPUT.bin and writes OUTPUT.ftz; give -output." + help(p.train, p.quant))
        }
        var q = p.quant
        q.input = p.input.isEmpty ? nil : p.input
        if q.retrain && q.cutoff > 0 && q.input == nil {
            throw FastTextArgumentError("-retrain needs -input: the training file to fine-tune on")
        }
        let model = try FastTextModel(contentsOf: p.output + ".bin")
        try checkWritable(p.output + ".ftz")
        let quantized = try model.quantized(q)
        try quantized.write(to: p.output + ".ftz")
        return 0
    }
}

extension FastTextModel {
    /// Writes the output matrix as text (`-saveOutput`): `nlabels dim`, then each label and
    /// its row.
    public func writeOutputVectors(to path: String) throws {
        guard case .dense(let m) = output else {
            throw FastTextError("Option -saveOutput is not supported for quantized models.")
        }
        var out = try FDOutput(creating: path)
        let dim = Int(args.dim)
        out.text("\(m.rows) \(dim)\n")
        for i in 0..<m.rows {
            out.text(args.model == .supervised ? labels[i] : dictionary.word(i))
            out.byte(32)
            for v in m.rowValues(i) {
                out.general(Double(v), precision: 5)
                out.byte(32)
            }
            out.byte(10)
        }
        out.flush()
        if out.failed { throw FastTextError("cannot write \(path)") }
    }
}
