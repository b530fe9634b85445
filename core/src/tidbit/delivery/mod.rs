//! Course delivery: keeps the learner's installed courses in step with the courses the server
//! assigns them, over links that drop.
//!
//! [`update_courses`] reads `GET {server}/v1/learners/{learner}/catalog`: the courses assigned
//! to the learner, each with its latest version's file, size, SHA-256 (the strong `ETag`) and
//! manifest fingerprint. Each course that is not installed, or has a newer version on offer, is
//! downloaded into `downloads/` in the store's data directory, under a name made of its SHA-256
//! and nothing the server chose. A download that is cut (a dropped link, a cancelled call, an
//! app killed mid-file) stays there and resumes at the next call from the bytes already on disk
//! (`Range` with `If-Range`, so a pack that changed meanwhile is fetched whole instead).
//!
//! A whole file is checked before anything is installed: its SHA-256 against the catalog's,
//! and its manifest against the course, version and fingerprint the catalog promised (a pack of
//! another course under a known file name is refused). It is then installed through the store's
//! atomic install, which verifies the signature and every asset: the installed version is
//! always the old one or the new one, and the old one stays until the new one is in.
//!
//! A pack under a version already installed but with another manifest (a changed pack
//! republished under the same version) is refused without being downloaded; so is a catalog
//! entry the server then contradicts (another size, other bytes, another `ETag`). A refused pack
//! changes nothing on the device, and the other courses go on.
//!
//! The app decides when it may spend bytes: [`DeliveryOptions::byte_budget`] caps what one
//! call downloads (a download that reaches it pauses and resumes next time), and
//! [`DeliveryOptions::unmetered_only`] with [`DeliveryOptions::on_unmetered_network`] keeps
//! downloads for Wi-Fi. The store is locked only to read the installed versions and to
//! install; never while waiting on the network. The future may be dropped at any await point:
//! what is on disk is then a partial download that the next call resumes or discards.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::sync_client::backoff;
use super::{Tidbit, TidbitError};
use crate::net;
use crate::store::{InstallReport, StoreError, DOWNLOADS_DIR};

mod assets;
mod download;
mod turn;

pub use assets::{fetch_module_assets, MissingMedia, ModuleAssetsReport};

use download::{download, Fetched, Target};

#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("'{0}' is not a server URL (expected http://host:port or https://host)")]
    BadServer(String),
    #[error(
        "the server refused the token ({status}): get a new token for this learner and device"
    )]
    Unauthorized { status: u16 },
    #[error("the server erased this learner's data and serves this learner no more ({message}); nothing on this device was changed")]
    Erased { message: String },
    #[error("the server refused the catalog ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the server could not be reached after {attempts} attempts (last: {last}); the installed courses are kept, try again later")]
    Unreachable { attempts: u32, last: String },
    #[error("the server's catalog is unusable ({0}); nothing was downloaded or installed")]
    BadCatalog(String),
    #[error("course downloads could not be written ({0}); free some space and try again, the installed courses are kept")]
    Disk(String),
    #[error("course '{course}' was not downloaded from a server (it was installed from a file), so its on-demand media cannot be fetched: update the courses from the server, or install the pack with its media")]
    NoSource { course: String },
    #[error("the delivery runtime could not start: {0}")]
    Runtime(String),
    #[error("the learner's store is in use by a call that failed; reopen it")]
    Poisoned,
    #[error(transparent)]
    Tidbit(#[from] TidbitError),
}

impl From<StoreError> for DeliveryError {
    fn from(error: StoreError) -> Self {
        DeliveryError::Tidbit(error.into())
    }
}

/// Where to fetch courses from, and how much the app lets this call spend.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// The server's base URL, such as `https://learn.example.org`.
    pub server: String,
    pub token: String,
    /// The most bytes this call downloads (`None`: no limit). A download that reaches it pauses,
    /// and resumes from there at the next call.
    pub byte_budget: Option<u64>,
    /// Download only on an unmetered network ("Wi-Fi only").
    pub unmetered_only: bool,
    /// Whether the device is on an unmetered network now, as the platform reports it.
    pub on_unmetered_network: bool,
    /// Failed requests tolerated per pack (and for the catalog) before this call gives up on it.
    pub max_attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub connect_timeout: Duration,
    /// How long a download may go without receiving a byte before it counts as cut.
    pub read_timeout: Duration,
}

impl DeliveryOptions {
    /// Defaults for a phone: no byte budget, any network, 5 attempts per request with backoff
    /// from 250 ms, 10 s to connect and 30 s of silence before a download counts as cut.
    pub fn new(server: &str, token: &str) -> DeliveryOptions {
        DeliveryOptions {
            server: server.trim_end_matches('/').to_string(),
            token: token.to_string(),
            byte_budget: None,
            unmetered_only: false,
            on_unmetered_network: true,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(30),
        }
    }
}

/// One course version the server offers the learner.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfferedCourse {
    pub course_id: String,
    pub version: String,
    pub title: String,
    /// The pack's file name on the server (`GET /v1/packs/{file}`).
    pub file: String,
    pub bytes: u64,
    /// The pack file's SHA-256 in quotes: its strong `ETag`.
    pub etag: String,
    /// The fingerprint of the pack's manifest, as an install records it.
    pub manifest_sha256: String,
    /// How much of the pack a device downloads with the course when it has on-demand assets
    /// (they come last and are fetched when a module first needs them); absent: all of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub download_bytes: Option<u64>,
}

impl OfferedCourse {
    /// The bytes a course update downloads.
    pub fn download_len(&self) -> u64 {
        self.download_bytes.unwrap_or(self.bytes)
    }
}

/// `GET /v1/learners/{learner}/catalog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LearnerCatalog {
    pub courses: Vec<OfferedCourse>,
}

/// Why a download waits for a later call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
#[cfg_attr(feature = "ffi", derive(uniffi::Enum))]
pub enum PendingReason {
    /// The app allows downloads on an unmetered network only, and the device is not on one.
    UnmeteredNetworkOnly,
    /// This call's byte budget is spent.
    ByteBudget,
    /// The link kept failing; what arrived is kept for the next call.
    Interrupted { last_error: String },
}

/// A course version not installed by this call, that a later call will fetch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct PendingDownload {
    pub course_id: String,
    pub version: String,
    /// Bytes of the pack already on the device.
    pub bytes_on_device: u64,
    pub bytes_total: u64,
    pub reason: PendingReason,
}

/// A course version refused: nothing of it was installed, and the installed version stays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct RefusedPack {
    pub course_id: String,
    pub version: String,
    pub reason: String,
}

/// Where one download stands, reported as bytes arrive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct DownloadProgress {
    pub course_id: String,
    pub version: String,
    pub bytes_on_device: u64,
    pub bytes_total: u64,
}

/// What one [`update_courses`] call did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ffi", derive(uniffi::Record))]
pub struct CourseUpdateReport {
    /// Courses the server offers this learner.
    pub offered: u32,
    /// Courses installed or upgraded by this call.
    pub installed: Vec<InstallReport>,
    /// Courses whose offered version is the one installed (or older).
    pub up_to_date: Vec<String>,
    pub pending: Vec<PendingDownload>,
    pub refused: Vec<RefusedPack>,
    /// Bytes of packs received by this call.
    pub bytes_downloaded: u64,
    /// What resuming saved: at each resumed request, the bytes already on the device that a
    /// download restarted from nothing would have fetched again (a download resumed three times
    /// counts what it held each time).
    pub bytes_resumed: u64,
    /// Requests that failed and were tried again.
    pub retries: u32,
}

/// The largest catalog a device reads.
const MAX_CATALOG_BYTES: usize = 4 * 1024 * 1024;
/// The most courses a catalog may offer one learner.
const MAX_OFFERED: usize = 1_000;
/// The largest pack a device downloads: the pack format's limit on its content.
const MAX_PACK_BYTES: u64 = 4 * 1024 * 1024 * 1024;
/// Redirects followed before a request counts as failed (a redirect loop ends here).
const MAX_REDIRECTS: u32 = 5;

/// Brings the installed courses up to what the server offers the learner. See the module
/// documentation. `progress` hears of each download as bytes arrive.
pub async fn update_courses(
    tidbit: &Mutex<Tidbit>,
    options: &DeliveryOptions,
    progress: &(dyn Fn(&DownloadProgress) + Send + Sync),
) -> Result<CourseUpdateReport, DeliveryError> {
    let (learner, downloads) = {
        let tidbit = lock(tidbit)?;
        (
            tidbit.learner_id().to_string(),
            tidbit.data_dir().join(DOWNLOADS_DIR),
        )
    };
    let client = http_client(options)?;
    std::fs::create_dir_all(&downloads).map_err(|e| disk(&downloads, e))?;
    // Another update of this store (a thread, or the app beside its background worker) would
    // download into the same files: this one waits, then finds what the other installed.
    let _turn = turn::Turn::take(&downloads, turn::Kind::Updates).await?;
    let mut report = CourseUpdateReport::default();
    let catalog = fetch_catalog(&client, options, &learner, &mut report).await?;
    report.offered = catalog.courses.len() as u32;

    let installed = lock(tidbit)?.store().installed_versions()?;
    let mut wanted = Vec::new();
    for offered in catalog.courses {
        let version = match semver::Version::parse(&offered.version) {
            Ok(version) => version,
            Err(e) => {
                let reason = format!("'{}' is not a version ({e})", offered.version);
                report.refused.push(refused(&offered, reason));
                continue;
            }
        };
        match installed.iter().find(|i| i.course_id == offered.course_id) {
            Some(current) if current.version > version => {
                report.up_to_date.push(offered.course_id);
            }
            Some(current) if current.version == version => {
                if current.manifest_sha256 == offered.manifest_sha256 {
                    // Where it came from, if an install stopped before it was noted (or the
                    // pack was installed from a file): its on-demand media come from here.
                    let store_source = {
                        let tidbit = lock(tidbit)?;
                        match tidbit.store().course_source(&offered.course_id)? {
                            Some(_) => Ok(()),
                            None => tidbit
                                .store()
                                .record_course_source(&offered.course_id, &source_of(&offered)),
                        }
                    };
                    store_source?;
                    report.up_to_date.push(offered.course_id);
                } else {
                    report.refused.push(RefusedPack {
                        reason: format!(
                            "the server offers another pack under version {version}, which is installed: a published version never changes, so it is not downloaded (the author must publish a new version)"
                        ),
                        course_id: offered.course_id,
                        version: offered.version,
                    });
                }
            }
            _ => wanted.push(offered),
        }
    }

    discard_stale(&downloads, &wanted)?;
    let mut budget = options.byte_budget;
    for offered in wanted {
        let path = download::partial_path(&downloads, &offered);
        let pending = |reason| PendingDownload {
            course_id: offered.course_id.clone(),
            version: offered.version.clone(),
            bytes_on_device: file_len(&path),
            bytes_total: offered.download_len(),
            reason,
        };
        let whole = file_len(&path) == offered.download_len();
        if options.unmetered_only && !options.on_unmetered_network && !whole {
            report
                .pending
                .push(pending(PendingReason::UnmeteredNetworkOnly));
            continue;
        }
        let fetched = download(
            &client,
            options,
            &Target::pack(&options.server, &offered),
            &path,
            &mut budget,
            &mut report,
            progress,
        )
        .await?;
        match fetched {
            Fetched::Whole => match install(tidbit, &offered, &path)? {
                Ok(installed) => report.installed.push(installed),
                Err(reason) => report.refused.push(refused(&offered, reason)),
            },
            Fetched::Pending(reason) => report.pending.push(pending(reason)),
            Fetched::Refused(reason) => report.refused.push(refused(&offered, reason)),
        }
    }
    Ok(report)
}

/// How delivery's requests are bounded: the options' timeouts, and [`MAX_REDIRECTS`].
#[derive(Debug, Clone, Copy)]
struct Client {
    connect: Duration,
    read: Duration,
}

impl Client {
    fn get(&self, url: &str, token: &str) -> net::Request {
        let mut request = net::Request::new(net::Method::Get, url).bearer(token);
        request.connect_timeout = self.connect;
        request.read_timeout = Some(self.read);
        request.max_redirects = MAX_REDIRECTS;
        request
    }
}

fn http_client(options: &DeliveryOptions) -> Result<Client, DeliveryError> {
    if !(options.server.starts_with("http://") || options.server.starts_with("https://")) {
        return Err(DeliveryError::BadServer(options.server.clone()));
    }
    Ok(Client {
        connect: options.connect_timeout,
        read: options.read_timeout,
    })
}

fn source_of(offered: &OfferedCourse) -> crate::store::CourseSource {
    crate::store::CourseSource {
        version: offered.version.clone(),
        file: offered.file.clone(),
        etag: offered.etag.clone(),
    }
}

/// Whether an install failed because of the pack (refused: its bytes are discarded) rather than
/// the device (the download is kept and the call fails).
fn pack_at_fault(error: &TidbitError) -> bool {
    use crate::pack::PackError;
    match error {
        TidbitError::Store(store) => match store {
            StoreError::Pack(PackError::SinkFailed { .. })
            | StoreError::Pack(PackError::Io(_))
            | StoreError::Pack(PackError::File { .. }) => false,
            StoreError::Pack(_)
            | StoreError::CourseJson(_)
            | StoreError::Course(_)
            | StoreError::MissingCourseJson
            | StoreError::ManifestMismatch { .. }
            | StoreError::Downgrade { .. }
            | StoreError::VersionConflict { .. } => true,
            _ => false,
        },
        _ => false,
    }
}

fn refused(offered: &OfferedCourse, reason: String) -> RefusedPack {
    RefusedPack {
        course_id: offered.course_id.clone(),
        version: offered.version.clone(),
        reason,
    }
}

/// Checks a whole download against the catalog entry, installs it, and removes the file
/// whatever became of it. The inner error is why the pack was refused; the outer one stops
/// the call (the store could not be written).
fn install(
    tidbit: &Mutex<Tidbit>,
    offered: &OfferedCourse,
    path: &Path,
) -> Result<Result<InstallReport, String>, DeliveryError> {
    let checked = download::check_whole(path, offered);
    let result = match checked {
        Err(reason) => Ok(Err(reason)),
        Ok(()) => {
            let mut tidbit = lock(tidbit)?;
            match tidbit.install_pack(path, &mut |_, _| {}) {
                Ok(report) => tidbit
                    .store()
                    .record_course_source(&offered.course_id, &source_of(offered))
                    .map(|()| Ok(report))
                    .map_err(DeliveryError::from),
                Err(error) if pack_at_fault(&error) => Ok(Err(error.to_string())),
                Err(error) => Err(DeliveryError::Tidbit(error)),
            }
        }
    };
    // A refused pack is discarded (its bytes are wrong for what the catalog named); a failed
    // write keeps it for the next call.
    if result.is_ok() {
        remove_if_present(path).map_err(|e| disk(path, e))?;
    }
    result
}

async fn fetch_catalog(
    client: &Client,
    options: &DeliveryOptions,
    learner: &str,
    report: &mut CourseUpdateReport,
) -> Result<LearnerCatalog, DeliveryError> {
    let url = format!("{}/v1/learners/{}/catalog", options.server, learner);
    let mut failures = 0u32;
    loop {
        let last = match read_catalog(client, &url, &options.token).await {
            Ok(catalog) => return Ok(catalog),
            Err(CatalogFailure::Fatal(error)) => return Err(error),
            Err(CatalogFailure::Transient(last)) => last,
        };
        failures += 1;
        if failures >= options.max_attempts {
            return Err(DeliveryError::Unreachable {
                attempts: failures,
                last,
            });
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

enum CatalogFailure {
    Transient(String),
    Fatal(DeliveryError),
}

async fn read_catalog(
    client: &Client,
    url: &str,
    token: &str,
) -> Result<LearnerCatalog, CatalogFailure> {
    let mut response = net::send(client.get(url, token))
        .await
        .map_err(|e| match e {
            net::TransportError::Failed(_) => CatalogFailure::Transient(e.to_string()),
            net::TransportError::Redirected(_) => {
                CatalogFailure::Fatal(DeliveryError::BadCatalog(e.to_string()))
            }
            net::TransportError::Unavailable => {
                CatalogFailure::Fatal(DeliveryError::Runtime(e.to_string()))
            }
        })?;
    let status = response.status();
    let body = response
        .read_capped(MAX_CATALOG_BYTES)
        .await
        .map_err(|e| match e {
            net::ReadError::Cut(e) => CatalogFailure::Transient(e.to_string()),
            too_long => CatalogFailure::Fatal(DeliveryError::BadCatalog(too_long.to_string())),
        })?;
    if !response.is_success() {
        let message: String = String::from_utf8_lossy(&body).chars().take(300).collect();
        return Err(match status {
            401 | 403 => CatalogFailure::Fatal(DeliveryError::Unauthorized { status }),
            410 => CatalogFailure::Fatal(DeliveryError::Erased {
                message: message.trim().to_string(),
            }),
            408 | 429 => CatalogFailure::Transient(format!("{status}: {message}")),
            400..=499 => CatalogFailure::Fatal(DeliveryError::Refused { status, message }),
            _ => CatalogFailure::Transient(format!("{status}: {message}")),
        });
    }
    let catalog: LearnerCatalog = serde_json::from_slice(&body)
        .map_err(|e| CatalogFailure::Fatal(DeliveryError::BadCatalog(e.to_string())))?;
    check_catalog(&catalog).map_err(|e| CatalogFailure::Fatal(DeliveryError::BadCatalog(e)))?;
    Ok(catalog)
}

/// Refuses a catalog a device must not act on: one it could be made to write outside its
/// downloads, fetch without bound or install two versions of a course from.
fn check_catalog(catalog: &LearnerCatalog) -> Result<(), String> {
    if catalog.courses.len() > MAX_OFFERED {
        return Err(format!("more than {MAX_OFFERED} courses"));
    }
    let mut seen = BTreeSet::new();
    for offered in &catalog.courses {
        let id = &offered.course_id;
        if !crate::sync::peer::valid_device_id(id) {
            return Err(format!("'{}' is not a course id", truncated(id)));
        }
        if !seen.insert(id.as_str()) {
            return Err(format!("course '{id}' is offered twice"));
        }
        if !download::safe_file_name(&offered.file) {
            return Err(format!(
                "'{}' is not a pack file name",
                truncated(&offered.file)
            ));
        }
        if offered.bytes == 0 || offered.bytes > MAX_PACK_BYTES {
            return Err(format!(
                "course '{id}' is said to be {} bytes (a pack holds 1 to {MAX_PACK_BYTES})",
                offered.bytes
            ));
        }
        if offered
            .download_bytes
            .is_some_and(|n| n == 0 || n > offered.bytes)
        {
            return Err(format!(
                "course '{id}' is to be downloaded as {} of its {} bytes",
                offered.download_len(),
                offered.bytes
            ));
        }
        if download::sha256_of_etag(&offered.etag).is_none() {
            return Err(format!("course '{id}' has no SHA-256 ETag"));
        }
        if !is_sha256_hex(&offered.manifest_sha256) {
            return Err(format!("course '{id}' has no manifest fingerprint"));
        }
    }
    Ok(())
}

fn truncated(text: &str) -> String {
    text.chars().take(64).collect()
}

pub(super) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// Removes downloads that no course on offer needs any more (a version superseded while it
/// was half downloaded, a course no longer assigned), and media fetches left cut (the next
/// time the module opens fetches them again) unless a media fetch is running now.
fn discard_stale(downloads: &Path, wanted: &[OfferedCourse]) -> Result<(), DeliveryError> {
    let keep: BTreeSet<PathBuf> = wanted
        .iter()
        .map(|offered| download::partial_path(downloads, offered))
        .collect();
    let media_idle = turn::Turn::try_take(downloads, turn::Kind::Media)?;
    let entries = std::fs::read_dir(downloads).map_err(|e| disk(downloads, e))?;
    for entry in entries {
        let path = entry.map_err(|e| disk(downloads, e))?.path();
        let stale = match path.extension() {
            Some(x) if x == "part" => !keep.contains(&path),
            Some(x) if x == "asset" => media_idle.is_some(),
            _ => false,
        };
        if stale && path.is_file() {
            remove_if_present(&path).map_err(|e| disk(&path, e))?;
        }
    }
    Ok(())
}

fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

fn remove_if_present(path: &Path) -> std::io::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

fn disk(path: &Path, error: std::io::Error) -> DeliveryError {
    DeliveryError::Disk(format!("{}: {error}", path.display()))
}

fn lock(tidbit: &Mutex<Tidbit>) -> Result<std::sync::MutexGuard<'_, Tidbit>, DeliveryError> {
    tidbit.lock().map_err(|_| DeliveryError::Poisoned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offered() -> OfferedCourse {
        OfferedCourse {
            course_id: "field-safety".into(),
            version: "1.0.0".into(),
            title: "Field safety".into(),
            file: "field-safety-1.0.0.tidbit".into(),
            bytes: 1_000,
            etag: format!("\"{}\"", "ab".repeat(32)),
            manifest_sha256: "cd".repeat(32),
            download_bytes: None,
        }
    }

    #[test]
    fn a_catalog_that_could_misdirect_a_download_is_refused() {
        let ok = LearnerCatalog {
            courses: vec![offered()],
        };
        assert_eq!(check_catalog(&ok), Ok(()));
        let bad = |edit: fn(&mut OfferedCourse)| {
            let mut course = offered();
            edit(&mut course);
            check_catalog(&LearnerCatalog {
                courses: vec![course],
            })
            .unwrap_err()
        };
        assert!(bad(|c| c.file = "../tidbit.sqlite3".into()).contains("file name"));
        assert!(bad(|c| c.course_id = "a/b".into()).contains("course id"));
        assert!(bad(|c| c.bytes = 0).contains("bytes"));
        assert!(bad(|c| c.bytes = MAX_PACK_BYTES + 1).contains("bytes"));
        assert!(bad(|c| c.etag = "\"weak\"".into()).contains("ETag"));
        assert!(bad(|c| c.manifest_sha256 = "x".into()).contains("fingerprint"));
        let twice = LearnerCatalog {
            courses: vec![offered(), offered()],
        };
        assert!(check_catalog(&twice).unwrap_err().contains("twice"));
    }
}
