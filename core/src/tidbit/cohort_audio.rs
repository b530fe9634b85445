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

/// The bytes one upload request carries.
pub const UPLOAD_CHUNK: usize = 256 * 1024;

fn lock(tidbit: &Mutex<Tidbit>) -> Result<std::sync::MutexGuard<'_, Tidbit>, SyncError> {
    tidbit.lock().map_err(|_| SyncError::Poisoned)
}

fn client(options: &SyncOptions) -> Result<reqwest::Client, SyncError> {
    reqwest::Client::builder()
        .connect_timeout(options.connect_timeout)
        .timeout(options.request_timeout)
        .build()
        .map_err(|e| SyncError::Runtime(e.to_string()))
}

fn unreachable(e: reqwest::Error) -> SyncError {
    SyncError::Unreachable {
        attempts: 1,
        last: super::sync_client::with_causes(&e),
    }
}

fn refused(response: &reqwest::Response, what: &str) -> SyncError {
    match response.status().as_u16() {
        401 | 403 => SyncError::Unauthorized {
            status: response.status().as_u16(),
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
    let client = client(options)?;
    let mut completed = 0;
    for (cohort, audio) in pending {
        let url = format!("{}/v1/cohorts/{cohort}/audio/{audio}", options.server);
        let head = client
            .head(&url)
            .bearer_auth(&options.token)
            .send()
            .await
            .map_err(unreachable)?;
        if head.status().is_success() {
            continue;
        }
        if head.status().as_u16() != 404 {
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
            let response = client
                .put(&url)
                .bearer_auth(&options.token)
                .header("upload-offset", start.to_string())
                .header("upload-length", total.to_string())
                .body(bytes[start..end].to_vec())
                .send()
                .await
                .map_err(unreachable)?;
            match (response.status().as_u16(), upload_offset(&response)) {
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

fn upload_offset(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("upload-offset")?
        .to_str()
        .ok()?
        .parse()
        .ok()
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
    let response = client(options)?
        .get(&url)
        .bearer_auth(&options.token)
        .send()
        .await
        .map_err(unreachable)?;
    if !response.status().is_success() {
        return Err(refused(&response, "fetching a shared recording"));
    }
    // Read with a bound whatever the server says of the length: a recording is at most 16 MiB.
    let mut response = response;
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        if bytes.len() + chunk.len() > crate::learn::voice::MAX_AUDIO_BYTES {
            return Err(SyncError::Refused {
                status: 200,
                message: "the shared recording is larger than any Tidbit keeps".into(),
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    if crate::learn::voice::sha256_hex(&bytes) != audio {
        return Err(TidbitError::RefusedPeerData(format!(
            "the recording fetched for {audio} has other bytes"
        ))
        .into());
    }
    lock(tidbit)?.keep_audio(&bytes)?;
    Ok(bytes)
}
