// One item on screen: the answer form of its kind, "Check answer", then the feedback. These
// composables only draw the answer forms and the feedback of dev.tidbit.ItemViewModels.kt (what
// is ready, what is sent and what the feedback says is decided there and in the core). Text
// uses the theme's sp-based styles and wraps; nothing has a fixed height; every control has
// TalkBack semantics (roles, state, labels; ordering adds "Move up" / "Move down" actions; the
// feedback's verdict is a polite live region).
//
// Not compiled here: there is no Android SDK on the Linux machines (see MainActivity.kt).

package dev.tidbit.sample

import androidx.compose.foundation.gestures.detectDragGesturesAfterLongPress
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.selection.selectable
import androidx.compose.foundation.selection.toggleable
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.KeyboardArrowDown
import androidx.compose.material.icons.filled.KeyboardArrowUp
import androidx.compose.material.icons.filled.Menu
import androidx.compose.material3.Button
import androidx.compose.material3.Checkbox
import androidx.compose.material3.DropdownMenu
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.key
import androidx.compose.runtime.mutableFloatStateOf
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableLongStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.rememberUpdatedState
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.graphics.graphicsLayer
import androidx.compose.ui.input.pointer.pointerInput
import androidx.compose.ui.layout.onSizeChanged
import androidx.compose.ui.semantics.CustomAccessibilityAction
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.Role
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.customActions
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.semantics.stateDescription
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.unit.dp
import androidx.compose.ui.zIndex
import dev.tidbit.FillBlanksAnswer
import dev.tidbit.FlashcardAnswer
import dev.tidbit.ItemAnswer
import dev.tidbit.ItemFeedback
import dev.tidbit.MatchingAnswer
import dev.tidbit.MultipleResponseAnswer
import dev.tidbit.NumericAnswer
import dev.tidbit.OrderingAnswer
import dev.tidbit.ReflectionAnswer
import dev.tidbit.ScenarioAnswer
import dev.tidbit.SingleChoiceAnswer
import dev.tidbit.TidbitClient
import dev.tidbit.TrueFalseAnswer
import dev.tidbit.VoiceAnswer
import dev.tidbit.ffi.TidbitException
import dev.tidbit.ffi.core.StepView
import kotlinx.coroutines.launch

/** An item: its form until answered, then the feedback and "Continue". */
@Composable
fun ItemScreen(tidbit: TidbitClient, course: String, step: StepView.Item, onNext: () -> Unit) {
    var answer by remember { mutableStateOf(ItemAnswer.of(step.view)) }
    var feedback by remember { mutableStateOf<ItemFeedback?>(null) }
    var error by remember { mutableStateOf<String?>(null) }
    val shownAt by remember { mutableLongStateOf(System.currentTimeMillis()) }
    val scope = rememberCoroutineScope()

    fun submit() {
        val response = answer.response() ?: return
        val shown = (answer as? FlashcardAnswer)?.back
        scope.launch {
            try {
                val millis = (System.currentTimeMillis() - shownAt).coerceIn(0, Int.MAX_VALUE.toLong()).toInt()
                val spoken = answer as? VoiceAnswer
                val result = if (spoken != null) tidbit.answerVoice(course, step.id, spoken)
                else tidbit.answer(course, step.id, response, millis)
                feedback = ItemFeedback.of(result, System.currentTimeMillis(), shown)
            } catch (e: TidbitException) {
                error = e.message
            }
        }
    }

    val result = feedback
    if (result == null) {
        ItemForm(
            answer = answer,
            onChange = { answer = it },
            reveal = { tidbit.flashcardBack(course, step.id) },
            onSubmit = ::submit,
        )
    } else {
        FeedbackCard(result)
        Button(onClick = onNext) { Text("Continue") }
    }
    error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
}

/** The form of [answer]'s kind; every edit goes through [onChange]. */
@Composable
fun ItemForm(answer: ItemAnswer, onChange: (ItemAnswer) -> Unit, reveal: suspend () -> String, onSubmit: () -> Unit) {
    Prompt(if (answer is FillBlanksAnswer) answer.readablePrompt else answer.prompt)
    when (answer) {
        is SingleChoiceAnswer -> answer.choices.forEachIndexed { i, choice ->
            OptionRow(choice, answer.selected == i, Role.RadioButton) { onChange(answer.select(i)) }
        }
        is MultipleResponseAnswer -> answer.choices.forEachIndexed { i, choice ->
            OptionRow(choice, i in answer.selected, Role.Checkbox) { onChange(answer.toggle(i)) }
        }
        is TrueFalseAnswer -> {
            OptionRow("True", answer.answer == true, Role.RadioButton) { onChange(answer.choose(true)) }
            OptionRow("False", answer.answer == false, Role.RadioButton) { onChange(answer.choose(false)) }
        }
        is FillBlanksAnswer -> answer.answers.forEachIndexed { i, text ->
            OutlinedTextField(
                value = text,
                onValueChange = { onChange(answer.fill(i, it)) },
                label = { Text("Blank ${i + 1}") },
                singleLine = true,
                modifier = Modifier.fillMaxWidth().semantics { contentDescription = answer.label(i) },
            )
        }
        is OrderingAnswer -> OrderingForm(answer, onChange)
        is MatchingAnswer -> MatchingForm(answer, onChange)
        is NumericAnswer -> {
            val unit = answer.unit
            OutlinedTextField(
                value = answer.text,
                onValueChange = { onChange(answer.type(it)) },
                label = { Text(if (unit == null) "Your answer" else "Your answer in $unit") },
                suffix = if (unit != null) { { Text(unit) } } else null,
                isError = answer.text.isNotBlank() && answer.value == null,
                singleLine = true,
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Decimal),
                modifier = Modifier.fillMaxWidth(),
            )
        }
        is ScenarioAnswer -> ScenarioForm(answer, onChange)
        is FlashcardAnswer -> FlashcardForm(answer, onChange, reveal, onSubmit)
        is ReflectionAnswer -> {
            OutlinedTextField(
                value = answer.text,
                onValueChange = { onChange(answer.write(it)) },
                label = { Text("Your answer") },
                minLines = 4,
                modifier = Modifier.fillMaxWidth(),
            )
            Text("Tick each statement your answer meets.", style = MaterialTheme.typography.bodyMedium)
            answer.criteria.forEachIndexed { i, criterion ->
                OptionRow(criterion, answer.met[i], Role.Checkbox) { onChange(answer.toggle(i)) }
            }
        }
        is VoiceAnswer -> {
            // The sample holds no recorder: an app records with MediaRecorder (after asking for
            // RECORD_AUDIO and the learner's `voice` consent) and passes the file to
            // `answer.record(bytes, durationMillis)`.
            Text(
                if (answer.recording == null) "Record your answer (at most ${answer.maxSeconds} seconds)."
                else "Recorded: ${answer.durationMillis / 1000} seconds.",
                style = MaterialTheme.typography.bodyMedium,
            )
            Text("Tick each statement your recording meets.", style = MaterialTheme.typography.bodyMedium)
            answer.criteria.forEachIndexed { i, criterion ->
                OptionRow(criterion, answer.met[i], Role.Checkbox) { onChange(answer.toggle(i)) }
            }
        }
    }
    // A flashcard is sent by its rating buttons.
    if (answer !is FlashcardAnswer) CheckButton(answer, onSubmit)
}

@Composable
private fun Prompt(text: String) {
    Text(text, style = MaterialTheme.typography.titleMedium, modifier = Modifier.semantics { heading() })
}

/** "Check answer", enabled once the form is ready; otherwise it says what is missing. */
@Composable
private fun CheckButton(answer: ItemAnswer, onSubmit: () -> Unit) {
    val missing = answer.missing
    Button(
        onClick = onSubmit,
        enabled = missing == null,
        modifier = Modifier.semantics { stateDescription = missing ?: "Ready to send" },
    ) { Text("Check answer") }
    if (missing != null) Text(missing, style = MaterialTheme.typography.bodySmall)
}

/** An option or a criterion: the whole row is one radio button or check box for TalkBack. */
@Composable
private fun OptionRow(text: String, selected: Boolean, role: Role, onClick: () -> Unit) {
    val rowModifier = if (role == Role.Checkbox) {
        Modifier.toggleable(value = selected, role = role, onValueChange = { onClick() })
    } else {
        Modifier.selectable(selected = selected, role = role, onClick = onClick)
    }
    Row(rowModifier.fillMaxWidth().padding(vertical = 8.dp), verticalAlignment = Alignment.CenterVertically) {
        if (role == Role.Checkbox) Checkbox(checked = selected, onCheckedChange = null)
        else RadioButton(selected = selected, onClick = null)
        Text(text, style = MaterialTheme.typography.bodyLarge, modifier = Modifier.padding(start = 12.dp))
    }
}

/** Entries reordered by long-press and drag, with the arrow buttons, or TalkBack's move actions. */
@Composable
private fun OrderingForm(form: OrderingAnswer, onChange: (ItemAnswer) -> Unit) {
    val latest by rememberUpdatedState(form)
    val change by rememberUpdatedState(onChange)
    var dragged by remember { mutableStateOf<UInt?>(null) }
    var offset by remember { mutableFloatStateOf(0f) }
    Text("Long-press and drag the entries into order, or use the arrows.", style = MaterialTheme.typography.bodyMedium)
    form.entries.forEachIndexed { position, entry ->
        key(entry.index) {
            var height by remember { mutableIntStateOf(1) }
            val moving = dragged == entry.index
            Row(
                Modifier
                    .fillMaxWidth()
                    .onSizeChanged { height = maxOf(it.height, 1) }
                    .zIndex(if (moving) 1f else 0f)
                    .graphicsLayer { translationY = if (moving) offset else 0f }
                    .pointerInput(entry.index) {
                        detectDragGesturesAfterLongPress(
                            onDragStart = { dragged = entry.index; offset = 0f },
                            onDragEnd = { dragged = null; offset = 0f },
                            onDragCancel = { dragged = null; offset = 0f },
                            onDrag = { pointer, amount ->
                                pointer.consume()
                                offset += amount.y
                                val at = latest.entries.indexOfFirst { it.index == entry.index }
                                if (offset > height && latest.canMoveDown(at)) {
                                    change(latest.moveDown(at)); offset -= height
                                } else if (offset < -height && latest.canMoveUp(at)) {
                                    change(latest.moveUp(at)); offset += height
                                }
                            },
                        )
                    }
                    .semantics(mergeDescendants = true) {
                        contentDescription = form.label(position)
                        customActions = listOf(
                            CustomAccessibilityAction("Move up") {
                                form.canMoveUp(position).also { if (it) change(form.moveUp(position)) }
                            },
                            CustomAccessibilityAction("Move down") {
                                form.canMoveDown(position).also { if (it) change(form.moveDown(position)) }
                            },
                        )
                    }
                    .padding(vertical = 4.dp),
                verticalAlignment = Alignment.CenterVertically,
            ) {
                Icon(Icons.Filled.Menu, contentDescription = null)
                Text(entry.text, style = MaterialTheme.typography.bodyLarge, modifier = Modifier.weight(1f).padding(start = 12.dp))
                IconButton(onClick = { change(form.moveUp(position)) }, enabled = form.canMoveUp(position)) {
                    Icon(Icons.Filled.KeyboardArrowUp, contentDescription = "Move ${entry.text} up")
                }
                IconButton(onClick = { change(form.moveDown(position)) }, enabled = form.canMoveDown(position)) {
                    Icon(Icons.Filled.KeyboardArrowDown, contentDescription = "Move ${entry.text} down")
                }
            }
        }
    }
}

/** Each item with a menu of the targets. */
@Composable
private fun MatchingForm(form: MatchingAnswer, onChange: (ItemAnswer) -> Unit) {
    form.items.forEach { item ->
        var menuShown by remember(item.index) { mutableStateOf(false) }
        Row(
            Modifier.fillMaxWidth().semantics(mergeDescendants = true) { contentDescription = form.label(item) },
            verticalAlignment = Alignment.CenterVertically,
        ) {
            Text(item.text, style = MaterialTheme.typography.bodyLarge, modifier = Modifier.weight(1f))
            Box {
                OutlinedButton(onClick = { menuShown = true }) { Text(form.targetOf(item.index) ?: "Choose") }
                DropdownMenu(expanded = menuShown, onDismissRequest = { menuShown = false }) {
                    form.targets.forEach { target ->
                        DropdownMenuItem(
                            text = { Text(target) },
                            onClick = { onChange(form.pair(item.index, target)); menuShown = false },
                        )
                    }
                }
            }
        }
    }
}

/** The decisions taken so far, then the situation waiting for a choice. */
@Composable
private fun ScenarioForm(form: ScenarioAnswer, onChange: (ItemAnswer) -> Unit) {
    form.steps.forEach { step ->
        Column(Modifier.semantics(mergeDescendants = true) {}) {
            Text(step.node.situation, style = MaterialTheme.typography.bodyLarge)
            Text("You chose: ${step.node.choices[step.choice].text}", style = MaterialTheme.typography.bodyMedium)
        }
    }
    form.current?.let { node ->
        Text(node.situation, style = MaterialTheme.typography.titleSmall)
        node.choices.forEachIndexed { i, choice ->
            OutlinedButton(
                onClick = { onChange(form.pick(i)) },
                modifier = Modifier.fillMaxWidth().semantics {
                    stateDescription = if (choice.next == null) "Ends the scenario" else "Leads to the next situation"
                },
            ) { Text(choice.text, modifier = Modifier.fillMaxWidth()) }
        }
    }
    if (form.path.isNotEmpty()) TextButton(onClick = { onChange(form.back()) }) { Text("Take back my last choice") }
}

/** The front; "Show answer" turns the card over, then a rating sends the answer. */
@Composable
private fun FlashcardForm(form: FlashcardAnswer, onChange: (ItemAnswer) -> Unit, reveal: suspend () -> String, onSubmit: () -> Unit) {
    val scope = rememberCoroutineScope()
    var error by remember { mutableStateOf<String?>(null) }
    val back = form.back
    if (back == null) {
        Button(onClick = {
            scope.launch {
                try {
                    onChange(form.reveal(reveal()))
                } catch (e: TidbitException) {
                    error = e.message
                }
            }
        }) { Text("Show answer") }
    } else {
        Text(back, style = MaterialTheme.typography.bodyLarge, modifier = Modifier.semantics { contentDescription = "Answer: $back" })
        Text("How well did you recall it?", style = MaterialTheme.typography.bodyMedium)
        FlashcardAnswer.ratings.forEach { (rating, label) ->
            // The screen's state holds the rated form as soon as onChange returns, so it sends that.
            OutlinedButton(onClick = { onChange(form.rate(rating)); onSubmit() }, modifier = Modifier.fillMaxWidth()) {
                Text(label, modifier = Modifier.fillMaxWidth())
            }
        }
    }
    error?.let { Text(it, color = MaterialTheme.colorScheme.error) }
}

/** The verdict (announced by TalkBack), the feedback texts, the explanation, when the item comes back. */
@Composable
fun FeedbackCard(feedback: ItemFeedback) {
    Column(verticalArrangement = Arrangement.spacedBy(8.dp)) {
        Text(
            "${feedback.verdict} (${feedback.creditPercent} %)",
            style = MaterialTheme.typography.titleLarge,
            modifier = Modifier.semantics {
                heading()
                liveRegion = LiveRegionMode.Polite
                contentDescription = feedback.announcement
            },
        )
        feedback.feedback.forEach { Text(it, style = MaterialTheme.typography.bodyLarge) }
        feedback.explanation?.let { Text("Why: $it", style = MaterialTheme.typography.bodyMedium) }
        feedback.comesBack?.let { Text(it, style = MaterialTheme.typography.bodyMedium) }
        feedback.notes.forEach { Text(it, style = MaterialTheme.typography.bodyMedium) }
    }
}
