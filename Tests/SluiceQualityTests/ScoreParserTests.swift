import SluiceQuality
import Testing

@Suite("Judge reply score parser")
struct ScoreParserTests {
    let edu = Rubric.educationalValue.parser

    @Test(
        "reads the score from the reply shapes judges really write",
        arguments: [
            ("Educational score: 3", 3.0),
            ("The extract is a recipe list.\n\nEducational score: 2", 2),
            ("Educational score: 4\n\nThe text could be improved by adding examples.", 4),
            ("**Score:** 4/5", 4),
            ("Educational Score: **5**", 5),
            ("educational score: 1.", 1),
            ("EDUCATIONAL SCORE: 0", 0),
            ("Educational score:3", 3),
            ("Educational score = 2", 2),
            ("Educational score - 3 points", 3),
            ("Educational score \u{2014} 4", 4),
            ("Educational score: \"3\"", 3),
            ("Educational score: [4]", 4),
            ("## Educational score: 2", 2),
            ("Score: 3 out of 5", 3),
            ("The score is 3.", 3),
            ("I would give it a score of 4.", 4),
            ("Final score: 2", 2),
            ("Total score: 5/5", 5),
            ("Rating: 1", 1),
            ("Educational score: four", 4),
            ("3", 3),
            ("  **4**  ", 4),
            ("4/5", 4),
            ("2 out of 5.", 2),
            ("Reasoning about the page...\n\n3", 3),
            ("Points: +1 basic info, +1 relevant.\nEducational score: 2", 2),
            // The last statement wins: judges reason first and conclude last.
            ("A first reading suggests Educational score: 2, but on reflection\nEducational score: 3", 3),
            // The rubric's own phrase wins over generic ones.
            ("Educational score: 3\nConfidence score: 5", 3),
            ("<think>The score might be 1 or 2.\nScore: 1</think>\nEducational score: 4", 4),
            ("reasoning the server kept without its opening tag. Score 1</think>Educational score: 5", 5),
            ("Educational score：2", 2),
        ] as [(String, Double)])
    func parses(reply: String, expected: Double) {
        #expect(edu.parse(reply) == .score(expected), "\(reply)")
    }

    @Test(
        "counts replies without a usable score as unparseable, with the reason",
        arguments: [
            ("I cannot rate this document.", "no_score"),
            ("", "empty_reply"),
            ("   \n ", "empty_reply"),
            ("Educational score: N/A", "no_score"),
            ("Educational score: 7", "out_of_range"),
            ("Score: 8/10", "out_of_range"),
            ("Educational score: 3.5", "not_integer"),
            ("Educational score: -1", "out_of_range"),
            ("<think>Educational score: 3</think>", "empty_reply"),
            ("<think>Educational score: 3, still thinking", "empty_reply"),
            ("The scores of pages like this vary.", "no_score"),
            ("Educational score: 3rd best", "no_score"),
        ] as [(String, String)])
    func unparseable(reply: String, reason: String) {
        guard case .unparseable(let r, _) = edu.parse(reply) else {
            Issue.record("parsed \(reply) as \(edu.parse(reply))")
            return
        }
        #expect(r == reason, "\(reply)")
    }

    @Test("the found number is kept for inspection when it is out of range")
    func keepsFound() {
        #expect(edu.parse("Educational score: 9") == .unparseable(reason: "out_of_range", found: 9))
    }

    @Test("a user rubric's statement, range and decimals are honoured")
    func userRubric() {
        let p = ScoreParser(statement: "Code quality", minimum: 1, maximum: 10, integer: false)
        #expect(p.parse("Readable, but no tests.\nCode quality: 6.5") == .score(6.5))
        #expect(p.parse("Code quality: 10/10") == .score(10))
        #expect(p.parse("Code quality: 0") == .unparseable(reason: "out_of_range", found: 0))
        #expect(p.parse("code QUALITY is 7") == .score(7))
    }
}
