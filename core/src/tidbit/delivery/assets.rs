//! A module's on-demand media (`pack::AssetEntry::on_demand`), fetched when the module is first
//! opened: each asset's packed bytes by their range in the pack the course was downloaded from
//! (`Range` with `If-Range` on the pack's `ETag`, so a pack that changed since is never mixed
//! in), kept in `downloads/` until whole (a cut fetch resumes), then verified against the
//! installed course's signed manifest before it is placed among the store's assets.

use std::io::BufReader;

use serde::Serialize;

use super::download::{download, Fetched, Target};
use super::{
    disk, http_client, lock, remove_if_present, CourseUpdateReport, DeliveryError, DeliveryOptions,
    DownloadProgress, PendingReason,
};
use crate::pack::PackError;
use crate::store::{StoreError, DOWNLOADS_DIR};
use crate::tidbit::Tidbit;

/// An on-demand asset still not on the device after a fetch, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct MissingMedia {
    pub path: String,
    pub reason: String,
}

/// What one [`fetch_module_assets`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct ModuleAssetsReport {
    /// Asset paths fetched, verified and placed by this call.
    pub fetched: Vec<String>,
    /// Asset paths the module refers to that are still missing.
    pub missing: Vec<MissingMedia>,
    pub bytes_downloaded: u64,
    /// Bytes of cut fetches that were not fetched again.
    pub bytes_resumed: u64,
}

/// Fetches the on-demand media `module` of `course` refers to and the device lacks. Nothing is
/// fetched for a module whose media are all here (or were installed with the course).
pub async fn fetch_module_assets(
    tidbit: &std::sync::Mutex<Tidbit>,
    options: &DeliveryOptions,
    course: &str,
    module: &str,
    progress: &(dyn Fn(&DownloadProgress) + Send + Sync),
) -> Result<ModuleAssetsReport, DeliveryError> {
    let client = http_client(options)?;
    let downloads = lock(tidbit)?.data_dir().join(DOWNLOADS_DIR);
    std::fs::create_dir_all(&downloads).map_err(|e| disk(&downloads, e))?;
    // Another fetch of this store's media would resume the same files: this one waits, then
    // finds what the other placed.
    let _turn = super::turn::Turn::take(&downloads, super::turn::Kind::Media).await?;
    let (source, missing) = {
        let tidbit = lock(tidbit)?;
        (
            tidbit.store().course_source(course)?,
            tidbit.store().missing_assets(course, module)?,
        )
    };
    let mut report = ModuleAssetsReport::default();
    if missing.is_empty() {
        return Ok(report);
    }
    let source = source.ok_or_else(|| DeliveryError::NoSource {
        course: course.to_string(),
    })?;
    let mut budget = options.byte_budget;
    let mut counts = CourseUpdateReport::default();
    for asset in missing {
        let path_in_course = asset.entry.path.clone();
        let still_missing = |reason: String| MissingMedia {
            path: path_in_course.clone(),
            reason,
        };
        if options.unmetered_only && !options.on_unmetered_network {
            report.missing.push(still_missing(
                "waiting for an unmetered network (the learner's Wi-Fi-only setting)".into(),
            ));
            continue;
        }
        let file = downloads.join(format!("{}.asset", asset.entry.packed_sha256));
        let target = Target {
            url: format!("{}/v1/packs/{}", options.server, source.file),
            etag: &source.etag,
            start: asset.offset,
            want: asset.entry.packed_size,
            total: None,
            course_id: course,
            version: &source.version,
        };
        let fetched = download(
            &client,
            options,
            &target,
            &file,
            &mut budget,
            &mut counts,
            progress,
        )
        .await?;
        match fetched {
            Fetched::Whole => {
                let opened = std::fs::File::open(&file).map_err(|e| disk(&file, e))?;
                let placed = lock(tidbit)?
                    .store()
                    .place_asset(&asset.entry, BufReader::new(opened));
                match placed {
                    Ok(()) => report.fetched.push(path_in_course),
                    // The device could not write or read: the fetched bytes are kept.
                    Err(
                        error @ (StoreError::Pack(
                            PackError::SinkFailed { .. }
                            | PackError::Io(_)
                            | PackError::File { .. },
                        )
                        | StoreError::Io(_)),
                    ) => return Err(error.into()),
                    Err(StoreError::Pack(error)) => report.missing.push(still_missing(format!(
                        "the bytes fetched do not verify against the course's manifest ({error}); they were discarded"
                    ))),
                    Err(error) => return Err(error.into()),
                }
                remove_if_present(&file).map_err(|e| disk(&file, e))?;
            }
            Fetched::Pending(PendingReason::ByteBudget) => report
                .missing
                .push(still_missing("this call's byte budget is spent".into())),
            Fetched::Pending(PendingReason::Interrupted { last_error }) => report.missing.push(
                still_missing(format!("the link kept failing: {last_error}")),
            ),
            Fetched::Pending(PendingReason::UnmeteredNetworkOnly) => report
                .missing
                .push(still_missing("waiting for an unmetered network".into())),
            Fetched::Refused(reason) => report.missing.push(still_missing(reason)),
        }
    }
    report.bytes_downloaded = counts.bytes_downloaded;
    report.bytes_resumed = counts.bytes_resumed;
    Ok(report)
}
