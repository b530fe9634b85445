// The voice item's form on its own: not ready without a recording or when it runs past the item's
// maximum, and its response names the recording by its SHA-256 (`TidbitClient.answerVoice`
// carries the bytes; tests/bindings/kotlin/VoiceSuite.kt drives that against the real core).
// Parsed here by tests/bindings/swift.sh; run with `swift test` on macOS.

import Foundation
import XCTest
@testable import Tidbit

final class VoiceFormTests: XCTestCase {
    func testAVoiceFormNeedsARecordingWithinItsMaximumAndNamesItByItsHash() throws {
        let view = ItemView.voice(prompt: "Hand over, out loud.", criteria: ["What happened", "What I did"], maxSeconds: 30)
        guard case .voice(var form) = ItemAnswer(view) else { return XCTFail("not a voice form") }
        XCTAssertEqual(form.missing, "Record your answer (at most 30 seconds), then tick each point it meets.")
        XCTAssertNil(form.response)
        form.record(Data("test".utf8), durationMs: 31_000)
        XCTAssertEqual(form.missing, "The recording is longer than 30 seconds: record a shorter answer.")
        form.record(Data("test".utf8), durationMs: 3_000)
        form.toggle(0)
        XCTAssertEqual(
            form.response,
            .voice(
                audio: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                durationMs: 3_000, criteriaMet: [true, false]))
    }
}
