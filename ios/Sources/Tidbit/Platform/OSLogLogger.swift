// Tidbit's log events in the unified logging system (Console.app, `log stream`).

import Foundation
import os
import TidbitFFI

public final class OSLogLogger: TidbitFFI.Logger, @unchecked Sendable {
    private let log: os.Logger

    public init(subsystem: String = Bundle.main.bundleIdentifier ?? "dev.tidbit") {
        log = os.Logger(subsystem: subsystem, category: "tidbit")
    }

    public func log(record: LogRecord) {
        let text = "\(record.target): \(record.message)"
        switch record.level {
        case .error: log.error("\(text, privacy: .public)")
        case .warn: log.warning("\(text, privacy: .public)")
        case .info: log.info("\(text, privacy: .public)")
        case .debug, .trace: log.debug("\(text, privacy: .public)")
        }
    }

    /// Sends Tidbit's events at `level` and above to os_log.
    public static func install(level: LogLevel = .info) throws {
        try setLogger(logger: OSLogLogger(), maxLevel: level)
    }
}
