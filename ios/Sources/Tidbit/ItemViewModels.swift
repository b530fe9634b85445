// What a screen needs to answer an item of any of the eleven kinds, and to show how it went: the
// Swift twin of android/tidbit-android/src/main/kotlin/dev/tidbit/ItemViewModels.kt.
//
// `ItemAnswer(view)` turns the core's answer-free `ItemView` into the state of one answer form, a
// value type per kind; the learner's edits (select, toggle, fill a blank, move an entry, pair,
// type a number, pick a scenario branch, reveal and rate a flashcard, tick a criterion, attach a
// recording) are mutating methods; `missing` says in words what is still needed, and `response`
// is the `Response` for `TidbitClient.answer` once nothing is (a voice item's form goes to
// `TidbitClient.answerVoice` instead, with its recording). `ItemFeedback(feedback, nowMs:)` turns the
// core's `Feedback` into what the learner reads afterwards: the verdict, the feedback texts, the
// explanation and when the item comes back. An edit with an index outside the form changes
// nothing. Nothing here scores or schedules: those are the core's decisions.
//
// Not compiled here: there is no Swift compiler on the Linux machines, so this file and its
// XCTest cases (ios/Tests/TidbitTests) are only parsed by tests/bindings/swift.sh; the same
// models in Kotlin are compiled and run against the real core by tests/bindings/kotlin.sh.
// The texts are English, like the sample app; a real app localises them.

import CryptoKit
import Foundation
import TidbitFFI

/// One answer form: what the learner reads first, what is still needed, and the response.
public protocol ItemAnswerForm {
    /// The prompt, the statement or the card's front.
    var prompt: String { get }
    /// What is still needed before the answer can be sent, for the learner; nil when nothing is.
    var missing: String? { get }
    /// The response to send, or nil while `missing` says what is needed.
    var response: Response? { get }
}

extension ItemAnswerForm {
    public var isReady: Bool { missing == nil }
}

/// The answer form for an item, by kind.
public enum ItemAnswer: Equatable {
    case singleChoice(SingleChoiceAnswer)
    case multipleResponse(MultipleResponseAnswer)
    case trueFalse(TrueFalseAnswer)
    case fillBlanks(FillBlanksAnswer)
    case ordering(OrderingAnswer)
    case matching(MatchingAnswer)
    case numeric(NumericAnswer)
    case scenario(ScenarioAnswer)
    case flashcard(FlashcardAnswer)
    case reflection(ReflectionAnswer)
    case voice(VoiceAnswer)

    /// The empty answer form for `view`.
    public init(_ view: ItemView) {
        switch view {
        case .singleChoice(let prompt, let choices):
            self = .singleChoice(SingleChoiceAnswer(prompt: prompt, choices: choices))
        case .multipleResponse(let prompt, let choices):
            self = .multipleResponse(MultipleResponseAnswer(prompt: prompt, choices: choices))
        case .trueFalse(let statement):
            self = .trueFalse(TrueFalseAnswer(prompt: statement))
        case .fillBlanks(let prompt, let blanks):
            self = .fillBlanks(FillBlanksAnswer(prompt: prompt, blanks: Int(blanks)))
        case .ordering(let prompt, let entries):
            self = .ordering(OrderingAnswer(prompt: prompt, entries: entries))
        case .matching(let prompt, let items, let targets):
            self = .matching(MatchingAnswer(prompt: prompt, items: items, targets: targets))
        case .numeric(let prompt, let unit):
            self = .numeric(NumericAnswer(prompt: prompt, unit: unit))
        case .scenario(let prompt, let start, let nodes):
            self = .scenario(ScenarioAnswer(prompt: prompt, start: start, nodes: nodes))
        case .flashcard(let front):
            self = .flashcard(FlashcardAnswer(prompt: front))
        case .reflection(let prompt, let criteria):
            self = .reflection(ReflectionAnswer(prompt: prompt, criteria: criteria))
        case .voice(let prompt, let criteria, let maxSeconds):
            self = .voice(VoiceAnswer(prompt: prompt, criteria: criteria, maxSeconds: Int(maxSeconds)))
        }
    }

    /// The form itself, for what every kind has.
    public var form: any ItemAnswerForm {
        switch self {
        case .singleChoice(let form): return form
        case .multipleResponse(let form): return form
        case .trueFalse(let form): return form
        case .fillBlanks(let form): return form
        case .ordering(let form): return form
        case .matching(let form): return form
        case .numeric(let form): return form
        case .scenario(let form): return form
        case .flashcard(let form): return form
        case .reflection(let form): return form
        case .voice(let form): return form
        }
    }
}

/// One option of several; the learner selects one.
public struct SingleChoiceAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    public let choices: [String]
    public private(set) var selected: Int?

    public init(prompt: String, choices: [String]) {
        self.prompt = prompt
        self.choices = choices
    }

    public mutating func select(_ choice: Int) {
        if choices.indices.contains(choice) { selected = choice }
    }

    public var missing: String? { selected == nil ? "Choose one option." : nil }

    public var response: Response? {
        selected.map { .singleChoice(choice: UInt32($0)) }
    }
}

/// Several options; the learner selects every one that applies.
public struct MultipleResponseAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    public let choices: [String]
    public private(set) var selected: Set<Int> = []

    public init(prompt: String, choices: [String]) {
        self.prompt = prompt
        self.choices = choices
    }

    public mutating func toggle(_ choice: Int) {
        guard choices.indices.contains(choice) else { return }
        if selected.contains(choice) { selected.remove(choice) } else { selected.insert(choice) }
    }

    public var missing: String? {
        selected.isEmpty ? "Select every option that applies (at least one)." : nil
    }

    public var response: Response? {
        missing == nil ? .multipleResponse(choices: selected.sorted().map { UInt32($0) }) : nil
    }
}

/// A statement the learner calls true or false.
public struct TrueFalseAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    public private(set) var answer: Bool?

    public init(prompt: String) { self.prompt = prompt }

    public mutating func choose(_ answer: Bool) { self.answer = answer }

    public var missing: String? { answer == nil ? "Choose true or false." : nil }

    public var response: Response? { answer.map { .trueFalse(answer: $0) } }
}

/// A piece of a fill-in-the-blanks prompt: text, or the gap for a blank (0-based).
public enum PromptPart: Equatable, Hashable {
    case text(String)
    case blank(Int)
}

/// A prompt with `{{1}}`, `{{2}}`, ... gaps; the learner types one answer per gap.
public struct FillBlanksAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    /// The prompt cut at its gaps, for drawing a field in each.
    public let parts: [PromptPart]
    /// One answer per blank, in blank order, as typed.
    public private(set) var answers: [String]

    /// The form for `prompt` with `blanks` gaps; a gap the prompt does not mark goes at its end.
    public init(prompt: String, blanks: Int) {
        self.prompt = prompt
        var parts: [PromptPart] = []
        var marked = Set<Int>()
        var rest = prompt[...]
        while let open = rest.range(of: "{{"), let close = rest[open.upperBound...].range(of: "}}") {
            let number = Int(rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespaces))
            if let number, number >= 1, number <= blanks {
                let before = String(rest[..<open.lowerBound])
                if !before.isEmpty { parts.append(.text(before)) }
                parts.append(.blank(number - 1))
                marked.insert(number - 1)
            } else {
                parts.append(.text(String(rest[..<close.upperBound])))
            }
            rest = rest[close.upperBound...]
        }
        if !rest.isEmpty { parts.append(.text(String(rest))) }
        for index in 0..<max(blanks, 0) where !marked.contains(index) { parts.append(.blank(index)) }
        self.parts = parts
        answers = Array(repeating: "", count: max(blanks, 0))
    }

    /// The prompt with each gap written as "___ (n)", for reading aloud or as a heading.
    public var readablePrompt: String {
        parts.map { part -> String in
            switch part {
            case .text(let text): return text
            case .blank(let index): return "___ (\(index + 1))"
            }
        }.joined()
    }

    public mutating func fill(_ blank: Int, with text: String) {
        if answers.indices.contains(blank) { answers[blank] = text }
    }

    /// What a screen reader says for the field of `blank`.
    public func label(_ blank: Int) -> String { "Blank \(blank + 1) of \(answers.count)" }

    public var missing: String? {
        guard let empty = answers.firstIndex(where: { $0.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty }) else {
            return nil
        }
        return "Fill in every blank (blank \(empty + 1) is empty)."
    }

    public var response: Response? { missing == nil ? .fillBlanks(answers: answers) : nil }
}

/// Entries the learner puts in order, by dragging or with "move up" / "move down". They start in
/// the core's shuffled order, which is never the right one; any order can be sent.
public struct OrderingAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    public private(set) var entries: [IndexedText]

    public init(prompt: String, entries: [IndexedText]) {
        self.prompt = prompt
        self.entries = entries
    }

    /// Moves the entry at `from` to position `to` (both positions in the current order).
    public mutating func move(from: Int, to: Int) {
        guard entries.indices.contains(from), entries.indices.contains(to), from != to else { return }
        entries.insert(entries.remove(at: from), at: to)
    }

    /// SwiftUI's `onMove`: `offsets` dropped before the entry now at `destination`.
    public mutating func move(fromOffsets offsets: IndexSet, toOffset destination: Int) {
        let moving = offsets.filter { entries.indices.contains($0) }.map { entries[$0] }
        guard !moving.isEmpty else { return }
        let before = offsets.filter { $0 < destination }.count
        var rest = entries
        for offset in offsets.sorted(by: >) where rest.indices.contains(offset) { rest.remove(at: offset) }
        rest.insert(contentsOf: moving, at: min(max(destination - before, 0), rest.count))
        entries = rest
    }

    public func canMoveUp(_ position: Int) -> Bool { position >= 1 && position < entries.count }
    public func canMoveDown(_ position: Int) -> Bool { position >= 0 && position < entries.count - 1 }
    public mutating func moveUp(_ position: Int) { if canMoveUp(position) { move(from: position, to: position - 1) } }
    public mutating func moveDown(_ position: Int) { if canMoveDown(position) { move(from: position, to: position + 1) } }

    /// What a screen reader says for the entry at `position`.
    public func label(_ position: Int) -> String {
        "\(entries[position].text), position \(position + 1) of \(entries.count)"
    }

    public var missing: String? { nil }

    public var response: Response? { .ordering(order: entries.map(\.index)) }
}

/// Items the learner pairs each with a target; several items may share a target.
public struct MatchingAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    /// In authored order.
    public let items: [IndexedText]
    public let targets: [String]
    /// The target chosen for each item, by the item's authored index.
    public private(set) var chosen: [UInt32: String] = [:]

    public init(prompt: String, items: [IndexedText], targets: [String]) {
        self.prompt = prompt
        self.items = items
        self.targets = targets
    }

    public mutating func pair(_ item: UInt32, with target: String) {
        guard items.contains(where: { $0.index == item }), targets.contains(target) else { return }
        chosen[item] = target
    }

    public mutating func unpair(_ item: UInt32) { chosen[item] = nil }

    public func target(of item: UInt32) -> String? { chosen[item] }

    /// What a screen reader says for `item`.
    public func label(_ item: IndexedText) -> String {
        chosen[item.index].map { "\(item.text), matched with \($0)" } ?? "\(item.text), not matched yet"
    }

    public var missing: String? {
        let left = items.filter { chosen[$0.index] == nil }.count
        switch left {
        case 0: return nil
        case 1: return "Match every item (1 is left)."
        default: return "Match every item (\(left) are left)."
        }
    }

    public var response: Response? {
        guard missing == nil else { return nil }
        return .matching(targets: items.sorted { $0.index < $1.index }.map { chosen[$0.index] ?? "" })
    }
}

/// A number the learner types; a point or a comma marks the decimals.
public struct NumericAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    public let unit: String?
    /// As typed; bind a text field to it.
    public var text = ""

    public init(prompt: String, unit: String?) {
        self.prompt = prompt
        self.unit = unit
    }

    /// `text` as a finite number, or nil: ASCII digits with an optional sign and one decimal mark.
    public static func parse(_ text: String) -> Double? {
        var plain = text.trimmingCharacters(in: .whitespacesAndNewlines)
            .replacingOccurrences(of: "\u{2212}", with: "-")
        var sign = ""
        if let first = plain.first, first == "+" || first == "-" {
            sign = first == "-" ? "-" : ""
            plain.removeFirst()
        }
        var whole = "", fraction = "", marks = 0
        for character in plain {
            if character.isASCII, character.isNumber {
                if marks == 0 { whole.append(character) } else { fraction.append(character) }
            } else if character == "." || character == "," {
                marks += 1
            } else {
                return nil
            }
        }
        guard marks <= 1, !(whole.isEmpty && fraction.isEmpty) else { return nil }
        guard let value = Double("\(sign)\(whole.isEmpty ? "0" : whole).\(fraction.isEmpty ? "0" : fraction)"),
              value.isFinite else { return nil }
        return value
    }

    /// The typed number, or nil while `text` is not one.
    public var value: Double? { NumericAnswer.parse(text) }

    public var missing: String? {
        let typed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        if typed.isEmpty { return "Type a number." }
        if value == nil {
            return "\"\(typed)\" is not a number: type digits, with one point or comma before any decimals (such as 12.5)."
        }
        return nil
    }

    public var response: Response? { value.map { .numeric(value: $0) } }
}

/// A decision taken in a scenario: the node the learner was at and the choice they took there.
public struct ScenarioStep: Equatable {
    public let node: ScenarioNodeView
    public let choice: Int
}

/// A scenario the learner walks from its start node, one choice per node, until a choice ends
/// it. `back()` takes the last choice back, so the learner can explore another branch.
public struct ScenarioAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    public let start: String
    public let nodes: [ScenarioNodeView]
    /// The choice index taken at each node so far.
    public private(set) var path: [Int] = []

    public init(prompt: String, start: String, nodes: [ScenarioNodeView]) {
        self.prompt = prompt
        self.start = start
        self.nodes = nodes
    }

    /// The decisions taken so far, in order.
    public var steps: [ScenarioStep] { walk().steps }

    /// The node waiting for the learner's choice; nil once a choice has ended the scenario.
    public var current: ScenarioNodeView? { walk().current }

    public var ended: Bool { !path.isEmpty && current == nil }

    public mutating func pick(_ choice: Int) {
        guard let node = current, node.choices.indices.contains(choice) else { return }
        path.append(choice)
    }

    public mutating func back() {
        if !path.isEmpty { path.removeLast() }
    }

    private func walk() -> (steps: [ScenarioStep], current: ScenarioNodeView?) {
        var steps: [ScenarioStep] = []
        var node = nodes.first { $0.id == start }
        for choice in path {
            guard let at = node else { break }
            steps.append(ScenarioStep(node: at, choice: choice))
            let next = at.choices.indices.contains(choice) ? at.choices[choice].next : nil
            node = next.flatMap { id in nodes.first { $0.id == id } }
        }
        return (steps, node)
    }

    public var missing: String? {
        ended ? nil : "Choose what you do at each step until the scenario ends."
    }

    public var response: Response? {
        ended ? .scenario(path: path.map { UInt32($0) }) : nil
    }
}

/// A card the learner tries to recall, turns over (`reveal`) and rates themselves on.
public struct FlashcardAnswer: ItemAnswerForm, Equatable {
    /// The four ratings with what each means, in the order to offer them.
    public static let ratings: [(rating: SelfRating, label: String)] = [
        (.again, "Again: I did not recall it"),
        (.hard, "Hard: I recalled it with effort"),
        (.good, "Good: I recalled it"),
        (.easy, "Easy: I recalled it at once"),
    ]

    public let prompt: String
    /// The back, once revealed (`TidbitClient.flashcardBack`).
    public private(set) var back: String?
    public private(set) var rating: SelfRating?

    public init(prompt: String) { self.prompt = prompt }

    public mutating func reveal(_ back: String) { self.back = back }

    /// Rates the recall; a rating before the back is revealed is ignored (nothing to rate against).
    public mutating func rate(_ rating: SelfRating) {
        if back != nil { self.rating = rating }
    }

    public var missing: String? {
        if back == nil { return "Show the answer, then rate how well you recalled it." }
        if rating == nil { return "Rate how well you recalled it." }
        return nil
    }

    public var response: Response? {
        guard back != nil, let rating else { return nil }
        return .flashcard(rating: rating)
    }
}

/// A free answer the learner writes, then checks against the item's criteria.
public struct ReflectionAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    public let criteria: [String]
    /// As written; bind a text editor to it.
    public var text = ""
    /// Per criterion, in authored order: whether the learner says their answer meets it.
    public private(set) var met: [Bool]

    public init(prompt: String, criteria: [String]) {
        self.prompt = prompt
        self.criteria = criteria
        met = Array(repeating: false, count: criteria.count)
    }

    public mutating func check(_ criterion: Int, met isMet: Bool) {
        if met.indices.contains(criterion) { met[criterion] = isMet }
    }

    public mutating func toggle(_ criterion: Int) {
        if met.indices.contains(criterion) { met[criterion].toggle() }
    }

    public var missing: String? {
        text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
            ? "Write your answer, then tick each criterion it meets." : nil
    }

    public var response: Response? {
        missing == nil ? .reflection(text: text, criteriaMet: met) : nil
    }
}

/// A spoken answer: the learner records themselves (at most `maxSeconds`; the app's recorder
/// makes the file), then ticks each criterion the recording meets. Send it with
/// `TidbitClient.answerVoice(course:step:form:)`, which carries the recording; `response` is what
/// the core records of it (the recording named by its SHA-256, never its bytes).
public struct VoiceAnswer: ItemAnswerForm, Equatable {
    public let prompt: String
    public let criteria: [String]
    public let maxSeconds: Int
    /// The recorder's file (WAV, Ogg, MP4/M4A, AMR, WebM or MP3), once recorded.
    public private(set) var recording: Data?
    /// The recording's length as the recorder reported it.
    public private(set) var durationMs: UInt32 = 0
    /// Per criterion, in authored order: whether the learner says their recording meets it.
    public private(set) var met: [Bool]

    public init(prompt: String, criteria: [String], maxSeconds: Int) {
        self.prompt = prompt
        self.criteria = criteria
        self.maxSeconds = maxSeconds
        met = Array(repeating: false, count: criteria.count)
    }

    /// Attaches a (new) recording; the ticks stay.
    public mutating func record(_ audio: Data, durationMs: UInt32) {
        recording = audio
        self.durationMs = durationMs
    }

    public mutating func check(_ criterion: Int, met isMet: Bool) {
        if met.indices.contains(criterion) { met[criterion] = isMet }
    }

    public mutating func toggle(_ criterion: Int) {
        if met.indices.contains(criterion) { met[criterion].toggle() }
    }

    public var missing: String? {
        guard let recording, !recording.isEmpty else {
            return "Record your answer (at most \(maxSeconds) seconds), then tick each point it meets."
        }
        if Int(durationMs) > maxSeconds * 1000 {
            return "The recording is longer than \(maxSeconds) seconds: record a shorter answer."
        }
        return nil
    }

    public var response: Response? {
        guard missing == nil, let recording else { return nil }
        let sha256 = SHA256.hash(data: recording).map { String(format: "%02x", $0) }.joined()
        return .voice(audio: sha256, durationMs: durationMs, criteriaMet: met)
    }
}

/// What the learner reads after answering, from the core's `Feedback`.
public struct ItemFeedback: Equatable {
    public let outcome: Outcome
    /// "Right", "Partly right" or "Not right".
    public let verdict: String
    /// The credit the core gave, 0 to 100.
    public let creditPercent: Int
    /// The feedback texts the answer triggered, in the order to show them.
    public let feedback: [String]
    /// The item's explanation; nil when it only repeats what the learner has just seen (a
    /// flashcard's back).
    public let explanation: String?
    /// When the core schedules the item again (UTC milliseconds).
    public let nextReviewAtMs: Int64?
    /// When the item comes back, in words: "Comes back in 3 days (12 Oct 2026)".
    public let comesBack: String?
    /// The module finished, stage checks, refreshers added.
    public let notes: [String]

    /// One sentence for VoiceOver to announce when the feedback appears.
    public var announcement: String {
        (["\(verdict), \(creditPercent) percent."] + (comesBack.map { ["\($0)."] } ?? [])).joined(separator: " ")
    }

    /// The feedback for `feedback` at `nowMs`. `alreadyShown` is text the learner saw while
    /// answering (a flashcard's back): an explanation that repeats it is left out. `formatDate`
    /// writes the review date (by default the device's medium date style).
    public init(
        _ feedback: Feedback,
        nowMs: Int64,
        alreadyShown: String? = nil,
        formatDate: (Int64) -> String = ItemFeedback.mediumDate
    ) {
        let assessment = feedback.assessment
        outcome = assessment.outcome
        switch assessment.outcome {
        case .right: verdict = "Right"
        case .partial: verdict = "Partly right"
        case .wrong: verdict = "Not right"
        }
        creditPercent = Int((assessment.credit * 100).rounded())
        self.feedback = assessment.feedback
        let explanation = assessment.explanation.trimmingCharacters(in: .whitespacesAndNewlines)
        let shown = alreadyShown?.trimmingCharacters(in: .whitespacesAndNewlines)
        self.explanation = explanation.isEmpty || explanation == shown ? nil : explanation
        nextReviewAtMs = feedback.nextDueMs
        comesBack = feedback.nextDueMs.map {
            "Comes \(ItemFeedback.describeReturn(nowMs: nowMs, dueMs: $0)) (\(formatDate($0)))"
        }
        var notes: [String] = []
        if feedback.moduleCompleted { notes.append("Module complete.") }
        for check in feedback.stageChecks {
            if check.passed {
                notes.append(check.unlocked != nil
                    ? "Stage check passed: the next stage is unlocked."
                    : "Stage check passed: the path is complete.")
            } else {
                notes.append("Stage check not passed yet: bring every skill to \(Int((check.threshold * 100).rounded())) % and take it again.")
            }
        }
        if !feedback.remediations.isEmpty { notes.append("A short refresher was added to your plan.") }
        self.notes = notes
    }

    /// The device's medium date for UTC milliseconds.
    public static func mediumDate(_ ms: Int64) -> String {
        let formatter = DateFormatter()
        formatter.dateStyle = .medium
        formatter.timeStyle = .none
        return formatter.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    /// When an item comes back, relative to `nowMs`: "back in 10 minutes", "back in 3 days";
    /// the same steps as the terminal learner (`tidbit learn`) and the Kotlin model.
    public static func describeReturn(nowMs: Int64, dueMs: Int64) -> String {
        let minute: Int64 = 60_000
        let hour = 60 * minute
        let day = 24 * hour
        let wait = dueMs - nowMs
        func rounded(_ unit: Int64) -> Int64 { max((wait + unit / 2) / unit, 1) }
        func plural(_ count: Int64, _ unit: String) -> String { count == 1 ? "1 \(unit)" : "\(count) \(unit)s" }
        if wait <= 0 { return "due again now" }
        if wait < minute { return "back in under a minute" }
        if wait < 90 * minute { return "back in \(plural(rounded(minute), "minute"))" }
        if wait < 36 * hour { return "back in \(plural(rounded(hour), "hour"))" }
        if wait < 60 * day { return "back in \(plural(rounded(day), "day"))" }
        return "back in \(plural(rounded(30 * day), "month"))"
    }
}
