//! `Tidbit.erase()`: the learner's store erased from this device, through the app's key store.
//!
//! The core closes the store, the app's [`crate::KeyStore`] destroys the at-rest key
//! (`destroy_at_rest_key`), and the core removes every file of the store
//! (`tidbit_core::tidbit::Tidbit::erase`). Afterwards every call on the object fails with
//! `Erased`. While a sync is still running, erase fails with `NotYet` and changes nothing
//! (cancel the sync or wait for it). If the key store cannot destroy the key, erase fails with
//! `KeyStore`, nothing is removed and the object goes on working, reopened from disk.

use std::sync::{Arc, Mutex};

use tidbit_core::tidbit::{EraseError, Tidbit as CoreTidbit};

use super::{guarded, Tidbit};
use crate::error::TidbitError;

#[uniffi::export]
impl Tidbit {
    /// Erases this learner's store from this device: closes it, has the key store destroy its
    /// at-rest key, and removes its files (database and course assets). The server's copy is
    /// not touched (the organisation erases it). Later calls fail with `Erased`.
    pub fn erase(&self) -> Result<(), TidbitError> {
        guarded("erase", || {
            let mut slot = match self.session.core.lock() {
                Ok(slot) => slot,
                Err(poisoned) => poisoned.into_inner(),
            };
            let Some(shared) = slot.take() else {
                return Err(self.session.gone());
            };
            let core = match Arc::try_unwrap(shared) {
                Ok(core) => core.into_inner().unwrap_or_else(|p| p.into_inner()),
                Err(shared) => {
                    *slot = Some(shared);
                    return Err(TidbitError::NotYet(
                        "a sync of this learner is still running: cancel it or wait for it to \
                         finish, then erase"
                            .into(),
                    ));
                }
            };
            let key_store = Arc::clone(&self.key_store);
            match core.erase(|| key_store.destroy_at_rest_key().map_err(|e| e.to_string())) {
                Ok(removed) => {
                    self.session.mark_erased();
                    tracing::info!(
                        database_files = removed.database_files,
                        asset_files = removed.asset_files,
                        "erased from this device"
                    );
                    Ok(())
                }
                Err(error @ EraseError::KeyNotDestroyed(_)) => {
                    let reopened = CoreTidbit::open(
                        self.session.config.clone(),
                        Arc::clone(&self.session.clock),
                    )?;
                    *slot = Some(Arc::new(Mutex::new(reopened)));
                    Err(error.into())
                }
                Err(error @ EraseError::Files { .. }) => {
                    self.session.mark_erased();
                    Err(error.into())
                }
            }
        })
    }
}
