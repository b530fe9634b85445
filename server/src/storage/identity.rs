//! The SQLite side of identity: learners' enrolled devices (`devices`), the times before which
//! their tokens are refused (`devices.revoked_ms`, `learner_revocations`), and the admin audit
//! log (`audit_log`).
//!
//! Revocation stores a time, never a token: a token issued at or before its device's or its
//! learner's revocation time is refused ([`crate::identity`]). Devices and revocations are a
//! learner's rows, deleted by their erasure; an audit entry outlives an erasure with its learner
//! and target cleared, and an entry written for an erased learner never holds their id.

use rusqlite::{params, Connection, OptionalExtension, TransactionBehavior};
use serde::{Deserialize, Serialize};

use super::sqlite::erased;
use super::StorageError;
use crate::sealing::ServerKey;

/// One device a learner signed in on, or whose tokens were revoked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    pub learner: String,
    pub device: String,
    /// When the server first heard of the device (its first sign-in or revocation).
    pub enrolled_ms: i64,
    /// Its last sign-in through the organisation's provider, if any.
    pub signed_in_ms: Option<i64>,
    /// Tokens of this device issued at or before this time are refused.
    pub revoked_ms: Option<i64>,
}

/// What refuses a learner's tokens on one device: the later of the two times counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Revocation {
    /// Every token of the learner issued at or before this time is refused.
    pub learner_ms: Option<i64>,
    /// Every token of the learner on this device issued at or before this time is refused.
    pub device_ms: Option<i64>,
}

/// One admin request, as the audit log keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub at_ms: i64,
    /// Who: the name in the admin token.
    pub actor: String,
    pub role: String,
    /// What: the method and the route, such as `DELETE /v1/admin/learners/{learner}`.
    pub action: String,
    /// The learner the action concerned (cleared when the learner is erased).
    pub learner: Option<String>,
    /// The route's other ids, such as the device or the review (cleared with the learner).
    pub target: Option<String>,
    /// The HTTP status the action was answered with.
    pub status: u16,
}

pub(super) fn enrol_device(
    conn: &mut Connection,
    key: &ServerKey,
    learner: &str,
    device: &str,
    at_ms: i64,
) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if erased(&tx, key, learner)? {
        return Err(StorageError::Erased);
    }
    tx.execute(
        "INSERT INTO devices (learner, device, enrolled_ms, signed_in_ms) VALUES (?1, ?2, ?3, ?3)
         ON CONFLICT (learner, device) DO UPDATE SET signed_in_ms = excluded.signed_in_ms",
        params![learner, device, at_ms],
    )?;
    tx.commit()?;
    Ok(())
}

pub(super) fn devices(
    conn: &Connection,
    learner: Option<&str>,
    limit: u32,
) -> Result<Vec<DeviceRecord>, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT learner, device, enrolled_ms, signed_in_ms, revoked_ms FROM devices
             WHERE ?1 IS NULL OR learner = ?1 ORDER BY learner, enrolled_ms, device LIMIT ?2",
        )?
        .query_map(params![learner, limit], |r| {
            Ok(DeviceRecord {
                learner: r.get(0)?,
                device: r.get(1)?,
                enrolled_ms: r.get(2)?,
                signed_in_ms: r.get(3)?,
                revoked_ms: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// Revokes the tokens of `learner` on `device` (`None`: on every device) issued up to `at_ms`.
pub(super) fn revoke(
    conn: &mut Connection,
    key: &ServerKey,
    learner: &str,
    device: Option<&str>,
    at_ms: i64,
) -> Result<(), StorageError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if erased(&tx, key, learner)? {
        return Err(StorageError::Erased);
    }
    match device {
        Some(device) => tx.execute(
            "INSERT INTO devices (learner, device, enrolled_ms, revoked_ms) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT (learner, device)
             DO UPDATE SET revoked_ms = max(coalesce(revoked_ms, 0), excluded.revoked_ms)",
            params![learner, device, at_ms],
        )?,
        None => tx.execute(
            "INSERT INTO learner_revocations (learner, revoked_ms) VALUES (?1, ?2)
             ON CONFLICT (learner) DO UPDATE SET revoked_ms = max(revoked_ms, excluded.revoked_ms)",
            params![learner, at_ms],
        )?,
    };
    tx.commit()?;
    Ok(())
}

pub(super) fn revocation(
    conn: &Connection,
    learner: &str,
    device: &str,
) -> Result<Revocation, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT (SELECT revoked_ms FROM learner_revocations WHERE learner = ?1),
                    (SELECT revoked_ms FROM devices WHERE learner = ?1 AND device = ?2)",
        )?
        .query_row(params![learner, device], |r| {
            Ok(Revocation {
                learner_ms: r.get(0)?,
                device_ms: r.get(1)?,
            })
        })
        .optional()?
        .unwrap_or_default())
}

/// The audit log's insert: the learner and target are left out when the learner is erased
/// (`?5` is their tombstone), so an erasure's own entry never names whom it erased.
pub(super) const RECORD_ACTION: &str =
    "INSERT INTO audit_log (at_ms, actor, role, action, learner, target, status)
     SELECT ?1, ?2, ?3, ?4,
            CASE WHEN EXISTS (SELECT 1 FROM erased_learners WHERE tombstone = ?5) THEN NULL ELSE ?6 END,
            CASE WHEN EXISTS (SELECT 1 FROM erased_learners WHERE tombstone = ?5) THEN NULL ELSE ?7 END,
            ?8";

pub(super) fn record_action(
    conn: &Connection,
    key: &ServerKey,
    entry: &AuditEntry,
) -> Result<(), StorageError> {
    let tombstone = key.tombstone(entry.learner.as_deref().unwrap_or_default());
    conn.prepare_cached(RECORD_ACTION)?.execute(params![
        entry.at_ms,
        entry.actor,
        entry.role,
        entry.action,
        tombstone,
        entry.learner,
        entry.target,
        entry.status
    ])?;
    Ok(())
}

pub(super) fn audit_log(conn: &Connection, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
    Ok(conn
        .prepare_cached(
            "SELECT at_ms, actor, role, action, learner, target, status FROM audit_log
             ORDER BY seq DESC LIMIT ?1",
        )?
        .query_map([limit], |r| {
            Ok(AuditEntry {
                at_ms: r.get(0)?,
                actor: r.get(1)?,
                role: r.get(2)?,
                action: r.get(3)?,
                learner: r.get(4)?,
                target: r.get(5)?,
                status: r.get(6)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?)
}

/// What an erasure does to the audit log (in its transaction): the entries about the learner
/// stay, without the learner's id or the ids that came with it.
pub(super) const FORGET_IN_AUDIT_LOG: &str =
    "UPDATE audit_log SET learner = NULL, target = NULL WHERE learner = ?1";
