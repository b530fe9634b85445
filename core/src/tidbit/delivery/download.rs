//! One pack's download: resumed from the bytes already on disk, checked against what the
//! catalog promised as it arrives, and whole only when its length is the catalog's.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::net;

use super::{
    backoff, disk, file_len, is_sha256_hex, remove_if_present, Client, CourseUpdateReport,
    DeliveryError, DeliveryOptions, DownloadProgress, OfferedCourse, PendingReason,
};

/// How a download ended for this call.
pub(super) enum Fetched {
    /// Every byte the catalog named is on disk (not yet checked).
    Whole,
    Pending(PendingReason),
    /// The server contradicted its catalog; the partial file is gone.
    Refused(String),
}

/// How one request ended.
enum Step {
    /// The response ended; the loop looks at what is on disk.
    Ended,
    BudgetSpent,
}

enum Failure {
    /// Worth another request (the link, a server error, a stall).
    Transient(String),
    Refused(String),
    Fatal(DeliveryError),
}

/// Bytes written between flushes to the disk, so a killed app keeps most of what arrived.
const SYNC_EVERY: u64 = 1024 * 1024;

/// Where the download of `offered` is kept: named by its SHA-256 alone.
pub(super) fn partial_path(downloads: &Path, offered: &OfferedCourse) -> PathBuf {
    let sha = sha256_of_etag(&offered.etag).unwrap_or_default();
    downloads.join(format!("{sha}.part"))
}

/// The hex SHA-256 inside a strong `ETag` (`"<64 hex digits>"`).
pub(super) fn sha256_of_etag(etag: &str) -> Option<String> {
    let inner = etag.strip_prefix('"')?.strip_suffix('"')?;
    is_sha256_hex(inner).then(|| inner.to_ascii_lowercase())
}

/// A pack file name the server may name: no separators, no leading dot.
pub(super) fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name.ends_with(".tidbit")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// What one download fetches: `want` bytes of the remote file from byte `start` on, into a
/// local file of its own.
pub(super) struct Target<'a> {
    pub url: String,
    pub etag: &'a str,
    pub start: u64,
    pub want: u64,
    /// The remote file's length, when known.
    pub total: Option<u64>,
    /// For progress reports.
    pub course_id: &'a str,
    pub version: &'a str,
}

impl Target<'_> {
    /// The part of the pack a device installs with the course.
    pub(super) fn pack<'a>(server: &str, offered: &'a OfferedCourse) -> Target<'a> {
        Target {
            url: format!("{server}/v1/packs/{}", offered.file),
            etag: &offered.etag,
            start: 0,
            want: offered.download_len(),
            total: Some(offered.bytes),
            course_id: &offered.course_id,
            version: &offered.version,
        }
    }
}

/// Downloads `target` into `path`, resuming from what is there, until it is whole, the call's
/// `budget` is spent, or the link failed `max_attempts` times without a request ending whole.
pub(super) async fn download(
    client: &Client,
    options: &DeliveryOptions,
    target: &Target<'_>,
    path: &Path,
    budget: &mut Option<u64>,
    report: &mut CourseUpdateReport,
    progress: &(dyn Fn(&DownloadProgress) + Send + Sync),
) -> Result<Fetched, DeliveryError> {
    let mut failures = 0u32;
    if target.want == 0 {
        // Nothing to fetch: an empty asset.
        std::fs::File::create(path).map_err(|e| disk(path, e))?;
        return Ok(Fetched::Whole);
    }
    loop {
        let have = file_len(path);
        if have > target.want {
            remove_if_present(path).map_err(|e| disk(path, e))?;
            continue;
        }
        if have == target.want {
            return Ok(Fetched::Whole);
        }
        if *budget == Some(0) {
            return Ok(Fetched::Pending(PendingReason::ByteBudget));
        }
        let step = fetch(
            client, options, target, path, have, budget, report, progress,
        );
        let last = match step.await {
            Ok(Step::Ended) => {
                failures = 0;
                continue;
            }
            Ok(Step::BudgetSpent) => return Ok(Fetched::Pending(PendingReason::ByteBudget)),
            Err(Failure::Fatal(error)) => return Err(error),
            Err(Failure::Refused(reason)) => {
                remove_if_present(path).map_err(|e| disk(path, e))?;
                return Ok(Fetched::Refused(reason));
            }
            Err(Failure::Transient(last)) => last,
        };
        failures += 1;
        if failures >= options.max_attempts {
            return Ok(Fetched::Pending(PendingReason::Interrupted {
                last_error: last,
            }));
        }
        report.retries += 1;
        tokio::time::sleep(backoff(
            options.initial_backoff,
            options.max_backoff,
            failures,
        ))
        .await;
    }
}

/// One request: the rest of `target` from local byte `have`, appended to `path`.
#[allow(clippy::too_many_arguments)]
async fn fetch(
    client: &Client,
    options: &DeliveryOptions,
    target: &Target<'_>,
    path: &Path,
    have: u64,
    budget: &mut Option<u64>,
    report: &mut CourseUpdateReport,
    progress: &(dyn Fn(&DownloadProgress) + Send + Sync),
) -> Result<Step, Failure> {
    let first = target.start + have;
    let last = target.start + target.want - 1;
    let whole_file = target.start == 0 && Some(target.want) == target.total;
    let mut request = client.get(&target.url, &options.token);
    if have > 0 || !whole_file {
        request = request
            .header("range", format!("bytes={first}-{last}"))
            .header("if-range", target.etag);
    }
    let mut response = net::send(request).await.map_err(|e| match e {
        net::TransportError::Failed(_) => Failure::Transient(e.to_string()),
        net::TransportError::Redirected(_) => {
            Failure::Refused(format!("the download went astray: {e}"))
        }
        net::TransportError::Unavailable => Failure::Fatal(DeliveryError::Runtime(e.to_string())),
    })?;
    let status = response.status();
    let contradicts = |what: String| {
        Failure::Refused(format!(
            "the server contradicts its catalog: {what}; nothing of it was installed"
        ))
    };
    let etag = response.header("etag").map(str::to_string);
    let start = match status {
        200 | 206 if etag.as_deref() != Some(target.etag) => {
            return Err(contradicts(format!(
                "it sends the pack with ETag {}, not {}",
                etag.as_deref().unwrap_or("(none)"),
                target.etag
            )))
        }
        // The whole file: usable from its first byte only.
        200 if target.start == 0 => {
            if let (Some(length), Some(total)) = (response.content_length(), target.total) {
                if length != total {
                    return Err(contradicts(format!(
                        "the pack is {length} bytes, not {total}"
                    )));
                }
            }
            0
        }
        200 => return Err(contradicts("it ignored the range asked for".into())),
        206 => {
            let range = response
                .header("content-range")
                .and_then(parse_content_range);
            match range {
                Some((from, to, total))
                    if from == first && to == last && target.total.is_none_or(|t| t == total) =>
                {
                    if have > 0 {
                        report.bytes_resumed += have;
                    }
                    have
                }
                Some((from, to, total)) => {
                    return Err(contradicts(format!(
                        "asked for bytes {first}-{last} of {}, it sent {from}-{to} of {total}",
                        target
                            .total
                            .map_or_else(|| "the pack".to_string(), |t| t.to_string())
                    )))
                }
                None => return Err(contradicts("a part without a valid Content-Range".into())),
            }
        }
        // The bytes on disk do not fit the pack any more: start again from nothing.
        416 => {
            remove_if_present(path).map_err(|e| Failure::Fatal(disk(path, e)))?;
            return Err(Failure::Transient(
                "the server could not resume the download; starting it again".into(),
            ));
        }
        401 | 403 => return Err(Failure::Fatal(DeliveryError::Unauthorized { status })),
        410 => {
            return Err(Failure::Fatal(DeliveryError::Erased {
                message: "the pack download was refused with 410 Gone".into(),
            }))
        }
        404 => {
            return Err(Failure::Refused(
                "the server no longer offers this pack; the next update reads its catalog again"
                    .into(),
            ))
        }
        408 | 429 => return Err(Failure::Transient(format!("status {status}"))),
        code if (400..500).contains(&code) => {
            return Err(Failure::Refused(format!(
                "the server refused the download ({code})"
            )))
        }
        code => return Err(Failure::Transient(format!("status {code}"))),
    };

    let write_error = |e: std::io::Error| Failure::Fatal(disk(path, e));
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(start == 0)
        .append(start > 0)
        .open(path)
        .map_err(write_error)?;
    let mut on_disk = start;
    let mut unsynced = 0u64;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                file.sync_data().map_err(write_error)?;
                return Err(Failure::Transient(format!(
                    "the download was cut at byte {on_disk}: {e}"
                )));
            }
        };
        let mut arrived = chunk.len() as u64;
        if on_disk + arrived > target.want {
            // Only a whole file sent for a part of it may run on; it is read to the part's end.
            if status == 206 || whole_file {
                return Err(contradicts(format!(
                    "it sends more than the {} bytes asked for",
                    target.want
                )));
            }
            arrived = target.want - on_disk;
        }
        let take = budget.map_or(arrived, |left| left.min(arrived));
        file.write_all(&chunk[..take as usize])
            .map_err(write_error)?;
        on_disk += take;
        unsynced += take;
        report.bytes_downloaded += take;
        if let Some(left) = budget.as_mut() {
            *left -= take;
        }
        progress(&DownloadProgress {
            course_id: target.course_id.to_string(),
            version: target.version.to_string(),
            bytes_on_device: on_disk,
            bytes_total: target.want,
        });
        if unsynced >= SYNC_EVERY {
            file.sync_data().map_err(write_error)?;
            unsynced = 0;
        }
        if *budget == Some(0) && on_disk < target.want {
            file.sync_data().map_err(write_error)?;
            return Ok(Step::BudgetSpent);
        }
        if on_disk == target.want {
            break;
        }
    }
    file.sync_data().map_err(write_error)?;
    if on_disk < target.want {
        return Err(Failure::Transient(format!(
            "the download ended at byte {on_disk} of {}",
            target.want
        )));
    }
    Ok(Step::Ended)
}

/// `bytes <first>-<last>/<total>` → (first, last, total).
fn parse_content_range(value: &str) -> Option<(u64, u64, u64)> {
    let (range, total) = value.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (first, last) = range.split_once('-')?;
    let (first, last, total): (u64, u64, u64) =
        (first.parse().ok()?, last.parse().ok()?, total.parse().ok()?);
    (first <= last && last < total).then_some((first, last, total))
}

/// Checks a whole download against its catalog entry before it is installed: the file's
/// SHA-256, then the course, version and manifest fingerprint its manifest names. The error is
/// why the pack is refused.
///
/// A pack downloaded without its on-demand assets is a prefix of the file the SHA-256 names: its
/// bytes are checked by the install instead (the signature covers the manifest, and the manifest
/// every asset's hash).
pub(super) fn check_whole(path: &Path, offered: &OfferedCourse) -> Result<(), String> {
    if offered.download_len() == offered.bytes {
        let expected = sha256_of_etag(&offered.etag).unwrap_or_default();
        let actual =
            sha256_file(path).map_err(|e| format!("the download could not be read: {e}"))?;
        if actual != expected {
            return Err(format!(
                "the downloaded bytes do not match the SHA-256 the server named ({actual} instead of {expected}); they were discarded"
            ));
        }
    }
    let (manifest, _) = crate::pack::read_manifest_unverified(path)
        .map_err(|e| format!("the download is not a course pack: {e}"))?;
    if manifest.course_id != offered.course_id || manifest.version.to_string() != offered.version {
        return Err(format!(
            "the file offered as {} {} holds {} {}",
            offered.course_id, offered.version, manifest.course_id, manifest.version
        ));
    }
    let fingerprint = manifest
        .fingerprint()
        .map_err(|e| format!("the pack's manifest is unusable: {e}"))?;
    if fingerprint != offered.manifest_sha256 {
        return Err("the pack's manifest is not the one the catalog named".into());
    }
    Ok(())
}

fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut file = File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        context.update(&buffer[..n]);
    }
    Ok(hex::encode(context.finish().as_ref()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_are_read_strictly() {
        assert_eq!(
            parse_content_range("bytes 100-199/200"),
            Some((100, 199, 200))
        );
        assert_eq!(parse_content_range("bytes 100-200/200"), None);
        assert_eq!(parse_content_range("bytes */200"), None);
        assert_eq!(parse_content_range("items 0-1/2"), None);
    }

    #[test]
    fn partial_files_are_named_by_the_hash_alone() {
        let offered = OfferedCourse {
            course_id: "c".into(),
            version: "1.0.0".into(),
            title: "C".into(),
            file: "c.tidbit".into(),
            bytes: 1,
            etag: format!("\"{}\"", "AB".repeat(32)),
            manifest_sha256: "cd".repeat(32),
            download_bytes: None,
        };
        assert_eq!(
            partial_path(Path::new("/d"), &offered),
            PathBuf::from(format!("/d/{}.part", "ab".repeat(32)))
        );
        assert_eq!(sha256_of_etag("W/\"ab\""), None);
    }
}
