//! The PostgreSQL schema: the versioned migrations `tidbit serve migrate` applies, in order,
//! and the advisory lock they run under.

/// The versioned migrations, in order. A migration is never edited once released: a change is a
/// new one.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (
        1,
        "learners' documents, sync states, keys, erasures, review queue, LRS outbox, experiments",
        r#"
CREATE TABLE documents (
    learner TEXT NOT NULL,
    name TEXT NOT NULL,
    snapshot BYTEA NOT NULL,
    heads BYTEA NOT NULL,
    PRIMARY KEY (learner, name)
);
CREATE TABLE chunks (
    id BIGSERIAL PRIMARY KEY,
    learner TEXT NOT NULL,
    name TEXT NOT NULL,
    bytes BYTEA NOT NULL
);
CREATE INDEX chunks_by_document ON chunks (learner, name, id);
CREATE TABLE event_ids (
    learner TEXT NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (learner, id)
);
CREATE TABLE sync_states (
    learner TEXT NOT NULL,
    device TEXT NOT NULL,
    name TEXT NOT NULL,
    state BYTEA NOT NULL,
    PRIMARY KEY (learner, device, name)
);
CREATE TABLE learner_keys (
    learner TEXT PRIMARY KEY,
    wrapped BYTEA NOT NULL
);
CREATE TABLE erased_learners (
    tombstone BYTEA PRIMARY KEY
);
CREATE TABLE erasures (
    id TEXT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    documents BIGINT NOT NULL,
    chunks BIGINT NOT NULL,
    sync_states BIGINT NOT NULL,
    event_ids BIGINT NOT NULL
);
CREATE TABLE review_queue (
    learner TEXT NOT NULL,
    review TEXT NOT NULL,
    requested_ms BIGINT NOT NULL,
    decided_ms BIGINT,
    PRIMARY KEY (learner, review)
);
CREATE INDEX review_queue_pending ON review_queue (requested_ms) WHERE decided_ms IS NULL;
CREATE TABLE records_due (
    learner TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
CREATE TABLE summaries_due (
    learner TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
CREATE TABLE experiments (
    id TEXT PRIMARY KEY,
    definition TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE lrs_outbox (
    seq BIGSERIAL PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    learner TEXT NOT NULL,
    body BYTEA NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    outcome TEXT,
    settled_ms BIGINT
);
CREATE INDEX lrs_outbox_pending ON lrs_outbox (seq) WHERE state = 'pending';
CREATE INDEX lrs_outbox_learner ON lrs_outbox (learner);
CREATE TABLE server_meta (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);
"#,
    ),
    (
        2,
        "identity: enrolled devices, token revocations, the admin audit log",
        r#"
CREATE TABLE devices (
    learner TEXT NOT NULL,
    device TEXT NOT NULL,
    enrolled_ms BIGINT NOT NULL,
    signed_in_ms BIGINT,
    revoked_ms BIGINT,
    PRIMARY KEY (learner, device)
);
CREATE TABLE learner_revocations (
    learner TEXT PRIMARY KEY,
    revoked_ms BIGINT NOT NULL
);
CREATE TABLE audit_log (
    seq BIGSERIAL PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    role TEXT NOT NULL,
    action TEXT NOT NULL,
    learner TEXT,
    target TEXT,
    status BIGINT NOT NULL
);
CREATE INDEX audit_log_learner ON audit_log (learner);
"#,
    ),
];

/// The schema version this build writes: the last migration's.
pub fn latest_migration() -> i64 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// The advisory lock migrations run under (any constant no learner lock equals in practice).
pub(super) const MIGRATION_LOCK: i64 = 0x7469_6462_6974_6d67;
