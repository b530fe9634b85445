//! The roles of admin tokens and which admin endpoint each may call.
//!
//! Four roles, for the four kinds of people behind the admin API:
//! - **operator**: runs the server; may call every admin endpoint, and is the only role that may
//!   erase or export a learner, revoke all of a learner's tokens, list every device, or read the
//!   audit log. An admin endpoint [`ENDPOINTS`] does not name is for operators only.
//! - **author** (L&D author): writes the courses; assigns them, triggers interventions and
//!   wake-ups, decides reviews, reads metrics, runs experiments and asks who holds a skill.
//! - **analyst** (L&D analyst): reads metrics, the learning-records outbox and runs experiments.
//! - **manager**: looks after learners; sets their (job) roles and assigns courses, triggers
//!   interventions and wake-ups, decides reviews, reads metrics, asks who holds a skill (among
//!   learners who share their skills), lists a learner's devices and revokes one (a lost phone).
//!
//! The table is checked in one place, before any handler runs ([`super::gate`]); it never grants
//! more than an admin token: a device's token opens no admin endpoint whatever its claims.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The role an admin token carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Operator,
    Author,
    Analyst,
    Manager,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Operator, Role::Author, Role::Analyst, Role::Manager];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Author => "author",
            Role::Analyst => "analyst",
            Role::Manager => "manager",
        }
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a role: operator, author, analyst or manager")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(text: &str) -> Result<Role, UnknownRole> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == text)
            .ok_or_else(|| UnknownRole(text.chars().take(32).collect()))
    }
}

use Role::{Analyst, Author, Manager, Operator};

/// Each admin endpoint (method and route, as the router names it) with the roles that may call
/// it. Operators may call every one.
pub const ENDPOINTS: &[(&str, &str, &[Role])] = &[
    (
        "POST",
        "/v1/admin/learners/{learner}/interventions",
        &[Operator, Author, Manager],
    ),
    (
        "POST",
        "/v1/admin/learners/{learner}/wake",
        &[Operator, Author, Manager],
    ),
    ("GET", "/v1/admin/assignments", &[Operator, Author, Manager]),
    (
        "POST",
        "/v1/admin/assignments",
        &[Operator, Author, Manager],
    ),
    (
        "PUT",
        "/v1/admin/learners/{learner}/roles",
        &[Operator, Manager],
    ),
    ("DELETE", "/v1/admin/learners/{learner}", &[Operator]),
    ("GET", "/v1/admin/learners/{learner}/export", &[Operator]),
    ("GET", "/v1/admin/reviews", &[Operator, Author, Manager]),
    (
        "POST",
        "/v1/admin/learners/{learner}/reviews/{review}",
        &[Operator, Author, Manager],
    ),
    ("GET", "/v1/admin/records", &[Operator, Analyst]),
    (
        "GET",
        "/v1/admin/metrics",
        &[Operator, Author, Analyst, Manager],
    ),
    ("GET", "/v1/admin/experiments", &[Operator, Author, Analyst]),
    (
        "GET",
        "/v1/admin/skills/{course}/{skill}/holders",
        &[Operator, Author, Manager],
    ),
    (
        "POST",
        "/v1/admin/experiments",
        &[Operator, Author, Analyst],
    ),
    ("GET", "/v1/admin/devices", &[Operator]),
    (
        "GET",
        "/v1/admin/learners/{learner}/devices",
        &[Operator, Manager],
    ),
    (
        "POST",
        "/v1/admin/learners/{learner}/devices/{device}/revoke",
        &[Operator, Manager],
    ),
    ("POST", "/v1/admin/learners/{learner}/revoke", &[Operator]),
    ("GET", "/v1/admin/audit", &[Operator]),
    (
        "GET",
        "/v1/admin/cohorts",
        &[Operator, Author, Analyst, Manager],
    ),
    ("POST", "/v1/admin/cohorts", &[Operator, Author, Manager]),
    (
        "GET",
        "/v1/admin/goals",
        &[Operator, Author, Analyst, Manager],
    ),
    (
        "PUT",
        "/v1/admin/learners/{learner}/goals/{goal}",
        &[Operator, Author, Manager],
    ),
    (
        "DELETE",
        "/v1/admin/learners/{learner}/goals/{goal}",
        &[Operator, Author, Manager],
    ),
    (
        "PUT",
        "/v1/admin/roles/{role}/goals/{goal}",
        &[Operator, Author, Manager],
    ),
    (
        "DELETE",
        "/v1/admin/roles/{role}/goals/{goal}",
        &[Operator, Author, Manager],
    ),
    (
        "POST",
        "/v1/admin/cohorts/auto",
        &[Operator, Author, Manager],
    ),
    (
        "GET",
        "/v1/admin/cohorts/{cohort}",
        &[Operator, Author, Manager],
    ),
    (
        "POST",
        "/v1/admin/cohorts/{cohort}/hide",
        &[Operator, Author, Manager],
    ),
];

/// The roles that may call `method` on `route` (the router's pattern, such as
/// `/v1/admin/learners/{learner}`): those [`ENDPOINTS`] names, or operators only.
pub fn allowed(method: &str, route: &str) -> &'static [Role] {
    ENDPOINTS
        .iter()
        .find(|(m, r, _)| *m == method && *r == route)
        .map_or(&[Operator], |(_, _, roles)| roles)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_may_call_every_admin_endpoint_and_every_route_is_named_once() {
        for (method, route, roles) in ENDPOINTS {
            assert!(roles.contains(&Operator), "{method} {route}");
            let named = ENDPOINTS
                .iter()
                .filter(|(m, r, _)| m == method && r == route)
                .count();
            assert_eq!(named, 1, "{method} {route}");
        }
    }

    #[test]
    fn an_endpoint_the_table_does_not_name_is_for_operators_only() {
        assert_eq!(allowed("POST", "/v1/admin/something-new"), &[Operator]);
        assert_eq!(
            allowed("DELETE", "/v1/admin/learners/{learner}"),
            &[Operator]
        );
        assert!(allowed("GET", "/v1/admin/metrics").contains(&Analyst));
        assert!(!allowed("GET", "/v1/admin/learners/{learner}/export").contains(&Analyst));
    }

    #[test]
    fn roles_read_back_from_their_names_and_nothing_else() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!(
            "admin".parse::<Role>(),
            Err(UnknownRole("admin".to_string()))
        );
    }
}
