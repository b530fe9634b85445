//! Printing the session: lesson cards one segment at a time, feedback with its grade and when the
//! card comes back, stage checks, remediations and the closing summary; and the plain-text form
//! of the course's markdown that all of them use.
//!
//! Rendering only reads: it reports what the facade decided and never changes it, and it prints
//! plain text, never terminal control codes, so a piped transcript reads the same as a terminal.

use std::io::{BufRead, Write};

use tidbit_core::content::model::{LessonCard, MediaKind};
use tidbit_core::events::Grade;
use tidbit_core::learn::assess::Outcome;
use tidbit_core::learn::goal::Pace;
use tidbit_core::tidbit::Feedback;

use super::{flashcard_back, Entry, Session, Stop};

impl<R: BufRead, W: Write> Session<R, W> {
    pub(super) fn show_lesson(&mut self, card: &LessonCard) -> Result<(), Stop> {
        if let Some(media) = &card.media {
            let kind = match media.kind {
                MediaKind::Image => "Image",
                MediaKind::Audio => "Audio",
                MediaKind::Video => "Video",
            };
            let length = media
                .duration_seconds
                .map(|s| format!(", {}:{:02}", s / 60, s % 60))
                .unwrap_or_default();
            self.console
                .say(&format!("[{kind}{length}] {}", plain_text(&media.caption)))?;
            if let Some(transcript) = &media.transcript {
                self.console
                    .say(&format!("Transcript: {}", plain_text(transcript)))?;
            }
        }
        for (index, segment) in card.segments.iter().enumerate() {
            self.console.say(&plain_text(segment))?;
            if index + 1 < card.segments.len() {
                self.console.pause("(press Enter for more)")?;
            }
        }
        self.console.pause("(press Enter to continue)")
    }

    pub(super) fn show_feedback(&mut self, entry: &Entry, feedback: &Feedback) -> Result<(), Stop> {
        let assessment = &feedback.assessment;
        let verdict = match assessment.outcome {
            Outcome::Right => "Right",
            Outcome::Partial => "Partly right",
            Outcome::Wrong => "Wrong",
        };
        let mut lines = vec![format!(
            "{verdict} ({:.0}% credit)",
            assessment.credit * 100.0
        )];
        lines.extend(
            assessment
                .feedback
                .iter()
                .map(|line| format!("  - {}", plain_text(line))),
        );
        let back = flashcard_back(&self.courses, &entry.course, &entry.step);
        let explanation = assessment.explanation.trim();
        // A flashcard's explanation is often its back, which the learner has just seen.
        if !explanation.is_empty() && back.map(str::trim) != Some(explanation) {
            lines.push(format!("Why: {}", plain_text(&assessment.explanation)));
        }
        let comes_back = match feedback.next_due_ms {
            Some(due_ms) => format!(
                ", {}",
                describe_return(self.tidbit.now().timestamp_millis(), due_ms)
            ),
            None => String::new(),
        };
        lines.push(format!(
            "Grade: {}{comes_back}.",
            grade_name(feedback.grade)
        ));
        for line in &lines {
            self.console.say(line)?;
        }
        if feedback.module_completed {
            self.module_completed(entry)?;
        }
        for check in &feedback.stage_checks {
            let stage = self.stage_title(&entry.course, &check.path, &check.stage);
            let result = if check.passed { "passed" } else { "not passed" };
            self.console.say(&format!(
                "Stage check for '{stage}': {result} (each skill needs {:.2})",
                check.threshold
            ))?;
            for tidbit_core::learn::projection::SkillScore { skill, mastery } in &check.skills {
                let mark = if *mastery >= check.threshold {
                    "ok"
                } else {
                    "below"
                };
                let name = self.skill_name(&entry.course, skill);
                self.console
                    .say(&format!("  {name:<48} {mastery:.2}  {mark}"))?;
            }
            let unlocked = match (&check.unlocked, check.passed) {
                (Some(next), _) => format!(
                    "Unlocked: the '{}' stage.",
                    self.stage_title(&entry.course, &check.path, next)
                ),
                (None, true) => "That was the last stage: the path is complete.".to_string(),
                (None, false) => format!(
                    "The next stage stays locked: bring every skill to {:.2} and retake the check.",
                    check.threshold
                ),
            };
            self.console.say(&unlocked)?;
        }
        for remediation in &feedback.remediations {
            let steps = remediation
                .lesson_step
                .iter()
                .chain(std::iter::once(&remediation.item_step));
            let mut coming = false;
            for step in steps {
                coming |= self.add_step(&entry.course, step);
            }
            let name = self.skill_name(&entry.course, &remediation.skill);
            let when = if coming {
                "later in this session"
            } else {
                "in your next session"
            };
            self.console
                .say(&format!("Added: a short refresher on '{name}' ({when})."))?;
        }
        Ok(())
    }

    pub(super) fn module_completed(&mut self, entry: &Entry) -> Result<(), Stop> {
        let title = self.module_title(&entry.course, &entry.module);
        self.console.say(&format!("Module complete: '{title}'."))
    }

    /// One line per goal in force: its pace and today's share, or why it cannot be met.
    pub(super) fn show_goals(&mut self) -> Result<(), Stop> {
        for goal in self.tidbit.goals()? {
            let line = match (&goal.blocked, goal.feasible, goal.pace) {
                (None, true, Pace::Met | Pace::Overdue { .. })
                | (Some(_), _, _)
                | (_, false, _) => {
                    format!("Goal: {}.", goal.summary)
                }
                (None, true, pace) => format!(
                    "Goal: '{}' by {}: {}, {} of {} steps done; about {} of new material today.",
                    goal.spec.title,
                    goal.spec.due,
                    pace.describe(),
                    goal.done_steps,
                    goal.total_steps,
                    plural(i64::from(goal.minutes_today), "minute"),
                ),
            };
            self.console.say(&line)?;
        }
        Ok(())
    }

    pub(super) fn summary(&mut self) -> Result<(), Stop> {
        let streak = self.tidbit.streak()?;
        let due = self.tidbit.due_counts()?;
        let next = self.tidbit.next_activity()?;
        let days = |n: u32| if n == 1 { "day" } else { "days" };
        let keep = if streak.current > 0 && !streak.practised_today {
            "; practise today to keep it"
        } else {
            ""
        };
        let lines = [
            "\nSession summary".to_string(),
            format!("  Answered: {}, right: {}", self.answered, self.right),
            format!(
                "  Time: {}",
                describe_duration(self.started.elapsed().as_secs())
            ),
            format!(
                "  Streak: {} {} (longest {}){keep}",
                streak.current,
                days(streak.current),
                streak.longest
            ),
            format!(
                "  Due: {} now, {} by the end of today; {} refresher{} waiting",
                due.due_now,
                due.due_today,
                due.remediations,
                if due.remediations == 1 { "" } else { "s" }
            ),
            format!("  Recommended: {}", next.reason),
        ];
        for line in &lines {
            self.console.say(line)?;
        }
        Ok(())
    }
}

fn grade_name(grade: Grade) -> &'static str {
    match grade {
        Grade::Again => "again",
        Grade::Hard => "hard",
        Grade::Good => "good",
        Grade::Easy => "easy",
    }
}

fn plural(count: i64, unit: &str) -> String {
    if count == 1 {
        format!("1 {unit}")
    } else {
        format!("{count} {unit}s")
    }
}

/// When a card comes back, relative to now: "back in 10 minutes", "back in 3 days".
pub(super) fn describe_return(now_ms: i64, due_ms: i64) -> String {
    const MINUTE: i64 = 60_000;
    const HOUR: i64 = 60 * MINUTE;
    const DAY: i64 = 24 * HOUR;
    let wait = due_ms.saturating_sub(now_ms);
    let rounded = |unit: i64| ((wait + unit / 2) / unit).max(1);
    if wait <= 0 {
        "due again now".to_string()
    } else if wait < MINUTE {
        "back in under a minute".to_string()
    } else if wait < 90 * MINUTE {
        format!("back in {}", plural(rounded(MINUTE), "minute"))
    } else if wait < 36 * HOUR {
        format!("back in {}", plural(rounded(HOUR), "hour"))
    } else if wait < 60 * DAY {
        format!("back in {}", plural(rounded(DAY), "day"))
    } else {
        format!("back in {}", plural(rounded(30 * DAY), "month"))
    }
}

/// A length of time for the learner: "under a minute", "4 minutes".
pub(super) fn describe_duration(seconds: u64) -> String {
    if seconds < 60 {
        "under a minute".to_string()
    } else {
        plural(((seconds + 30) / 60) as i64, "minute")
    }
}

/// Replaces the `{{1}}`, `{{2}}`, ... markers of a fill-in-the-blanks prompt with visible gaps.
pub(super) fn mark_blanks(prompt: &str) -> String {
    let mut out = String::with_capacity(prompt.len());
    let mut rest = prompt;
    while let Some(open) = rest.find("{{") {
        let after = &rest[open + 2..];
        match after.find("}}") {
            Some(close)
                if !after[..close].is_empty()
                    && after[..close].chars().all(|c| c.is_ascii_digit()) =>
            {
                out.push_str(&rest[..open]);
                out.push_str(&format!("___({})___", &after[..close]));
                rest = &after[close + 2..];
            }
            _ => {
                out.push_str(&rest[..open + 2]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Markdown as plain text: emphasis and code marks dropped, links as "text (url)", images as
/// "[image: alt]", heading marks removed. Line structure is kept.
pub(super) fn plain_text(markdown: &str) -> String {
    markdown
        .lines()
        .map(|line| {
            let body = line.trim_start();
            let indent = &line[..line.len() - body.len()];
            let heading = body.trim_start_matches('#');
            let body = if heading.len() < body.len()
                && body.len() - heading.len() <= 6
                && heading.starts_with(' ')
            {
                heading.trim_start()
            } else {
                body
            };
            let (bullet, body) = match body.strip_prefix("* ").or(body.strip_prefix("+ ")) {
                Some(rest) => ("- ", rest),
                None => ("", body),
            };
            format!("{indent}{bullet}{}", plain_inline(body))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn plain_inline(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let before = i.checked_sub(1).map(|j| chars[j]);
        match c {
            '\\' if chars.get(i + 1).is_some_and(|n| n.is_ascii_punctuation()) => {
                out.push(chars[i + 1]);
                i += 2;
            }
            '!' if chars.get(i + 1) == Some(&'[') => match link_at(&chars, i + 1) {
                Some((alt, _, end)) => {
                    out.push_str(&format!("[image: {}]", plain_inline(&alt)));
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            '[' => match link_at(&chars, i) {
                Some((label, url, end)) => {
                    out.push_str(&plain_inline(&label));
                    if !url.is_empty() {
                        out.push_str(&format!(" ({url})"));
                    }
                    i = end;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            },
            '`' => i += 1,
            '*' | '_' => {
                let run = chars[i..].iter().take_while(|&&d| d == c).count();
                let after = chars.get(i + run).copied();
                let is_delimiter = if c == '*' {
                    // Literal only when it stands alone between spaces ("5 * 3").
                    !(before.is_none_or(char::is_whitespace)
                        && after.is_none_or(char::is_whitespace))
                } else {
                    // Underscores inside words ("snake_case") are literal.
                    before.is_some_and(char::is_alphanumeric)
                        != after.is_some_and(char::is_alphanumeric)
                };
                if !is_delimiter {
                    out.extend(std::iter::repeat_n(c, run));
                }
                i += run;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

/// A `[label](url)` starting at `open`: the label, the url and the index just past it.
fn link_at(chars: &[char], open: usize) -> Option<(String, String, usize)> {
    let mut depth = 0;
    let mut close = None;
    for (j, &c) in chars.iter().enumerate().skip(open) {
        match c {
            '[' => depth += 1,
            ']' => {
                depth -= 1;
                if depth == 0 {
                    close = Some(j);
                    break;
                }
            }
            _ => {}
        }
    }
    let close = close?;
    if chars.get(close + 1) != Some(&'(') {
        return None;
    }
    let end = chars[close + 2..].iter().position(|&c| c == ')')? + close + 2;
    let label = chars[open + 1..close].iter().collect();
    let url = chars[close + 2..end]
        .iter()
        .collect::<String>()
        .trim()
        .to_string();
    Some((label, url, end + 1))
}
