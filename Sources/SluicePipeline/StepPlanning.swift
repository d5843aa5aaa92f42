import SluiceCore

/// One stage of a planned step, with the text that goes into the step's configuration hash.
struct PlannedStage {
    var id: String
    var type: String
    var stage: any Stage
    var hashText: String
    var location: YAMLLocation
    /// False for a stage that a multi-step stage's expansion made (it is not expanded again).
    var expandable: Bool
}

/// A step as it will run: the pipeline's steps with every `MultiStepStage` expanded into its
/// phases.
struct PlannedStep {
    var name: String
    var spec: StepSpec
    var stages: [PlannedStage]
    /// True for the step that carries a pipeline step's own name and output; false for the
    /// steps an expansion added before it (their output goes under `OUT/_steps/`).
    var isMain: Bool
    /// False for a step of one `WorkStage`: its tasks read no documents.
    var readsDocuments = true
    /// False for a step that ends in a `DocumentSinkStage` (or reads no documents).
    var writesDocuments = true
    /// The position of the pipeline step this planned step belongs to.
    var pipelineStep = 0
}

/// Expands multi-step stages and checks where work and sink stages stand.
///
/// A step `S` holding stage `ID` that expands into phases `p1 … pn` becomes: `S.ID.input` (the
/// stages before `ID`, when there are any), `S.ID.p1` … `S.ID.p(n-1)`, then `S` itself with
/// `pn` followed by the stages after `ID`.
///
/// - Throws: ``PipelineError`` at the offending stage.
func planSteps(_ steps: [LoadedPipeline.Step]) throws -> [PlannedStep] {
    var plan: [PlannedStep] = []
    for (position, step) in steps.enumerated() {
        let firstOfStep = plan.count
        var pending: [PlannedStage] = zip(step.stages, step.spec.stages).map { built, spec in
            PlannedStage(
                id: built.id, type: built.type, stage: built.stage,
                hashText: "stage:" + spec.id + ":" + spec.type + ":" + canonicalYAML(spec.node) + "\n",
                location: spec.location, expandable: true)
        }
        while true {
            var split: (index: Int, phases: [StagePhase])?
            for (p, s) in pending.enumerated() where s.expandable {
                guard let multi = s.stage as? any MultiStepStage else { continue }
                let phases: [StagePhase]?
                do {
                    phases = try multi.phases(stageID: s.id)
                } catch let e as StageConfigurationError {
                    throw PipelineError("stage '\(s.type)' (id '\(s.id)'): \(e.message)", at: s.location)
                }
                if let phases {
                    guard !phases.isEmpty else {
                        throw PipelineError("stage '\(s.type)' expands into no steps", at: s.location)
                    }
                    split = (p, phases)
                    break
                }
            }
            guard let (p, phases) = split else {
                plan.append(PlannedStep(name: step.name, spec: step.spec, stages: pending, isMain: true))
                break
            }
            let s = pending[p]
            let base = step.name + "." + s.id
            if p > 0 {
                plan.append(PlannedStep(name: base + ".input", spec: step.spec, stages: Array(pending[..<p]), isMain: false))
            }
            func phaseStage(_ phase: StagePhase) -> PlannedStage {
                var h = s.hashText
                h.removeLast()
                return PlannedStage(
                    id: s.id, type: phase.type, stage: phase.stage, hashText: h + ":phase:" + phase.name + "\n",
                    location: s.location, expandable: false)
            }
            for phase in phases.dropLast() {
                plan.append(PlannedStep(name: base + "." + phase.name, spec: step.spec, stages: [phaseStage(phase)], isMain: false))
            }
            pending = [phaseStage(phases[phases.count - 1])] + pending[(p + 1)...]
        }
        for i in firstOfStep..<plan.count { plan[i].pipelineStep = position }
    }
    for i in plan.indices {
        let stages = plan[i].stages
        for (j, s) in stages.enumerated() {
            if s.stage is any WorkStage && stages.count != 1 {
                throw PipelineError(
                    "stage '\(s.type)' reads no documents, so it must be the only stage of its step; put it in a step of its own",
                    at: s.location)
            }
            if s.stage is any DocumentSinkStage && j != stages.count - 1 {
                throw PipelineError(
                    "stage '\(s.type)' is where documents end (its step writes no shards), so it must be the last stage of its step; move the stages after it to the next step",
                    at: s.location)
            }
        }
        plan[i].readsDocuments = !(stages.count == 1 && stages[0].stage is any WorkStage)
        plan[i].writesDocuments = plan[i].readsDocuments && !(stages.last?.stage is any DocumentSinkStage)
    }
    for step in steps {
        guard let from = step.spec.from else { continue }
        if let source = plan.first(where: { $0.isMain && $0.name == from }), !source.writesDocuments {
            throw PipelineError(
                "step '\(step.spec.name)' reads from '\(from)', which writes no shards (its last stage is where documents end); read from a step that writes documents",
                at: step.spec.location)
        }
    }
    return plan
}

/// The planned steps that must be complete before step `i` starts: the step before, except for
/// the first planned step of a pipeline step with `from`, which needs only the step it reads.
func prerequisites(of i: Int, in plan: [PlannedStep]) -> [Int] {
    guard i > 0 else { return [] }
    if let from = plan[i].spec.from, plan[i - 1].pipelineStep != plan[i].pipelineStep,
        let source = plan.firstIndex(where: { $0.isMain && $0.name == from })
    {
        return [source]
    }
    return [i - 1]
}

/// `steps`' prerequisites of step `i`, direct and indirect, in order.
func allPrerequisites(of i: Int, in steps: [ExecutionStep]) -> [Int] {
    var seen = Set<Int>()
    var stack = steps[i].prerequisites
    while let k = stack.popLast() {
        if seen.insert(k).inserted { stack += steps[k].prerequisites }
    }
    return seen.sorted()
}

/// The planned step whose shards step `i` reads, or nil for the pipeline's input.
///
/// A step reads the nearest earlier planned step that writes shards. A pipeline step with
/// `from` reads that step instead: its first planned step reading documents reads the named
/// step, and its later ones (an expansion's phases) read their own step's shards as usual.
func documentSource(of i: Int, in plan: [PlannedStep]) -> Int? {
    guard plan[i].readsDocuments else { return nil }
    let nearest = plan[..<i].lastIndex(where: \.writesDocuments)
    guard let from = plan[i].spec.from else { return nearest }
    if let n = nearest, plan[n].pipelineStep == plan[i].pipelineStep { return n }
    return plan.firstIndex(where: { $0.isMain && $0.name == from })
}
