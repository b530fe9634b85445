//! Learning records in the Experience API (xAPI 1.0.3), the standard an organisation's LRS and
//! HR systems read.
//!
//! One statement per learning event, made from the learner's events and the installed content
//! alone, so a device and the server that hold the same events and course versions make the same
//! statements, byte for byte:
//! - an item answered: `answered` a `cmi.interaction` activity, with its `interactionType`,
//!   `correctResponsesPattern` and components per item kind, and a result (scaled score,
//!   success, and, under the `analytics` consent scope only, the response and its duration);
//! - a lesson card read to its end: `experienced` a lesson;
//! - a module finished in an attempt: `completed` the module;
//! - a stage check: `passed` or `failed` the stage, with each skill's mastery;
//! - a path whose every stage has passed: `earned` its certificate.
//!
//! A statement's id is a UUID v5 of the event id and what the statement says of it, so every
//! producer makes the same id for the same event and a resend is idempotent at the LRS. The actor
//! is an `account` on the organisation's home page named by the learner id, never an e-mail.
//! Timestamps are UTC with milliseconds.
//!
//! What the device derived (a module completed, a check passed) comes from replaying the events
//! through the engine's own rules ([`crate::learn::projection::replay_outcomes`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rusqlite::{Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

use crate::content::StepBody;
use crate::events::{Event, EventKind, Outcome, Response};
use crate::learn::projection::{self, Applied, ProjectionError, StageCheckResult};
use crate::privacy::consent::ConsentScope;
use crate::store::Store;

mod interaction;
mod statement;

use interaction::{interaction_definition, interaction_type_of_name, response_string};
use statement::segment;
pub use statement::*;

/// The xAPI version statements are written for (the `X-Experience-API-Version` header).
pub const XAPI_VERSION: &str = "1.0.3";

const VERB_ANSWERED: &str = "http://adlnet.gov/expapi/verbs/answered";
const VERB_EXPERIENCED: &str = "http://adlnet.gov/expapi/verbs/experienced";
const VERB_COMPLETED: &str = "http://adlnet.gov/expapi/verbs/completed";
const VERB_PASSED: &str = "http://adlnet.gov/expapi/verbs/passed";
const VERB_FAILED: &str = "http://adlnet.gov/expapi/verbs/failed";
const VERB_EARNED: &str = "http://id.tincanapi.com/verb/earned";

const TYPE_INTERACTION: &str = "http://adlnet.gov/expapi/activities/cmi.interaction";
const TYPE_LESSON: &str = "http://adlnet.gov/expapi/activities/lesson";
const TYPE_MODULE: &str = "http://adlnet.gov/expapi/activities/module";
const TYPE_ASSESSMENT: &str = "http://adlnet.gov/expapi/activities/assessment";
const TYPE_COURSE: &str = "http://adlnet.gov/expapi/activities/course";

/// Where statements say they come from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct XapiSettings {
    /// The organisation's home page: the `homePage` of every learner's account, and the root of
    /// Tidbit's activity ids (`<home page>/xapi/courses/...`).
    pub home_page: String,
}

impl XapiSettings {
    pub fn new(home_page: &str) -> XapiSettings {
        XapiSettings {
            home_page: home_page.trim_end_matches('/').to_string(),
        }
    }

    fn iri(&self, path: &str) -> String {
        format!("{}/xapi/{path}", self.home_page.trim_end_matches('/'))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum XapiError {
    #[error("the home page must be an absolute http(s) address, not '{0}'")]
    HomePage(String),
    #[error(transparent)]
    Replay(#[from] ProjectionError),
    #[error("database error while reading the course content: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

/// Every statement `events` make (in their total order; `events` may come in any order).
/// `content` is a store holding the installed courses (the learner's own, or the server's
/// content index); only its content is read.
pub fn statements_of(
    content: &Store,
    learner: &str,
    events: &[Event],
    settings: &XapiSettings,
) -> Result<Vec<Statement>, XapiError> {
    let content = content.conn();
    check_home_page(&settings.home_page)?;
    let mut ordered: Vec<&Event> = events.iter().collect();
    ordered.sort_by(|a, b| a.order_key().cmp(&b.order_key()));
    let mut maker = StatementMaker::new(content, learner, settings);
    let mut statements = Vec::new();
    let mut failure = None;
    projection::replay_outcomes(content, ordered, |event, applied| {
        if failure.is_some() {
            return;
        }
        match maker.statements(event, applied) {
            Ok(mut made) => statements.append(&mut made),
            Err(error) => failure = Some(error),
        }
    })?;
    match failure {
        Some(error) => Err(error),
        None => Ok(statements),
    }
}

fn check_home_page(home_page: &str) -> Result<(), XapiError> {
    let rest = home_page
        .strip_prefix("https://")
        .or_else(|| home_page.strip_prefix("http://"));
    match rest {
        Some(host) if !host.is_empty() && !host.chars().any(char::is_whitespace) => Ok(()),
        _ => Err(XapiError::HomePage(home_page.to_string())),
    }
}

/// The course facts statements name, read once per course.
struct CourseFacts {
    title: String,
    locale: String,
    /// Per path: its title and its stages (kind, title) in order.
    paths: HashMap<String, (String, Vec<(String, String)>)>,
    modules: HashMap<String, String>,
}

/// Makes statements from events in their total order, remembering what later statements need:
/// the analytics consent so far, each course's registration, the stages passed, the
/// certificates earned.
struct StatementMaker<'c> {
    content: &'c Connection,
    settings: &'c XapiSettings,
    learner: String,
    analytics: bool,
    passed: HashMap<(String, String), BTreeSet<String>>,
    earned: BTreeSet<(String, String)>,
    courses: HashMap<String, Option<CourseFacts>>,
    steps: HashMap<(String, String), Option<StepBody>>,
    /// Activities and interaction definitions as made the first time: every statement about
    /// the same course, module or item names it with the same bytes.
    activities: HashMap<(String, String), Activity>,
    definitions: HashMap<(String, String), Definition>,
    /// Each course's registration (the enrolment's UUID), while the enrolment lasts.
    registrations: HashMap<String, String>,
    event_extension: String,
}

impl<'c> StatementMaker<'c> {
    fn new(
        content: &'c Connection,
        learner: &str,
        settings: &'c XapiSettings,
    ) -> StatementMaker<'c> {
        StatementMaker {
            content,
            settings,
            learner: learner.to_string(),
            analytics: false,
            passed: HashMap::new(),
            earned: BTreeSet::new(),
            courses: HashMap::new(),
            steps: HashMap::new(),
            activities: HashMap::new(),
            definitions: HashMap::new(),
            registrations: HashMap::new(),
            event_extension: settings.iri("extensions/event"),
        }
    }

    /// The statements of one event, given what applying it changed.
    fn statements(
        &mut self,
        event: &Event,
        applied: &Applied,
    ) -> Result<Vec<Statement>, XapiError> {
        let mut made = Vec::new();
        match &event.kind {
            EventKind::ConsentChanged {
                scope: ConsentScope::Analytics,
                granted,
            } => self.analytics = *granted,
            EventKind::Enrolled { course, path } => {
                let registration =
                    uuid_v5(&format!("registration/{}/{course}/{path}", self.learner));
                self.registrations.insert(course.clone(), registration);
            }
            EventKind::StepViewed {
                course,
                module,
                step,
            } => {
                if let Some(StepBody::Lesson(_)) = self.step(course, step)? {
                    made.push(self.lesson_experienced(event, course, module, step)?);
                }
            }
            EventKind::ItemAnswered {
                course,
                module,
                step,
                item_kind,
                response,
                response_ms,
                credit,
                outcome,
                ..
            } => {
                let answer = AnswerFacts {
                    item_kind,
                    response: response.as_ref(),
                    response_ms: *response_ms,
                    credit: *credit,
                    outcome: *outcome,
                };
                made.push(self.item_answered(event, course, module, step, &answer)?);
            }
            _ => {}
        }
        let course_module = match &event.kind {
            EventKind::StepViewed { course, module, .. }
            | EventKind::ItemAnswered { course, module, .. } => Some((course, module)),
            _ => None,
        };
        if let Some((course, module)) = course_module {
            if applied.module_completed {
                made.push(self.module_completed(event, course, module)?);
            }
            for check in &applied.stage_checks {
                made.push(self.stage_checked(event, course, check)?);
                if check.passed {
                    made.extend(self.certificate_if_earned(event, course, check)?);
                }
            }
        }
        Ok(made)
    }

    fn course(&mut self, course: &str) -> Result<Option<&CourseFacts>, XapiError> {
        if !self.courses.contains_key(course) {
            let facts = read_course_facts(self.content, course)?;
            self.courses.insert(course.to_string(), facts);
        }
        Ok(self.courses.get(course).and_then(Option::as_ref))
    }

    fn step(&mut self, course: &str, step: &str) -> Result<Option<&StepBody>, XapiError> {
        let key = (course.to_string(), step.to_string());
        if !self.steps.contains_key(&key) {
            let json: Option<String> = self
                .content
                .query_row(
                    "SELECT body_json FROM steps WHERE course_id = ?1 AND id = ?2",
                    [course, step],
                    |r| r.get(0),
                )
                .optional()?;
            let body = json.and_then(|j| serde_json::from_str::<StepBody>(&j).ok());
            self.steps.insert(key.clone(), body);
        }
        Ok(self.steps.get(&key).and_then(Option::as_ref))
    }

    fn locale(&mut self, course: &str) -> Result<String, XapiError> {
        Ok(self
            .course(course)?
            .map(|c| c.locale.clone())
            .unwrap_or_else(|| "und".into()))
    }

    fn named(
        &mut self,
        course: &str,
        text: Option<String>,
    ) -> Result<Option<LanguageMap>, XapiError> {
        let locale = self.locale(course)?;
        Ok(text.map(|t| BTreeMap::from([(locale, t)])))
    }

    fn course_activity(&mut self, course: &str) -> Result<Activity, XapiError> {
        let key = (course.to_string(), String::new());
        if let Some(activity) = self.activities.get(&key) {
            return Ok(activity.clone());
        }
        let activity = self.make_course_activity(course)?;
        self.activities.insert(key, activity.clone());
        Ok(activity)
    }

    fn make_course_activity(&mut self, course: &str) -> Result<Activity, XapiError> {
        let title = self.course(course)?.map(|c| c.title.clone());
        Ok(Activity {
            object_type: "Activity".into(),
            id: self.settings.iri(&format!("courses/{}", segment(course))),
            definition: Some(Definition {
                name: self.named(course, title)?,
                activity_type: TYPE_COURSE.into(),
                ..Definition::default()
            }),
        })
    }

    fn module_activity(&mut self, course: &str, module: &str) -> Result<Activity, XapiError> {
        let key = (course.to_string(), module.to_string());
        if let Some(activity) = self.activities.get(&key) {
            return Ok(activity.clone());
        }
        let activity = self.make_module_activity(course, module)?;
        self.activities.insert(key, activity.clone());
        Ok(activity)
    }

    fn make_module_activity(&mut self, course: &str, module: &str) -> Result<Activity, XapiError> {
        let title = self
            .course(course)?
            .and_then(|c| c.modules.get(module).cloned());
        Ok(Activity {
            object_type: "Activity".into(),
            id: self.settings.iri(&format!(
                "courses/{}/modules/{}",
                segment(course),
                segment(module)
            )),
            definition: Some(Definition {
                name: self.named(course, title)?,
                activity_type: TYPE_MODULE.into(),
                ..Definition::default()
            }),
        })
    }

    fn step_id(&self, course: &str, step: &str) -> String {
        self.settings.iri(&format!(
            "courses/{}/steps/{}",
            segment(course),
            segment(step)
        ))
    }

    fn context(
        &mut self,
        event: &Event,
        course: &str,
        parent: Option<Activity>,
    ) -> Result<Context, XapiError> {
        let language = self.course(course)?.map(|c| c.locale.clone());
        let registration = self.registrations.get(course).cloned();
        let mut extensions = BTreeMap::new();
        extensions.insert(
            self.event_extension.clone(),
            serde_json::Value::String(event.id.clone()),
        );
        Ok(Context {
            registration,
            platform: "Tidbit".into(),
            language,
            context_activities: ContextActivities {
                parent: parent.into_iter().collect(),
                grouping: vec![self.course_activity(course)?],
            },
            extensions,
        })
    }

    fn statement(
        &mut self,
        event: &Event,
        what: &str,
        verb: (&str, &str),
        object: Activity,
        result: Option<StatementResult>,
        context: Context,
    ) -> Statement {
        Statement {
            id: uuid_v5(&format!("{}/{what}", event.id)),
            actor: Actor {
                object_type: "Agent".into(),
                account: Account {
                    home_page: self.settings.home_page.clone(),
                    name: self.learner.clone(),
                },
            },
            verb: Verb {
                id: verb.0.into(),
                display: BTreeMap::from([("en-US".to_string(), verb.1.to_string())]),
            },
            object,
            result,
            context,
            timestamp: timestamp(event.at_ms),
        }
    }

    fn lesson_experienced(
        &mut self,
        event: &Event,
        course: &str,
        module: &str,
        step: &str,
    ) -> Result<Statement, XapiError> {
        let parent = self.module_activity(course, module)?;
        let context = self.context(event, course, Some(parent))?;
        let object = Activity {
            object_type: "Activity".into(),
            id: self.step_id(course, step),
            definition: Some(Definition {
                activity_type: TYPE_LESSON.into(),
                ..Definition::default()
            }),
        };
        Ok(self.statement(
            event,
            "experienced",
            (VERB_EXPERIENCED, "experienced"),
            object,
            None,
            context,
        ))
    }

    fn item_answered(
        &mut self,
        event: &Event,
        course: &str,
        module: &str,
        step: &str,
        answer: &AnswerFacts<'_>,
    ) -> Result<Statement, XapiError> {
        let key = (course.to_string(), step.to_string());
        let definition = match self.definitions.get(&key) {
            Some(definition) => definition.clone(),
            None => {
                let locale = self.locale(course)?;
                let mut definition = match self.step(course, step)? {
                    Some(StepBody::Item(item)) => interaction_definition(item, &locale),
                    _ => Definition {
                        interaction_type: Some(interaction_type_of_name(answer.item_kind).into()),
                        ..Definition::default()
                    },
                };
                definition.activity_type = TYPE_INTERACTION.into();
                self.definitions.insert(key, definition.clone());
                definition
            }
        };
        let mut extensions = BTreeMap::new();
        let response = match (self.analytics, answer.response) {
            (true, Some(response)) => {
                if let Some(criteria_met) = response.criteria_met() {
                    extensions.insert(
                        self.settings.iri("extensions/criteria-met"),
                        serde_json::json!(criteria_met),
                    );
                }
                let item = match self.step(course, step)? {
                    Some(StepBody::Item(item)) => Some(item),
                    _ => None,
                };
                Some(response_string(response, item))
            }
            _ => None,
        };
        let result = StatementResult {
            score: Some(Score {
                scaled: answer.credit.clamp(0.0, 1.0),
            }),
            success: Some(answer.outcome == Outcome::Right),
            completion: Some(true),
            response,
            duration: self.analytics.then(|| duration(answer.response_ms)),
            extensions,
        };
        let parent = self.module_activity(course, module)?;
        let context = self.context(event, course, Some(parent))?;
        let object = Activity {
            object_type: "Activity".into(),
            id: self.step_id(course, step),
            definition: Some(definition),
        };
        Ok(self.statement(
            event,
            "answered",
            (VERB_ANSWERED, "answered"),
            object,
            Some(result),
            context,
        ))
    }

    fn module_completed(
        &mut self,
        event: &Event,
        course: &str,
        module: &str,
    ) -> Result<Statement, XapiError> {
        let object = self.module_activity(course, module)?;
        let context = self.context(event, course, None)?;
        let result = StatementResult {
            score: None,
            success: None,
            completion: Some(true),
            response: None,
            duration: None,
            extensions: BTreeMap::new(),
        };
        Ok(self.statement(
            event,
            &format!("completed/{module}"),
            (VERB_COMPLETED, "completed"),
            object,
            Some(result),
            context,
        ))
    }

    fn path_activity(&mut self, course: &str, path: &str) -> Result<Activity, XapiError> {
        let title = self
            .course(course)?
            .and_then(|c| c.paths.get(path).map(|p| p.0.clone()));
        Ok(Activity {
            object_type: "Activity".into(),
            id: self.settings.iri(&format!(
                "courses/{}/paths/{}",
                segment(course),
                segment(path)
            )),
            definition: Some(Definition {
                name: self.named(course, title)?,
                activity_type: TYPE_COURSE.into(),
                ..Definition::default()
            }),
        })
    }

    fn stage_checked(
        &mut self,
        event: &Event,
        course: &str,
        check: &StageCheckResult,
    ) -> Result<Statement, XapiError> {
        let title = self.course(course)?.and_then(|c| {
            c.paths.get(&check.path).and_then(|(_, stages)| {
                stages
                    .iter()
                    .find(|(kind, _)| *kind == check.stage)
                    .map(|(_, title)| title.clone())
            })
        });
        let object = Activity {
            object_type: "Activity".into(),
            id: self.settings.iri(&format!(
                "courses/{}/paths/{}/stages/{}",
                segment(course),
                segment(&check.path),
                segment(&check.stage)
            )),
            definition: Some(Definition {
                name: self.named(course, title)?,
                activity_type: TYPE_ASSESSMENT.into(),
                ..Definition::default()
            }),
        };
        let lowest = check
            .skills
            .iter()
            .map(|s| s.mastery)
            .fold(f64::INFINITY, f64::min);
        let mastery: BTreeMap<&str, f64> = check
            .skills
            .iter()
            .map(|s| (s.skill.as_str(), round6(s.mastery)))
            .collect();
        let mut extensions = BTreeMap::new();
        extensions.insert(
            self.settings.iri("extensions/mastery"),
            serde_json::json!(mastery),
        );
        extensions.insert(
            self.settings.iri("extensions/threshold"),
            serde_json::json!(check.threshold),
        );
        let result = StatementResult {
            score: lowest.is_finite().then(|| Score {
                scaled: round6(lowest.clamp(0.0, 1.0)),
            }),
            success: Some(check.passed),
            completion: Some(true),
            response: None,
            duration: None,
            extensions,
        };
        let parent = self.path_activity(course, &check.path)?;
        let context = self.context(event, course, Some(parent))?;
        let verb = match check.passed {
            true => (VERB_PASSED, "passed"),
            false => (VERB_FAILED, "failed"),
        };
        Ok(self.statement(
            event,
            &format!("checked/{}/{}", check.path, check.stage),
            verb,
            object,
            Some(result),
            context,
        ))
    }

    /// `earned` the path's certificate, the first time every stage of the path has passed:
    /// when the device can issue it.
    fn certificate_if_earned(
        &mut self,
        event: &Event,
        course: &str,
        check: &StageCheckResult,
    ) -> Result<Option<Statement>, XapiError> {
        let path = check.path.as_str();
        let key = (course.to_string(), path.to_string());
        self.passed
            .entry(key.clone())
            .or_default()
            .insert(check.stage.clone());
        if self.earned.contains(&key) {
            return Ok(None);
        }
        let stages: Vec<String> = match self.course(course)?.and_then(|c| c.paths.get(path)) {
            Some((_, stages)) => stages.iter().map(|(kind, _)| kind.clone()).collect(),
            None => return Ok(None),
        };
        let passed = &self.passed[&key];
        if stages.is_empty() || !stages.iter().all(|s| passed.contains(s)) {
            return Ok(None);
        }
        self.earned.insert(key);
        let title = self
            .course(course)?
            .and_then(|c| c.paths.get(path).map(|p| p.0.clone()));
        let object = Activity {
            object_type: "Activity".into(),
            id: self.settings.iri(&format!(
                "courses/{}/paths/{}/certificate",
                segment(course),
                segment(path)
            )),
            definition: Some(Definition {
                name: self.named(course, title)?,
                activity_type: self.settings.iri("activity-types/certificate"),
                ..Definition::default()
            }),
        };
        let parent = self.path_activity(course, path)?;
        let context = self.context(event, course, Some(parent))?;
        Ok(Some(self.statement(
            event,
            &format!("earned/{path}"),
            (VERB_EARNED, "earned"),
            object,
            None,
            context,
        )))
    }
}

/// What an answer statement needs of an `ItemAnswered` event.
struct AnswerFacts<'a> {
    item_kind: &'a str,
    response: Option<&'a Response>,
    response_ms: u32,
    credit: f64,
    outcome: Outcome,
}

fn read_course_facts(conn: &Connection, course: &str) -> Result<Option<CourseFacts>, XapiError> {
    let head: Option<(String, String)> = conn
        .query_row(
            "SELECT title, locale FROM courses WHERE id = ?1",
            [course],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((title, locale)) = head else {
        return Ok(None);
    };
    let mut paths: HashMap<String, (String, Vec<(String, String)>)> = HashMap::new();
    let mut statement = conn.prepare("SELECT id, title FROM paths WHERE course_id = ?1")?;
    for row in statement.query_map([course], |r| Ok((r.get(0)?, r.get(1)?)))? {
        let (id, title): (String, String) = row?;
        paths.insert(id, (title, Vec::new()));
    }
    let mut statement = conn.prepare(
        "SELECT path_id, kind, title FROM stages WHERE course_id = ?1 ORDER BY path_id, position",
    )?;
    for row in statement.query_map([course], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))? {
        let (path, kind, title): (String, String, String) = row?;
        if let Some(entry) = paths.get_mut(&path) {
            entry.1.push((kind, title));
        }
    }
    let mut statement = conn.prepare("SELECT id, title FROM modules WHERE course_id = ?1")?;
    let modules = statement
        .query_map([course], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<HashMap<String, String>>>()?;
    Ok(Some(CourseFacts {
        title,
        locale,
        paths,
        modules,
    }))
}

fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_home_page_must_be_an_address() {
        assert!(check_home_page("https://learn.example.org").is_ok());
        assert!(check_home_page("mailto:ada@example.org").is_err());
        assert!(check_home_page("https://").is_err());
    }
}
