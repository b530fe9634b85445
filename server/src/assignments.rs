//! Which courses each learner is offered: course assignments to everyone, to roles and to
//! learners, and each learner's roles.
//!
//! The L&D team assigns with `POST /v1/admin/assignments` (or `tidbit serve assign`) and gives
//! learners roles with `PUT /v1/admin/learners/{learner}/roles`; `GET /v1/admin/assignments`
//! shows them all. A learner's catalog, `GET /v1/learners/{learner}/catalog` with their token,
//! lists the latest published version of each course assigned to them, and a learner's token
//! downloads only those packs (any other is "no such pack"). An assignment may name a course
//! before its first version is published: the course appears in the catalog once it is.
//!
//! The assignments are one JSON value in the storage's `server_meta` (the same on SQLite and
//! PostgreSQL), written whole by each change under this process's lock; an erasure removes the
//! learner from them before their data goes, and an erased learner gets none. Two changes made
//! at the same moment through two processes on one database may lose one of them (the last
//! write wins): make assignment changes through one process, or check
//! `GET /v1/admin/assignments` after a batch.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::storage::StorageError;
use crate::{refuse, Hub};

/// The `server_meta` entry holding the assignments.
const META_NAME: &str = "course_assignments";
/// The most roles one learner holds.
pub const MAX_ROLES: usize = 32;

/// Every assignment the server holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignments {
    /// Courses every learner is offered.
    #[serde(default)]
    pub everyone: BTreeSet<String>,
    /// Courses offered to each role.
    #[serde(default)]
    pub roles: BTreeMap<String, BTreeSet<String>>,
    /// Courses offered to one learner.
    #[serde(default)]
    pub learners: BTreeMap<String, BTreeSet<String>>,
    /// Each learner's roles.
    #[serde(default)]
    pub learner_roles: BTreeMap<String, BTreeSet<String>>,
}

impl Assignments {
    /// The courses `learner` is offered.
    pub fn courses_for(&self, learner: &str) -> BTreeSet<String> {
        let mut courses = self.everyone.clone();
        if let Some(own) = self.learners.get(learner) {
            courses.extend(own.iter().cloned());
        }
        for role in self.learner_roles.get(learner).into_iter().flatten() {
            if let Some(of_role) = self.roles.get(role) {
                courses.extend(of_role.iter().cloned());
            }
        }
        courses
    }

    /// Removes every mention of `learner`; whether there was one.
    pub fn forget_learner(&mut self, learner: &str) -> bool {
        let own = self.learners.remove(learner).is_some();
        let roles = self.learner_roles.remove(learner).is_some();
        own || roles
    }
}

/// Who an assignment is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assignee {
    Everyone,
    Role(String),
    Learner(String),
}

/// `POST /v1/admin/assignments`: `{"course": "...", "to": "everyone" | {"role": "..."} |
/// {"learner": "..."}, "remove": false}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssignmentChange {
    pub course: String,
    pub to: Assignee,
    #[serde(default)]
    pub remove: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum AssignmentError {
    #[error("'{0}' is not a valid {1} id (letters, digits, '-', '_', '.', '@'; at most 128)")]
    BadId(String, &'static str),
    #[error("a learner holds at most {MAX_ROLES} roles")]
    TooManyRoles,
    #[error("learner '{0}' was erased: their id is retired, give the person a new one")]
    Erased(String),
    #[error("the stored assignments are unreadable ({0}); restore server_meta from a backup")]
    Corrupt(String),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Poisoned(#[from] crate::Poisoned),
    #[error("the roles are set, but their goals could not be given: {0}")]
    Goals(String),
}

impl AssignmentError {
    fn status(&self) -> StatusCode {
        match self {
            AssignmentError::BadId(..) | AssignmentError::TooManyRoles => StatusCode::BAD_REQUEST,
            AssignmentError::Erased(_) => StatusCode::GONE,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

fn check_id(id: &str, what: &'static str) -> Result<(), AssignmentError> {
    if crate::auth::valid_id(id) {
        Ok(())
    } else {
        Err(AssignmentError::BadId(id.chars().take(64).collect(), what))
    }
}

impl Hub {
    /// The assignments as stored.
    pub fn assignments(&self) -> Result<Assignments, AssignmentError> {
        match self.storage.meta(META_NAME)? {
            None => Ok(Assignments::default()),
            Some(bytes) => {
                serde_json::from_slice(&bytes).map_err(|e| AssignmentError::Corrupt(e.to_string()))
            }
        }
    }

    /// Applies `edit` to the stored assignments and stores the result, under this process's
    /// lock; returns what is stored now.
    fn edit_assignments(
        &self,
        edit: impl FnOnce(&mut Assignments) -> Result<(), AssignmentError>,
    ) -> Result<Assignments, AssignmentError> {
        let _guard = self.assignments_lock.lock().map_err(|_| crate::Poisoned)?;
        let mut assignments = self.assignments()?;
        edit(&mut assignments)?;
        let bytes = serde_json::to_vec(&assignments)
            .map_err(|e| AssignmentError::Corrupt(e.to_string()))?;
        self.storage.put_meta(META_NAME, &bytes)?;
        Ok(assignments)
    }

    /// A learner id that may be given assignments: valid, and not erased.
    fn check_learner(&self, learner: &str) -> Result<(), AssignmentError> {
        check_id(learner, "learner")?;
        if self.storage.is_erased(learner)? {
            return Err(AssignmentError::Erased(learner.to_string()));
        }
        Ok(())
    }

    /// Assigns a course (or, with `remove`, takes the assignment back).
    pub fn change_assignment(
        &self,
        change: &AssignmentChange,
    ) -> Result<Assignments, AssignmentError> {
        check_id(&change.course, "course")?;
        match &change.to {
            Assignee::Everyone => {}
            Assignee::Role(role) => check_id(role, "role")?,
            Assignee::Learner(learner) => self.check_learner(learner)?,
        }
        self.edit_assignments(|assignments| {
            let set = match &change.to {
                Assignee::Everyone => &mut assignments.everyone,
                Assignee::Role(role) => assignments.roles.entry(role.clone()).or_default(),
                Assignee::Learner(learner) => {
                    assignments.learners.entry(learner.clone()).or_default()
                }
            };
            if change.remove {
                set.remove(&change.course);
            } else {
                set.insert(change.course.clone());
            }
            assignments.roles.retain(|_, courses| !courses.is_empty());
            assignments
                .learners
                .retain(|_, courses| !courses.is_empty());
            Ok(())
        })
    }

    /// Sets `learner`'s roles (none: the learner holds no role).
    pub fn set_learner_roles(
        &self,
        learner: &str,
        roles: &BTreeSet<String>,
    ) -> Result<Assignments, AssignmentError> {
        self.check_learner(learner)?;
        if roles.len() > MAX_ROLES {
            return Err(AssignmentError::TooManyRoles);
        }
        for role in roles {
            check_id(role, "role")?;
        }
        let assignments = self.edit_assignments(|assignments| {
            if roles.is_empty() {
                assignments.learner_roles.remove(learner);
            } else {
                assignments
                    .learner_roles
                    .insert(learner.to_string(), roles.clone());
            }
            Ok(())
        })?;
        // The goals of a role come with it.
        self.give_role_goals(learner)
            .map_err(|e| AssignmentError::Goals(e.to_string()))?;
        Ok(assignments)
    }

    /// Removes `learner` from every assignment (their erasure).
    pub fn forget_assignee(&self, learner: &str) -> Result<(), AssignmentError> {
        if !self.assignments()?.clone().forget_learner(learner) {
            return Ok(());
        }
        self.edit_assignments(|assignments| {
            assignments.forget_learner(learner);
            Ok(())
        })
        .map(|_| ())
    }

    /// The latest published version of each course `learner` is offered.
    pub fn learner_catalog(
        &self,
        learner: &str,
    ) -> Result<Vec<crate::content::CatalogEntry>, String> {
        let courses = self
            .assignments()
            .map_err(|e| e.to_string())?
            .courses_for(learner);
        let all = crate::content::catalog(&self.packs_dir, &self.pack_tags)
            .map_err(|e| format!("the packs could not be read: {e}"))?;
        Ok(crate::content::latest_versions(
            all.into_iter()
                .filter(|entry| courses.contains(&entry.course_id))
                .collect(),
        ))
    }
}

fn answer(result: Result<Assignments, AssignmentError>) -> Response {
    match result {
        Ok(assignments) => axum::Json(assignments).into_response(),
        Err(error) => refuse(error.status(), error.to_string()),
    }
}

/// `GET /v1/admin/assignments`.
pub async fn get_assignments(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "reading assignments") {
        return refused;
    }
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || worker.assignments()).await {
        Ok(result) => answer(result),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the assignments failed"),
    }
}

/// `POST /v1/admin/assignments`.
pub async fn post_assignment(
    State(hub): State<Arc<Hub>>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "assigning courses") {
        return refused;
    }
    let body = match crate::read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let change: AssignmentChange = match serde_json::from_slice(&body) {
        Ok(change) => change,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not an assignment: {e}")),
    };
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || worker.change_assignment(&change)).await {
        Ok(result) => answer(result),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the assignment failed"),
    }
}

/// `PUT /v1/admin/learners/{learner}/roles`: `{"roles": ["..."]}`.
pub async fn put_learner_roles(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Roles {
        roles: BTreeSet<String>,
    }
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "setting roles") {
        return refused;
    }
    let body = match crate::read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let roles: Roles = match serde_json::from_slice(&body) {
        Ok(roles) => roles,
        Err(e) => return refuse(StatusCode::BAD_REQUEST, format!("not a list of roles: {e}")),
    };
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || worker.set_learner_roles(&learner, &roles.roles))
        .await
    {
        Ok(result) => answer(result),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the roles failed"),
    }
}

/// `GET /v1/learners/{learner}/catalog` with the learner's token: `{"courses": [...]}`.
pub async fn get_learner_catalog(
    State(hub): State<Arc<Hub>>,
    UrlPath(learner): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = crate::authorize_learner(&hub, &headers, &learner).await {
        return refused;
    }
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || worker.learner_catalog(&learner)).await {
        Ok(Ok(courses)) => axum::Json(serde_json::json!({ "courses": courses })).into_response(),
        Ok(Err(message)) => refuse(StatusCode::INTERNAL_SERVER_ERROR, message),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the catalog failed"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_learner_is_offered_the_courses_of_everyone_their_roles_and_their_own() {
        let mut assignments = Assignments::default();
        assignments.everyone.insert("safety".into());
        assignments
            .roles
            .entry("driver".into())
            .or_default()
            .insert("loading".into());
        assignments
            .roles
            .entry("nurse".into())
            .or_default()
            .insert("triage".into());
        assignments
            .learners
            .entry("ana".into())
            .or_default()
            .insert("radio".into());
        assignments
            .learner_roles
            .insert("ana".into(), BTreeSet::from(["driver".into()]));
        let names = |set: BTreeSet<String>| set.into_iter().collect::<Vec<_>>();
        assert_eq!(
            names(assignments.courses_for("ana")),
            ["loading", "radio", "safety"]
        );
        assert_eq!(names(assignments.courses_for("bo")), ["safety"]);
        assert!(assignments.forget_learner("ana"));
        assert_eq!(names(assignments.courses_for("ana")), ["safety"]);
        assert!(!assignments.forget_learner("ana"));
    }

    #[test]
    fn an_assignment_reads_as_the_admin_api_documents_it() {
        let change: AssignmentChange =
            serde_json::from_str(r#"{"course": "safety", "to": {"role": "driver"}}"#).unwrap();
        assert_eq!(change.to, Assignee::Role("driver".into()));
        assert!(!change.remove);
        let everyone: AssignmentChange =
            serde_json::from_str(r#"{"course": "safety", "to": "everyone", "remove": true}"#)
                .unwrap();
        assert_eq!(everyone.to, Assignee::Everyone);
        assert!(
            serde_json::from_str::<AssignmentChange>(r#"{"course": "s", "to": "all"}"#).is_err()
        );
    }
}
