// SluiceStats: shard statistics, merging, inspection, the HTML report and run comparison.
//
// - `DocumentProfiles` (per batch, on the workers) and `ShardStatistics` (per shard, written as
//   the `NNNNN_NNNN.stats.json` sidecar): counts, `LogHistogram`s of lengths and of every numeric
//   metadata field, `TopKSketch`es of source, language, domain and content type, input files.
// - `ShardScanner`: recomputes shard statistics from the shard bytes without building documents
//   (`sluice stats --recompute`), and breaks documents down by any field (`--by`).
// - `RunStatistics`: a run's funnel, shards and merged statistics, rendered as text or JSON.
// - `inspectDocuments` with `DocumentCondition` (`sluice inspect`).
// - `renderHTMLReport` (`sluice report`) and `RunDiff` (`sluice diff`).
