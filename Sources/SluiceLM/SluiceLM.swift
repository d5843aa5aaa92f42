// SluiceLM: n-gram language models for perplexity scoring.
//
// - ``NGramModel``: reads ARPA files (KenLM's text format) and scores text with back-off
//   exactly as KenLM's probing model does (float32 sums in KenLM's order: sentence scores are
//   KenLM's bit for bit); document perplexity as CCNet defines it, optionally after CCNet's
//   normalisation (``CCNetNormalizer``). Load once per process, share between workers, give
//   each worker an ``LMScratch``.
// - ``KneserNeyTrainer``: interpolated modified Kneser-Ney estimation as KenLM's lmplz does it
//   (same ARPA numbers); ``ARPAWriter`` writes the result. `sluice lm train` and `sluice lm
//   score` are the command line.
// - ``LMBenchmark``: throughput measurement for sluice-bench.
//
// Words are split on whitespace (see LMText.swift for the exact rules); CCNet runs
// SentencePiece before KenLM, Sluice does not.
