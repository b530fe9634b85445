//! Goals the L&D team sets: for one learner, or for a role ("what a new hire must master in
//! their first 90 days"), which every learner holding the role gets, now or when they are given
//! it later, due that many days after they got it.
//!
//! A goal reaches the learner as a `GoalSet` event the server writes into their current period
//! document (like an intervention, through [`crate::interventions::append_server_event`]); the
//! device paces its plan on it, and no device may replace or withdraw it. Withdrawing writes
//! the same goal again, withdrawn.
//!
//! - `PUT /v1/admin/learners/{learner}/goals/{goal}`: `{"title", "course", "path", "stages"?,
//!   "skills"?, "due": "YYYY-MM-DD"}` (or `"within_days"` instead of `due`);
//! - `DELETE /v1/admin/learners/{learner}/goals/{goal}`;
//! - `PUT /v1/admin/roles/{role}/goals/{goal}`: the same with `"within_days"`;
//! - `DELETE /v1/admin/roles/{role}/goals/{goal}`: withdrawn from those who got it by the role;
//! - `GET /v1/admin/goals`: every goal set, by learner and by role.
//!
//! What was set is kept in `server_meta` (`goals`), written whole under this process's lock,
//! like the assignments; an erasure removes the learner from it.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use axum::Router;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use tidbit_core::events::{check_goal, EventKind};

use crate::interventions::{append_server_event, InterventionError};
use crate::storage::StorageError;
use crate::{refuse, Hub};

const META_NAME: &str = "goals";
/// The longest a role's goal may run.
pub const MAX_WITHIN_DAYS: u32 = 3650;

/// What a goal asks for, as the admin API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GoalRequest {
    pub title: String,
    pub course: String,
    pub path: String,
    #[serde(default)]
    pub stages: Vec<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    /// The date, or (for a role's goal, always) days from when the learner is given it.
    #[serde(default)]
    pub due: Option<NaiveDate>,
    #[serde(default)]
    pub within_days: Option<u32>,
}

/// A goal as written to one learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerGoal {
    pub request: GoalRequest,
    pub due: NaiveDate,
    /// The role it came with, if it did.
    pub role: Option<String>,
    /// The id and time of the `GoalSet` event written last.
    pub event: String,
    pub at_ms: i64,
    /// Withdrawn since (kept, so a goal set again is written after its withdrawal).
    #[serde(default)]
    pub withdrawn: bool,
}

/// Every goal the server has set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Goals {
    pub learners: BTreeMap<String, BTreeMap<String, LearnerGoal>>,
    pub roles: BTreeMap<String, BTreeMap<String, GoalRequest>>,
}

#[derive(Debug, thiserror::Error)]
pub enum GoalError {
    #[error("'{0}' is not a valid {1} id (letters, digits, '-', '_', '.', '@'; at most 128)")]
    BadId(String, &'static str),
    #[error("not a valid goal: {0}")]
    Invalid(String),
    #[error("learner '{0}' was erased: their id is retired")]
    Erased(String),
    #[error("there is no goal '{0}' here")]
    Unknown(String),
    #[error("the stored goals are unreadable ({0}); restore server_meta from a backup")]
    Corrupt(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Write(#[from] InterventionError),
    #[error(transparent)]
    Poisoned(#[from] crate::Poisoned),
}

impl GoalError {
    fn status(&self) -> StatusCode {
        match self {
            GoalError::BadId(..) | GoalError::Invalid(_) => StatusCode::BAD_REQUEST,
            GoalError::Erased(_) => StatusCode::GONE,
            GoalError::Unknown(_) => StatusCode::NOT_FOUND,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn check_id(id: &str, what: &'static str) -> Result<(), GoalError> {
    if crate::auth::valid_id(id) {
        Ok(())
    } else {
        Err(GoalError::BadId(id.chars().take(64).collect(), what))
    }
}

/// The goal's date for a learner given it on `today`; the whole goal checked.
fn due_of(goal: &str, request: &GoalRequest, today: NaiveDate) -> Result<NaiveDate, GoalError> {
    let due = match (request.due, request.within_days) {
        (Some(due), None) => due,
        (None, Some(days)) if (1..=MAX_WITHIN_DAYS).contains(&days) => {
            today + chrono::Duration::days(i64::from(days))
        }
        (None, Some(days)) => {
            return Err(GoalError::Invalid(format!(
                "within_days: {days} is outside 1 to {MAX_WITHIN_DAYS}"
            )))
        }
        _ => {
            return Err(GoalError::Invalid(
                "give either a due date or within_days".into(),
            ))
        }
    };
    if due < today {
        return Err(GoalError::Invalid(format!("due: {due} has passed")));
    }
    check_goal(
        goal,
        &request.title,
        &request.course,
        &request.path,
        &request.stages,
        &request.skills,
        due,
    )
    .map_err(|e| GoalError::Invalid(e.to_string()))?;
    Ok(due)
}

impl Hub {
    pub fn goals(&self) -> Result<Goals, GoalError> {
        match self.storage.meta(META_NAME)? {
            None => Ok(Goals::default()),
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| GoalError::Corrupt(e.to_string()))
            }
        }
    }

    fn edit_goals<T>(
        &self,
        edit: impl FnOnce(&mut Goals) -> Result<T, GoalError>,
    ) -> Result<T, GoalError> {
        let _guard = self.goals_lock.lock().map_err(|_| crate::Poisoned)?;
        let mut goals = self.goals()?;
        let result = edit(&mut goals)?;
        let bytes = serde_json::to_vec(&goals).map_err(|e| GoalError::Corrupt(e.to_string()))?;
        self.storage.put_meta(META_NAME, &bytes)?;
        Ok(result)
    }

    fn today(&self) -> NaiveDate {
        chrono::DateTime::from_timestamp_millis(self.now_ms())
            .unwrap_or_default()
            .date_naive()
    }

    /// Writes `goal` (withdrawn or not) into `learner`'s documents under their lock.
    fn write_goal(
        &self,
        learner: &str,
        goal: &str,
        request: &GoalRequest,
        due: NaiveDate,
        withdrawn: bool,
    ) -> Result<(String, i64), GoalError> {
        let kind = EventKind::GoalSet {
            goal: goal.to_string(),
            title: request.title.trim().to_string(),
            course: request.course.clone(),
            path: request.path.clone(),
            stages: request.stages.clone(),
            skills: request.skills.clone(),
            due,
            withdrawn,
        };
        // Later than the goal's previous event, so the events' order is the order they were set
        // in even within one millisecond.
        let previous_ms = self
            .goals()?
            .learners
            .get(learner)
            .and_then(|goals| goals.get(goal))
            .map_or(i64::MIN, |g| g.at_ms);
        let at_ms = self.now_ms().max(previous_ms.saturating_add(1));
        let (event, _) = self.with_learner(learner, || {
            append_server_event(self.storage.as_ref(), learner, kind, at_ms)
        })??;
        Ok((event.id, at_ms))
    }

    fn check_learner_id(&self, learner: &str) -> Result<(), GoalError> {
        check_id(learner, "learner")?;
        if self.storage.is_erased(learner)? {
            return Err(GoalError::Erased(learner.to_string()));
        }
        Ok(())
    }

    /// Sets `goal` for `learner` (replacing one of that id).
    pub fn set_learner_goal(
        &self,
        learner: &str,
        goal: &str,
        request: GoalRequest,
        role: Option<&str>,
    ) -> Result<LearnerGoal, GoalError> {
        self.check_learner_id(learner)?;
        let due = due_of(goal, &request, self.today())?;
        let (event, at_ms) = self.write_goal(learner, goal, &request, due, false)?;
        let set = LearnerGoal {
            request,
            due,
            role: role.map(str::to_string),
            event,
            at_ms,
            withdrawn: false,
        };
        let stored = set.clone();
        self.edit_goals(|goals| {
            goals
                .learners
                .entry(learner.to_string())
                .or_default()
                .insert(goal.to_string(), stored);
            Ok(())
        })?;
        Ok(set)
    }

    /// Withdraws `learner`'s goal `goal`.
    pub fn withdraw_learner_goal(&self, learner: &str, goal: &str) -> Result<(), GoalError> {
        self.check_learner_id(learner)?;
        let set = self
            .goals()?
            .learners
            .get(learner)
            .and_then(|goals| goals.get(goal).cloned())
            .filter(|g| !g.withdrawn)
            .ok_or_else(|| GoalError::Unknown(goal.chars().take(64).collect()))?;
        let (event, at_ms) = self.write_goal(learner, goal, &set.request, set.due, true)?;
        self.edit_goals(|goals| {
            if let Some(g) = goals
                .learners
                .get_mut(learner)
                .and_then(|g| g.get_mut(goal))
            {
                g.event = event;
                g.at_ms = at_ms;
                g.withdrawn = true;
            }
            Ok(())
        })
    }

    /// Sets a role's goal and gives it to every learner holding the role who lacks it; returns
    /// those learners.
    pub fn set_role_goal(
        &self,
        role: &str,
        goal: &str,
        request: GoalRequest,
    ) -> Result<Vec<String>, GoalError> {
        check_id(role, "role")?;
        if request.due.is_some() || request.within_days.is_none() {
            return Err(GoalError::Invalid(
                "a role's goal gives within_days (from when each learner gets it), not a date"
                    .into(),
            ));
        }
        due_of(goal, &request, self.today())?;
        self.edit_goals(|goals| {
            goals
                .roles
                .entry(role.to_string())
                .or_default()
                .insert(goal.to_string(), request);
            Ok(())
        })?;
        let assignments = self
            .assignments()
            .map_err(|e| GoalError::Corrupt(e.to_string()))?;
        let mut given = Vec::new();
        for (learner, roles) in &assignments.learner_roles {
            if roles.contains(role) && self.give_role_goals(learner)? > 0 {
                given.push(learner.clone());
            }
        }
        Ok(given)
    }

    /// Withdraws a role's goal, from the role and from every learner who got it by the role.
    pub fn withdraw_role_goal(&self, role: &str, goal: &str) -> Result<Vec<String>, GoalError> {
        check_id(role, "role")?;
        let goals = self.goals()?;
        if !goals.roles.get(role).is_some_and(|g| g.contains_key(goal)) {
            return Err(GoalError::Unknown(goal.chars().take(64).collect()));
        }
        self.edit_goals(|goals| {
            if let Some(of_role) = goals.roles.get_mut(role) {
                of_role.remove(goal);
            }
            goals.roles.retain(|_, g| !g.is_empty());
            Ok(())
        })?;
        let mut withdrawn = Vec::new();
        for (learner, of_learner) in &goals.learners {
            if of_learner
                .get(goal)
                .is_some_and(|g| !g.withdrawn && g.role.as_deref() == Some(role))
            {
                self.withdraw_learner_goal(learner, goal)?;
                withdrawn.push(learner.clone());
            }
        }
        Ok(withdrawn)
    }

    /// Gives `learner` the goals of the roles they hold that they do not have yet; how many.
    pub fn give_role_goals(&self, learner: &str) -> Result<usize, GoalError> {
        let goals = self.goals()?;
        let roles = self
            .assignments()
            .map_err(|e| GoalError::Corrupt(e.to_string()))?
            .learner_roles
            .get(learner)
            .cloned()
            .unwrap_or_default();
        let held = goals.learners.get(learner);
        let mut given = 0;
        for role in roles {
            for (goal, request) in goals.roles.get(&role).into_iter().flatten() {
                if held.and_then(|h| h.get(goal)).is_some_and(|g| !g.withdrawn) {
                    continue;
                }
                self.set_learner_goal(learner, goal, request.clone(), Some(&role))?;
                given += 1;
            }
        }
        Ok(given)
    }

    /// Removes `learner` from the goals (their erasure).
    pub fn forget_goals_of(&self, learner: &str) -> Result<(), GoalError> {
        if !self.goals()?.learners.contains_key(learner) {
            return Ok(());
        }
        self.edit_goals(|goals| {
            goals.learners.remove(learner);
            Ok(())
        })
    }
}

/// The goal routes.
pub fn routes() -> Router<Arc<Hub>> {
    Router::new()
        .route("/v1/admin/goals", get(get_goals))
        .route(
            "/v1/admin/learners/{learner}/goals/{goal}",
            put(put_learner_goal).delete(delete_learner_goal),
        )
        .route(
            "/v1/admin/roles/{role}/goals/{goal}",
            put(put_role_goal).delete(delete_role_goal),
        )
}

/// Runs `work` on the blocking pool for an admin and answers with its JSON.
async fn admin_call<T: Serialize + Send + 'static>(
    hub: Arc<Hub>,
    headers: &HeaderMap,
    what: &str,
    work: impl FnOnce(&Hub) -> Result<T, GoalError> + Send + 'static,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, headers, what) {
        return refused;
    }
    match tokio::task::spawn_blocking(move || work(&hub)).await {
        Ok(Ok(value)) => axum::Json(value).into_response(),
        Ok(Err(e)) => refuse(e.status(), e.to_string()),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, format!("{what} failed")),
    }
}

/// [`admin_call`] with the goal the request's body gives (read only once the token passes).
async fn admin_put<T: Serialize + Send + 'static>(
    hub: Arc<Hub>,
    headers: &HeaderMap,
    body: axum::body::Body,
    what: &str,
    work: impl FnOnce(&Hub, GoalRequest) -> Result<T, GoalError> + Send + 'static,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, headers, what) {
        return refused;
    }
    let body = match crate::read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let request: GoalRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"title\", \"course\", \"path\", \"stages\"?, \"skills\"?, \"due\" or \"within_days\"}}: {e}"),
            )
        }
    };
    admin_call(hub, headers, what, move |hub| work(hub, request)).await
}

async fn get_goals(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    admin_call(hub, &headers, "reading goals", |hub| hub.goals()).await
}

async fn put_learner_goal(
    State(hub): State<Arc<Hub>>,
    UrlPath((learner, goal)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    admin_put(
        hub,
        &headers,
        body,
        "setting a goal",
        move |hub, request| hub.set_learner_goal(&learner, &goal, request, None),
    )
    .await
}

async fn delete_learner_goal(
    State(hub): State<Arc<Hub>>,
    UrlPath((learner, goal)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    admin_call(hub, &headers, "withdrawing a goal", move |hub| {
        hub.withdraw_learner_goal(&learner, &goal)
            .map(|()| serde_json::json!({ "withdrawn": goal }))
    })
    .await
}

async fn put_role_goal(
    State(hub): State<Arc<Hub>>,
    UrlPath((role, goal)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    admin_put(
        hub,
        &headers,
        body,
        "setting a role's goal",
        move |hub, request| {
            let given = hub.set_role_goal(&role, &goal, request)?;
            Ok(serde_json::json!({ "role": role, "goal": goal, "given_to": given }))
        },
    )
    .await
}

async fn delete_role_goal(
    State(hub): State<Arc<Hub>>,
    UrlPath((role, goal)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    admin_call(hub, &headers, "withdrawing a role's goal", move |hub| {
        let withdrawn = hub.withdraw_role_goal(&role, &goal)?;
        Ok(serde_json::json!({ "withdrawn_from": withdrawn }))
    })
    .await
}
