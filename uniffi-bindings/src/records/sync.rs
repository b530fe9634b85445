//! What one sync did, as the core's client reports it.

use tidbit_core::tidbit::sync_client::SyncReport as CoreSyncReport;

/// What one `sync` did.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncReport {
    /// Documents (months of events) that sent or received a sync message.
    pub documents: u32,
    pub bytes_up: u64,
    pub bytes_down: u64,
    /// Successful HTTP exchanges with the server.
    pub round_trips: u32,
    /// Events from other devices newly stored here.
    pub events_received: u64,
    /// Round trips that failed and were retried.
    pub retries: u32,
    /// Events the server relayed that this device refused as malformed or forged; the rest of
    /// the sync was applied.
    pub events_refused: u64,
    /// Documents whose messages the server refused (nothing of them was stored there).
    pub documents_refused: u32,
    /// Why, for the first few refused events and documents.
    pub refusals: Vec<String>,
}

impl From<CoreSyncReport> for SyncReport {
    fn from(report: CoreSyncReport) -> Self {
        SyncReport {
            documents: report.documents,
            bytes_up: report.bytes_up,
            bytes_down: report.bytes_down,
            round_trips: report.round_trips,
            events_received: report.events_received,
            retries: report.retries,
            events_refused: report.events_refused,
            documents_refused: report.documents_refused,
            refusals: report.refusals,
        }
    }
}
