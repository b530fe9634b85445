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

use crate::content::items::{Interaction, Item, ItemKind, Quality};
use crate::content::StepBody;
use crate::events::{Event, EventKind, Outcome, Response, SelfRating};
use crate::learn::projection::{self, Applied, ProjectionError, StageCheckResult};
use crate::privacy::consent::ConsentScope;
use crate::store::Store;

/// The xAPI version statements are written for (the `X-Experience-API-Version` header).
pub const XAPI_VERSION: &str = "1.0.3";

/// The namespace of Tidbit's statement ids (UUID v5).
const STATEMENT_NAMESPACE: [u8; 16] = [
    0x5b, 0x0e, 0x7c, 0x1a, 0x3d, 0x4f, 0x4e, 0x21, 0x9a, 0x61, 0x2c, 0x8d, 0x77, 0x10, 0xe4, 0x3b,
];

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

/// A language map (`{"en": "..."}`).
pub type LanguageMap = BTreeMap<String, String>;

/// One xAPI statement, serialised in the field order the standard lists.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Statement {
    pub id: String,
    pub actor: Actor,
    pub verb: Verb,
    pub object: Activity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<StatementResult>,
    pub context: Context,
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "objectType")]
    pub object_type: String,
    pub account: Account,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Account {
    #[serde(rename = "homePage")]
    pub home_page: String,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verb {
    pub id: String,
    pub display: LanguageMap,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    #[serde(rename = "objectType")]
    pub object_type: String,
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definition: Option<Definition>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Definition {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<LanguageMap>,
    #[serde(rename = "type")]
    pub activity_type: String,
    #[serde(
        rename = "interactionType",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub interaction_type: Option<String>,
    #[serde(
        rename = "correctResponsesPattern",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub correct_responses_pattern: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub choices: Option<Vec<Component>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scale: Option<Vec<Component>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<Vec<Component>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Vec<Component>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub steps: Option<Vec<Component>>,
}

/// One interaction component (a choice, a scale point, a source, a target, a step).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Component {
    pub id: String,
    pub description: LanguageMap,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatementResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<Score>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extensions: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub scaled: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Context {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<String>,
    pub platform: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(rename = "contextActivities")]
    pub context_activities: ContextActivities,
    pub extensions: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextActivities {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parent: Vec<Activity>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grouping: Vec<Activity>,
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
                if let Response::Reflection { criteria_met, .. } = response {
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

/// The definition of an item as a `cmi.interaction`: its type, correct responses and components.
fn interaction_definition(item: &Item, locale: &str) -> Definition {
    let text = |t: &str| BTreeMap::from([(locale.to_string(), t.to_string())]);
    let indexed = |texts: Vec<&str>| -> Vec<Component> {
        texts
            .into_iter()
            .enumerate()
            .map(|(i, t)| Component {
                id: i.to_string(),
                description: text(t),
            })
            .collect()
    };
    let mut definition = Definition {
        name: Some(text(item.prompt())),
        ..Definition::default()
    };
    match item.interaction() {
        Interaction::SingleChoice { choices } | Interaction::MultipleResponse { choices } => {
            let correct: Vec<String> = choices
                .iter()
                .enumerate()
                .filter(|(_, c)| c.correct)
                .map(|(i, _)| i.to_string())
                .collect();
            definition.interaction_type = Some("choice".into());
            definition.correct_responses_pattern = Some(vec![correct.join("[,]")]);
            definition.choices = Some(indexed(choices.iter().map(|c| c.text.as_str()).collect()));
        }
        Interaction::TrueFalse { answer, .. } => {
            definition.interaction_type = Some("true-false".into());
            definition.correct_responses_pattern = Some(vec![answer.to_string()]);
        }
        Interaction::FillBlanks { blanks, .. } => {
            let first: Vec<&str> = blanks
                .iter()
                .map(|b| b.accepted.first().map(String::as_str).unwrap_or(""))
                .collect();
            definition.interaction_type = Some("fill-in".into());
            definition.correct_responses_pattern = Some(vec![first.join("[,]")]);
        }
        Interaction::Ordering { entries } => {
            let order: Vec<String> = (0..entries.len()).map(|i| i.to_string()).collect();
            definition.interaction_type = Some("sequencing".into());
            definition.correct_responses_pattern = Some(vec![order.join("[,]")]);
            definition.choices = Some(indexed(entries.iter().map(|e| e.text.as_str()).collect()));
        }
        Interaction::Matching { pairs } => {
            let targets = matching_targets(pairs.iter().map(|p| p.target.as_str()));
            let pattern: Vec<String> = pairs
                .iter()
                .enumerate()
                .map(|(i, p)| format!("{i}[.]{}", target_id(&targets, &p.target)))
                .collect();
            definition.interaction_type = Some("matching".into());
            definition.correct_responses_pattern = Some(vec![pattern.join("[,]")]);
            definition.source = Some(indexed(pairs.iter().map(|p| p.item.as_str()).collect()));
            definition.target = Some(indexed(targets));
        }
        Interaction::Numeric {
            answer, tolerance, ..
        } => {
            definition.interaction_type = Some("numeric".into());
            definition.correct_responses_pattern = Some(vec![format!(
                "{}[:]{}",
                answer - tolerance,
                answer + tolerance
            )]);
        }
        Interaction::Scenario { start, nodes } => {
            // The best path: the best choice at each node from the start until one ends it.
            let mut best = Vec::new();
            let mut at = Some(start.as_str());
            while let Some(id) = at.take() {
                let Some(node) = nodes.iter().find(|n| n.id == id) else {
                    break;
                };
                let Some((index, choice)) = node
                    .choices
                    .iter()
                    .enumerate()
                    .max_by_key(|(i, c)| (quality_rank(c.quality), std::cmp::Reverse(*i)))
                else {
                    break;
                };
                best.push(format!("{}[.]{index}", node.id));
                if best.len() > nodes.len() {
                    break;
                }
                at = choice.next.as_deref();
            }
            definition.interaction_type = Some("performance".into());
            definition.correct_responses_pattern = Some(vec![best.join("[,]")]);
            definition.steps = Some(
                nodes
                    .iter()
                    .map(|n| Component {
                        id: n.id.clone(),
                        description: text(&n.text),
                    })
                    .collect(),
            );
        }
        Interaction::Flashcard { .. } => {
            // Self-rated recall: a scale, with no response that is right in itself.
            definition.interaction_type = Some("likert".into());
            definition.scale = Some(
                ["again", "hard", "good", "easy"]
                    .iter()
                    .map(|r| Component {
                        id: (*r).into(),
                        description: text(r),
                    })
                    .collect(),
            );
        }
        Interaction::Reflection { .. } => {
            definition.interaction_type = Some("long-fill-in".into());
        }
    }
    definition
}

fn quality_rank(quality: Quality) -> u8 {
    match quality {
        Quality::Best => 2,
        Quality::Ok => 1,
        Quality::Poor => 0,
    }
}

/// A matching item's targets, each once, in the order they first appear.
fn matching_targets<'a>(targets: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut seen: Vec<&str> = Vec::new();
    for target in targets {
        if !seen.contains(&target) {
            seen.push(target);
        }
    }
    seen
}

fn target_id(targets: &[&str], target: &str) -> String {
    match targets.iter().position(|t| *t == target) {
        Some(i) => i.to_string(),
        None => segment(target),
    }
}

/// The interaction type of an item kind, for an item the content no longer holds.
fn interaction_type_of_name(kind: &str) -> &'static str {
    match ItemKind::from_name(kind) {
        Some(ItemKind::Single | ItemKind::Multiple) => "choice",
        Some(ItemKind::TrueFalse) => "true-false",
        Some(ItemKind::Blanks) => "fill-in",
        Some(ItemKind::Order) => "sequencing",
        Some(ItemKind::Match) => "matching",
        Some(ItemKind::Numeric) => "numeric",
        Some(ItemKind::Scenario) => "performance",
        Some(ItemKind::Flashcard) => "likert",
        Some(ItemKind::Reflection) => "long-fill-in",
        None => "other",
    }
}

/// A response in the interaction type's response format.
fn response_string(response: &Response, item: Option<&Item>) -> String {
    let join = |parts: Vec<String>| parts.join("[,]");
    match response {
        Response::SingleChoice { choice } => choice.to_string(),
        Response::MultipleResponse { choices } => {
            join(choices.iter().map(u32::to_string).collect())
        }
        Response::TrueFalse { answer } => answer.to_string(),
        Response::FillBlanks { answers } => join(answers.clone()),
        Response::Ordering { order } => join(order.iter().map(u32::to_string).collect()),
        Response::Matching { targets } => {
            let known = match item.map(Item::interaction) {
                Some(Interaction::Matching { pairs }) => {
                    matching_targets(pairs.iter().map(|p| p.target.as_str()))
                }
                _ => Vec::new(),
            };
            join(
                targets
                    .iter()
                    .enumerate()
                    .map(|(i, t)| format!("{i}[.]{}", target_id(&known, t)))
                    .collect(),
            )
        }
        Response::Numeric { value } => value.to_string(),
        Response::Scenario { path } => match item.map(Item::interaction) {
            Some(Interaction::Scenario { start, nodes }) => {
                let mut parts = Vec::new();
                let mut at = Some(start.as_str());
                for choice in path {
                    let Some(node) = at.and_then(|id| nodes.iter().find(|n| n.id == id)) else {
                        break;
                    };
                    parts.push(format!("{}[.]{choice}", node.id));
                    at = node
                        .choices
                        .get(*choice as usize)
                        .and_then(|c| c.next.as_deref());
                }
                join(parts)
            }
            _ => join(path.iter().map(u32::to_string).collect()),
        },
        Response::Flashcard { rating } => match rating {
            SelfRating::Again => "again",
            SelfRating::Hard => "hard",
            SelfRating::Good => "good",
            SelfRating::Easy => "easy",
        }
        .into(),
        Response::Reflection { text, .. } => text.clone(),
    }
}

/// An ISO 8601 duration of milliseconds: `PT4.2S`.
pub fn duration(ms: u32) -> String {
    let seconds = ms / 1000;
    let millis = ms % 1000;
    if millis == 0 {
        format!("PT{seconds}S")
    } else {
        let fraction = format!("{millis:03}");
        format!("PT{seconds}.{}S", fraction.trim_end_matches('0'))
    }
}

/// UTC with milliseconds: `2026-03-02T08:00:00.000Z`.
pub fn timestamp(at_ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(at_ms)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn round6(value: f64) -> f64 {
    (value * 1e6).round() / 1e6
}

/// An id as an IRI path segment: content ids are already safe; anything else (an event from a
/// hostile peer naming an odd course) is percent-encoded.
fn segment(id: &str) -> String {
    let mut out = String::with_capacity(id.len());
    for byte in id.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A name-based UUID (version 5, SHA-1) in Tidbit's statement namespace.
pub fn uuid_v5(name: &str) -> String {
    uuid_v5_in(&STATEMENT_NAMESPACE, name)
}

fn uuid_v5_in(namespace: &[u8; 16], name: &str) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY);
    context.update(namespace);
    context.update(name.as_bytes());
    let digest = context.finish();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest.as_ref()[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex = hex::encode(bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_v5_matches_the_standard_example() {
        // RFC 4122's DNS namespace and the name "python.org", as every UUID library computes it.
        let dns = [
            0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1, 0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4,
            0x30, 0xc8,
        ];
        assert_eq!(
            uuid_v5_in(&dns, "python.org"),
            "886313e1-3b8a-5372-9b90-0c9aee199e5d"
        );
    }

    #[test]
    fn durations_and_timestamps_are_iso_8601() {
        assert_eq!(duration(4200), "PT4.2S");
        assert_eq!(duration(60_000), "PT60S");
        assert_eq!(duration(5), "PT0.005S");
        assert_eq!(timestamp(1_772_438_400_123), "2026-03-02T08:00:00.123Z");
    }

    #[test]
    fn odd_ids_are_percent_encoded_in_activity_ids() {
        assert_eq!(segment("first-aid"), "first-aid");
        assert_eq!(segment("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn a_home_page_must_be_an_address() {
        assert!(check_home_page("https://learn.example.org").is_ok());
        assert!(check_home_page("mailto:ada@example.org").is_err());
        assert!(check_home_page("https://").is_err());
    }
}
