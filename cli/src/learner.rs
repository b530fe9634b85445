//! Opening a learner's Tidbit from the command line, shared by the commands that learn.
//!
//! The learner and device ids default to the ones stored with the data directory (so a second
//! session continues as the same learner on the same device), else `learner` and `terminal`; the
//! time zone defaults to `$TZ`, else UTC. Opening never installs or changes course content.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tidbit_core::events::SystemClock;
use tidbit_core::tidbit::{Tidbit, TidbitConfig, TidbitError};

use crate::authoring::trusted_keys;

const DEFAULT_LEARNER: &str = "learner";
const DEFAULT_DEVICE: &str = "terminal";
const DEFAULT_TIME_ZONE: &str = "UTC";

/// The learner and device ids to open `data` with: the ones given, else the stored ones, else the
/// defaults.
pub fn resolve_identity(
    data: &Path,
    learner: Option<&str>,
    device: Option<&str>,
) -> Result<(String, String), String> {
    let stored = match (learner, device) {
        (Some(_), Some(_)) => None,
        _ => Tidbit::stored_identity(data).map_err(|e| format!("{}: {e}", data.display()))?,
    };
    let (stored_learner, stored_device) = match &stored {
        Some((learner, device)) => (learner.as_str(), device.as_str()),
        None => (DEFAULT_LEARNER, DEFAULT_DEVICE),
    };
    Ok((
        learner.unwrap_or(stored_learner).to_string(),
        device.unwrap_or(stored_device).to_string(),
    ))
}

/// Opens the learner's Tidbit on `data` with the system clock. `trust` may be empty: trusted
/// keys are needed only to install packs.
pub fn open_learner(
    data: &Path,
    learner: Option<&str>,
    device: Option<&str>,
    tz: Option<&str>,
    trust: &[PathBuf],
) -> Result<Tidbit, String> {
    let (learner_id, device_id) = resolve_identity(data, learner, device)?;
    let from_env = std::env::var("TZ")
        .ok()
        .map(|tz| tz.trim().trim_start_matches(':').to_string())
        .filter(|tz| !tz.is_empty());
    let time_zone = tz
        .map(str::to_string)
        .or_else(|| from_env.clone())
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    let config = TidbitConfig {
        data_dir: data.to_path_buf(),
        learner_id,
        device_id,
        time_zone,
        trusted_keys: trusted_keys(trust)?,
        at_rest_key: None,
    };
    let open = |config: TidbitConfig| Tidbit::open(config, Arc::new(SystemClock));
    match open(config.clone()) {
        Ok(tidbit) => Ok(tidbit),
        // A POSIX `TZ` such as `CET-1CEST` is not an IANA name: fall back rather than refuse.
        Err(TidbitError::TimeZone { time_zone }) if tz.is_none() && from_env.is_some() => {
            eprintln!(
                "warning: TZ='{time_zone}' is not an IANA time zone; using {DEFAULT_TIME_ZONE} (pass --tz Europe/Berlin or similar to choose one)"
            );
            open(TidbitConfig {
                time_zone: DEFAULT_TIME_ZONE.to_string(),
                ..config
            })
            .map_err(|e| format!("{}: {e}", data.display()))
        }
        Err(e) => Err(format!("{}: {e}", data.display())),
    }
}

/// Opens the learner's existing store on `data` for reading at `now` (a clock stopped there),
/// or on the system clock; the time zone is `tz`, else an IANA `$TZ`, else UTC. Refuses a
/// directory with no learner's store.
pub fn open_learner_at(
    data: &Path,
    tz: Option<&str>,
    now: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Tidbit, String> {
    if !data.join(tidbit_core::store::DATABASE_FILE).is_file() {
        return Err(format!(
            "{}: no learner store here; install a course (tidbit install) or pass the data directory the learner uses",
            data.display()
        ));
    }
    let (learner_id, device_id) = resolve_identity(data, None, None)?;
    let time_zone = tz
        .map(str::to_string)
        .or_else(|| std::env::var("TZ").ok().filter(|tz| tz.contains('/')))
        .unwrap_or_else(|| DEFAULT_TIME_ZONE.to_string());
    let clock: Arc<dyn tidbit_core::events::Clock> = match now {
        Some(now) => Arc::new(tidbit_core::events::ManualClock::new(now)),
        None => Arc::new(SystemClock),
    };
    Tidbit::open(
        TidbitConfig {
            data_dir: data.to_path_buf(),
            learner_id,
            device_id,
            time_zone,
            trusted_keys: tidbit_core::keys::TrustedKeys::default(),
            at_rest_key: None,
        },
        clock,
    )
    .map_err(|e| format!("{}: {e}", data.display()))
}
