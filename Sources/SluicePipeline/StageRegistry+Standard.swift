import SluiceFilters

extension StageRegistry {
    /// Registers every stage Sluice ships. Adding a stage: write its file and its test, then
    /// add one line here.
    mutating func registerStandardStages() {
        register(AddMetadata.self)
        register(FieldFilter.self)
        register(LengthFilter.self)
        register(NormalizeWhitespace.self)
        register(SampleStage.self)
    }
}
