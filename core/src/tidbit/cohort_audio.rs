//! Spoken answers shared with a cohort travel beside its space: the share names the recording
//! by its SHA-256, and the recording itself is uploaded to the server in chunks that resume
//! where a cut left them ([`upload_shared_audio`], run by every sync), and fetched by a peer
//! when they open it ([`fetch_shared_audio`]), checked against its name and kept sealed.
//!
//! The server's side is `PUT`/`HEAD`/`GET /v1/cohorts/{cohort}/audio/{sha256}` (see the
//! server's `cohorts::audio`). Nothing here holds the store's lock across a network call.

use std::sync::Mutex;

use crate::community::{EntryKind, SharedAnswer};

use super::sync_client::{SyncError, SyncOptions};
use super::{CommunityError, Tidbit, TidbitError};
use crate::net;

/// The bytes one upload request carries.
pub const UPLOAD_CHUNK: usize = 256 * 1024;

fn lock(tidbit: &Mutex<Tidbit>) -> Result<std::sync::MutexGuard<'_, Tidbit>, SyncError> {
    tidbit.lock().map_err(|_| SyncError::Poisoned)
}

/// A request to the sync server, bounded as a sync's round trips are.
fn request(options: &SyncOptions, method: net::Method, url: &str) -> net::Request {
    net::Request::new(method, url)
        .bearer(&options.token)
        .timeouts(options.connect_timeout, Some(options.request_timeout))
}

fn unreachable(e: net::TransportError) -> SyncError {
    match e {
        net::TransportError::Unavailable => SyncError::Runtime(e.to_string()),
        e => SyncError::Unreachable {
            attempts: 1,
            last: e.to_string(),
        },
    }
}

fn refused(response: &net::Response, what: &str) -> SyncError {
    match response.status() {
        401 | 403 => SyncError::Unauthorized {
            status: response.status(),
        },
        status => SyncError::Refused {
            status,
            message: format!("{what} was refused"),
        },
    }
}

/// Uploads the recordings of the learner's spoken answers shared with their cohorts that the
/// server does not hold whole yet; returns how many were completed.
pub async fn upload_shared_audio(
    tidbit: &Mutex<Tidbit>,
    options: &SyncOptions,
) -> Result<u32, SyncError> {
    let pending = {
        let mut tidbit = lock(tidbit)?;
        let me = tidbit.learner_id().to_string();
        let mut pending = Vec::new();
        for cohort in tidbit.cohorts()? {
            // Visible shares only: a hidden or withdrawn recording is never sent again.
            for share in tidbit.cohort(&cohort)?.shares {
                if let SharedAnswer::Voice { audio, .. } = share.answer {
                    let key = (cohort.clone(), audio);
                    if share.author == me && !pending.contains(&key) {
                        pending.push(key);
                    }
                }
            }
        }
        pending
    };
    let mut completed = 0;
    for (cohort, audio) in pending {
        let url = format!("{}/v1/cohorts/{cohort}/audio/{audio}", options.server);
        let head = net::send(request(options, net::Method::Head, &url))
            .await
            .map_err(unreachable)?;
        if head.is_success() {
            continue;
        }
        if head.status() != 404 {
            return Err(refused(&head, "an audio upload"));
        }
        let mut offset = upload_offset(&head).unwrap_or(0);
        // Unsealed only for the upload; the bytes never touch the disk in plain form. A share
        // made on another of the learner's devices is uploaded from there.
        let Ok(bytes) = lock(tidbit)?.voice_audio(&audio) else {
            continue;
        };
        let total = bytes.len() as u64;
        // Every round moves the upload on, or the server says where it stands: a bound on the
        // rounds keeps a server that says otherwise from holding the sync.
        let rounds = bytes.len() / UPLOAD_CHUNK + 8;
        for round in 0.. {
            if round == rounds {
                return Err(SyncError::Refused {
                    status: 409,
                    message: "the audio upload made no progress".into(),
                });
            }
            let start = offset.min(total) as usize;
            let end = (start + UPLOAD_CHUNK).min(bytes.len());
            let put = request(options, net::Method::Put, &url)
                .header("upload-offset", start.to_string())
                .header("upload-length", total.to_string())
                .body(bytes[start..end].to_vec());
            let response = net::send(put).await.map_err(unreachable)?;
            match (response.status(), upload_offset(&response)) {
                (200, _) => {
                    completed += 1;
                    break;
                }
                // Where the upload stands now (after this chunk, or elsewhere after a cut).
                (202 | 409, Some(next)) => offset = next,
                _ => return Err(refused(&response, "an audio upload")),
            }
        }
    }
    Ok(completed)
}

fn upload_offset(response: &net::Response) -> Option<u64> {
    response.header("upload-offset")?.trim().parse().ok()
}

/// The recording `audio` a member of `cohort` shared: kept on this device already, or fetched
/// from the server, checked against its name and kept sealed. Needs the community scope.
pub async fn fetch_shared_audio(
    tidbit: &Mutex<Tidbit>,
    options: &SyncOptions,
    cohort: &str,
    audio: &str,
) -> Result<Vec<u8>, SyncError> {
    {
        let mut tidbit = lock(tidbit)?;
        tidbit.require_consent(crate::privacy::consent::ConsentScope::Community)?;
        let shared = tidbit.entries_of(cohort)?.iter().any(|e| {
            matches!(&e.kind, EntryKind::Share { answer: SharedAnswer::Voice { audio: a, .. }, .. } if a == audio)
        });
        if !shared {
            return Err(TidbitError::from(CommunityError::Refused {
                cohort: cohort.into(),
                reason: "no member shared this recording".into(),
            })
            .into());
        }
        if let Ok(bytes) = tidbit.voice_audio(audio) {
            return Ok(bytes);
        }
    }
    let url = format!("{}/v1/cohorts/{cohort}/audio/{audio}", options.server);
    let mut response = net::send(request(options, net::Method::Get, &url))
        .await
        .map_err(unreachable)?;
    if !response.is_success() {
        return Err(refused(&response, "fetching a shared recording"));
    }
    // Read with a bound whatever the server says of the length: a recording is at most 16 MiB.
    let bytes = match response
        .read_capped(crate::learn::voice::MAX_AUDIO_BYTES)
        .await
    {
        Ok(bytes) => bytes,
        Err(net::ReadError::Cut(e)) => return Err(unreachable(e)),
        Err(net::ReadError::TooLong(_)) => {
            return Err(SyncError::Refused {
                status: 200,
                message: "the shared recording is larger than any Tidbit keeps".into(),
            })
        }
    };
    if crate::learn::voice::sha256_hex(&bytes) != audio {
        return Err(TidbitError::RefusedPeerData(format!(
            "the recording fetched for {audio} has other bytes"
        ))
        .into());
    }
    lock(tidbit)?.keep_audio(&bytes)?;
    Ok(bytes)
}
