//! `tidbit sync`: merges a learner's store with a server and prints what moved.

use std::path::PathBuf;
use std::sync::Mutex;

use tidbit_core::tidbit::sync_client::{sync, SyncOptions, SyncReport};

use crate::learner::open_learner;

#[derive(clap::Args)]
pub struct SyncArgs {
    /// The learner's data directory.
    #[arg(long)]
    data: PathBuf,
    /// The server's base URL, such as http://127.0.0.1:8080.
    #[arg(long)]
    server: String,
    /// The device's bearer token (from `tidbit serve token`).
    #[arg(long)]
    token: String,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &SyncArgs) -> Result<(), String> {
    let tidbit = Mutex::new(open_learner(&args.data, None, None, None, &[])?);
    let runtime = tidbit_core::runtime::runtime().map_err(|e| e.to_string())?;
    let report = runtime
        .block_on(sync(&tidbit, &SyncOptions::new(&args.server, &args.token)))
        .map_err(|e| format!("sync with {}: {e}", args.server))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        println!("{}", describe(&report));
    }
    Ok(())
}

/// One line for a sync report.
pub fn describe(report: &SyncReport) -> String {
    format!(
        "{} document(s), {} round trip(s), {} B up, {} B down, {} event(s) received{}{}",
        report.documents,
        report.round_trips,
        report.bytes_up,
        report.bytes_down,
        report.events_received,
        if report.retries > 0 {
            format!(", {} retried", report.retries)
        } else {
            String::new()
        },
        if report.events_refused > 0 {
            format!(
                ", {} refused ({})",
                report.events_refused,
                report.refusals.join("; ")
            )
        } else {
            String::new()
        }
    )
}
