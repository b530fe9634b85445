//! The shape a recorded answer's response may take, per item kind: counts and indices below
//! what any item holds, texts of bounded length, finite numbers, and for a spoken answer a
//! recording named by its SHA-256 and no longer than any voice item allows. A voice response
//! only ever names its recording; an event never carries audio, so there is nothing here to
//! decode. Part of the hostile-peer model ([`super`]); nothing here touches storage.

use super::{field, text, Refusal, MAX_RESPONSE_ENTRIES, MAX_TEXT_BYTES};
use crate::content::items::MAX_VOICE_SECONDS;
use crate::events::{is_recording_name, Response};

/// The longest recording a voice response may name, in milliseconds.
pub const MAX_VOICE_MS: u32 = MAX_VOICE_SECONDS * 1000;

pub(super) fn check_response(response: &Response, item_kind: &str) -> Result<(), Refusal> {
    if response.item_kind().name() != item_kind {
        return Err(field(
            "response",
            format!(
                "a {} response for a '{item_kind}' item",
                response.item_kind().label()
            ),
        ));
    }
    let entries = |n: usize| {
        if n > MAX_RESPONSE_ENTRIES {
            Err(field(
                "response",
                format!("{n} entries, more than {MAX_RESPONSE_ENTRIES}"),
            ))
        } else {
            Ok(())
        }
    };
    let indices = |list: &[u32]| {
        entries(list.len())?;
        if list.iter().any(|&i| i as usize >= MAX_RESPONSE_ENTRIES) {
            return Err(field("response", "an index beyond any item's options"));
        }
        Ok(())
    };
    match response {
        Response::SingleChoice { choice } => indices(std::slice::from_ref(choice)),
        Response::MultipleResponse { choices } => indices(choices),
        Response::Ordering { order } => indices(order),
        Response::Scenario { path } => indices(path),
        Response::TrueFalse { .. } | Response::Flashcard { .. } => Ok(()),
        Response::FillBlanks { answers: texts } | Response::Matching { targets: texts } => {
            entries(texts.len())?;
            texts
                .iter()
                .try_for_each(|t| text("response", t, MAX_TEXT_BYTES))
        }
        Response::Numeric { value } if value.is_finite() => Ok(()),
        Response::Numeric { .. } => Err(field("response", "a number that is not finite")),
        Response::Reflection {
            text: t,
            criteria_met,
        } => {
            entries(criteria_met.len())?;
            text("response", t, MAX_TEXT_BYTES)
        }
        Response::Voice {
            audio,
            duration_ms,
            criteria_met,
        } => {
            entries(criteria_met.len())?;
            if !is_recording_name(audio) {
                return Err(field(
                    "response",
                    "a recording not named by 64 lowercase hex digits (its SHA-256)",
                ));
            }
            if *duration_ms > MAX_VOICE_MS {
                return Err(field(
                    "response",
                    format!("a recording of {duration_ms} ms, longer than {MAX_VOICE_MS} ms"),
                ));
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spoken(audio: &str, duration_ms: u32, flags: usize) -> Response {
        Response::Voice {
            audio: audio.into(),
            duration_ms,
            criteria_met: vec![true; flags],
        }
    }

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    #[test]
    fn a_voice_response_naming_its_recording_within_the_bounds_passes() {
        check_response(&spoken(SHA, 0, 0), "voice").unwrap();
        check_response(&spoken(SHA, MAX_VOICE_MS, MAX_RESPONSE_ENTRIES), "voice").unwrap();
    }

    #[test]
    fn a_voice_response_whose_recording_is_not_a_lowercase_sha256_is_refused() {
        let upper = SHA.to_uppercase();
        let audio_bytes = "UklGRiQAAABXQVZFZm10IBAAAAABAAEA".repeat(2);
        for audio in ["", &SHA[..63], &format!("{SHA}0"), &upper, &audio_bytes] {
            let refusal = check_response(&spoken(audio, 1_000, 1), "voice").unwrap_err();
            assert!(
                refusal.to_string().contains("64 lowercase hex"),
                "{refusal}"
            );
        }
    }

    #[test]
    fn a_voice_response_longer_than_any_voice_item_allows_is_refused() {
        let refusal = check_response(&spoken(SHA, MAX_VOICE_MS + 1, 1), "voice").unwrap_err();
        assert!(refusal.to_string().contains("600001 ms"), "{refusal}");
    }

    #[test]
    fn a_voice_response_with_more_criteria_than_any_item_holds_is_refused() {
        let refusal =
            check_response(&spoken(SHA, 1_000, MAX_RESPONSE_ENTRIES + 1), "voice").unwrap_err();
        assert!(refusal.to_string().contains("257 entries"), "{refusal}");
    }

    #[test]
    fn a_voice_response_for_another_item_kind_is_refused() {
        assert!(check_response(&spoken(SHA, 1_000, 1), "reflection").is_err());
    }
}
