// SluiceQuality: model-based quality scoring.
//
// The `quality_score` stage (fastText classifiers, perplexity, ensembles), score buckets and
// sampling weights, and the LLM-judge annotation loop that is distilled into a fastText classifier.
