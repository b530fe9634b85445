//! `tidbit export`: a learner's whole data as one readable JSON archive (the layout of
//! `tidbit_core::tidbit::export::Archive`, documented there).

use std::path::PathBuf;

use crate::learner::open_learner;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The learner's data directory.
    #[arg(long)]
    data: PathBuf,
    /// Where to write the archive (replaced whole if it exists).
    #[arg(long)]
    out: PathBuf,
    /// The learner (default: the one stored with the data directory).
    #[arg(long)]
    learner: Option<String>,
    /// The device (default: the one stored with the data directory).
    #[arg(long)]
    device: Option<String>,
}

pub fn run(args: &ExportArgs) -> Result<(), String> {
    if !args.data.join(tidbit_core::store::DATABASE_FILE).is_file() {
        return Err(format!(
            "{}: no learner's store here: nothing to export",
            args.data.display()
        ));
    }
    let tidbit = open_learner(
        &args.data,
        args.learner.as_deref(),
        args.device.as_deref(),
        None,
        &[],
    )?;
    let archive = tidbit
        .export_archive(&mut |_, _| {})
        .map_err(|e| format!("{}: {e}", args.data.display()))?;
    tidbit
        .export_to(&args.out, &mut |_, _| {})
        .map_err(|e| e.to_string())?;
    println!(
        "exported learner '{}': {} events, {} courses, {} decisions, {} consent changes to {}",
        archive.learner,
        archive.events.len(),
        archive.courses.len(),
        archive.decisions.len(),
        archive.consent_history.len(),
        args.out.display()
    );
    Ok(())
}
