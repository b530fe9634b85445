//! The PostgreSQL implementation of [`SyncStorage`], for several server processes on one
//! database (`tidbit serve --database postgres://...`).
//!
//! The same tables as the SQLite file, the same sealing ([`crate::sealing`]) and the same
//! contract. What PostgreSQL adds:
//!
//! - **Per-learner serialisation across processes**: every transaction that writes a learner's
//!   rows first takes a transaction-scoped advisory lock on the learner
//!   (`pg_advisory_xact_lock`, keyed by a hash of the id), then compares the stored heads with
//!   those the exchange was prepared from. Two processes committing for one learner at once
//!   run one after the other, and the second finds the heads moved ([`StorageError::Conflict`]):
//!   it prepares again from what is stored. Nothing is ever last-writer-wins. The lock is
//!   released when the transaction ends, so a process killed mid-commit holds nothing.
//! - **Versioned migrations** ([`MIGRATIONS`]) applied by `tidbit serve migrate` (or at start)
//!   in one transaction under an advisory lock, so two processes starting together apply each
//!   once. Migrations only add (tables, columns, indexes), so processes of the previous release
//!   keep serving on a migrated database during a rolling upgrade.
//! - **The driver is async** (`tokio-postgres`, pooled by `deadpool-postgres`, statements
//!   prepared once per connection). The storage contract stays synchronous because every caller
//!   runs it on the blocking pool beside the CPU-bound Automerge work of an exchange, holding the
//!   learner's lock in that thread; the storage drives its futures there, on a small runtime of
//!   its own that owns the connections. No worker thread of the server's runtime ever waits on
//!   the database.

use std::future::Future;
use std::sync::Arc;

use automerge::ChangeHash;
use deadpool_postgres::{GenericClient, Pool};
use ring::digest;
use tidbit_core::sync::exchange::unpack_heads;
use tokio_postgres::types::ToSql;

use super::{
    AuditEntry, DeviceRecord, DocumentUpdate, Erasure, ErasureRecord, OutboxStatement,
    OutboxStatus, QueuedReview, ReviewChange, Revocation, Settlement, StateUpdate, StorageError,
    StoredDocument, SyncStorage,
};
use crate::sealing::{nonce_of, Place, SealError, ServerKey};

mod commit;
mod copy;
mod identity;
mod keys;
mod outbox;
mod schema;

use keys::Keys;
use schema::MIGRATION_LOCK;
pub use schema::{latest_migration, MIGRATIONS};

/// A pool of connections to one PostgreSQL database, before the server key is checked.
pub struct Database {
    pool: Pool,
    config: tokio_postgres::Config,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Database {
    /// A pool of at most `pool_size` connections to `url` (`postgres://user:pass@host:port/db`).
    /// Connects once, so a wrong address or password is reported here.
    pub fn connect(url: &str, pool_size: usize) -> Result<Database, StorageError> {
        let config: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| StorageError::Postgres(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("tidbit-postgres")
            .enable_all()
            .build()?;
        let manager = deadpool_postgres::Manager::from_config(
            config.clone(),
            tokio_postgres::NoTls,
            deadpool_postgres::ManagerConfig {
                recycling_method: deadpool_postgres::RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _entered = runtime.enter();
            Pool::builder(manager)
                .max_size(pool_size.max(1))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(std::time::Duration::from_secs(30)))
                .create_timeout(Some(std::time::Duration::from_secs(10)))
                .build()
                .map_err(|e| StorageError::Postgres(e.to_string()))?
        };
        let database = Database {
            pool,
            config,
            runtime: Some(runtime),
        };
        database.run(async {
            database.client().await?.simple_query("SELECT 1").await?;
            Ok(())
        })?;
        Ok(database)
    }

    /// Runs `work` to completion on this thread, with the storage's runtime entered (its
    /// connections live there). Called from the blocking pool or outside any runtime.
    fn run<T>(
        &self,
        work: impl Future<Output = Result<T, StorageError>>,
    ) -> Result<T, StorageError> {
        let runtime = self.runtime.as_ref().ok_or(StorageError::Poisoned)?;
        let _entered = runtime.enter();
        futures_executor::block_on(work)
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StorageError> {
        self.pool.get().await.map_err(|e| {
            // The pool's error, with its causes: what the driver and the system said.
            let mut text = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(inner) = cause {
                let said = inner.to_string();
                if !text.ends_with(&said) {
                    text = format!("{text}: {said}");
                }
                cause = inner.source();
            }
            StorageError::Postgres(text)
        })
    }

    /// The schema version the database holds (0: never migrated).
    pub fn schema_version(&self) -> Result<i64, StorageError> {
        self.run(async {
            let client = self.client().await?;
            let exists: bool = client
                .query_one("SELECT to_regclass('tidbit_migrations') IS NOT NULL", &[])
                .await?
                .get(0);
            if !exists {
                return Ok(0);
            }
            Ok(client
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM tidbit_migrations",
                    &[],
                )
                .await?
                .get(0))
        })
    }

    /// Applies the migrations the database lacks, in one transaction, under an advisory lock;
    /// returns the versions applied (none on a database a newer Tidbit migrated: migrations only
    /// add, so this build runs on it, which is what a rolling upgrade needs).
    pub fn migrate(&self) -> Result<Vec<i64>, StorageError> {
        self.run(async {
            let mut client = self.client().await?;
            let tx = client.transaction().await?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
                .await?;
            tx.batch_execute(
                "CREATE TABLE IF NOT EXISTS tidbit_migrations (
                     version BIGINT PRIMARY KEY,
                     description TEXT NOT NULL,
                     applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                 )",
            )
            .await?;
            let found: i64 = tx
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM tidbit_migrations",
                    &[],
                )
                .await?
                .get(0);
            let mut applied = Vec::new();
            for (version, description, sql) in MIGRATIONS.iter().filter(|m| m.0 > found) {
                tx.batch_execute(sql).await?;
                tx.execute(
                    "INSERT INTO tidbit_migrations (version, description) VALUES ($1, $2)",
                    &[version, description],
                )
                .await?;
                applied.push(*version);
            }
            tx.commit().await?;
            Ok(applied)
        })
    }

    /// Whether the database holds a server key check (it was opened with a server key): such a
    /// database must never be given a new key.
    pub fn is_sealed(&self) -> Result<bool, StorageError> {
        if self.schema_version()? == 0 {
            return Ok(false);
        }
        self.run(async {
            Ok(self
                .client()
                .await?
                .query_opt("SELECT 1 FROM server_meta WHERE name = 'key_check'", &[])
                .await?
                .is_some())
        })
    }

    /// The storage on this database with `key`: the database must be migrated to this build's
    /// schema ([`Database::migrate`]); its key check is verified (written into a new database).
    pub fn open(self, key: Arc<ServerKey>) -> Result<PostgresStorage, StorageError> {
        let found = self.schema_version()?;
        if found < latest_migration() {
            return Err(StorageError::Unmigrated {
                found,
                supported: latest_migration(),
            });
        }
        let check = key.key_check()?;
        self.run(async {
            let client = self.client().await?;
            client
                .execute(
                    "INSERT INTO server_meta (name, value) VALUES ('key_check', $1)
                     ON CONFLICT (name) DO NOTHING",
                    &[&check],
                )
                .await?;
            let stored: Vec<u8> = client
                .query_one(
                    "SELECT value FROM server_meta WHERE name = 'key_check'",
                    &[],
                )
                .await?
                .get(0);
            Ok(key.verify_check(&stored)?)
        })?;
        Ok(PostgresStorage {
            db: self,
            keys: Keys::new(key.clone()),
            key,
            lead: std::sync::Mutex::new((None, false)),
        })
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        // Dropped wherever the last handle goes, a runtime worker included: never block there.
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// [`SyncStorage`] on PostgreSQL: see the module header.
pub struct PostgresStorage {
    db: Database,
    key: Arc<ServerKey>,
    keys: Keys,
    /// The connection of its own that holds the background work's lead (a session-level
    /// advisory lock, released by PostgreSQL when the connection ends), and whether it does.
    lead: std::sync::Mutex<(Option<tokio_postgres::Client>, bool)>,
}

/// The advisory lock of the background work's lead.
const LEAD_LOCK: i64 = 0x7469_6462_6974_6c64;

/// The advisory lock key of `learner`: 64 bits of a SHA-256 of the id.
fn learner_lock(learner: &str) -> i64 {
    let hash = digest::digest(&digest::SHA256, learner.as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&hash.as_ref()[..8]);
    i64::from_be_bytes(bytes)
}

/// Takes the learner's lock for the rest of the transaction; then says whether they were
/// erased (checked holding the lock, in the same round trip).
async fn lock_learner(
    tx: &deadpool_postgres::Transaction<'_>,
    key: &ServerKey,
    learner: &str,
) -> Result<bool, StorageError> {
    let statement = tx
        .prepare_cached(
            "SELECT pg_advisory_xact_lock($1)::text,
                    EXISTS (SELECT 1 FROM erased_learners WHERE tombstone = $2)",
        )
        .await?;
    let row = tx
        .query_one(
            &statement,
            &[&learner_lock(learner), &key.tombstone(learner)],
        )
        .await?;
    Ok(row.get(1))
}

async fn erased(
    client: &impl GenericClient,
    key: &ServerKey,
    learner: &str,
) -> Result<bool, StorageError> {
    let statement = client
        .prepare_cached("SELECT 1 FROM erased_learners WHERE tombstone = $1")
        .await?;
    Ok(client
        .query_opt(&statement, &[&key.tombstone(learner)])
        .await?
        .is_some())
}

/// Runs one prepared statement; the number of rows it changed.
async fn execute(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, StorageError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.execute(&statement, params).await?)
}

/// Runs one prepared query; its rows.
async fn query(
    client: &impl GenericClient,
    sql: &str,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<tokio_postgres::Row>, StorageError> {
    let statement = client.prepare_cached(sql).await?;
    Ok(client.query(&statement, params).await?)
}

impl PostgresStorage {
    /// The database under this storage (for readiness and migrations).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// One prepared statement on a pooled connection, outside any transaction.
    fn execute(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<u64, StorageError> {
        self.db
            .run(async { execute(&self.db.client().await?, sql, params).await })
    }

    fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, StorageError> {
        self.db
            .run(async { query(&self.db.client().await?, sql, params).await })
    }
}

impl SyncStorage for PostgresStorage {
    fn documents(&self, learner: &str) -> Result<Vec<(String, Vec<ChangeHash>)>, StorageError> {
        Ok(self
            .query(
                "SELECT name, heads FROM documents WHERE learner = $1 ORDER BY name",
                &[&learner],
            )?
            .into_iter()
            .map(|r| (r.get(0), unpack_heads(r.get::<_, &[u8]>(1))))
            .collect())
    }

    fn load(&self, learner: &str, doc: &str) -> Result<Option<StoredDocument>, StorageError> {
        self.db.run(async {
            let client = self.db.client().await?;
            // One statement, so one snapshot of the database: the document's snapshot first,
            // then its chunks in order.
            let rows = query(
                &client,
                "SELECT 0 AS part, 0::bigint AS id, snapshot AS bytes FROM documents
                     WHERE learner = $1 AND name = $2
                 UNION ALL
                 SELECT 1, id, bytes FROM chunks WHERE learner = $1 AND name = $2
                 ORDER BY part, id",
                &[&learner, &doc],
            )
            .await?;
            let Some((first, rest)) = rows.split_first() else {
                return Ok(None);
            };
            if first.get::<_, i32>(0) != 0 {
                // Chunks without their snapshot: the store is damaged.
                return Err(SealError::Unreadable("chunks without a snapshot").into());
            }
            let sealed: &[u8] = first.get(2);
            let learner_key = self
                .keys
                .get(&client, learner)
                .await?
                .ok_or(SealError::MissingLearnerKey)?;
            let snapshot = learner_key.open(Place::Snapshot { learner, doc }, sealed)?;
            let chunks = rest
                .iter()
                .enumerate()
                .map(|(index, row)| {
                    let place = Place::Chunk {
                        learner,
                        doc,
                        index: index as u64,
                        snapshot_nonce: nonce_of(sealed),
                    };
                    learner_key.open(place, row.get::<_, &[u8]>(2))
                })
                .collect::<Result<_, _>>()?;
            Ok(Some(StoredDocument { snapshot, chunks }))
        })
    }

    fn sync_state(
        &self,
        learner: &str,
        device: &str,
        doc: &str,
    ) -> Result<Option<Vec<u8>>, StorageError> {
        self.db.run(async {
            let client = self.db.client().await?;
            let rows = query(
                &client,
                "SELECT state FROM sync_states WHERE learner = $1 AND device = $2 AND name = $3",
                &[&learner, &device, &doc],
            )
            .await?;
            let Some(row) = rows.first() else {
                return Ok(None);
            };
            let learner_key = self
                .keys
                .get(&client, learner)
                .await?
                .ok_or(SealError::MissingLearnerKey)?;
            let place = Place::SyncState {
                learner,
                device,
                doc,
            };
            Ok(Some(learner_key.open(place, row.get::<_, &[u8]>(0))?))
        })
    }

    fn commit_with_reviews(
        &self,
        learner: &str,
        device: &str,
        documents: &[DocumentUpdate],
        states: &[StateUpdate],
        new_events: &[String],
        reviews: &[ReviewChange],
    ) -> Result<(), StorageError> {
        self.db
            .run(self.commit_async(learner, device, documents, states, new_events, reviews))
    }

    fn pending_reviews(&self, limit: u32) -> Result<Vec<QueuedReview>, StorageError> {
        Ok(self
            .query(
                "SELECT learner, review, requested_ms FROM review_queue
                 WHERE decided_ms IS NULL ORDER BY requested_ms, learner, review LIMIT $1",
                &[&i64::from(limit)],
            )?
            .into_iter()
            .map(|r| QueuedReview {
                learner: r.get(0),
                review: r.get(1),
                requested_ms: r.get(2),
                decided_ms: None,
            })
            .collect())
    }

    fn queued_review(
        &self,
        learner: &str,
        review: &str,
    ) -> Result<Option<QueuedReview>, StorageError> {
        Ok(self
            .query(
                "SELECT requested_ms, decided_ms FROM review_queue
                 WHERE learner = $1 AND review = $2",
                &[&learner, &review],
            )?
            .first()
            .map(|r| QueuedReview {
                learner: learner.into(),
                review: review.into(),
                requested_ms: r.get(0),
                decided_ms: r.get(1),
            }))
    }

    fn prune_reviews(&self, before_ms: i64) -> Result<usize, StorageError> {
        Ok(self.execute(
            "DELETE FROM review_queue WHERE decided_ms < $1",
            &[&before_ms],
        )? as usize)
    }

    fn learners(&self) -> Result<Vec<String>, StorageError> {
        Ok(self
            .query(
                "SELECT DISTINCT learner FROM documents WHERE learner NOT LIKE 'cohort:%' ORDER BY learner",
                &[],
            )?
            .into_iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn erase(&self, learner: &str, at_ms: i64) -> Result<Erasure, StorageError> {
        let erasure = self.db.run(self.erase_async(learner, at_ms))?;
        self.keys.forget(learner)?;
        Ok(erasure)
    }

    fn is_erased(&self, learner: &str) -> Result<bool, StorageError> {
        self.db
            .run(async { erased(&self.db.client().await?, &self.key, learner).await })
    }

    fn erasures(&self) -> Result<Vec<ErasureRecord>, StorageError> {
        Ok(self
            .query(
                "SELECT id, at_ms, documents, chunks, sync_states, event_ids
                 FROM erasures ORDER BY at_ms, id",
                &[],
            )?
            .into_iter()
            .map(|r| ErasureRecord {
                erasure: r.get(0),
                at_ms: r.get(1),
                documents: r.get::<_, i64>(2) as u64,
                chunks: r.get::<_, i64>(3) as u64,
                sync_states: r.get::<_, i64>(4) as u64,
                event_ids: r.get::<_, i64>(5) as u64,
            })
            .collect())
    }

    fn records_due(&self, limit: u32) -> Result<Vec<(String, i64)>, StorageError> {
        self.due("records_due", limit)
    }

    fn mark_all_records_due(&self) -> Result<u64, StorageError> {
        let first = self.execute(
            "INSERT INTO server_meta (name, value) VALUES ('records_backfilled', '\\x01')
             ON CONFLICT DO NOTHING",
            &[],
        )?;
        match first {
            0 => Ok(0),
            _ => self.mark_all("records_due"),
        }
    }

    fn enqueue_statements(
        &self,
        learner: &str,
        generation: i64,
        statements: &[(String, Vec<u8>)],
    ) -> Result<u64, StorageError> {
        self.db
            .run(self.enqueue_async(learner, generation, statements))
    }

    fn outbox_batch(&self, limit: u32) -> Result<Vec<OutboxStatement>, StorageError> {
        self.db.run(self.outbox_batch_async(limit))
    }

    fn settle_statements(
        &self,
        settled: &[(String, Settlement)],
        at_ms: i64,
    ) -> Result<(), StorageError> {
        self.db.run(self.settle_async(settled, at_ms))
    }

    fn outbox_status(&self, limit: u32) -> Result<OutboxStatus, StorageError> {
        self.db.run(self.status_async(limit))
    }

    fn summaries_due(&self, limit: u32) -> Result<Vec<(String, i64)>, StorageError> {
        self.due("summaries_due", limit)
    }

    fn summary_made(&self, learner: &str, generation: i64) -> Result<(), StorageError> {
        self.execute(
            "DELETE FROM summaries_due WHERE learner = $1 AND generation = $2",
            &[&learner, &generation],
        )?;
        Ok(())
    }

    fn mark_all_summaries_due(&self) -> Result<u64, StorageError> {
        self.mark_all("summaries_due")
    }

    fn put_experiment(&self, id: &str, definition: &str, at_ms: i64) -> Result<bool, StorageError> {
        Ok(self.execute(
            "INSERT INTO experiments (id, definition, created_ms) VALUES ($1, $2, $3)
             ON CONFLICT DO NOTHING",
            &[&id, &definition, &at_ms],
        )? == 1)
    }

    fn experiments(&self) -> Result<Vec<String>, StorageError> {
        Ok(self
            .query(
                "SELECT definition FROM experiments ORDER BY created_ms, id",
                &[],
            )?
            .into_iter()
            .map(|r| r.get(0))
            .collect())
    }

    fn readiness(&self) -> Result<(), StorageError> {
        let found = self.db.schema_version()?;
        match found >= latest_migration() {
            true => Ok(()),
            false => Err(StorageError::Unmigrated {
                found,
                supported: latest_migration(),
            }),
        }
    }

    fn lead_background_work(&self) -> Result<bool, StorageError> {
        let mut lead = self.lead.lock().map_err(|_| StorageError::Poisoned)?;
        let (client, held) = &mut *lead;
        if client.as_ref().is_some_and(|c| c.is_closed()) {
            // The connection ended, and the lock with it: take it again from scratch.
            *client = None;
            *held = false;
        }
        if *held {
            return Ok(true);
        }
        self.db.run(async {
            if client.is_none() {
                let (connected, connection) = self.db.config.connect(tokio_postgres::NoTls).await?;
                // Driven on the storage's runtime, which `run` entered.
                tokio::spawn(connection);
                *client = Some(connected);
            }
            let Some(connected) = client.as_ref() else {
                return Ok(false);
            };
            *held = connected
                .query_one("SELECT pg_try_advisory_lock($1)", &[&LEAD_LOCK])
                .await?
                .get(0);
            Ok(*held)
        })
    }

    fn meta(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        Ok(self
            .query("SELECT value FROM server_meta WHERE name = $1", &[&name])?
            .first()
            .map(|r| r.get(0)))
    }

    fn put_meta(&self, name: &str, value: &[u8]) -> Result<(), StorageError> {
        self.execute(
            "INSERT INTO server_meta (name, value) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[&name, &value],
        )?;
        Ok(())
    }

    fn enrol_device(&self, learner: &str, device: &str, at_ms: i64) -> Result<(), StorageError> {
        self.db.run(self.enrol_device_async(learner, device, at_ms))
    }

    fn devices(
        &self,
        learner: Option<&str>,
        limit: u32,
    ) -> Result<Vec<DeviceRecord>, StorageError> {
        self.devices_sync(learner, limit)
    }

    fn revoke_tokens(
        &self,
        learner: &str,
        device: Option<&str>,
        at_ms: i64,
    ) -> Result<(), StorageError> {
        self.db.run(self.revoke_async(learner, device, at_ms))
    }

    fn revocation(&self, learner: &str, device: &str) -> Result<Revocation, StorageError> {
        self.revocation_sync(learner, device)
    }

    fn record_admin_action(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        self.record_action_sync(entry)
    }

    fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>, StorageError> {
        self.audit_log_sync(limit)
    }
}
