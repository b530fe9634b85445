//! The eleven item kinds, in one vocabulary: the name stored in packs, events and projections,
//! the label people read in messages, and the typical time a learner spends on one.

use serde::{Deserialize, Serialize};

/// What kind of interaction an item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemKind {
    Single,
    Multiple,
    TrueFalse,
    Blanks,
    Order,
    Match,
    Numeric,
    Scenario,
    Flashcard,
    Reflection,
    Voice,
}

impl ItemKind {
    pub const ALL: [ItemKind; 11] = [
        ItemKind::Single,
        ItemKind::Multiple,
        ItemKind::TrueFalse,
        ItemKind::Blanks,
        ItemKind::Order,
        ItemKind::Match,
        ItemKind::Numeric,
        ItemKind::Scenario,
        ItemKind::Flashcard,
        ItemKind::Reflection,
        ItemKind::Voice,
    ];

    /// The name authors write after `:::`, and that recorded answers, cards and plans carry.
    pub fn name(self) -> &'static str {
        match self {
            ItemKind::Single => "single",
            ItemKind::Multiple => "multiple",
            ItemKind::TrueFalse => "truefalse",
            ItemKind::Blanks => "blanks",
            ItemKind::Order => "order",
            ItemKind::Match => "match",
            ItemKind::Numeric => "numeric",
            ItemKind::Scenario => "scenario",
            ItemKind::Flashcard => "flashcard",
            ItemKind::Reflection => "reflection",
            ItemKind::Voice => "voice",
        }
    }

    /// The kind by its [`ItemKind::name`].
    pub fn from_name(name: &str) -> Option<ItemKind> {
        ItemKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The kind as people read it in a message.
    pub fn label(self) -> &'static str {
        match self {
            ItemKind::Single => "single-choice",
            ItemKind::Multiple => "multiple-response",
            ItemKind::TrueFalse => "true/false",
            ItemKind::Blanks => "fill-in-the-blanks",
            ItemKind::Order => "ordering",
            ItemKind::Match => "matching",
            ItemKind::Numeric => "numeric",
            ItemKind::Scenario => "scenario",
            ItemKind::Flashcard => "flashcard",
            ItemKind::Reflection => "reflection",
            ItemKind::Voice => "voice",
        }
    }

    /// Typical seconds a learner spends on an item of this kind, before their own answers say
    /// otherwise. A scenario takes about 30 s a decision: this is one of three decisions; with
    /// the item at hand, [`super::Interaction::typical_seconds`] counts its own.
    pub fn typical_seconds(self) -> u32 {
        match self {
            ItemKind::TrueFalse | ItemKind::Flashcard => 15,
            ItemKind::Single => 20,
            ItemKind::Multiple | ItemKind::Blanks | ItemKind::Numeric => 30,
            ItemKind::Order | ItemKind::Match => 45,
            ItemKind::Scenario => SCENARIO_SECONDS_PER_DECISION * 3,
            ItemKind::Reflection => 90,
            // Thinking, then speaking for a minute or two.
            ItemKind::Voice => 120,
        }
    }
}

/// Seconds a learner takes over one decision of a scenario.
pub const SCENARIO_SECONDS_PER_DECISION: u32 = 30;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_found_by_its_name_and_names_are_distinct() {
        for kind in ItemKind::ALL {
            assert_eq!(ItemKind::from_name(kind.name()), Some(kind));
        }
        let names: std::collections::BTreeSet<_> = ItemKind::ALL.map(ItemKind::name).into();
        assert_eq!(names.len(), 11);
        assert_eq!(ItemKind::from_name("single-choice"), None);
    }

    #[test]
    fn the_serde_name_is_the_stored_name() {
        for kind in ItemKind::ALL {
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.name())
            );
        }
    }
}
