//! The shape of an xAPI 1.0.3 statement as Tidbit writes it (field order as the standard lists
//! it), and the formats its values take: ISO 8601 durations, UTC timestamps with milliseconds,
//! IRI path segments and name-based statement ids.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The namespace of Tidbit's statement ids (UUID v5).
const STATEMENT_NAMESPACE: [u8; 16] = [
    0x5b, 0x0e, 0x7c, 0x1a, 0x3d, 0x4f, 0x4e, 0x21, 0x9a, 0x61, 0x2c, 0x8d, 0x77, 0x10, 0xe4, 0x3b,
];

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

/// An id as an IRI path segment: content ids are already safe; anything else (an event from a
/// hostile peer naming an odd course) is percent-encoded.
pub(super) fn segment(id: &str) -> String {
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
}
