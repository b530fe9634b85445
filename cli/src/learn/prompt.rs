//! Reading the learner's input: line-by-line prompts, each item asked with numbered choices,
//! and the parsers that turn a typed line into a response.
//!
//! Input that does not parse is explained and asked again here, so it never reaches the facade;
//! `q` and the end of input stop the session at any prompt. Nothing here scores an answer or
//! writes to the store: it only builds the [`Answer`] the session hands to the facade (a
//! [`Response`], or for a voice item the recording file's bytes and the learner's rating).

use std::io::{BufRead, Write};

use tidbit_core::learn::assess::{index_of, ItemView, Response, SelfRating};
use tidbit_core::learn::voice::AudioFormat;

use super::render::{mark_blanks, plain_text};
use super::{flashcard_back, Entry, Session, Stop};

/// Line-by-line prompts.
pub(super) struct Console<R, W> {
    pub(super) input: R,
    pub(super) output: W,
    /// Repeat each line read, so a transcript of piped input reads like a terminal session.
    pub(super) echo: bool,
}

impl<R: BufRead, W: Write> Console<R, W> {
    pub(super) fn say(&mut self, text: &str) -> Result<(), Stop> {
        writeln!(self.output, "{text}")?;
        Ok(())
    }

    /// One line of input, trimmed. `q`, `quit` and the end of input stop the session.
    pub(super) fn ask(&mut self, prompt: &str) -> Result<String, Stop> {
        write!(self.output, "{prompt}> ")?;
        self.output.flush()?;
        let mut bytes = Vec::new();
        if self.input.read_until(b'\n', &mut bytes)? == 0 {
            writeln!(self.output)?;
            return Err(Stop::Quit);
        }
        let line = String::from_utf8_lossy(&bytes).trim().to_string();
        if self.echo {
            writeln!(self.output, "{line}")?;
        }
        if line.eq_ignore_ascii_case("q") || line.eq_ignore_ascii_case("quit") {
            return Err(Stop::Quit);
        }
        Ok(line)
    }

    /// Asks until `parse` accepts the line, explaining each refusal.
    pub(super) fn ask_until<T>(
        &mut self,
        prompt: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<T, Stop> {
        loop {
            let line = self.ask(prompt)?;
            match parse(&line) {
                Ok(value) => return Ok(value),
                Err(message) => self.say(&format!("  {message}"))?,
            }
        }
    }

    pub(super) fn pause(&mut self, prompt: &str) -> Result<(), Stop> {
        self.ask(prompt).map(|_| ())
    }
}

/// What the learner answered, for the facade.
pub(super) enum Answer {
    Response(Response),
    /// A spoken answer: the recording, its length as typed (0 for a WAV, which knows its
    /// own), and the learner's rating against each criterion.
    Voice {
        audio: Vec<u8>,
        duration_ms: u32,
        criteria_met: Vec<bool>,
    },
}

impl<R: BufRead, W: Write> Session<R, W> {
    pub(super) fn ask_response(&mut self, entry: &Entry, view: &ItemView) -> Result<Answer, Stop> {
        let console = &mut self.console;
        Ok(Answer::Response(match view {
            ItemView::SingleChoice { prompt, choices } => {
                console.say(&plain_text(prompt))?;
                list(console, choices)?;
                let n = choices.len();
                let choice =
                    console.ask_until(&format!("Your answer (1-{n})"), |s| parse_choice(s, n))?;
                Response::SingleChoice {
                    choice: index_of(choice),
                }
            }
            ItemView::MultipleResponse { prompt, choices } => {
                console.say(&plain_text(prompt))?;
                list(console, choices)?;
                let n = choices.len();
                let choices = console.ask_until(
                    "Select all that apply (numbers separated by commas or spaces)",
                    |s| parse_choices(s, n),
                )?;
                Response::MultipleResponse {
                    choices: choices.into_iter().map(index_of).collect(),
                }
            }
            ItemView::TrueFalse { statement } => {
                console.say(&format!("True or false? {}", plain_text(statement)))?;
                let answer = console.ask_until("Type t or f", parse_true_false)?;
                Response::TrueFalse { answer }
            }
            ItemView::FillBlanks { prompt, blanks } => {
                console.say(&plain_text(&mark_blanks(prompt)))?;
                let mut answers = Vec::with_capacity(*blanks as usize);
                for blank in 1..=*blanks {
                    answers.push(console.ask_until(&format!("Blank {blank}"), non_empty)?);
                }
                Response::FillBlanks { answers }
            }
            ItemView::Ordering { prompt, entries } => {
                console.say(&plain_text(prompt))?;
                let texts: Vec<&str> = entries.iter().map(|e| e.text.as_str()).collect();
                list(console, &texts)?;
                let n = entries.len();
                let positions = console
                    .ask_until("Type the numbers in the right order (e.g. 2 1 3)", |s| {
                        parse_order(s, n)
                    })?;
                Response::Ordering {
                    order: positions.into_iter().map(|p| entries[p].index).collect(),
                }
            }
            ItemView::Matching {
                prompt,
                items,
                targets,
            } => {
                console.say(&plain_text(prompt))?;
                console.say("Choices:")?;
                list(console, targets)?;
                let n = targets.len();
                let mut picked = vec![String::new(); items.len()];
                for item in items {
                    console.say(&format!("- {}", plain_text(&item.text)))?;
                    let target = console
                        .ask_until(&format!("  goes with (1-{n})"), |s| parse_choice(s, n))?;
                    if let Some(slot) = picked.get_mut(item.index as usize) {
                        slot.clone_from(&targets[target]);
                    }
                }
                Response::Matching { targets: picked }
            }
            ItemView::Numeric { prompt, unit } => {
                console.say(&plain_text(prompt))?;
                let label = match unit {
                    Some(unit) => format!("Your answer (a number, in {unit})"),
                    None => "Your answer (a number)".to_string(),
                };
                let value = console.ask_until(&label, |s| parse_number(s, unit.as_deref()))?;
                Response::Numeric { value }
            }
            ItemView::Scenario {
                prompt,
                start,
                nodes,
            } => {
                console.say(&plain_text(prompt))?;
                let mut path = Vec::new();
                let mut at = Some(start.as_str());
                // A well-formed scenario ends; the bound only guards against a broken one.
                while let (Some(id), true) = (at, path.len() <= 4 * nodes.len()) {
                    let Some(node) = nodes.iter().find(|n| n.id == id) else {
                        break;
                    };
                    console.say(&plain_text(&node.situation))?;
                    let texts: Vec<&str> = node.choices.iter().map(|c| c.text.as_str()).collect();
                    list(console, &texts)?;
                    let n = texts.len();
                    let choice = console
                        .ask_until(&format!("Your choice (1-{n})"), |s| parse_choice(s, n))?;
                    path.push(index_of(choice));
                    at = node.choices[choice].next.as_deref();
                }
                Response::Scenario { path }
            }
            ItemView::Flashcard { front } => {
                console.say(&format!("Flashcard: {}", plain_text(front)))?;
                console.pause("Think of the answer, then press Enter to see it")?;
                if let Some(back) = flashcard_back(&self.courses, &entry.course, &entry.step) {
                    console.say(&format!("Answer: {}", plain_text(back)))?;
                }
                let rating = console.ask_until(
                    "How well did you remember it? 1 again, 2 hard, 3 good, 4 easy",
                    parse_rating,
                )?;
                Response::Flashcard { rating }
            }
            ItemView::Reflection { prompt, criteria } => {
                console.say(&format!("Reflect: {}", plain_text(prompt)))?;
                let text = console.ask_until("Your answer (one line)", non_empty)?;
                console.say("Now check your answer against each point:")?;
                let criteria_met = ask_criteria(console, criteria, "Did your answer do this?")?;
                Response::Reflection { text, criteria_met }
            }
            ItemView::Voice {
                prompt,
                criteria,
                max_seconds,
            } => {
                console.say(&format!("Speak: {}", plain_text(prompt)))?;
                console.say(&format!(
                    "Record your answer (at most {max_seconds} seconds) with any recorder, then give the file."
                ))?;
                let (audio, format) = console.ask_until(
                    "Path to your recording (WAV, Ogg, M4A, AMR, WebM or MP3)",
                    read_recording,
                )?;
                let duration_ms = match format {
                    AudioFormat::Wav => 0,
                    _ => console.ask_until("How long is it, in seconds?", parse_seconds)?,
                };
                console.say("Now listen to it and check it against each point:")?;
                let criteria_met = ask_criteria(console, criteria, "Did your recording do this?")?;
                return Ok(Answer::Voice {
                    audio,
                    duration_ms,
                    criteria_met,
                });
            }
        }))
    }
}

/// Asks `question` (y/n) of every criterion in turn.
fn ask_criteria<R: BufRead, W: Write>(
    console: &mut Console<R, W>,
    criteria: &[String],
    question: &str,
) -> Result<Vec<bool>, Stop> {
    let mut met = Vec::with_capacity(criteria.len());
    for (number, criterion) in criteria.iter().enumerate() {
        met.push(console.ask_until(
            &format!(
                "  {}. {} {question} (y/n)",
                number + 1,
                plain_text(criterion)
            ),
            parse_yes_no,
        )?);
    }
    Ok(met)
}

/// Prints `texts` numbered from 1.
fn list<R: BufRead, W: Write>(
    console: &mut Console<R, W>,
    texts: &[impl AsRef<str>],
) -> Result<(), Stop> {
    for (number, text) in texts.iter().enumerate() {
        console.say(&format!("  {}. {}", number + 1, plain_text(text.as_ref())))?;
    }
    Ok(())
}

/// Whole numbers separated by commas and/or whitespace.
fn parse_numbers(text: &str) -> Result<Vec<i64>, String> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|part| !part.is_empty())
        .map(|part| {
            part.parse::<i64>()
                .map_err(|_| format!("'{part}' is not a number"))
        })
        .collect()
}

/// A 1-based choice among `count`, as a 0-based index.
pub(super) fn parse_choice(text: &str, count: usize) -> Result<usize, String> {
    let hint = format!("type a number from 1 to {count}");
    if text.trim().is_empty() {
        return Err(format!("No answer yet: {hint}."));
    }
    let numbers = parse_numbers(text).map_err(|e| format!("{e}: {hint}."))?;
    match numbers.as_slice() {
        [n] => to_index(*n, count).map_err(|e| format!("{e}: {hint}.")),
        _ => Err(format!("Pick just one: {hint}.")),
    }
}

fn to_index(number: i64, count: usize) -> Result<usize, String> {
    usize::try_from(number)
        .ok()
        .filter(|n| (1..=count).contains(n))
        .map(|n| n - 1)
        .ok_or_else(|| format!("{number} is not one of the choices"))
}

/// Distinct 1-based choices among `count`, as 0-based indices.
pub(super) fn parse_choices(text: &str, count: usize) -> Result<Vec<usize>, String> {
    let hint = format!("type the numbers of every choice you select, from 1 to {count}, separated by commas or spaces");
    let numbers = parse_numbers(text).map_err(|e| format!("{e}: {hint}."))?;
    if numbers.is_empty() {
        return Err(format!("No answer yet: {hint}."));
    }
    let mut indices = Vec::with_capacity(numbers.len());
    for number in numbers {
        let index = to_index(number, count).map_err(|e| format!("{e}: {hint}."))?;
        if indices.contains(&index) {
            return Err(format!("{number} is listed twice: list each choice once."));
        }
        indices.push(index);
    }
    Ok(indices)
}

/// An arrangement of all `count` shown entries, as 0-based positions in the order typed.
pub(super) fn parse_order(text: &str, count: usize) -> Result<Vec<usize>, String> {
    let hint = format!("type all {count} numbers, each once, in the order you choose (e.g. 2 1 3)");
    let numbers = parse_numbers(text).map_err(|e| format!("{e}: {hint}."))?;
    if numbers.len() != count {
        let typed = numbers.len();
        let s = if typed == 1 { "" } else { "s" };
        return Err(format!("You typed {typed} number{s}: {hint}."));
    }
    let mut positions = Vec::with_capacity(count);
    for number in numbers {
        let position = to_index(number, count).map_err(|e| format!("{e}: {hint}."))?;
        if positions.contains(&position) {
            return Err(format!("{number} is listed twice: {hint}."));
        }
        positions.push(position);
    }
    Ok(positions)
}

pub(super) fn parse_true_false(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "t" | "true" => Ok(true),
        "f" | "false" => Ok(false),
        _ => Err("Type t for true or f for false.".to_string()),
    }
}

pub(super) fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        _ => Err("Type y for yes or n for no.".to_string()),
    }
}

/// A finite number; the item's unit may follow it, and a lone comma is a decimal point.
pub(super) fn parse_number(text: &str, unit: Option<&str>) -> Result<f64, String> {
    let mut number = text.trim();
    if let Some(unit) = unit.filter(|u| !u.is_empty()) {
        let lower = number.to_lowercase();
        if lower.ends_with(&unit.to_lowercase()) {
            number = number[..number.len() - unit.len()].trim_end();
        }
    }
    let normalized = if !number.contains('.') && number.matches(',').count() == 1 {
        number.replace(',', ".")
    } else {
        number.to_string()
    };
    match normalized.parse::<f64>() {
        Ok(value) if value.is_finite() => Ok(value),
        _ if number.is_empty() => Err("No answer yet: type a number, such as 2 or 2.5.".into()),
        _ => Err(format!(
            "'{text}' is not a number: type a number, such as 2 or 2.5."
        )),
    }
}

pub(super) fn parse_rating(text: &str) -> Result<SelfRating, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "again" => Ok(SelfRating::Again),
        "2" | "hard" => Ok(SelfRating::Hard),
        "3" | "good" => Ok(SelfRating::Good),
        "4" | "easy" => Ok(SelfRating::Easy),
        _ => Err("Type 1 (again), 2 (hard), 3 (good) or 4 (easy).".to_string()),
    }
}

/// The bytes of the recording at the typed path, with the container they start like.
pub(super) fn read_recording(path: &str) -> Result<(Vec<u8>, AudioFormat), String> {
    let path = path.trim().trim_matches(|c| c == '"' || c == '\'');
    if path.is_empty() {
        return Err("No file yet: type the path of the recording (or q to stop).".into());
    }
    let bytes = std::fs::read(path)
        .map_err(|e| format!("Cannot read '{path}' ({e}): type the path of the recording."))?;
    match AudioFormat::of(&bytes) {
        Some(format) => Ok((bytes, format)),
        None if bytes.is_empty() => Err(format!("'{path}' is empty: record the answer again.")),
        None => Err(format!(
            "'{path}' is not a recording: give a WAV, Ogg, M4A, AMR, WebM or MP3 file."
        )),
    }
}

/// A length in seconds (`45`, `45s`, `1.5`), as whole milliseconds.
pub(super) fn parse_seconds(text: &str) -> Result<u32, String> {
    let hint = "type the recording's length in seconds, such as 45";
    let number = text.trim().trim_end_matches('s').trim();
    match number.parse::<f64>() {
        Ok(seconds) if seconds > 0.0 && seconds < 86_400.0 => Ok((seconds * 1000.0).round() as u32),
        _ => Err(format!("'{text}' is not a length: {hint}.")),
    }
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("No answer yet: type your answer (or q to stop).".to_string())
    } else {
        Ok(text.to_string())
    }
}
