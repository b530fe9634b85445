//! Spoken answers shared with a cohort: uploaded in chunks that resume after a cut, read by the
//! cohort's members, deleted once the share is hidden or withdrawn.
//!
//! - `HEAD /v1/cohorts/{cohort}/audio/{sha256}`: `200` when the server holds the whole file;
//!   else `404` with `Upload-Offset`, the bytes received so far (where to resume).
//! - `PUT /v1/cohorts/{cohort}/audio/{sha256}` with `Upload-Offset` and `Upload-Length`
//!   headers and the bytes from that offset: appended when the offset is where the upload
//!   stands (else `409` with the right `Upload-Offset`), for a recording a visible share of the
//!   uploader names (else `409`). When the last byte arrives the file is
//!   checked (its SHA-256 is its name, and it is audio) and kept; a file that fails is dropped
//!   (`422`), and the upload starts again.
//! - `GET /v1/cohorts/{cohort}/audio/{sha256}`: the file.
//!
//! Only a member's device token may call these, for their own cohort. The files live under the
//! server's data directory (`cohort-audio/<cohort>/`), which is private to the server's user;
//! unlike documents they are not sealed, and they are deleted, not kept, when the share goes.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tidbit_core::community::entry::MAX_VOICE_BYTES;
use tidbit_core::community::{CohortSpace, EntryKind, SharedAnswer};
use tidbit_core::events::is_recording_name;

use super::CohortError;
use crate::{refuse, Hub};

pub const UPLOAD_OFFSET: &str = "upload-offset";
pub const UPLOAD_LENGTH: &str = "upload-length";

fn paths(hub: &Hub, cohort: &str, sha: &str) -> (PathBuf, PathBuf, PathBuf) {
    let dir = hub.audio_dir.join(cohort);
    (dir.join(sha), dir.join(format!("{sha}.part")), dir)
}

/// Deletes the audio of every spoken answer in cohort `id` that is hidden or withdrawn.
pub fn forget_hidden(hub: &Hub, id: &str) -> Result<(), CohortError> {
    let space = CohortSpace::fold(id, super::entries(hub.storage.as_ref(), id)?);
    for entry in &space.accepted {
        if let EntryKind::Share {
            answer: SharedAnswer::Voice { audio, .. },
            ..
        } = &entry.kind
        {
            let still_shared = space.accepted.iter().any(|other| {
                !space.hidden.contains(&other.id)
                    && matches!(&other.kind, EntryKind::Share { answer: SharedAnswer::Voice { audio: a, .. }, .. } if a == audio)
            });
            if space.hidden.contains(&entry.id) && !still_shared {
                let (done, part, _) = paths(hub, id, audio);
                for file in [done, part] {
                    match std::fs::remove_file(&file) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => {
                            return Err(CohortError::Unloadable {
                                doc: file.display().to_string(),
                                message: e.to_string(),
                            })
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The learner of a device token that may use cohort `cohort`'s audio, or the refusal.
async fn member(
    hub: &Arc<Hub>,
    headers: &HeaderMap,
    cohort: &str,
    sha: &str,
) -> Result<String, Response> {
    let claims = match crate::authenticate(hub, headers) {
        Ok(claims) => claims,
        Err(e) => return Err(refuse(StatusCode::UNAUTHORIZED, e.to_string())),
    };
    // Through the learner's own checks: rate, erasure, not an admin token.
    let claims = crate::authorize_learner(hub, headers, &claims.learner).await?;
    if !is_recording_name(sha) {
        return Err(refuse(
            StatusCode::BAD_REQUEST,
            "audio is named by its SHA-256: 64 lowercase hex digits",
        ));
    }
    let worker = hub.clone();
    let learner = claims.learner.clone();
    let cohorts =
        tokio::task::spawn_blocking(move || super::cohorts_of(worker.storage.as_ref(), &learner))
            .await
            .map_err(|_| {
                refuse(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the membership check failed",
                )
            })?
            .map_err(|e| refuse(e.status(), e.to_string()))?;
    if !cohorts.iter().any(|c| c == cohort) {
        return Err(refuse(
            StatusCode::FORBIDDEN,
            "this learner is not a member of this cohort",
        ));
    }
    Ok(claims.learner)
}

fn offset_header(received: u64) -> [(header::HeaderName, HeaderValue); 1] {
    [(
        header::HeaderName::from_static(UPLOAD_OFFSET),
        HeaderValue::from(received),
    )]
}

fn number(headers: &HeaderMap, name: &str) -> Option<u64> {
    headers.get(name)?.to_str().ok()?.trim().parse().ok()
}

/// `HEAD /v1/cohorts/{cohort}/audio/{sha}`.
pub async fn head_audio(
    State(hub): State<Arc<Hub>>,
    UrlPath((cohort, sha)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = member(&hub, &headers, &cohort, &sha).await {
        return refused;
    }
    let (done, part, _) = paths(&hub, &cohort, &sha);
    if let Ok(meta) = std::fs::metadata(&done) {
        return (StatusCode::OK, [(header::CONTENT_LENGTH, meta.len())]).into_response();
    }
    let received = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    (StatusCode::NOT_FOUND, offset_header(received)).into_response()
}

/// `GET /v1/cohorts/{cohort}/audio/{sha}`.
pub async fn get_audio(
    State(hub): State<Arc<Hub>>,
    UrlPath((cohort, sha)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    if let Err(refused) = member(&hub, &headers, &cohort, &sha).await {
        return refused;
    }
    let (done, _, _) = paths(&hub, &cohort, &sha);
    match tokio::fs::read(&done).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
        Err(_) => refuse(StatusCode::NOT_FOUND, "no such audio in this cohort"),
    }
}

/// `PUT /v1/cohorts/{cohort}/audio/{sha}`.
pub async fn put_audio(
    State(hub): State<Arc<Hub>>,
    UrlPath((cohort, sha)): UrlPath<(String, String)>,
    headers: HeaderMap,
    body: axum::body::Body,
) -> Response {
    let learner = match member(&hub, &headers, &cohort, &sha).await {
        Ok(learner) => learner,
        Err(refused) => return refused,
    };
    let (Some(offset), Some(total)) = (
        number(&headers, UPLOAD_OFFSET),
        number(&headers, UPLOAD_LENGTH),
    ) else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "an audio upload names its Upload-Offset and Upload-Length",
        );
    };
    if total == 0 || total > MAX_VOICE_BYTES {
        return refuse(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("a spoken answer is 1 to {MAX_VOICE_BYTES} bytes"),
        );
    }
    let body = match crate::read_body(&hub, body).await {
        Ok(body) => body,
        Err(response) => return response,
    };
    let worker = hub.clone();
    let owner = super::owner(&cohort);
    let result = tokio::task::spawn_blocking(move || {
        worker
            .with_learner(&owner, || {
                shared_by(&worker, &cohort, &learner, &sha, total)?;
                append(&worker, &cohort, &sha, offset, total, &body)
            })
            .map_err(|e| Appended::Failed(e.to_string()))
            .and_then(|r| r)
    })
    .await;
    match result {
        Ok(Ok(Appended::Complete)) => (StatusCode::OK, offset_header(total)).into_response(),
        Ok(Ok(Appended::Partial(received))) => {
            (StatusCode::ACCEPTED, offset_header(received)).into_response()
        }
        Ok(Err(Appended::Elsewhere(received))) => (
            StatusCode::CONFLICT,
            offset_header(received),
            "the upload stands elsewhere: resume from Upload-Offset\n",
        )
            .into_response(),
        Ok(Err(Appended::Refused(reason))) => refuse(StatusCode::UNPROCESSABLE_ENTITY, reason),
        Ok(Err(Appended::Unshared)) => refuse(
            StatusCode::CONFLICT,
            "no answer this learner shared in this cohort names this recording (of this size): share it, sync, then upload",
        ),
        Ok(Err(Appended::Failed(reason))) | Ok(Ok(Appended::Failed(reason))) => {
            refuse(StatusCode::INTERNAL_SERVER_ERROR, reason)
        }
        Ok(Ok(other)) | Ok(Err(other)) => refuse(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("unexpected upload state {other:?}"),
        ),
        Err(_) => refuse(StatusCode::INTERNAL_SERVER_ERROR, "the upload failed"),
    }
}

/// Whether `learner` shared, in `cohort`'s space, a spoken answer whose recording is `sha` of
/// `total` bytes (still visible): only such a recording is taken, so nothing the server keeps is
/// unnamed, and the share's hide deletes it.
fn shared_by(
    hub: &Hub,
    cohort: &str,
    learner: &str,
    sha: &str,
    total: u64,
) -> Result<(), Appended> {
    let entries = super::entries(hub.storage.as_ref(), cohort)
        .map_err(|e| Appended::Failed(e.to_string()))?;
    let space = CohortSpace::fold(cohort, entries);
    let shared = space.accepted.iter().any(|e| {
        e.author == learner
            && !space.hidden.contains(&e.id)
            && matches!(&e.kind, EntryKind::Share { answer: SharedAnswer::Voice { audio, bytes, .. }, .. } if audio == sha && *bytes == total)
    });
    if shared {
        Ok(())
    } else {
        Err(Appended::Unshared)
    }
}

#[derive(Debug)]
enum Appended {
    Complete,
    Partial(u64),
    Elsewhere(u64),
    Refused(String),
    Failed(String),
    /// No visible share of the uploader names the recording.
    Unshared,
}

fn append(
    hub: &Hub,
    cohort: &str,
    sha: &str,
    offset: u64,
    total: u64,
    bytes: &[u8],
) -> Result<Appended, Appended> {
    let failed =
        |e: std::io::Error| Appended::Failed(format!("the audio could not be stored: {e}"));
    let (done, part, dir) = paths(hub, cohort, sha);
    if done.exists() {
        return Ok(Appended::Complete);
    }
    crate::files::private_dir(&dir).map_err(|e| Appended::Failed(e.to_string()))?;
    let received = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    if offset != received {
        return Err(Appended::Elsewhere(received));
    }
    if received + bytes.len() as u64 > total {
        return Err(Appended::Refused(format!(
            "the upload runs past its Upload-Length of {total} bytes"
        )));
    }
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&part)
        .map_err(failed)?;
    file.write_all(bytes).map_err(failed)?;
    file.sync_all().map_err(failed)?;
    let received = received + bytes.len() as u64;
    if received < total {
        return Ok(Appended::Partial(received));
    }
    let whole = std::fs::read(&part).map_err(failed)?;
    let digest = hex::encode(ring::digest::digest(&ring::digest::SHA256, &whole).as_ref());
    let checked = if digest != sha {
        Err(format!("the bytes hash to {digest}, not to the name {sha}"))
    } else {
        tidbit_core::learn::voice::recognise(&whole, 0)
            .map(|_| ())
            .map_err(|e| e.to_string())
    };
    if let Err(reason) = checked {
        let _ = std::fs::remove_file(&part);
        return Err(Appended::Refused(format!(
            "{reason}; nothing was kept, upload the file again"
        )));
    }
    std::fs::rename(&part, &done).map_err(failed)?;
    Ok(Appended::Complete)
}
