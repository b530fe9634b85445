import SwiftUI
import Tidbit

@main
struct TidbitSampleApp: App {
    @StateObject private var model = LearnerModel()

    var body: some Scene {
        WindowGroup {
            NavigationStack {
                HomeView()
            }
            .environmentObject(model)
            .task { await model.start() }
        }
    }
}

/// Opens the learner's Tidbit, installs the bundled pack once and keeps the home screen fresh.
@MainActor
final class LearnerModel: ObservableObject {
    @Published var home: Home?
    @Published var courses: [CourseSummary] = []
    @Published var installProgress: Double?
    @Published var message: String?
    private(set) var tidbit: TidbitClient?

    func start() async {
        do {
            try OSLogLogger.install(level: .info)
            let support = try FileManager.default.url(
                for: .applicationSupportDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
            let authorKey = try String(
                contentsOf: Bundle.main.url(forResource: "author", withExtension: "pub")!, encoding: .utf8)
            let config = TidbitConfig(
                dataDir: support.appendingPathComponent("tidbit").path,
                learnerId: "sample-learner",
                deviceId: deviceId(),
                timeZone: TimeZone.current.identifier,
                trustedKeys: [authorKey])
            let tidbit = try TidbitClient(config: config, keyStore: KeychainKeyStore())
            self.tidbit = tidbit
            if let pack = Bundle.main.url(forResource: "sample", withExtension: "tidbit") {
                for try await event in tidbit.installPack(at: pack) {
                    if case .working(let done, let total) = event, total > 0 {
                        installProgress = Double(done) / Double(total)
                    }
                }
                installProgress = nil
            }
            try await refresh()
        } catch {
            message = "\(error)"
        }
    }

    func refresh() async throws {
        guard let tidbit else { return }
        courses = try await tidbit.catalog()
        home = try await tidbit.home()
    }

    private func deviceId() -> String {
        let key = "tidbit.device-id"
        if let id = UserDefaults.standard.string(forKey: key) { return id }
        let id = UUID().uuidString
        UserDefaults.standard.set(id, forKey: key)
        return id
    }
}
