import SluiceDedup
import SluiceFastText
import SluiceFilters
import SluiceQuality
import SluiceSynth
import SluiceWeb

extension StageRegistry {
    /// Registers every stage Sluice ships. Adding a stage: write its file and its test, then
    /// add one line here.
    mutating func registerStandardStages() {
        register(AddMetadata.self)
        register(C4BadWords.self)
        register(C4Paragraph.self)
        register(C4Quality.self)
        register(ExactDedup.self)
        register(ExactDedupDecide.self)
        register(ExactDedupFilter.self)
        register(ExactDedupHashes.self)
        register(FastTextClassifier.self)
        register(FieldFilter.self)
        register(FineWebQuality.self)
        register(FixMojibake.self)
        register(GopherQuality.self)
        register(GopherRepetition.self)
        register(HTMLExtract.self)
        register(LanguageID.self)
        register(LengthFilter.self)
        register(LineDedup.self)
        register(LLMRewrite.self)
        register(LLMSynthesize.self)
        register(MinhashBuckets.self)
        register(MinhashClusters.self)
        register(MinhashDedup.self)
        register(MinhashFilter.self)
        register(MinhashSignatures.self)
        register(NormalizeWhitespace.self)
        register(ParagraphDedup.self)
        register(PIIRedact.self)
        register(QualityScore.self)
        register(RemoveControlCharacters.self)
        register(RemoveSymbolLines.self)
        register(SampleStage.self)
        register(SamplingWeight.self)
        register(ScoreBuckets.self)
        register(UnicodeNormalize.self)
        register(URLFilter.self)
    }
}
