// What the learner lets course downloads spend, and what a background job does after an update.
//
// Platform-independent: this file compiles on the JVM (tests/bindings/kotlin.sh runs it there
// against the real core and the suites' server) and on Android, where
// dev.tidbit.android.CourseUpdateWorker turns a policy into WorkManager constraints and reads the
// network's metered state. Which courses to fetch, and how, is the Rust core's
// (`Tidbit.updateCourses`): this only says what the app allows.

package dev.tidbit

import dev.tidbit.ffi.CourseUpdateSettings
import dev.tidbit.ffi.core.CourseUpdateReport
import dev.tidbit.ffi.core.PendingReason

/**
 * The learner's preferences for course downloads: [wifiOnly] keeps them for unmetered networks
 * (Wi-Fi, Ethernet), [bytesPerRun] caps what one update downloads (null: no cap). A download
 * that reaches the cap pauses and resumes from there at the next update.
 */
data class CourseUpdatePolicy(
    val wifiOnly: Boolean = true,
    val bytesPerRun: Long? = null,
) {
    init {
        require(bytesPerRun == null || bytesPerRun > 0) {
            "bytesPerRun must be positive, or null for no cap (got $bytesPerRun)"
        }
    }

    /** The settings for one update, given whether the device is on an unmetered network now. */
    fun settings(onUnmeteredNetwork: Boolean): CourseUpdateSettings = CourseUpdateSettings(
        byteBudget = bytesPerRun?.toULong(),
        unmeteredOnly = wifiOnly,
        onUnmeteredNetwork = onUnmeteredNetwork,
    )
}

/**
 * True when a download waits because the link kept failing: a background job retries it with
 * backoff. Downloads paused by the byte budget or by "Wi-Fi only" wait for the next scheduled
 * run instead, and refused packs wait for the author to publish a new version.
 */
val CourseUpdateReport.interrupted: Boolean
    get() = pending.any { it.reason is PendingReason.Interrupted }
