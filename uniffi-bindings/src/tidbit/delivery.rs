//! `Tidbit.update_courses()`: the courses assigned to the learner, fetched from the server and
//! installed (see `tidbit_core::tidbit::delivery`). Apps call it from their background jobs
//! (`CourseUpdateWorker` on Android, `BackgroundCourseUpdate` on iOS) and when the learner opens
//! the catalog; a download cut by the network, a cancellation or a killed app resumes at the
//! next call. `Tidbit.fetch_module_media()` fetches a module's on-demand media when it is opened.

use std::sync::Arc;

use tidbit_core::tidbit::{
    CourseUpdateReport, DeliveryError, DeliveryOptions, DownloadProgress, ModuleAssetsReport,
};

use super::{guarded, Tidbit};
use crate::cancellation::{run_cancellable, Cancellation};
use crate::error::TidbitError;

/// What the app allows one course update to spend.
#[derive(Debug, Clone, uniffi::Record)]
pub struct CourseUpdateSettings {
    /// The most bytes this update downloads; a download that reaches it pauses and resumes at
    /// the next update. None: no limit.
    #[uniffi(default = None)]
    pub byte_budget: Option<u64>,
    /// Download only on an unmetered network (the learner's "Wi-Fi only").
    #[uniffi(default = false)]
    pub unmetered_only: bool,
    /// Whether the device is on an unmetered network now, as the platform reports it.
    #[uniffi(default = true)]
    pub on_unmetered_network: bool,
}

/// Hears of each download as its bytes arrive (for a progress bar or a notification).
#[uniffi::export(foreign)]
pub trait DownloadListener: Send + Sync {
    fn on_download(&self, progress: DownloadProgress);
}

impl From<DeliveryError> for TidbitError {
    fn from(error: DeliveryError) -> Self {
        let message = error.to_string();
        match error {
            DeliveryError::Tidbit(core) => core.into(),
            DeliveryError::BadServer(_) => TidbitError::InvalidSettings(message),
            DeliveryError::Unauthorized { .. } => TidbitError::Unauthorized(message),
            DeliveryError::Erased { .. } => TidbitError::Erased(message),
            DeliveryError::Refused { .. }
            | DeliveryError::Unreachable { .. }
            | DeliveryError::BadCatalog(_) => TidbitError::Network(message),
            DeliveryError::Disk(_) => TidbitError::Storage(message),
            DeliveryError::NoSource { .. } => TidbitError::InvalidRequest(message),
            DeliveryError::Runtime(_) | DeliveryError::Poisoned => TidbitError::Internal(message),
        }
    }
}

#[uniffi::export]
impl Tidbit {
    /// Brings the installed courses up to those the server at `server_url` assigns this
    /// learner: new courses and newer versions are downloaded (resuming cut downloads),
    /// checked against the catalog, verified and installed atomically. Packs the server
    /// contradicts are refused and listed in the report; the installed version stays.
    ///
    /// Cancelling the call (a cancelled coroutine or task) or `cancellation` stops it at its
    /// next network wait; what arrived stays on the device for the next update.
    #[uniffi::method(default(settings = None, listener = None, cancellation = None))]
    pub async fn update_courses(
        &self,
        server_url: String,
        token: String,
        settings: Option<CourseUpdateSettings>,
        listener: Option<Arc<dyn DownloadListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> Result<CourseUpdateReport, TidbitError> {
        let session = Arc::clone(&self.session);
        let options = delivery_options(&server_url, &token, settings);
        let work = async move {
            let core = guarded("update_courses", || {
                let core = session.core()?;
                drop(session.lock(&core)?);
                Ok(core)
            })?;
            let heard = move |progress: &DownloadProgress| {
                if let Some(listener) = &listener {
                    listener.on_download(progress.clone());
                }
            };
            let result = tidbit_core::tidbit::update_courses(&core, &options, &heard).await;
            match &result {
                Ok(report) => tracing::info!(
                    offered = report.offered,
                    installed = report.installed.len(),
                    pending = report.pending.len(),
                    refused = report.refused.len(),
                    bytes = report.bytes_downloaded,
                    "courses updated"
                ),
                Err(error) => {
                    tracing::warn!(operation = "update_courses", %error, "call failed")
                }
            }
            result.map_err(TidbitError::from)
        };
        run_cancellable("course update", work, cancellation).await
    }

    /// Fetches the media of `module` that its course delivers on demand (a course whose author
    /// set `media_on_demand`) and the device lacks; call it when the learner opens the module
    /// (`asset_file` is None for such media until then). Each asset is verified against the
    /// course's signed manifest before it is placed; a cut fetch resumes at the next call.
    #[uniffi::method(default(settings = None, listener = None, cancellation = None))]
    #[allow(clippy::too_many_arguments)]
    pub async fn fetch_module_media(
        &self,
        server_url: String,
        token: String,
        course: String,
        module: String,
        settings: Option<CourseUpdateSettings>,
        listener: Option<Arc<dyn DownloadListener>>,
        cancellation: Option<Arc<Cancellation>>,
    ) -> Result<ModuleAssetsReport, TidbitError> {
        let session = Arc::clone(&self.session);
        let options = delivery_options(&server_url, &token, settings);
        let work = async move {
            let core = guarded("fetch_module_media", || {
                let core = session.core()?;
                drop(session.lock(&core)?);
                Ok(core)
            })?;
            let heard = move |progress: &DownloadProgress| {
                if let Some(listener) = &listener {
                    listener.on_download(progress.clone());
                }
            };
            let result =
                tidbit_core::tidbit::fetch_module_assets(&core, &options, &course, &module, &heard)
                    .await;
            if let Err(error) = &result {
                tracing::warn!(operation = "fetch_module_media", %error, "call failed");
            }
            result.map_err(TidbitError::from)
        };
        run_cancellable("media fetch", work, cancellation).await
    }
}

fn delivery_options(
    server_url: &str,
    token: &str,
    settings: Option<CourseUpdateSettings>,
) -> DeliveryOptions {
    let mut options = DeliveryOptions::new(server_url, token);
    if let Some(settings) = settings {
        options.byte_budget = settings.byte_budget;
        options.unmetered_only = settings.unmetered_only;
        options.on_unmetered_network = settings.on_unmetered_network;
    }
    options
}
