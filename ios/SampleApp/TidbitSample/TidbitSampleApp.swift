import SwiftUI
import Tidbit

@main
struct TidbitSampleApp: App {
    @StateObject private var model: LearnerModel
    @Environment(\.scenePhase) private var scenePhase
    private let backgroundSync: BackgroundSync

    init() {
        let model = LearnerModel()
        _model = StateObject(wrappedValue: model)
        backgroundSync = BackgroundSync(
            identifier: LearnerModel.syncTaskIdentifier,
            tidbitForSync: { await model.tidbit },
            syncServer: { await model.syncServer },
            onTokenRejected: { message in Task { @MainActor in model.message = message } })
        // BGTaskScheduler takes launch handlers only before the app finishes launching.
        backgroundSync.register()
    }

    var body: some Scene {
        WindowGroup {
            NavigationStack {
                HomeView()
            }
            .environmentObject(model)
            .task { await model.start() }
        }
        .onChange(of: scenePhase) { phase in
            if phase == .background {
                try? backgroundSync.schedule()
            }
        }
    }
}

/// Opens the learner's Tidbit, installs the bundled pack once and keeps the home screen fresh.
@MainActor
final class LearnerModel: ObservableObject {
    /// Listed in Info.plist under `BGTaskSchedulerPermittedIdentifiers`.
    static let syncTaskIdentifier = "dev.tidbit.sample.sync"

    @Published var home: Home?
    @Published var courses: [CourseSummary] = []
    @Published var installProgress: Double?
    @Published var message: String?
    private(set) var tidbit: TidbitClient?
    /// From `sync.json` in the bundle (`{"url": ..., "token": ...}`); nil keeps the sample offline.
    private(set) var syncServer: SyncServer?

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
            syncServer = bundledSyncServer()
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

    /// Pull to refresh: syncs when sync is set up, then reloads. Leaving the screen cancels
    /// the sync; what it had applied is kept.
    func syncAndRefresh() async {
        if let tidbit, let syncServer {
            do {
                _ = try await tidbit.sync(serverURL: syncServer.url, token: syncServer.token)
            } catch is CancellationError {
                return
            } catch {
                message = "\(error)"
            }
        }
        try? await refresh()
    }

    private func bundledSyncServer() -> SyncServer? {
        struct File: Decodable {
            var url: URL
            var token: String
        }
        guard let url = Bundle.main.url(forResource: "sync", withExtension: "json"),
              let data = try? Data(contentsOf: url),
              let file = try? JSONDecoder().decode(File.self, from: data)
        else { return nil }
        return SyncServer(url: file.url, token: file.token)
    }

    private func deviceId() -> String {
        let key = "tidbit.device-id"
        if let id = UserDefaults.standard.string(forKey: key) { return id }
        let id = UUID().uuidString
        UserDefaults.standard.set(id, forKey: key)
        return id
    }
}
