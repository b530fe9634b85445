//! The learner's skills inventory on the device: every skill of the courses they follow with
//! its mastery, evidence and when it was last demonstrated, as a record, as JSON, and as Open
//! Badges 3.0 credentials in a Comprehensive Learner Record (unsigned, held by the learner; see
//! [`crate::analytics::inventory::credentials`]). Made from the learner's own events as the
//! server makes it, so the two agree; it replays the log, so call it off the UI thread. Reads
//! only; records nothing.

use super::{Tidbit, TidbitError};
use crate::analytics::inventory::{self, credentials, SkillInventory};

impl Tidbit {
    /// The learner's skills inventory, as of now.
    pub fn skills_inventory(&self) -> Result<SkillInventory, TidbitError> {
        let summary = self.engagement()?;
        let now_ms = self.clock.now().timestamp_millis();
        Ok(inventory::inventory(&self.store, &summary, now_ms)?)
    }

    /// [`Tidbit::skills_inventory`] as pretty-printed JSON.
    pub fn skills_inventory_json(&self) -> Result<String, TidbitError> {
        pretty(&self.skills_inventory()?)
    }

    /// The held skills (mastery at or above the course's threshold) as Open Badges 3.0
    /// credentials wrapped in one CLR 2.0 `ClrCredential`, pretty-printed JSON. Unsigned.
    pub fn skill_credentials(&self) -> Result<String, TidbitError> {
        pretty(&credentials::credentials(&self.skills_inventory()?))
    }
}

fn pretty(value: &impl serde::Serialize) -> Result<String, TidbitError> {
    serde_json::to_string_pretty(value).map_err(|e| TidbitError::Corrupt(e.to_string()))
}
