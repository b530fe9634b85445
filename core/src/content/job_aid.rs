//! Job aids: one-screen reference cards a course carries next to its modules (a checklist for
//! the moment of work, the order of a procedure), which an intervention may point a learner to.
//!
//! A job aid has an id, a title, the skills it supports and a short plain-text body: at most
//! [`MAX_JOB_AID_LINES`] lines and [`MAX_JOB_AID_CHARS`] characters, so it fits one phone
//! screen without scrolling. [`JobAid::check`] holds those limits for the compiler and for a
//! pack being installed alike.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::model::{is_valid_id, CourseError};

/// The most lines a job aid's body may have.
pub const MAX_JOB_AID_LINES: usize = 16;
/// The most characters a job aid's body may have.
pub const MAX_JOB_AID_CHARS: usize = 1_200;

/// A one-screen reference card.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct JobAid {
    pub id: String,
    pub title: String,
    /// Skills of the course it supports.
    #[serde(default)]
    pub skills: Vec<String>,
    /// Plain text, one item a line.
    pub body: String,
}

impl JobAid {
    /// Checks the id, the skills against the course's and that the card fits one screen.
    pub fn check(&self, skills: &BTreeSet<&str>) -> Result<(), CourseError> {
        if !is_valid_id(&self.id) {
            return Err(CourseError::BadId {
                id: self.id.clone(),
            });
        }
        for skill in &self.skills {
            if !skills.contains(skill.as_str()) {
                return Err(CourseError::UnknownReference {
                    what: "job aid",
                    id: self.id.clone(),
                    target: "skill",
                    missing: skill.clone(),
                });
            }
        }
        if let Some(why) = self.screen_problem() {
            return Err(CourseError::JobAidTooLong {
                aid: self.id.clone(),
                why,
            });
        }
        Ok(())
    }

    /// Why the card does not fit one screen, if it does not.
    pub fn screen_problem(&self) -> Option<String> {
        let lines = self.body.trim().lines().count();
        let chars = self.body.trim().chars().count();
        if self.title.trim().is_empty() || self.title.chars().count() > 80 {
            Some("its title must be 1 to 80 characters".into())
        } else if chars == 0 {
            Some("its body is empty".into())
        } else if lines > MAX_JOB_AID_LINES {
            Some(format!("{lines} lines, more than {MAX_JOB_AID_LINES}"))
        } else if chars > MAX_JOB_AID_CHARS {
            Some(format!("{chars} characters, more than {MAX_JOB_AID_CHARS}"))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aid(body: &str) -> JobAid {
        JobAid {
            id: "drsabcd-card".into(),
            title: "DRSABCD at a glance".into(),
            skills: vec!["primary-survey".into()],
            body: body.into(),
        }
    }

    #[test]
    fn a_card_that_fits_one_screen_and_names_known_skills_checks() {
        let skills = BTreeSet::from(["primary-survey"]);
        aid("D: danger\nR: response").check(&skills).unwrap();
        assert!(matches!(
            aid("D").check(&BTreeSet::new()),
            Err(CourseError::UnknownReference { missing, .. }) if missing == "primary-survey"
        ));
    }

    #[test]
    fn a_card_longer_than_a_screen_is_refused_with_its_size() {
        let skills = BTreeSet::from(["primary-survey"]);
        let long = vec!["a line"; MAX_JOB_AID_LINES + 1].join("\n");
        match aid(&long).check(&skills) {
            Err(CourseError::JobAidTooLong { why, .. }) => {
                assert_eq!(why, "17 lines, more than 16")
            }
            other => panic!("expected too long, got {other:?}"),
        }
        assert!(aid(&"x".repeat(MAX_JOB_AID_CHARS + 1))
            .check(&skills)
            .is_err());
        assert!(aid("  ").check(&skills).is_err());
    }
}
