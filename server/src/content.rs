//! The course catalog and pack downloads.
//!
//! Packs are the signed `.tidbit` files in the server's `packs/` folder; the server never
//! unpacks or re-signs them (devices verify signatures themselves). Downloads honour HTTP
//! `Range` (one range, so a download cut off on a bad link resumes where it stopped) and a
//! strong `ETag`: the SHA-256 of the file, so a device can tell a resumed download still
//! belongs to the same pack (`If-Range`) or skip one it already has (`If-None-Match`).
//!
//! Each pack is read once: [`PackTags`] keeps its tag and what its manifest says until the
//! file's size, modification time or inode change. Bodies are streamed from the file in 64 KiB
//! reads, never held whole.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use tidbit_core::pack::read_manifest_unverified;

use crate::{refuse, Hub};

/// One pack the server offers.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogEntry {
    pub file: String,
    pub course_id: String,
    pub version: String,
    pub title: String,
    pub bytes: u64,
    pub etag: String,
    /// The fingerprint of the pack's manifest: what a device records when it installs the
    /// pack, so it can tell a different pack under a version it holds.
    pub manifest_sha256: String,
    /// For a pack with on-demand assets: the bytes a device downloads with the course (the
    /// on-demand assets come last, fetched later by their ranges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_bytes: Option<u64>,
}

/// What identifies one version of a file without reading it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<SystemTime>,
    inode: u64,
}

impl FileStamp {
    fn of(metadata: &std::fs::Metadata) -> FileStamp {
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(metadata);
        #[cfg(not(unix))]
        let inode = 0;
        FileStamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            inode,
        }
    }
}

/// What the server knows of one version of a pack file: its tag, and what its manifest says
/// (`None` for a file that is not a readable pack).
#[derive(Debug, Clone)]
pub struct PackFacts {
    pub etag: String,
    pub manifest: Option<ManifestFacts>,
}

#[derive(Debug, Clone)]
pub struct ManifestFacts {
    pub course_id: String,
    pub version: semver::Version,
    pub title: String,
    pub fingerprint: String,
    /// The pack's length without its on-demand assets, when it has some.
    pub eager_len: Option<u64>,
}

/// The facts of the packs served so far, each found once per version of its file.
#[derive(Default)]
pub struct PackTags {
    known: Mutex<HashMap<PathBuf, (FileStamp, PackFacts)>>,
    hashed: std::sync::atomic::AtomicU64,
}

impl PackTags {
    /// The pack's facts, reading the file only if it is new or changed since last time.
    pub fn facts(&self, path: &Path, metadata: &std::fs::Metadata) -> std::io::Result<PackFacts> {
        let stamp = FileStamp::of(metadata);
        if let Ok(known) = self.known.lock() {
            if let Some((seen, facts)) = known.get(path) {
                if *seen == stamp {
                    return Ok(facts.clone());
                }
            }
        }
        let etag = etag(path)?;
        let manifest = read_manifest_unverified(path)
            .ok()
            .and_then(|(manifest, _)| {
                let on_demand = manifest.assets.iter().any(|a| a.on_demand);
                Some(ManifestFacts {
                    eager_len: if on_demand {
                        Some(manifest.eager_len().ok()?)
                    } else {
                        None
                    },
                    fingerprint: manifest.fingerprint().ok()?,
                    course_id: manifest.course_id,
                    version: manifest.version,
                    title: manifest.title,
                })
            });
        let facts = PackFacts { etag, manifest };
        self.hashed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Ok(mut known) = self.known.lock() {
            known.insert(path.to_path_buf(), (stamp, facts.clone()));
        }
        Ok(facts)
    }

    /// How many times a pack file was hashed (each new version of a file, once).
    pub fn files_hashed(&self) -> u64 {
        self.hashed.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// The packs in `dir`, by file name. Files that are not readable packs are skipped.
pub fn catalog(dir: &Path, tags: &PackTags) -> std::io::Result<Vec<CatalogEntry>> {
    let mut entries = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => return Err(e),
    };
    for item in listing {
        let path = item?.path();
        let Some(file) = pack_file_name(&path) else {
            continue;
        };
        let metadata = std::fs::metadata(&path)?;
        let facts = tags.facts(&path, &metadata)?;
        let Some(manifest) = facts.manifest else {
            continue;
        };
        entries.push(CatalogEntry {
            file,
            course_id: manifest.course_id,
            version: manifest.version.to_string(),
            title: manifest.title,
            bytes: metadata.len(),
            etag: facts.etag,
            manifest_sha256: manifest.fingerprint,
            download_bytes: manifest.eager_len,
        });
    }
    entries.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(entries)
}

/// The latest version of each course in `entries`, by course id.
pub fn latest_versions(entries: Vec<CatalogEntry>) -> Vec<CatalogEntry> {
    let mut latest: std::collections::BTreeMap<String, (semver::Version, CatalogEntry)> =
        std::collections::BTreeMap::new();
    for entry in entries {
        let Ok(version) = semver::Version::parse(&entry.version) else {
            continue;
        };
        match latest.get(&entry.course_id) {
            Some((best, _)) if *best >= version => {}
            _ => {
                latest.insert(entry.course_id.clone(), (version, entry));
            }
        }
    }
    latest.into_values().map(|(_, entry)| entry).collect()
}

fn pack_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    (name.ends_with(".tidbit") && safe_file_name(name)).then(|| name.to_string())
}

/// A file name a client may ask for: no separators, no leading dot.
pub fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The strong validator of a pack file: its SHA-256, quoted.
pub fn etag(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        context.update(&buffer[..n]);
    }
    Ok(format!("\"{}\"", hex::encode(context.finish().as_ref())))
}

/// The part of a file a `Range` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    Whole,
    /// Inclusive byte positions.
    Part {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

/// Reads a `Range: bytes=...` header against a file of `len` bytes. Only single ranges are
/// served; anything else gets the whole file, as HTTP allows.
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = match (start.is_empty(), end.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => end
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| (len.saturating_sub(n), len.saturating_sub(1))),
        (false, true) => start
            .parse::<u64>()
            .ok()
            .map(|s| (s, len.saturating_sub(1))),
        (false, false) => match (start.parse::<u64>(), end.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.min(len.saturating_sub(1)))),
            _ => return RangeRequest::Whole,
        },
        (true, true) => return RangeRequest::Whole,
    };
    match parsed {
        Some((start, end)) if start < len && start <= end => RangeRequest::Part { start, end },
        Some(_) => RangeRequest::Unsatisfiable,
        None => RangeRequest::Whole,
    }
}

/// A body streaming bytes `start..=end` of `path` in 64 KiB reads.
pub async fn stream_part(path: &Path, start: u64, end: u64) -> std::io::Result<axum::body::Body> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let mut file = tokio::fs::File::open(path).await?;
    file.seek(std::io::SeekFrom::Start(start)).await?;
    let remaining = end - start + 1;
    let stream =
        futures_util::stream::unfold((file, remaining), |(mut file, remaining)| async move {
            if remaining == 0 {
                return None;
            }
            let mut buffer = vec![0u8; remaining.min(64 * 1024) as usize];
            match file.read(&mut buffer).await {
                Ok(0) => Some((
                    Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "the pack file shrank while it was sent",
                    )),
                    (file, 0),
                )),
                Ok(n) => {
                    buffer.truncate(n);
                    Some((
                        Ok(axum::body::Bytes::from(buffer)),
                        (file, remaining - n as u64),
                    ))
                }
                Err(e) => Some((Err(e), (file, 0))),
            }
        });
    Ok(axum::body::Body::from_stream(stream))
}

/// `GET /v1/catalog` with an admin token: every pack the server holds, each version.
/// Learners read their own catalog (`GET /v1/learners/{learner}/catalog`, [`crate::assignments`]).
pub async fn get_catalog(State(hub): State<Arc<Hub>>, headers: HeaderMap) -> Response {
    if let Some(refused) = crate::refuse_non_admin(&hub, &headers, "the whole catalog") {
        return refused;
    }
    let worker = hub.clone();
    match tokio::task::spawn_blocking(move || catalog(&worker.packs_dir, &worker.pack_tags)).await {
        Ok(Ok(entries)) => axum::Json(entries).into_response(),
        _ => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the catalog could not be read",
        ),
    }
}

/// How many times a pack file was hashed since the server started.
impl Hub {
    pub fn pack_files_hashed(&self) -> u64 {
        self.pack_tags.files_hashed()
    }
}

/// `GET /v1/packs/{file}`: one pack, whole or the range asked for, to an admin token or to a
/// learner's token when the pack's course is assigned to the learner (any other pack is "no
/// such pack" to them).
pub async fn get_pack(
    State(hub): State<Arc<Hub>>,
    UrlPath(file): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    let claims = match crate::authenticate(&hub, &headers) {
        Ok(claims) => claims,
        Err(e) => return refuse(StatusCode::UNAUTHORIZED, e.to_string()),
    };
    let learner = (claims.device != crate::auth::ADMIN_DEVICE).then_some(claims.learner);
    if let Some(learner) = &learner {
        if let Err(refused) = crate::authorize_learner(&hub, &headers, learner).await {
            return refused;
        }
    }
    if !safe_file_name(&file) || !file.ends_with(".tidbit") {
        return refuse(StatusCode::NOT_FOUND, "no such pack");
    }
    let path = hub.packs_dir.join(&file);
    let header_text = |name| {
        headers
            .get(name)
            .and_then(|v: &HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let range = header_text(header::RANGE);
    let if_range = header_text(header::IF_RANGE);
    let if_none_match = header_text(header::IF_NONE_MATCH);
    let worker = hub.clone();
    let tagged = tokio::task::spawn_blocking(move || -> std::io::Result<Option<(u64, String)>> {
        let Ok(metadata) = std::fs::metadata(&path) else {
            return Ok(None);
        };
        if !metadata.is_file() {
            return Ok(None);
        }
        let facts = worker.pack_tags.facts(&path, &metadata)?;
        if let Some(learner) = learner {
            let offered = match (&facts.manifest, worker.assignments()) {
                (Some(manifest), Ok(assignments)) => assignments
                    .courses_for(&learner)
                    .contains(&manifest.course_id),
                (None, _) => false,
                (_, Err(e)) => return Err(std::io::Error::other(e.to_string())),
            };
            if !offered {
                return Ok(None);
            }
        }
        Ok(Some((metadata.len(), facts.etag)))
    })
    .await;
    let (len, etag) = match tagged {
        Ok(Ok(Some(tagged))) => tagged,
        Ok(Ok(None)) => return refuse(StatusCode::NOT_FOUND, "no such pack"),
        _ => {
            return refuse(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the pack could not be read",
            )
        }
    };
    if if_none_match.as_deref() == Some(etag.as_str()) {
        return (StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response();
    }
    // A resumed download of a pack that changed since gets the whole new pack.
    let range = match if_range {
        Some(tag) if tag != etag => None,
        _ => range,
    };
    let path = hub.packs_dir.join(&file);
    let (status, start, end) = match parse_range(range.as_deref(), len) {
        RangeRequest::Whole => (StatusCode::OK, 0, len.saturating_sub(1)),
        RangeRequest::Part { start, end } => (StatusCode::PARTIAL_CONTENT, start, end),
        RangeRequest::Unsatisfiable => {
            return (
                StatusCode::RANGE_NOT_SATISFIABLE,
                [(header::CONTENT_RANGE, format!("bytes */{len}"))],
            )
                .into_response()
        }
    };
    let body = if len == 0 {
        Ok(Body::empty())
    } else {
        stream_part(&path, start, end).await
    };
    let Ok(body) = body else {
        return refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the pack could not be read",
        );
    };
    let mut response = (
        status,
        [
            (header::ETAG, etag),
            (header::ACCEPT_RANGES, "bytes".into()),
            (header::CONTENT_TYPE, "application/octet-stream".into()),
            (
                header::CONTENT_LENGTH,
                if len == 0 { 0 } else { end - start + 1 }.to_string(),
            ),
        ],
        body,
    )
        .into_response();
    if status == StatusCode::PARTIAL_CONTENT {
        if let Ok(value) = HeaderValue::from_str(&format!("bytes {start}-{end}/{len}")) {
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resume_downloads_and_refuse_what_cannot_be_served() {
        assert_eq!(parse_range(None, 100), RangeRequest::Whole);
        assert_eq!(
            parse_range(Some("bytes=40-"), 100),
            RangeRequest::Part { start: 40, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=0-9"), 100),
            RangeRequest::Part { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-10"), 100),
            RangeRequest::Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=90-500"), 100),
            RangeRequest::Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), RangeRequest::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeRequest::Whole);
    }

    #[test]
    fn only_plain_file_names_are_served() {
        assert!(safe_file_name("customer-objections-1.0.0.tidbit"));
        for bad in ["../x.tidbit", ".hidden", "a/b", "a\\b", ""] {
            assert!(!safe_file_name(bad), "{bad}");
        }
    }
}
