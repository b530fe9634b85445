import SwiftUI
import Tidbit
import UIKit
import UniformTypeIdentifiers

// The module screen: lesson cards, then each item with the answer form of its kind and the
// feedback. These views only draw the answer forms and feedback of the Tidbit package
// (ios/Sources/Tidbit/ItemViewModels.swift); what is ready, what is sent and what the feedback
// says is decided there and in the core. Text uses Dynamic Type styles and wraps, nothing has a
// fixed height, and every control has a VoiceOver label (ordering adds move actions).
// Not compiled here: there is no Swift compiler on the Linux machines; tests/bindings/swift.sh
// only parses this file. Build it in Xcode (see README.md).

/// Steps one at a time: lesson cards, then each item with its answer form and feedback.
struct ModuleView: View {
    let course: String
    let module: String
    @EnvironmentObject private var model: LearnerModel
    @State private var steps: [StepView] = []
    @State private var index = 0
    @State private var feedback: ItemFeedback?
    @State private var shownAt = Date()
    @State private var error: String?

    var body: some View {
        ScrollView {
            VStack(alignment: .leading, spacing: 16) {
                if index < steps.count {
                    stepBody(steps[index])
                } else if !steps.isEmpty {
                    Text("Module finished.").font(.title2)
                }
                if let feedback {
                    FeedbackView(feedback: feedback)
                    Button("Continue") { next() }
                        .buttonStyle(.borderedProminent)
                }
                if let error {
                    Text(error).foregroundStyle(.red)
                }
            }
            .frame(maxWidth: .infinity, alignment: .leading)
            .padding()
        }
        .task {
            do {
                steps = try await model.tidbit?.startModule(course: course, module: module) ?? []
            } catch {
                self.error = "\(error)"
            }
        }
    }

    @ViewBuilder
    private func stepBody(_ step: StepView) -> some View {
        switch step {
        case .lesson(let id, let card):
            ForEach(card.segments, id: \.self) { Text(.init($0)).fixedSize(horizontal: false, vertical: true) }
            Button("Next") {
                Task {
                    _ = try? await model.tidbit?.viewStep(course: course, step: id)
                    next()
                }
            }
        case .item(let id, _, let view):
            ItemForm(
                answer: ItemAnswer(view),
                reveal: { try await model.tidbit?.flashcardBack(course: course, step: id) ?? "" },
                submit: { response, shown in Task { await answer(id, response, shown: shown) } }
            )
            .id(id)
            .disabled(feedback != nil)
        }
    }

    private func answer(_ step: String, _ response: Response, shown: String?) async {
        let millis = UInt32(min(Date().timeIntervalSince(shownAt) * 1000, Double(UInt32.max)))
        do {
            guard let result = try await model.tidbit?.answer(course: course, step: step, response: response, responseMs: millis)
            else { return }
            let now = Int64(Date().timeIntervalSince1970 * 1000)
            feedback = ItemFeedback(result, nowMs: now, alreadyShown: shown)
        } catch {
            self.error = "\(error)"
        }
    }

    private func next() {
        feedback = nil
        error = nil
        index += 1
        shownAt = Date()
    }
}

/// The form for one item, by kind. `submit` gets the response and any text the learner saw while
/// answering (a flashcard's back).
struct ItemForm: View {
    let answer: ItemAnswer
    let reveal: () async throws -> String
    let submit: (Response, String?) -> Void

    var body: some View {
        switch answer {
        case .singleChoice(let form): SingleChoiceForm(form: form, submit: send)
        case .multipleResponse(let form): MultipleResponseForm(form: form, submit: send)
        case .trueFalse(let form): TrueFalseForm(form: form, submit: send)
        case .fillBlanks(let form): FillBlanksForm(form: form, submit: send)
        case .ordering(let form): OrderingForm(form: form, submit: send)
        case .matching(let form): MatchingForm(form: form, submit: send)
        case .numeric(let form): NumericForm(form: form, submit: send)
        case .scenario(let form): ScenarioForm(form: form, submit: send)
        case .flashcard(let form): FlashcardForm(form: form, reveal: reveal, submit: submit)
        case .reflection(let form): ReflectionForm(form: form, submit: send)
        case .voice(let form): VoiceForm(form: form)
        }
    }

    private func send(_ response: Response) { submit(response, nil) }
}

/// The prompt as a heading that wraps at any text size.
struct Prompt: View {
    let text: String
    var body: some View {
        Text(text).font(.headline).fixedSize(horizontal: false, vertical: true)
            .accessibilityAddTraits(.isHeader)
    }
}

/// "Check answer", enabled once the form is ready; otherwise it says what is missing.
struct CheckButton: View {
    let form: any ItemAnswerForm
    let submit: (Response) -> Void

    var body: some View {
        VStack(alignment: .leading, spacing: 4) {
            Button("Check answer") {
                if let response = form.response { submit(response) }
            }
            .buttonStyle(.borderedProminent)
            .disabled(!form.isReady)
            .accessibilityHint(form.missing ?? "Sends your answer")
            if let missing = form.missing {
                Text(missing).font(.footnote).foregroundStyle(.secondary)
                    .fixedSize(horizontal: false, vertical: true)
            }
        }
    }
}

/// A tappable row with a check mark: an option, a criterion.
struct OptionRow: View {
    let text: String
    let selected: Bool
    let multiple: Bool
    let action: () -> Void

    var body: some View {
        Button(action: action) {
            HStack(alignment: .firstTextBaseline) {
                Image(systemName: selected ? (multiple ? "checkmark.square.fill" : "largecircle.fill.circle")
                                           : (multiple ? "square" : "circle"))
                Text(text).fixedSize(horizontal: false, vertical: true)
                Spacer(minLength: 0)
            }
        }
        .accessibilityElement(children: .ignore)
        .accessibilityLabel(text)
        .accessibilityValue(selected ? "selected" : "not selected")
        .accessibilityAddTraits(selected ? [.isButton, .isSelected] : .isButton)
    }
}

struct SingleChoiceForm: View {
    @State var form: SingleChoiceAnswer
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.prompt)
        ForEach(Array(form.choices.enumerated()), id: \.offset) { index, choice in
            OptionRow(text: choice, selected: form.selected == index, multiple: false) { form.select(index) }
        }
        CheckButton(form: form, submit: submit)
    }
}

struct MultipleResponseForm: View {
    @State var form: MultipleResponseAnswer
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.prompt)
        ForEach(Array(form.choices.enumerated()), id: \.offset) { index, choice in
            OptionRow(text: choice, selected: form.selected.contains(index), multiple: true) { form.toggle(index) }
        }
        CheckButton(form: form, submit: submit)
    }
}

struct TrueFalseForm: View {
    @State var form: TrueFalseAnswer
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.prompt)
        OptionRow(text: "True", selected: form.answer == true, multiple: false) { form.choose(true) }
        OptionRow(text: "False", selected: form.answer == false, multiple: false) { form.choose(false) }
        CheckButton(form: form, submit: submit)
    }
}

struct FillBlanksForm: View {
    @State var form: FillBlanksAnswer
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.readablePrompt)
        ForEach(form.answers.indices, id: \.self) { blank in
            TextField("Blank \(blank + 1)", text: Binding(
                get: { form.answers[blank] },
                set: { form.fill(blank, with: $0) }))
                .textFieldStyle(.roundedBorder)
                .autocorrectionDisabled()
                .accessibilityLabel(form.label(blank))
        }
        CheckButton(form: form, submit: submit)
    }
}

/// Entries reordered by dragging a row onto another, or with the move buttons and VoiceOver's
/// "Move up" / "Move down" actions.
struct OrderingForm: View {
    @State var form: OrderingAnswer
    @State private var dragging: UInt32?
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.prompt)
        Text("Drag the entries into order, or use the arrows.").font(.footnote).foregroundStyle(.secondary)
        ForEach(Array(form.entries.enumerated()), id: \.element.index) { position, entry in
            HStack {
                Image(systemName: "line.3.horizontal").accessibilityHidden(true)
                Text(entry.text).fixedSize(horizontal: false, vertical: true)
                Spacer(minLength: 0)
                Button { form.moveUp(position) } label: { Image(systemName: "arrow.up") }
                    .disabled(!form.canMoveUp(position))
                    .accessibilityHidden(true)
                Button { form.moveDown(position) } label: { Image(systemName: "arrow.down") }
                    .disabled(!form.canMoveDown(position))
                    .accessibilityHidden(true)
            }
            .padding(.vertical, 8)
            .contentShape(Rectangle())
            .onDrag {
                dragging = entry.index
                return NSItemProvider(object: entry.text as NSString)
            }
            .onDrop(of: [UTType.text], delegate: ReorderDrop(target: position, form: $form, dragging: $dragging))
            .accessibilityElement(children: .ignore)
            .accessibilityLabel(form.label(position))
            .accessibilityAction(named: "Move up") { form.moveUp(position) }
            .accessibilityAction(named: "Move down") { form.moveDown(position) }
        }
        CheckButton(form: form, submit: submit)
    }
}

/// Moves the dragged entry to the row it is held over.
struct ReorderDrop: DropDelegate {
    let target: Int
    @Binding var form: OrderingAnswer
    @Binding var dragging: UInt32?

    func dropEntered(info: DropInfo) {
        guard let dragging, let from = form.entries.firstIndex(where: { $0.index == dragging }) else { return }
        form.move(from: from, to: target)
    }

    func dropUpdated(info: DropInfo) -> DropProposal? { DropProposal(operation: .move) }

    func performDrop(info: DropInfo) -> Bool {
        dragging = nil
        return true
    }
}

struct MatchingForm: View {
    @State var form: MatchingAnswer
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.prompt)
        ForEach(form.items, id: \.index) { item in
            HStack(alignment: .firstTextBaseline) {
                Text(item.text).fixedSize(horizontal: false, vertical: true)
                Spacer(minLength: 8)
                Menu(form.target(of: item.index) ?? "Choose") {
                    ForEach(form.targets, id: \.self) { target in
                        Button(target) { form.pair(item.index, with: target) }
                    }
                }
            }
            .accessibilityElement(children: .combine)
            .accessibilityLabel(form.label(item))
            .accessibilityHint("Choose the match from the list")
        }
        CheckButton(form: form, submit: submit)
    }
}

struct NumericForm: View {
    @State var form: NumericAnswer
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.prompt)
        HStack {
            TextField("Your answer", text: $form.text)
                .keyboardType(.numbersAndPunctuation)
                .textFieldStyle(.roundedBorder)
                .accessibilityLabel(form.unit.map { "Your answer in \($0)" } ?? "Your answer")
            if let unit = form.unit {
                Text(unit).accessibilityHidden(true)
            }
        }
        CheckButton(form: form, submit: submit)
    }
}

/// The decisions taken so far, then the situation waiting for a choice; the last choice can be
/// taken back until the answer is sent.
struct ScenarioForm: View {
    @State var form: ScenarioAnswer
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.prompt)
        ForEach(Array(form.steps.enumerated()), id: \.offset) { _, step in
            VStack(alignment: .leading, spacing: 4) {
                Text(step.node.situation).fixedSize(horizontal: false, vertical: true)
                Text("You chose: \(step.node.choices[step.choice].text)").font(.callout).foregroundStyle(.secondary)
                    .fixedSize(horizontal: false, vertical: true)
            }
            .accessibilityElement(children: .combine)
        }
        if let node = form.current {
            Text(node.situation).font(.body.weight(.semibold)).fixedSize(horizontal: false, vertical: true)
            ForEach(Array(node.choices.enumerated()), id: \.offset) { index, choice in
                Button { form.pick(index) } label: {
                    Text(choice.text).fixedSize(horizontal: false, vertical: true)
                        .frame(maxWidth: .infinity, alignment: .leading)
                }
                .buttonStyle(.bordered)
                .accessibilityHint(choice.next == nil ? "Ends the scenario" : "Leads to the next situation")
            }
        }
        if !form.path.isEmpty {
            Button("Take back my last choice") { form.back() }
        }
        CheckButton(form: form, submit: submit)
    }
}

/// The front; "Show answer" turns the card over, then a rating sends the answer.
struct FlashcardForm: View {
    @State var form: FlashcardAnswer
    let reveal: () async throws -> String
    let submit: (Response, String?) -> Void
    @State private var error: String?

    var body: some View {
        Prompt(text: form.prompt)
        if let back = form.back {
            Text(back).fixedSize(horizontal: false, vertical: true)
                .accessibilityLabel("Answer: \(back)")
            Text("How well did you recall it?").font(.subheadline)
            ForEach(FlashcardAnswer.ratings.indices, id: \.self) { index in
                Button(FlashcardAnswer.ratings[index].label) {
                    form.rate(FlashcardAnswer.ratings[index].rating)
                    if let response = form.response { submit(response, back) }
                }
                .buttonStyle(.bordered)
            }
        } else {
            Button("Show answer") {
                Task {
                    do {
                        form.reveal(try await reveal())
                    } catch {
                        self.error = "\(error)"
                    }
                }
            }
            .buttonStyle(.borderedProminent)
            .accessibilityHint("Try to recall it first")
        }
        if let error { Text(error).foregroundStyle(.red) }
    }
}

struct ReflectionForm: View {
    @State var form: ReflectionAnswer
    @ScaledMetric private var editorHeight: CGFloat = 120
    let submit: (Response) -> Void

    var body: some View {
        Prompt(text: form.prompt)
        TextEditor(text: $form.text)
            .frame(minHeight: editorHeight)
            .overlay(RoundedRectangle(cornerRadius: 6).stroke(Color.secondary.opacity(0.4)))
            .accessibilityLabel("Your answer")
        Text("Tick each statement your answer meets.").font(.subheadline)
        ForEach(Array(form.criteria.enumerated()), id: \.offset) { index, criterion in
            Toggle(criterion, isOn: Binding(get: { form.met[index] }, set: { form.check(index, met: $0) }))
        }
        CheckButton(form: form, submit: submit)
    }
}

/// A voice item. The sample holds no recorder: an app records with AVAudioRecorder (after the
/// microphone permission and the learner's `.voice` consent), attaches the file with
/// `form.record(_:durationMs:)` and sends it with `TidbitClient.answerVoice(course:step:form:)`.
struct VoiceForm: View {
    @State var form: VoiceAnswer

    var body: some View {
        Prompt(text: form.prompt)
        Text("Record your answer (at most \(form.maxSeconds) seconds). This sample does not record.")
            .font(.subheadline)
        Text("Tick each statement your recording meets.").font(.subheadline)
        ForEach(Array(form.criteria.enumerated()), id: \.offset) { index, criterion in
            Toggle(criterion, isOn: Binding(get: { form.met[index] }, set: { form.check(index, met: $0) }))
        }
        if let missing = form.missing { Text(missing).font(.footnote) }
    }
}

/// The verdict, the feedback texts, the explanation, when the item comes back and what else
/// happened; VoiceOver announces the verdict when it appears.
struct FeedbackView: View {
    let feedback: ItemFeedback

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text("\(feedback.verdict) (\(feedback.creditPercent) %)").font(.title3)
                .accessibilityAddTraits(.isHeader)
            ForEach(feedback.feedback, id: \.self) { Text($0).fixedSize(horizontal: false, vertical: true) }
            if let explanation = feedback.explanation {
                Text("Why: \(explanation)").font(.callout).fixedSize(horizontal: false, vertical: true)
            }
            if let comesBack = feedback.comesBack {
                Label(comesBack, systemImage: "calendar").font(.callout)
            }
            ForEach(feedback.notes, id: \.self) { Text($0).font(.callout).fixedSize(horizontal: false, vertical: true) }
        }
        .onAppear { UIAccessibility.post(notification: .announcement, argument: feedback.announcement) }
    }
}
