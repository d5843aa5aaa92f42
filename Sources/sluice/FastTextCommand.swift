import ArgumentParser
import SluiceFastText

/// `sluice fasttext …`: fastText's command line with its own single-dash flags, so the
/// arguments are passed through untouched to ``FastTextCommandLine``.
struct FastTextCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fasttext",
        abstract: "Train, test, quantize and run fastText classifiers, with the official flags and output formats.",
        discussion: """
            Commands:
              supervised -input F -output M [-lr -dim -ws -epoch -minCount -minCountLabel -neg \
            -wordNgrams -minn -maxn -bucket -loss -thread -lrUpdateRate -t -label -verbose -seed \
            -pretrainedVectors -saveOutput]   writes M.bin and M.vec
              predict <model> <file|-> [k] [threshold]
              predict-prob <model> <file|-> [k] [threshold]
              test <model> <file|-> [k] [threshold]
              quantize -output M [-input F -qnorm -qout -cutoff N -retrain -dsub D -epoch -lr -thread -verbose]   reads M.bin, writes M.ftz
            Models are read and written in fastText's .bin/.ftz format, loadable by official fastText.
            """)

    @Argument(parsing: .allUnrecognized, help: "A command (supervised, predict, predict-prob, test, quantize) and its arguments.")
    var arguments: [String] = []

    func run() throws {
        let status = FastTextCommandLine.run(arguments)
        if status != 0 { throw ExitCode(status) }
    }
}
