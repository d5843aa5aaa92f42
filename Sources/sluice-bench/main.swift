// sluice-bench: throughput benchmarks for Sluice, run on a release build.
//
//   swift build -c release
//   .build/release/sluice-bench passthrough --size 1GB --dir /tmp/sluice-bench
//   .build/release/sluice-bench dedup --documents 10000000
//   .build/release/sluice-bench language-id | fasttext-train | filters | web | quality | lm
//   .build/release/sluice-bench help            every subcommand and option
//
// `passthrough` times `sluice run` end to end in child processes (the I/O path); `dedup` runs
// each MinHash step in a child process of its own (its time and peak RSS are its own); the
// others time one library function on one thread. Each prints documents/s and MB/s, and the
// machine's load average, since numbers from a shared machine need it; `--json` prints JSON.
import Foundation

let commands = [
    passthroughCommand, dedupCommand, languageIDCommand, fastTextTrainCommand, filtersCommand, webCommand, qualityCommand, lmCommand,
]

func printHelp() {
    var text = "usage: sluice-bench COMMAND [OPTIONS]   (a release build: swift build -c release)\n\n"
    for c in commands where c.listed {
        text += c.usage + "\n"
    }
    print(text, terminator: "")
}

var arguments = Array(CommandLine.arguments.dropFirst())
let command = arguments.isEmpty ? "" : arguments.removeFirst()
do {
    switch command {
    case "passthrough": try runPassthrough(arguments)
    case "dedup": try runDedup(arguments)
    case "dedup-step": try runDedupStep(arguments)
    case "language-id": try runLanguageID(arguments)
    case "fasttext-train": try runFastTextTrain(arguments)
    case "filters": try runFilters(arguments)
    case "web": try runWeb(arguments)
    case "quality": try runQuality(arguments)
    case "lm": try runLM(arguments)
    case "help", "--help", "-h":
        printHelp()
    default:
        FileHandle.standardError.write(
            Data("sluice-bench: \(command.isEmpty ? "no command" : "unknown command '\(command)'"); one of \(commands.map(\.name).joined(separator: ", ")), or help\n".utf8))
        exit(2)
    }
} catch {
    FileHandle.standardError.write(Data("sluice-bench \(command): \(error)\n".utf8))
    exit(1)
}
