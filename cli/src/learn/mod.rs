//! `tidbit learn`: a learning session in the terminal, over the same facade the apps use.
//!
//! It shows the recommended next activity and its reason, then works through a session plan or,
//! for a learner not enrolled yet, enrolls them in the course's first path and starts its next
//! module. Lesson cards print as plain text, one progressive-reveal segment at a time; items are
//! asked with numbered prompts read line by line from stdin, so a test can drive it through
//! pipes; a voice item takes the path of a recording file (and asks for the `voice` consent
//! first). Input that does not parse is asked again and never reaches the facade; every answer
//! the facade accepts is committed before the next prompt, so `q` (or the end of input) at any
//! prompt ends the session cleanly. Scoring, scheduling and unlocks are the facade's: this module
//! never scores an answer itself.
//!
//! This file holds the session loop: what to queue, in what order, and what the facade is told.
//! `prompt.rs` reads and checks the learner's input; `render.rs` prints cards, feedback and the
//! summary.

mod prompt;
mod render;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use tidbit_core::content::{Course, Interaction, StepBody};
use tidbit_core::learn::assess::{ItemView, Outcome};
use tidbit_core::learn::plan::Purpose;
use tidbit_core::learn::recommend::Activity;
use tidbit_core::privacy::consent::ConsentScope;
use tidbit_core::tidbit::{StepView, Tidbit, TidbitError, VoiceError};

use crate::learner::{open_learner, resolve_identity};
use prompt::{Answer, Console};
use render::describe_duration;

/// `tidbit learn`'s options, as given on the command line.
#[derive(clap::Args)]
pub struct LearnOptions {
    #[arg(long)]
    pub data: PathBuf,
    /// Learn this course (enrolling in its first path if needed); default: every enrolled one.
    #[arg(long)]
    pub course: Option<String>,
    /// Learner id; default: the one stored in DATA, else "learner".
    #[arg(long)]
    pub learner: Option<String>,
    /// Device id; default: the one stored in DATA, else "terminal".
    #[arg(long)]
    pub device: Option<String>,
    /// IANA time zone for days and streaks, e.g. Europe/Berlin; default: $TZ, else UTC.
    #[arg(long)]
    pub tz: Option<String>,
    /// Length of the session plan in minutes.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=240))]
    pub minutes: u32,
    /// A trusted author public key (repeatable); not needed to learn.
    #[arg(long)]
    pub trust: Vec<PathBuf>,
}

/// Runs one session on stdin and stdout.
pub fn learn(options: &LearnOptions) -> Result<(), String> {
    if !options.data.is_dir() {
        return Err(format!(
            "{} holds no learner data: install a course first with `tidbit install PACK --data {} --trust AUTHOR.pub`",
            options.data.display(),
            options.data.display()
        ));
    }
    let (learner, device) = resolve_identity(
        &options.data,
        options.learner.as_deref(),
        options.device.as_deref(),
    )?;
    let tidbit = open_learner(
        &options.data,
        Some(&learner),
        Some(&device),
        options.tz.as_deref(),
        &options.trust,
    )?;
    let stdin = std::io::stdin();
    let echo = !stdin.is_terminal();
    let stdout = std::io::stdout();
    let mut session = Session {
        tidbit,
        console: Console {
            input: stdin.lock(),
            output: stdout.lock(),
            echo,
        },
        courses: BTreeMap::new(),
        course_filter: options.course.clone(),
        queue: Vec::new(),
        shown: 0,
        added: 0,
        answered: 0,
        right: 0,
        started: Instant::now(),
    };
    let greeting = format!(
        "Tidbit: learning as '{learner}' on '{device}'. Type q at any prompt to stop; every answer is saved as you go."
    );
    let worked = session
        .console
        .say(&greeting)
        .and_then(|()| session.work(options.minutes));
    session.finish(worked)
}

/// Why a session stops before its plan is done.
enum Stop {
    /// The learner typed `q`, or the input ended.
    Quit,
    Failed(String),
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        Stop::Failed(format!("cannot talk to the terminal: {e}"))
    }
}

impl From<TidbitError> for Stop {
    fn from(e: TidbitError) -> Self {
        Stop::Failed(e.to_string())
    }
}

impl From<tidbit_core::store::StoreError> for Stop {
    fn from(e: tidbit_core::store::StoreError) -> Self {
        Stop::Failed(e.to_string())
    }
}

/// One step of the session.
#[derive(Clone)]
struct Entry {
    course: String,
    module: String,
    step: String,
    purpose: Purpose,
    /// The step opens a fresh attempt at its module: start the module before showing it.
    start_module: bool,
}

struct Session<R, W> {
    tidbit: Tidbit,
    console: Console<R, W>,
    /// Installed courses, for titles and names.
    courses: BTreeMap<String, Course>,
    course_filter: Option<String>,
    queue: Vec<Entry>,
    /// How many queued steps have been shown.
    shown: usize,
    /// Steps appended for remediation during this session.
    added: usize,
    answered: u32,
    right: u32,
    started: Instant,
}

/// At most this many remediation steps are appended to one session.
const MAX_ADDED_STEPS: usize = 20;

impl<R: BufRead, W: Write> Session<R, W> {
    /// Prints the summary after the work ends, however it ended (unless it failed).
    fn finish(&mut self, worked: Result<(), Stop>) -> Result<(), String> {
        let stopped = match worked {
            Ok(()) => Ok(()),
            Err(Stop::Quit) => self
                .console
                .say("\nStopped. Everything you answered is saved."),
            Err(Stop::Failed(message)) => return Err(message),
        };
        let result = stopped.and_then(|()| self.summary());
        let flushed = self.console.output.flush().map_err(Stop::from);
        match result.and(flushed) {
            Ok(()) | Err(Stop::Quit) => Ok(()),
            Err(Stop::Failed(message)) => Err(message),
        }
    }

    fn work(&mut self, minutes: u32) -> Result<(), Stop> {
        let catalog = self.tidbit.catalog()?;
        if catalog.is_empty() {
            let data = self.tidbit.data_dir().display().to_string();
            return Err(Stop::Failed(format!(
                "no course is installed in {data}: install one with `tidbit install PACK --data {data} --trust AUTHOR.pub`"
            )));
        }
        if let Some(course) = &self.course_filter {
            if !catalog.iter().any(|c| &c.id == course) {
                return Err(Stop::Failed(format!(
                    "no installed course '{course}': run `tidbit catalog --data {}` to list installed courses",
                    self.tidbit.data_dir().display()
                )));
            }
        }
        for summary in &catalog {
            let course = self.tidbit.course(&summary.id)?;
            self.courses.insert(summary.id.clone(), course);
        }
        self.console.say("")?;
        self.show_goals()?;
        let recommendation = self.tidbit.next_activity()?;
        self.console
            .say(&format!("Recommended: {}", recommendation.reason))?;
        let to_enroll = match (&self.course_filter, &recommendation.activity) {
            (Some(course), _) => self
                .tidbit
                .stages(course)?
                .is_empty()
                .then(|| course.clone()),
            (None, Activity::Enroll { course, .. }) => Some(course.clone()),
            (None, _) => None,
        };
        match to_enroll {
            Some(course) => self.enroll_and_start(&course)?,
            None => self.plan(minutes, &recommendation.activity)?,
        }
        self.work_through_queue()
    }

    /// Enrolls the learner in the first path of `course` and starts its next module.
    fn enroll_and_start(&mut self, course_id: &str) -> Result<(), Stop> {
        let course = self
            .courses
            .get(course_id)
            .ok_or_else(|| Stop::Failed(format!("no installed course '{course_id}'")))?;
        let Some(path) = course.paths.first() else {
            return Err(Stop::Failed(format!(
                "course '{course_id}' has no learning path to enroll in: install a newer version of it"
            )));
        };
        let (path_id, path_title, course_title) =
            (path.id.clone(), path.title.clone(), course.title.clone());
        let first_module = path
            .stages
            .first()
            .and_then(|s| s.module_ids().next())
            .map(str::to_string);
        self.tidbit.enroll(course_id, &path_id)?;
        self.console.say(&format!(
            "Enrolled in the '{path_title}' path of '{course_title}'."
        ))?;
        let next = self.tidbit.next_activity()?;
        let module = match next.activity {
            Activity::Module { course, module, .. } if course == course_id => {
                self.console.say(&next.reason)?;
                module
            }
            _ => first_module.ok_or_else(|| {
                Stop::Failed(format!(
                    "path '{path_id}' of course '{course_id}' has no module to start"
                ))
            })?,
        };
        self.start_module_now(course_id, &module)
    }

    /// Starts `module` now and queues all its steps.
    fn start_module_now(&mut self, course: &str, module: &str) -> Result<(), Stop> {
        let views = self.tidbit.start_module(course, module)?;
        self.console.say(&format!(
            "\nStarting '{}': {} steps.",
            self.module_title(course, module),
            views.len()
        ))?;
        for view in views {
            let step = match view {
                StepView::Lesson { id, .. } | StepView::Item { id, .. } => id,
            };
            self.queue.push(Entry {
                course: course.to_string(),
                module: module.to_string(),
                step,
                purpose: Purpose::New,
                start_module: false,
            });
        }
        Ok(())
    }

    /// Queues the session plan for `minutes` (only the chosen course's steps, if one was given).
    fn plan(&mut self, minutes: u32, recommended: &Activity) -> Result<(), Stop> {
        let plan = self.tidbit.plan_session(minutes)?;
        let mut seconds = 0;
        for step in plan.steps {
            if self
                .course_filter
                .as_ref()
                .is_some_and(|course| *course != step.course)
            {
                continue;
            }
            let start_module = step.purpose == Purpose::New
                && self
                    .courses
                    .get(&step.course)
                    .and_then(|c| c.module(&step.module))
                    .and_then(|m| m.steps.first())
                    .is_some_and(|first| first.id == step.step);
            seconds += u64::from(step.estimated_seconds);
            self.queue.push(Entry {
                course: step.course,
                module: step.module,
                step: step.step,
                purpose: step.purpose,
                start_module,
            });
        }
        if !self.queue.is_empty() {
            let count = |purpose| self.queue.iter().filter(|e| e.purpose == purpose).count();
            let message = format!(
                "Session plan: {} steps, about {} (reviews: {}, refreshers: {}, new: {}).",
                self.queue.len(),
                describe_duration(seconds),
                count(Purpose::Reinforcement),
                count(Purpose::Remediation),
                count(Purpose::New)
            );
            return self.console.say(&message);
        }
        // A module the plan cannot hold, such as a stage check to retake: start it afresh.
        if let Activity::Module { course, module, .. } = recommended {
            if self.course_filter.as_ref().is_none_or(|c| c == course) {
                return self.start_module_now(course, module);
            }
        }
        self.console
            .say("Nothing to do right now: no review is due and no module is waiting.")
    }

    fn work_through_queue(&mut self) -> Result<(), Stop> {
        while let Some(entry) = self.queue.get(self.shown).cloned() {
            self.shown += 1;
            if entry.start_module {
                self.tidbit.start_module(&entry.course, &entry.module)?;
            }
            let view = match self.tidbit.step_view(&entry.course, &entry.step) {
                Ok(view) => view,
                Err(e @ TidbitError::UnknownStep { .. }) => {
                    self.console.say(&format!("Skipped: {e}"))?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            };
            let purpose = match entry.purpose {
                Purpose::New => "new",
                Purpose::Reinforcement => "review",
                Purpose::Remediation => "refresher",
            };
            self.console.say(&format!(
                "\n[{}/{}] {} ({purpose})",
                self.shown,
                self.queue.len(),
                self.module_title(&entry.course, &entry.module)
            ))?;
            match view {
                StepView::Lesson { card, .. } => {
                    self.show_lesson(&card)?;
                    if self.tidbit.view_step(&entry.course, &entry.step)? {
                        self.module_completed(&entry)?;
                    }
                }
                StepView::Item { view, .. } => self.answer_item(&entry, &view)?,
            }
        }
        Ok(())
    }

    /// Asks the item until the facade accepts an answer, then shows the feedback. A voice item
    /// is skipped unless the learner gives (or gave) the `voice` consent scope.
    fn answer_item(&mut self, entry: &Entry, view: &ItemView) -> Result<(), Stop> {
        if matches!(view, ItemView::Voice { .. }) && !self.consents_to_voice()? {
            return self
                .console
                .say("Skipped: this item is answered by speaking, which needs your consent.");
        }
        loop {
            let shown = Instant::now();
            let answer = self.ask_response(entry, view)?;
            let response_ms = u32::try_from(shown.elapsed().as_millis()).unwrap_or(u32::MAX);
            let (course, step) = (&entry.course, &entry.step);
            let answered = match answer {
                Answer::Response(response) => {
                    self.tidbit.answer(course, step, response, response_ms)
                }
                Answer::Voice {
                    audio,
                    duration_ms,
                    criteria_met,
                } => self
                    .tidbit
                    .answer_voice(course, step, &audio, duration_ms, criteria_met),
            };
            match answered {
                Ok(feedback) => {
                    self.answered += 1;
                    if feedback.assessment.outcome == Outcome::Right {
                        self.right += 1;
                    }
                    return self.show_feedback(entry, &feedback);
                }
                Err(TidbitError::Response(e)) => self.console.say(&format!(
                    "  That answer does not fit this question ({e}). Please answer it again."
                ))?,
                Err(TidbitError::Voice(VoiceError::Audio(e))) => self.console.say(&format!(
                    "  That recording cannot be used: {e}. Please answer it again."
                ))?,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Whether the learner gave the `voice` scope, asking them once if they have not.
    fn consents_to_voice(&mut self) -> Result<bool, Stop> {
        let voice = self
            .tidbit
            .consents()?
            .into_iter()
            .find(|state| state.scope == ConsentScope::Voice);
        if voice.as_ref().is_some_and(|state| state.granted) {
            return Ok(true);
        }
        let purpose = voice.map_or_else(String::new, |state| state.purpose);
        self.console.say(&format!(
            "This item is answered by speaking. Consent 'voice': {purpose}"
        ))?;
        let granted = self.console.ask_until(
            "Record spoken answers on this device? (y/n)",
            prompt::parse_yes_no,
        )?;
        if granted {
            self.tidbit.set_consent(ConsentScope::Voice, true)?;
        }
        Ok(granted)
    }

    /// Appends a remediation step unless it is already waiting in the queue. Returns whether the
    /// step comes later in this session.
    fn add_step(&mut self, course: &str, step: &str) -> bool {
        let waiting = self.queue[self.shown.min(self.queue.len())..]
            .iter()
            .any(|e| e.course == course && e.step == step);
        if waiting || self.added >= MAX_ADDED_STEPS {
            return waiting;
        }
        let module = self
            .courses
            .get(course)
            .and_then(|c| c.step_ids().find(|(_, s)| *s == step))
            .map(|(module, _)| module.to_string())
            .unwrap_or_default();
        self.added += 1;
        self.queue.push(Entry {
            course: course.to_string(),
            module,
            step: step.to_string(),
            purpose: Purpose::Remediation,
            start_module: false,
        });
        true
    }

    fn module_title(&self, course: &str, module: &str) -> String {
        self.courses
            .get(course)
            .and_then(|c| c.module(module))
            .map_or_else(|| module.to_string(), |m| m.title.clone())
    }

    fn skill_name(&self, course: &str, skill: &str) -> String {
        self.courses
            .get(course)
            .and_then(|c| c.skills.iter().find(|s| s.id == skill))
            .map_or_else(|| skill.to_string(), |s| s.name.clone())
    }

    fn stage_title(&self, course: &str, path: &str, stage: &str) -> String {
        self.courses
            .get(course)
            .and_then(|c| c.paths.iter().find(|p| p.id == path))
            .and_then(|p| p.stages.iter().find(|s| s.kind.as_str() == stage))
            .map_or_else(|| stage.to_string(), |s| s.title.clone())
    }
}

/// The back of a flashcard: the item view carries only the front, and a learner rates their
/// recall after seeing the back.
fn flashcard_back<'a>(
    courses: &'a BTreeMap<String, Course>,
    course: &str,
    step: &str,
) -> Option<&'a str> {
    courses
        .get(course)?
        .modules
        .iter()
        .flat_map(|m| m.steps.iter())
        .find(|s| s.id == step)
        .and_then(|s| match &s.body {
            StepBody::Item(item) => match item.interaction() {
                Interaction::Flashcard { back } => Some(back.as_str()),
                _ => None,
            },
            StepBody::Lesson(_) => None,
        })
}
