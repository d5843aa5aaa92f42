import ArgumentParser
import SluiceFastText

/// `sluice fasttext …`: fastText's command line with its own single-dash flags, so the
/// arguments are passed through untouched to ``FastTextCommandLine``.
struct FastTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fasttext",
        abstract: "Train, test, quantize and run fastText classifiers, with the official flags and output formats.",
        discussion: """
            Commands (fastText's own flags and output formats):
              supervised -input FILE -output MODEL [flags]   (writes MODEL.bin, MODEL.vec)
                flags: -lr -dim -ws -epoch -minCount -minCountLabel -neg -wordNgrams
                       -minn -maxn -bucket -loss {softmax,ns,hs,ova} -thread
                       -lrUpdateRate -t -label -verbose -seed -pretrainedVectors
                       -saveOutput
              predict MODEL FILE|- [k] [threshold]
              predict-prob MODEL FILE|- [k] [threshold]
              test MODEL FILE|- [k] [threshold]
              quantize -output MODEL [-input FILE -qnorm -qout -cutoff N -retrain
                       -dsub D -epoch -lr -thread -verbose]
                       (reads MODEL.bin, writes MODEL.ftz)
            Models are fastText .bin/.ftz files; official fastText loads those
            written here.
            """)

    @Argument(parsing: .allUnrecognized, help: "A command (supervised, predict, predict-prob, test, quantize) and its arguments.")
    var arguments: [String] = []

    func run() throws {
        let status = FastTextCommandLine.run(arguments)
        if status != 0 { throw ExitCode(status) }
    }
}
