import SwiftUI
import Tidbit

/// Steps one at a time: lesson cards, then each item with its answer form and feedback.
struct ModuleView: View {
    let course: String
    let module: String
    @EnvironmentObject private var model: LearnerModel
    @State private var steps: [StepView] = []
    @State private var index = 0
    @State private var feedback: Feedback?
    @State private var shownAt = Date()
    @State private var error: String?

    var body: some View {
        VStack(alignment: .leading, spacing: 16) {
            if index < steps.count {
                stepBody(steps[index])
            } else if !steps.isEmpty {
                Text("Module finished.").font(.title2)
            }
            if let feedback {
                FeedbackView(feedback: feedback)
                Button("Continue") { next() }
            }
            if let error { Text(error).foregroundStyle(.red) }
            Spacer()
        }
        .padding()
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
            ForEach(card.segments, id: \.self) { Text(.init($0)) }
            Button("Next") {
                Task {
                    _ = try? await model.tidbit?.viewStep(course: course, step: id)
                    next()
                }
            }
        case .item(let id, _, let view):
            ItemForm(view: view) { response in
                Task { await answer(id, response) }
            }
            .disabled(feedback != nil)
        }
    }

    private func answer(_ step: String, _ response: Response) async {
        let millis = UInt32(min(Date().timeIntervalSince(shownAt) * 1000, Double(UInt32.max)))
        do {
            feedback = try await model.tidbit?.answer(course: course, step: step, response: response, responseMs: millis)
        } catch {
            self.error = "\(error)"
        }
    }

    private func next() {
        feedback = nil
        index += 1
        shownAt = Date()
    }
}

/// A simple form for the choice-style items; other kinds get their own forms in a real app.
struct ItemForm: View {
    let view: ItemView
    let submit: (Response) -> Void

    var body: some View {
        switch view {
        case .singleChoice(let prompt, let choices):
            Text(prompt).font(.headline)
            ForEach(Array(choices.enumerated()), id: \.offset) { index, choice in
                Button(choice) { submit(.singleChoice(choice: UInt32(index))) }
            }
        case .trueFalse(let statement):
            Text(statement).font(.headline)
            HStack {
                Button("True") { submit(.trueFalse(answer: true)) }
                Button("False") { submit(.trueFalse(answer: false)) }
            }
        case .flashcard(let front):
            Text(front).font(.headline)
            HStack {
                Button("Again") { submit(.flashcard(rating: .again)) }
                Button("Good") { submit(.flashcard(rating: .good)) }
                Button("Easy") { submit(.flashcard(rating: .easy)) }
            }
        default:
            Text("This item kind needs its own form.")
        }
    }
}

struct FeedbackView: View {
    let feedback: Feedback

    var body: some View {
        VStack(alignment: .leading, spacing: 8) {
            Text(feedback.assessment.outcome == .right ? "Right" : "Not quite").font(.title3)
            ForEach(feedback.assessment.feedback, id: \.self) { Text($0) }
            Text(feedback.assessment.explanation).font(.footnote)
        }
    }
}
