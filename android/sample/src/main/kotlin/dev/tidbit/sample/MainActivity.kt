// The sample app: home (next activity and its reason, due counts, streak) → module (lesson
// cards and choice items) → feedback. Put a signed pack (`sample.tidbit`) and its author's
// public key (`author.pub`) in src/main/assets. Sync joins the home screen once the core has it.

package dev.tidbit.sample

import android.os.Bundle
import android.widget.Button
import android.widget.LinearLayout
import android.widget.ScrollView
import android.widget.TextView
import androidx.appcompat.app.AppCompatActivity
import androidx.lifecycle.lifecycleScope
import dev.tidbit.Progress
import dev.tidbit.TidbitClient
import dev.tidbit.android.LogcatLogger
import dev.tidbit.android.TidbitAndroid
import dev.tidbit.ffi.core.Feedback
import dev.tidbit.ffi.core.ItemView
import dev.tidbit.ffi.core.Response
import dev.tidbit.ffi.core.StepView
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.Activity
import dev.tidbit.ffi.core.SelfRating
import kotlinx.coroutines.flow.collect
import kotlinx.coroutines.launch

class MainActivity : AppCompatActivity() {
    private lateinit var tidbit: TidbitClient
    private lateinit var column: LinearLayout

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        column = LinearLayout(this).apply { orientation = LinearLayout.VERTICAL; setPadding(32, 32, 32, 32) }
        setContentView(ScrollView(this).apply { addView(column) })
        lifecycleScope.launch {
            try {
                LogcatLogger.install()
                val authorKey = assets.open("author.pub").bufferedReader().readText()
                tidbit = TidbitAndroid.open(this@MainActivity, "sample-learner", listOf(authorKey))
                val pack = filesDir.resolve("sample.tidbit")
                assets.open("sample.tidbit").use { input -> pack.outputStream().use { input.copyTo(it) } }
                tidbit.installPack(pack.path).collect { event ->
                    if (event is Progress.Working) show("Installing… ${event.done * 100 / maxOf(event.total, 1)} %")
                }
                showHome()
            } catch (e: TidbitException) {
                show(e.message ?: "$e")
            }
        }
    }

    override fun onDestroy() {
        if (::tidbit.isInitialized) tidbit.close()
        super.onDestroy()
    }

    private suspend fun showHome() {
        val home = tidbit.home()
        clear()
        text(home.recommendation.reason)
        text("Due now: ${home.due.dueNow} · due today: ${home.due.dueToday} · streak: ${home.streak.current} days")
        when (val activity = home.recommendation.activity) {
            is Activity.Enroll -> button("Start the path") {
                tidbit.enroll(activity.course, activity.path)
                showHome()
            }
            is Activity.Module -> button("Start module") { runModule(activity.course, activity.module) }
            else -> Unit
        }
    }

    private suspend fun runModule(course: String, module: String) {
        val steps = tidbit.startModule(course, module)
        showStep(course, steps, 0)
    }

    private suspend fun showStep(course: String, steps: List<StepView>, index: Int) {
        clear()
        val step = steps.getOrNull(index) ?: return showHome()
        val next: suspend () -> Unit = { showStep(course, steps, index + 1) }
        when (step) {
            is StepView.Lesson -> {
                step.card.segments.forEach { text(it) }
                button("Next") { tidbit.viewStep(course, step.id); next() }
            }
            is StepView.Item -> {
                val started = System.currentTimeMillis()
                val submit: suspend (Response) -> Unit = { response ->
                    val millis = (System.currentTimeMillis() - started).toInt()
                    showFeedback(tidbit.answer(course, step.id, response, millis), next)
                }
                when (val view = step.view) {
                    is ItemView.SingleChoice -> {
                        text(view.prompt)
                        view.choices.forEachIndexed { i, choice -> button(choice) { submit(Response.SingleChoice(i.toUInt())) } }
                    }
                    is ItemView.TrueFalse -> {
                        text(view.statement)
                        button("True") { submit(Response.TrueFalse(true)) }
                        button("False") { submit(Response.TrueFalse(false)) }
                    }
                    is ItemView.Flashcard -> {
                        text(view.front)
                        button("Show answer") {
                            text(tidbit.flashcardBack(course, step.id))
                            SelfRating.values().forEach { rating -> button(rating.name) { submit(Response.Flashcard(rating)) } }
                        }
                    }
                    else -> {
                        text("This item kind needs its own form in a real app.")
                        button("Skip") { next() }
                    }
                }
            }
        }
    }

    private fun showFeedback(feedback: Feedback, next: suspend () -> Unit) {
        clear()
        text(feedback.assessment.outcome.name)
        feedback.assessment.feedback.forEach { text(it) }
        text(feedback.assessment.explanation)
        button("Continue") { next() }
    }

    private fun clear() = column.removeAllViews()
    private fun show(message: String) { clear(); text(message) }
    private fun text(value: String) = column.addView(TextView(this).apply { text = value; textSize = 17f })
    private fun button(label: String, action: suspend () -> Unit) = column.addView(Button(this).apply {
        text = label
        setOnClickListener { lifecycleScope.launch { action() } }
    })
}
