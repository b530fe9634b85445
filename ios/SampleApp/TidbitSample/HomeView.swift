import SwiftUI
import Tidbit

struct HomeView: View {
    @EnvironmentObject private var model: LearnerModel

    var body: some View {
        List {
            if let progress = model.installProgress {
                ProgressView("Installing course", value: progress)
            }
            if let home = model.home {
                Section("Next") {
                    Text(home.recommendation.reason)
                    nextAction(home.recommendation.activity)
                }
                Section("Today") {
                    LabeledContent("Due now", value: "\(home.due.dueNow)")
                    LabeledContent("Due today", value: "\(home.due.dueToday)")
                    LabeledContent("Streak", value: "\(home.streak.current) days")
                }
            }
            Section("Courses") {
                ForEach(model.courses, id: \.id) { course in
                    VStack(alignment: .leading) {
                        Text(course.title).font(.headline)
                        Text(course.description).font(.subheadline)
                    }
                }
            }
            if let message = model.message {
                Text(message).foregroundStyle(.red)
            }
        }
        .navigationTitle("Tidbit")
        .refreshable { await model.syncAndRefresh() }
    }

    @ViewBuilder
    private func nextAction(_ activity: Activity) -> some View {
        switch activity {
        case .module(let course, let module, _):
            NavigationLink("Start module") { ModuleView(course: course, module: module) }
        case .enroll(let course, let path):
            Button("Start the path") {
                Task {
                    try? await model.tidbit?.enroll(course: course, path: path)
                    try? await model.refresh()
                }
            }
        case .nothingInstalled:
            Text("No course installed yet.")
        default:
            EmptyView()
        }
    }
}
