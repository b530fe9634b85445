//! The skills inventory across the FFI: the record, its JSON, and the held skills as Open
//! Badges 3.0 credentials in a CLR 2.0 record (unsigned, held by the learner). Thin: the core
//! makes them from the learner's events (`tidbit_core::tidbit::Tidbit::skills_inventory`). Each
//! replays the learner's log, so each is async and runs on the blocking pool.

use std::sync::Arc;

use super::Tidbit;
use crate::error::TidbitError;
use crate::platform::run_blocking;
use crate::records::SkillInventory;

#[uniffi::export]
impl Tidbit {
    /// Every skill of the courses the learner follows: mastery now, the course's threshold,
    /// whether it is held, when it was last demonstrated, and its evidence.
    pub async fn skills_inventory(&self) -> Result<SkillInventory, TidbitError> {
        let session = Arc::clone(&self.session);
        run_blocking(move || session.run("skills_inventory", |core| Ok(core.skills_inventory()?)))
            .await
    }

    /// [`Tidbit::skills_inventory`] as JSON, for export.
    pub async fn skills_inventory_json(&self) -> Result<String, TidbitError> {
        let session = Arc::clone(&self.session);
        run_blocking(move || {
            session.run("skills_inventory_json", |core| {
                Ok(core.skills_inventory_json()?)
            })
        })
        .await
    }

    /// The held skills as Open Badges 3.0 credentials in one CLR 2.0 `ClrCredential` (JSON).
    /// Unsigned: a record the learner holds, not an attestation by the organisation.
    pub async fn skill_credentials(&self) -> Result<String, TidbitError> {
        let session = Arc::clone(&self.session);
        run_blocking(move || session.run("skill_credentials", |core| Ok(core.skill_credentials()?)))
            .await
    }
}
