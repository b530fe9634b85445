//! `tidbit learn`: a learning session in the terminal, over the same facade the apps use.
//!
//! It shows the recommended next activity and its reason, then works through a session plan or,
//! for a learner not enrolled yet, enrolls them in the course's first path and starts its next
//! module. Lesson cards print as plain text, one progressive-reveal segment at a time; items are
//! asked with numbered prompts read line by line from stdin, so a test can drive it through
//! pipes. Input that does not parse is asked again and never reaches the facade; every answer
//! the facade accepts is committed before the next prompt, so `q` (or the end of input) at any
//! prompt ends the session cleanly. Scoring, scheduling and unlocks are the facade's: this module
//! never scores an answer itself.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::time::Instant;

use tidbit_core::content::model::{LessonCard, MediaKind};
use tidbit_core::content::{Course, Interaction, StepBody};
use tidbit_core::events::Grade;
use tidbit_core::learn::assess::{ItemView, Outcome, Response, SelfRating};
use tidbit_core::learn::plan::Purpose;
use tidbit_core::learn::recommend::Activity;
use tidbit_core::tidbit::{Feedback, StepView, Tidbit, TidbitError};

use crate::learner::{open_learner, resolve_identity};

/// `tidbit learn`'s options, as given on the command line.
pub struct LearnOptions {
    pub data: PathBuf,
    pub course: Option<String>,
    pub learner: Option<String>,
    pub device: Option<String>,
    pub tz: Option<String>,
    pub minutes: u32,
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

/// Line-by-line prompts.
struct Console<R, W> {
    input: R,
    output: W,
    /// Repeat each line read, so a transcript of piped input reads like a terminal session.
    echo: bool,
}

impl<R: BufRead, W: Write> Console<R, W> {
    fn say(&mut self, text: &str) -> Result<(), Stop> {
        writeln!(self.output, "{text}")?;
        Ok(())
    }

    /// One line of input, trimmed. `q`, `quit` and the end of input stop the session.
    fn ask(&mut self, prompt: &str) -> Result<String, Stop> {
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
    fn ask_until<T>(
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

    fn pause(&mut self, prompt: &str) -> Result<(), Stop> {
        self.ask(prompt).map(|_| ())
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
        let catalog = self.tidbit.store().catalog()?;
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
            let course = self.tidbit.store().load_course(&summary.id)?;
            self.courses.insert(summary.id.clone(), course);
        }
        let recommendation = self.tidbit.next_activity()?;
        self.console
            .say(&format!("\nRecommended: {}", recommendation.reason))?;
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

    fn show_lesson(&mut self, card: &LessonCard) -> Result<(), Stop> {
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

    /// Asks the item until the facade accepts an answer, then shows the feedback.
    fn answer_item(&mut self, entry: &Entry, view: &ItemView) -> Result<(), Stop> {
        loop {
            let shown = Instant::now();
            let response = self.ask_response(entry, view)?;
            let response_ms = u32::try_from(shown.elapsed().as_millis()).unwrap_or(u32::MAX);
            match self
                .tidbit
                .answer(&entry.course, &entry.step, response, response_ms)
            {
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
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn ask_response(&mut self, entry: &Entry, view: &ItemView) -> Result<Response, Stop> {
        let console = &mut self.console;
        Ok(match view {
            ItemView::SingleChoice { prompt, choices } => {
                console.say(&plain_text(prompt))?;
                list(console, choices)?;
                let n = choices.len();
                let choice =
                    console.ask_until(&format!("Your answer (1-{n})"), |s| parse_choice(s, n))?;
                Response::SingleChoice { choice }
            }
            ItemView::MultipleResponse { prompt, choices } => {
                console.say(&plain_text(prompt))?;
                list(console, choices)?;
                let n = choices.len();
                let choices = console.ask_until(
                    "Select all that apply (numbers separated by commas or spaces)",
                    |s| parse_choices(s, n),
                )?;
                Response::MultipleResponse { choices }
            }
            ItemView::TrueFalse { statement } => {
                console.say(&format!("True or false? {}", plain_text(statement)))?;
                let answer = console.ask_until("Type t or f", parse_true_false)?;
                Response::TrueFalse { answer }
            }
            ItemView::FillBlanks { prompt, blanks } => {
                console.say(&plain_text(&mark_blanks(prompt)))?;
                let mut answers = Vec::with_capacity(*blanks);
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
                    if let Some(slot) = picked.get_mut(item.index) {
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
                    path.push(choice);
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
                let mut criteria_met = Vec::with_capacity(criteria.len());
                for (number, criterion) in criteria.iter().enumerate() {
                    criteria_met.push(console.ask_until(
                        &format!(
                            "  {}. {} Did your answer do this? (y/n)",
                            number + 1,
                            plain_text(criterion)
                        ),
                        parse_yes_no,
                    )?);
                }
                Response::Reflection { text, criteria_met }
            }
        })
    }

    fn show_feedback(&mut self, entry: &Entry, feedback: &Feedback) -> Result<(), Stop> {
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
            for (skill, mastery) in &check.skills {
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

    fn module_completed(&mut self, entry: &Entry) -> Result<(), Stop> {
        let title = self.module_title(&entry.course, &entry.module);
        self.console.say(&format!("Module complete: '{title}'."))
    }

    fn summary(&mut self) -> Result<(), Stop> {
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
fn describe_return(now_ms: i64, due_ms: i64) -> String {
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
fn describe_duration(seconds: u64) -> String {
    if seconds < 60 {
        "under a minute".to_string()
    } else {
        plural(((seconds + 30) / 60) as i64, "minute")
    }
}

/// Replaces the `{{1}}`, `{{2}}`, ... markers of a fill-in-the-blanks prompt with visible gaps.
fn mark_blanks(prompt: &str) -> String {
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
fn plain_text(markdown: &str) -> String {
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
fn parse_choice(text: &str, count: usize) -> Result<usize, String> {
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
fn parse_choices(text: &str, count: usize) -> Result<Vec<usize>, String> {
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
fn parse_order(text: &str, count: usize) -> Result<Vec<usize>, String> {
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

fn parse_true_false(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "t" | "true" => Ok(true),
        "f" | "false" => Ok(false),
        _ => Err("Type t for true or f for false.".to_string()),
    }
}

fn parse_yes_no(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(true),
        "n" | "no" => Ok(false),
        _ => Err("Type y for yes or n for no.".to_string()),
    }
}

/// A finite number; the item's unit may follow it, and a lone comma is a decimal point.
fn parse_number(text: &str, unit: Option<&str>) -> Result<f64, String> {
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

fn parse_rating(text: &str) -> Result<SelfRating, String> {
    match text.to_ascii_lowercase().as_str() {
        "1" | "again" => Ok(SelfRating::Again),
        "2" | "hard" => Ok(SelfRating::Hard),
        "3" | "good" => Ok(SelfRating::Good),
        "4" | "easy" => Ok(SelfRating::Easy),
        _ => Err("Type 1 (again), 2 (hard), 3 (good) or 4 (easy).".to_string()),
    }
}

fn non_empty(text: &str) -> Result<String, String> {
    if text.is_empty() {
        Err("No answer yet: type your answer (or q to stop).".to_string())
    } else {
        Ok(text.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_is_one_based_and_out_of_range_or_garbage_is_refused_with_a_hint() {
        assert_eq!(parse_choice("2", 4), Ok(1));
        assert_eq!(parse_choice(" 4 ", 4), Ok(3));
        let garbage = parse_choice("abc", 4).unwrap_err();
        assert!(garbage.contains("'abc' is not a number"), "{garbage}");
        assert!(garbage.contains("1 to 4"), "{garbage}");
        let high = parse_choice("99", 4).unwrap_err();
        assert!(high.contains("99 is not one of the choices"), "{high}");
        assert!(parse_choice("0", 4).is_err());
        assert!(parse_choice("-1", 4).is_err());
        assert!(parse_choice("", 4).is_err());
        assert!(parse_choice("1 2", 4).is_err());
    }

    #[test]
    fn multiple_choices_accept_commas_and_spaces_and_refuse_repeats() {
        assert_eq!(parse_choices("1,3", 5), Ok(vec![0, 2]));
        assert_eq!(parse_choices("4 2, 1", 5), Ok(vec![3, 1, 0]));
        assert!(parse_choices("1,1", 5).unwrap_err().contains("twice"));
        assert!(parse_choices("", 5).is_err());
        assert!(parse_choices("6", 5).is_err());
    }

    #[test]
    fn an_order_must_name_every_shown_entry_once() {
        assert_eq!(parse_order("3 1 2", 3), Ok(vec![2, 0, 1]));
        assert_eq!(parse_order("3,1,2", 3), Ok(vec![2, 0, 1]));
        assert!(parse_order("1 2", 3).is_err());
        assert!(parse_order("1 1 2", 3).is_err());
        assert!(parse_order("1 2 4", 3).is_err());
    }

    #[test]
    fn numbers_may_carry_their_unit_or_a_decimal_comma() {
        assert_eq!(parse_number("2", Some("minutes")), Ok(2.0));
        assert_eq!(parse_number("2 minutes", Some("minutes")), Ok(2.0));
        assert_eq!(parse_number("2,5", None), Ok(2.5));
        assert_eq!(parse_number("-1.25", None), Ok(-1.25));
        assert!(parse_number("abc", None).is_err());
        assert!(parse_number("inf", None).is_err());
        assert!(parse_number("NaN", None).is_err());
    }

    #[test]
    fn true_false_yes_no_and_ratings_take_their_letters_and_words() {
        assert_eq!(parse_true_false("T"), Ok(true));
        assert_eq!(parse_true_false("false"), Ok(false));
        assert!(parse_true_false("1").is_err());
        assert_eq!(parse_yes_no("y"), Ok(true));
        assert_eq!(parse_yes_no("No"), Ok(false));
        assert_eq!(parse_rating("1"), Ok(SelfRating::Again));
        assert_eq!(parse_rating("easy"), Ok(SelfRating::Easy));
        assert!(parse_rating("5").is_err());
    }

    #[test]
    fn return_times_read_as_minutes_hours_days_and_months() {
        let minute = 60_000;
        assert_eq!(describe_return(0, 0), "due again now");
        assert_eq!(describe_return(0, 30_000), "back in under a minute");
        assert_eq!(describe_return(0, minute), "back in 1 minute");
        assert_eq!(describe_return(0, 10 * minute), "back in 10 minutes");
        assert_eq!(describe_return(0, 5 * 60 * minute), "back in 5 hours");
        assert_eq!(describe_return(0, 3 * 24 * 60 * minute), "back in 3 days");
        assert_eq!(
            describe_return(0, 90 * 24 * 60 * minute),
            "back in 3 months"
        );
    }

    #[test]
    fn markdown_reads_as_plain_text() {
        assert_eq!(
            plain_text("**Up:** wires, *branches*, `code`"),
            "Up: wires, branches, code"
        );
        assert_eq!(plain_text("## Heading"), "Heading");
        assert_eq!(plain_text("* one\n* two"), "- one\n- two");
        assert_eq!(
            plain_text("See [the guide](https://x.org) and ![A rep](assets/a.png)"),
            "See the guide (https://x.org) and [image: A rep]"
        );
        assert_eq!(plain_text("snake_case and 5 * 3"), "snake_case and 5 * 3");
        assert_eq!(plain_text("_emphasis_."), "emphasis.");
        assert_eq!(plain_text(r"a \*literal\* star"), "a *literal* star");
    }

    #[test]
    fn blanks_show_as_numbered_gaps() {
        assert_eq!(
            mark_blanks("apply a {{1}} and note the {{2}}."),
            "apply a ___(1)___ and note the ___(2)___."
        );
        assert_eq!(mark_blanks("{{x}} stays"), "{{x}} stays");
    }

    #[test]
    fn q_and_the_end_of_input_stop_at_any_prompt() {
        let mut console = Console {
            input: "abc\n7\nq\n".as_bytes(),
            output: Vec::new(),
            echo: false,
        };
        assert!(matches!(
            console.ask_until("Your answer (1-3)", |s| parse_choice(s, 3)),
            Err(Stop::Quit)
        ));
        let shown = String::from_utf8(console.output).unwrap();
        assert!(shown.contains("'abc' is not a number"), "{shown}");
        assert!(shown.contains("7 is not one of the choices"), "{shown}");
        let mut ended = Console {
            input: "".as_bytes(),
            output: Vec::new(),
            echo: false,
        };
        assert!(matches!(ended.ask("Blank 1"), Err(Stop::Quit)));
    }
}
