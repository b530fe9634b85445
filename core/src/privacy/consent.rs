//! Consent scopes: what the learner may allow beyond their training record, and what each gates.
//!
//! The training record (enrolments, answers with their outcome, stage results, certificates) is
//! kept and synced on the employment contract or the organisation's legitimate interest; it is
//! not a consent scope. Everything optional is one of the [`ConsentScope`]s below, off until the learner
//! gives it. Giving and withdrawing are events (`ConsentChanged`), so they sync and replay like
//! any other: on conflicting changes the later one in the log's total order wins, the same on
//! every device.
//!
//! The core enforces each scope where the gated work happens (never the app):
//!
//! | scope | withdrawn, the core |
//! |---|---|
//! | `analytics` | records answers without what exactly was answered (`response` is withheld from the event, so it never reaches the server or the organisation's analytics) |
//! | `personalisation` | fits no FSRS parameters, ignores fitted ones (back to the defaults) and plans nudges without learning times or wording from the learner's outcomes |
//! | `signals` | plans no nudge and recommends nothing for an intervention a work-context signal triggered |
//! | `community` | refuses to share anything with a peer group ([`Consents::require`]) |
//! | `voice` | refuses to record a spoken answer ([`Consents::require`]) |
//! | `coaching` | keeps a coaching intervention off the manager's side (the server lists it to the manager only while the scope is given) and plans no nudge for it |
//! | `profile` | keeps the learner out of the organisation's skills view (`who has skill X`): the server answers from the learner's summary only while it is given; the learner's own inventory and credentials are theirs either way |

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// One optional use of the learner's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum ConsentScope {
    Analytics,
    Personalisation,
    Signals,
    Community,
    Voice,
    Coaching,
    Profile,
}

impl ConsentScope {
    /// Every scope, in the order the UI lists them.
    pub const ALL: [ConsentScope; 7] = [
        ConsentScope::Analytics,
        ConsentScope::Personalisation,
        ConsentScope::Signals,
        ConsentScope::Community,
        ConsentScope::Voice,
        ConsentScope::Coaching,
        ConsentScope::Profile,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ConsentScope::Analytics => "analytics",
            ConsentScope::Personalisation => "personalisation",
            ConsentScope::Signals => "signals",
            ConsentScope::Community => "community",
            ConsentScope::Voice => "voice",
            ConsentScope::Coaching => "coaching",
            ConsentScope::Profile => "profile",
        }
    }

    /// One line for the consent screen: what giving this scope allows.
    pub fn purpose(self) -> &'static str {
        match self {
            ConsentScope::Analytics => "Send the details of your answers (what you chose or wrote) to your organisation's learning analytics. Your training record (completions, results, certificates) is kept either way.",
            ConsentScope::Personalisation => "Learn from your own results when to remind you, how to word reminders and how fast your reviews should be spaced.",
            ConsentScope::Signals => "Let events at work (such as a role change or a customer case) suggest a module to you.",
            ConsentScope::Community => "Share your answers with the peer group you learn with.",
            ConsentScope::Voice => "Record spoken answers.",
            ConsentScope::Coaching => "Let your manager see a coaching conversation the L&D team suggests for you, and mark it held.",
            ConsentScope::Profile => "Share your skills (mastery, evidence and when you last showed them) with your organisation, for internal mobility and mentoring.",
        }
    }
}

impl fmt::Display for ConsentScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsentError {
    #[error("'{0}' is not a consent scope: use one of analytics, personalisation, signals, community, voice, coaching, profile")]
    UnknownScope(String),
    #[error("the learner has not given consent to '{0}': ask them on the consent screen first")]
    Required(ConsentScope),
}

impl FromStr for ConsentScope {
    type Err = ConsentError;

    fn from_str(name: &str) -> Result<ConsentScope, ConsentError> {
        ConsentScope::ALL
            .into_iter()
            .find(|scope| scope.name() == name)
            .ok_or_else(|| ConsentError::UnknownScope(name.to_string()))
    }
}

/// One scope as the learner's log leaves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ConsentState {
    pub scope: ConsentScope,
    pub purpose: String,
    pub granted: bool,
    /// When the learner last gave or withdrew it; `None`: never asked (off).
    pub changed_ms: Option<i64>,
}

/// The scopes granted now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Consents {
    granted: BTreeMap<ConsentScope, bool>,
}

impl Consents {
    /// Consents from the stored states (scopes not listed are off).
    pub fn from_states(states: &[ConsentState]) -> Consents {
        Consents {
            granted: states.iter().map(|s| (s.scope, s.granted)).collect(),
        }
    }

    pub fn is_granted(&self, scope: ConsentScope) -> bool {
        self.granted.get(&scope).copied().unwrap_or(false)
    }

    /// `Ok` when `scope` is granted; the gate every optional feature passes first.
    pub fn require(&self, scope: ConsentScope) -> Result<(), ConsentError> {
        match self.is_granted(scope) {
            true => Ok(()),
            false => Err(ConsentError::Required(scope)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scope_parses_from_its_name_and_has_a_purpose() {
        for scope in ConsentScope::ALL {
            assert_eq!(scope.name().parse::<ConsentScope>().unwrap(), scope);
            assert!(scope.purpose().len() > 20, "{scope}");
        }
        assert_eq!(
            "location".parse::<ConsentScope>(),
            Err(ConsentError::UnknownScope("location".into()))
        );
    }

    #[test]
    fn nothing_is_granted_by_default_and_require_says_which_scope() {
        let none = Consents::default();
        for scope in ConsentScope::ALL {
            assert!(!none.is_granted(scope));
            assert_eq!(none.require(scope), Err(ConsentError::Required(scope)));
        }
        let some = Consents::from_states(&[ConsentState {
            scope: ConsentScope::Voice,
            purpose: String::new(),
            granted: true,
            changed_ms: Some(1),
        }]);
        assert_eq!(some.require(ConsentScope::Voice), Ok(()));
        assert!(!some.is_granted(ConsentScope::Community));
    }

    #[test]
    fn the_training_record_is_named_as_outside_consent() {
        assert!(ConsentScope::Analytics
            .purpose()
            .contains("training record"));
    }
}
