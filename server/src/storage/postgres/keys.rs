//! The learner keys a PostgreSQL storage unwraps once per process, beside the server key that
//! unwraps them.

use std::collections::HashMap;
use std::sync::Arc;

use deadpool_postgres::GenericClient;

use super::StorageError;
use crate::sealing::{LearnerKey, ServerKey};

/// The server key, and the learner keys it unwrapped: an exchange reads its learner's key
/// several times, and unwrapping it once per process is enough. Only keys read from the
/// database are kept (a key made in a transaction that then failed must never be reused); an
/// erased learner's key is forgotten by the process that erased, and in any other process it
/// opens nothing more, since the erasure deleted the rows and every write checks the tombstone
/// first.
pub(super) struct Keys {
    server: Arc<ServerKey>,
    unwrapped: std::sync::Mutex<HashMap<String, Arc<LearnerKey>>>,
}

/// Learner keys kept at most; past it the set starts again empty.
const KEYS_KEPT: usize = 20_000;

impl Keys {
    /// The server's key, with no learner key unwrapped yet.
    pub(super) fn new(server: Arc<ServerKey>) -> Keys {
        Keys {
            server,
            unwrapped: std::sync::Mutex::new(HashMap::new()),
        }
    }

    pub(super) async fn get(
        &self,
        client: &impl GenericClient,
        learner: &str,
    ) -> Result<Option<Arc<LearnerKey>>, StorageError> {
        if let Some(kept) = self.kept()?.get(learner) {
            return Ok(Some(kept.clone()));
        }
        let statement = client
            .prepare_cached("SELECT wrapped FROM learner_keys WHERE learner = $1")
            .await?;
        let Some(row) = client.query_opt(&statement, &[&learner]).await? else {
            return Ok(None);
        };
        let key = Arc::new(
            self.server
                .unwrap_learner_key(learner, row.get::<_, &[u8]>(0))?,
        );
        let mut kept = self.kept()?;
        if kept.len() >= KEYS_KEPT {
            kept.clear();
        }
        kept.insert(learner.to_string(), key.clone());
        Ok(Some(key))
    }

    /// The learner's key, made on their first write: call it holding the learner's lock.
    pub(super) async fn get_or_new(
        &self,
        client: &impl GenericClient,
        learner: &str,
    ) -> Result<Arc<LearnerKey>, StorageError> {
        if let Some(existing) = self.get(client, learner).await? {
            return Ok(existing);
        }
        let (fresh, wrapped) = self.server.new_learner_key(learner)?;
        let statement = client
            .prepare_cached("INSERT INTO learner_keys (learner, wrapped) VALUES ($1, $2)")
            .await?;
        client.execute(&statement, &[&learner, &wrapped]).await?;
        Ok(Arc::new(fresh))
    }

    pub(super) fn forget(&self, learner: &str) -> Result<(), StorageError> {
        self.kept()?.remove(learner);
        Ok(())
    }

    fn kept(
        &self,
    ) -> Result<std::sync::MutexGuard<'_, HashMap<String, Arc<LearnerKey>>>, StorageError> {
        self.unwrapped.lock().map_err(|_| StorageError::Poisoned)
    }
}
