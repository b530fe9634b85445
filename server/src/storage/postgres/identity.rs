//! The PostgreSQL side of identity: enrolled devices, token revocations and the admin audit
//! log, the same rows as the SQLite store's (`storage/identity.rs`). Enrolments and
//! revocations take the learner's advisory lock and check their tombstone in the same
//! transaction, so nothing is written for a learner an erasure has just removed.

use super::{execute, lock_learner, PostgresStorage, StorageError};
use crate::storage::{AuditEntry, DeviceRecord, Revocation};

impl PostgresStorage {
    pub(super) async fn enrol_device_async(
        &self,
        learner: &str,
        device: &str,
        at_ms: i64,
    ) -> Result<(), StorageError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await?;
        if lock_learner(&tx, &self.key, learner).await? {
            return Err(StorageError::Erased);
        }
        execute(
            &tx,
            "INSERT INTO devices (learner, device, enrolled_ms, signed_in_ms) VALUES ($1, $2, $3, $3)
             ON CONFLICT (learner, device) DO UPDATE SET signed_in_ms = excluded.signed_in_ms",
            &[&learner, &device, &at_ms],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn revoke_async(
        &self,
        learner: &str,
        device: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StorageError> {
        let mut client = self.db.client().await?;
        let tx = client.transaction().await?;
        if lock_learner(&tx, &self.key, learner).await? {
            return Err(StorageError::Erased);
        }
        match device {
            Some(device) => execute(
                &tx,
                "INSERT INTO devices (learner, device, enrolled_ms, revoked_ms) VALUES ($1, $2, $3, $3)
                 ON CONFLICT (learner, device)
                 DO UPDATE SET revoked_ms = GREATEST(coalesce(devices.revoked_ms, 0), excluded.revoked_ms)",
                &[&learner, &device, &at_ms],
            )
            .await?,
            None => execute(
                &tx,
                "INSERT INTO learner_revocations (learner, revoked_ms) VALUES ($1, $2)
                 ON CONFLICT (learner)
                 DO UPDATE SET revoked_ms = GREATEST(learner_revocations.revoked_ms, excluded.revoked_ms)",
                &[&learner, &at_ms],
            )
            .await?,
        };
        tx.commit().await?;
        Ok(())
    }

    pub(super) fn devices_sync(
        &self,
        learner: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeviceRecord>, StorageError> {
        Ok(self
            .query(
                "SELECT learner, device, enrolled_ms, signed_in_ms, revoked_ms FROM devices
                 WHERE $1::text IS NULL OR learner = $1 ORDER BY learner, enrolled_ms, device
                 LIMIT $2",
                &[&learner, &i64::from(limit)],
            )?
            .into_iter()
            .map(|r| DeviceRecord {
                learner: r.get(0),
                device: r.get(1),
                enrolled_ms: r.get(2),
                signed_in_ms: r.get(3),
                revoked_ms: r.get(4),
            })
            .collect())
    }

    pub(super) fn revocation_sync(
        &self,
        learner: &str,
        device: &str,
    ) -> Result<Revocation, StorageError> {
        Ok(self
            .query(
                "SELECT (SELECT revoked_ms FROM learner_revocations WHERE learner = $1),
                        (SELECT revoked_ms FROM devices WHERE learner = $1 AND device = $2)",
                &[&learner, &device],
            )?
            .first()
            .map(|r| Revocation {
                learner_ms: r.get(0),
                device_ms: r.get(1),
            })
            .unwrap_or_default())
    }

    pub(super) fn record_action_sync(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        let tombstone = self
            .key
            .tombstone(entry.learner.as_deref().unwrap_or_default());
        self.execute(
            "INSERT INTO audit_log (at_ms, actor, role, action, learner, target, status)
             SELECT $1, $2, $3, $4,
                    CASE WHEN EXISTS (SELECT 1 FROM erased_learners WHERE tombstone = $5)
                         THEN NULL ELSE $6 END,
                    CASE WHEN EXISTS (SELECT 1 FROM erased_learners WHERE tombstone = $5)
                         THEN NULL ELSE $7 END,
                    $8",
            &[
                &entry.at_ms,
                &entry.actor,
                &entry.role,
                &entry.action,
                &tombstone,
                &entry.learner,
                &entry.target,
                &i64::from(entry.status),
            ],
        )?;
        Ok(())
    }

    pub(super) fn audit_log_sync(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        Ok(self
            .query(
                "SELECT at_ms, actor, role, action, learner, target, status FROM audit_log
                 ORDER BY seq DESC LIMIT $1",
                &[&i64::from(limit)],
            )?
            .into_iter()
            .map(|r| AuditEntry {
                at_ms: r.get(0),
                actor: r.get(1),
                role: r.get(2),
                action: r.get(3),
                learner: r.get(4),
                target: r.get(5),
                status: u16::try_from(r.get::<_, i64>(6)).unwrap_or(0),
            })
            .collect())
    }
}
