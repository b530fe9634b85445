// The sample app (Compose): home (next activity and its reason, due counts, streak) → module
// (lesson cards and every item kind, ItemForms.kt) → feedback with the explanation and when the
// item comes back. Put a signed pack (`sample.tidbit`) and its author's public key (`author.pub`)
// in src/main/assets.
//
// Not compiled here: there is no Android SDK on the Linux machines. What these screens draw (the
// answer forms and the feedback, dev.tidbit.ItemViewModels.kt) is compiled and run against the
// real core on the JVM by tests/bindings/kotlin.sh; keep the logic there and this file thin.

package dev.tidbit.sample

import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.key
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.setValue
import androidx.compose.ui.Modifier
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import androidx.lifecycle.lifecycleScope
import dev.tidbit.Progress
import dev.tidbit.TidbitClient
import dev.tidbit.android.LogcatLogger
import dev.tidbit.android.TidbitAndroid
import dev.tidbit.ffi.Home
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.Activity
import dev.tidbit.ffi.core.StepView
import kotlinx.coroutines.launch

/** What the app shows: a message (opening, installing, an error), the home screen or a module. */
sealed class Screen {
    data class Message(val text: String) : Screen()
    data class HomeScreen(val home: Home) : Screen()
    data class Module(val course: String, val steps: List<StepView>) : Screen()
}

class MainActivity : ComponentActivity() {
    private var tidbit: TidbitClient? = null
    private val screen = mutableStateOf<Screen>(Screen.Message("Opening…"))

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        setContent {
            MaterialTheme {
                Surface(Modifier.fillMaxSize()) { App(screen.value) }
            }
        }
        lifecycleScope.launch {
            guarded {
                LogcatLogger.install()
                val authorKey = assets.open("author.pub").bufferedReader().readText()
                val opened = TidbitAndroid.open(this@MainActivity, "sample-learner", listOf(authorKey))
                tidbit = opened
                val pack = filesDir.resolve("sample.tidbit")
                assets.open("sample.tidbit").use { input -> pack.outputStream().use { input.copyTo(it) } }
                opened.installPack(pack.path).collect { event ->
                    if (event is Progress.Working) {
                        screen.value = Screen.Message("Installing… ${event.done * 100 / maxOf(event.total, 1)} %")
                    }
                }
                showHome()
            }
        }
    }

    override fun onDestroy() {
        tidbit?.close()
        super.onDestroy()
    }

    private suspend fun showHome() {
        val tidbit = tidbit ?: return
        screen.value = Screen.HomeScreen(tidbit.home())
    }

    /** Runs [work], showing a Tidbit error's message (it says what to do) instead of crashing. */
    private suspend fun guarded(work: suspend () -> Unit) {
        try {
            work()
        } catch (e: TidbitException) {
            screen.value = Screen.Message(e.message ?: "$e")
        }
    }

    @Composable
    private fun App(current: Screen) {
        val client = tidbit
        when {
            current is Screen.Message || client == null ->
                Column(Modifier.padding(24.dp)) { Text((current as? Screen.Message)?.text ?: "Opening…") }
            current is Screen.HomeScreen -> HomeView(current.home)
            current is Screen.Module -> key(current) {
                ModuleView(client, current.course, current.steps, onFinished = { lifecycleScope.launch { guarded { showHome() } } })
            }
        }
    }

    @Composable
    private fun HomeView(home: Home) {
        val scope = rememberCoroutineScope()
        Column(
            Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(24.dp),
            verticalArrangement = Arrangement.spacedBy(16.dp),
        ) {
            Text("Next", style = MaterialTheme.typography.titleLarge, modifier = Modifier.semantics { heading() })
            Text(home.recommendation.reason, style = MaterialTheme.typography.bodyLarge)
            Text(
                "Due now: ${home.due.dueNow} · due today: ${home.due.dueToday} · streak: ${home.streak.current} days",
                style = MaterialTheme.typography.bodyMedium,
            )
            when (val activity = home.recommendation.activity) {
                is Activity.Enroll -> Button(onClick = {
                    scope.launch {
                        guarded {
                            tidbit?.enroll(activity.course, activity.path)
                            showHome()
                        }
                    }
                }) { Text("Start the path") }
                is Activity.Module -> Button(onClick = {
                    scope.launch {
                        guarded {
                            val steps = tidbit?.startModule(activity.course, activity.module) ?: return@guarded
                            screen.value = Screen.Module(activity.course, steps)
                        }
                    }
                }) { Text("Start module") }
                else -> Unit
            }
        }
    }
}

/** A module's steps one at a time: a lesson card, or an item with its form and then its feedback. */
@Composable
fun ModuleView(tidbit: TidbitClient, course: String, steps: List<StepView>, onFinished: () -> Unit) {
    var index by remember { mutableIntStateOf(0) }
    val scope = rememberCoroutineScope()
    val step = steps.getOrNull(index)
    Column(
        Modifier.fillMaxSize().verticalScroll(rememberScrollState()).padding(24.dp),
        verticalArrangement = Arrangement.spacedBy(16.dp),
    ) {
        when (step) {
            null -> {
                Text("Module finished.", style = MaterialTheme.typography.titleLarge)
                Button(onClick = onFinished) { Text("Home") }
            }
            is StepView.Lesson -> {
                step.card.segments.forEach { Text(it, style = MaterialTheme.typography.bodyLarge) }
                Button(onClick = {
                    scope.launch {
                        try {
                            tidbit.viewStep(course, step.id)
                        } catch (e: TidbitException) {
                            // Reading a card is recorded best-effort; the learner moves on either way.
                        }
                        index += 1
                    }
                }) { Text("Next") }
            }
            is StepView.Item -> key(step.id) {
                ItemScreen(tidbit, course, step, onNext = { index += 1 })
            }
        }
    }
}
