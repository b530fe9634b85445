//! `tidbit serve`'s push settings: FCM and APNs credentials, read and checked at start.
//!
//! Without any of them the server only logs the pushes it would send. The real vendors are
//! reached over the network at run time; a malformed credential file stops the server from
//! starting, with a message saying which file and what is wrong.

use std::path::PathBuf;
use std::sync::Arc;

use tidbit_server::push::apns::{ApnsSender, ApnsSettings};
use tidbit_server::push::fcm::FcmSender;
use tidbit_server::push::{PushSender, VendorPushSender};

#[derive(clap::Args, Debug, Clone, Default)]
pub struct PushArgs {
    /// Push to Android devices through FCM HTTP v1 with this service account key (the JSON file
    /// downloaded from the Firebase console).
    #[arg(long, env = "TIDBIT_FCM_SERVICE_ACCOUNT", value_name = "FILE")]
    pub fcm_service_account: Option<PathBuf>,
    /// Where FCM is reached (its own address by default; for tests).
    #[arg(
        long,
        env = "TIDBIT_FCM_ENDPOINT",
        value_name = "URL",
        requires = "fcm_service_account"
    )]
    pub fcm_endpoint: Option<String>,
    /// Push to iOS devices through APNs with this token signing key (`AuthKey_XXXXXXXXXX.p8`).
    #[arg(long, env = "TIDBIT_APNS_KEY", value_name = "FILE.p8",
          requires_all = ["apns_key_id", "apns_team_id", "apns_topic"])]
    pub apns_key: Option<PathBuf>,
    /// The id of the APNs key (10 characters, shown beside it in the Apple developer account).
    #[arg(
        long,
        env = "TIDBIT_APNS_KEY_ID",
        value_name = "ID",
        requires = "apns_key"
    )]
    pub apns_key_id: Option<String>,
    /// The Apple developer team id.
    #[arg(
        long,
        env = "TIDBIT_APNS_TEAM_ID",
        value_name = "ID",
        requires = "apns_key"
    )]
    pub apns_team_id: Option<String>,
    /// The app's bundle id (the APNs topic).
    #[arg(
        long,
        env = "TIDBIT_APNS_TOPIC",
        value_name = "BUNDLE",
        requires = "apns_key"
    )]
    pub apns_topic: Option<String>,
    /// Where APNs is reached (production by default; https://api.sandbox.push.apple.com for
    /// development builds of the app).
    #[arg(
        long,
        env = "TIDBIT_APNS_ENDPOINT",
        value_name = "URL",
        requires = "apns_key"
    )]
    pub apns_endpoint: Option<String>,
}

impl PushArgs {
    /// The configured vendors, their credentials read and checked; `None` when none is
    /// configured (the server then only logs pushes).
    pub fn sender(&self) -> Result<Option<Arc<dyn PushSender>>, String> {
        let fcm = match &self.fcm_service_account {
            Some(path) => Some(
                FcmSender::from_file(path, self.fcm_endpoint.as_deref())
                    .map_err(|e| format!("--fcm-service-account {}: {e}", path.display()))?,
            ),
            None => None,
        };
        let apns = match &self.apns_key {
            Some(path) => {
                let settings = ApnsSettings {
                    key_id: self.apns_key_id.clone().unwrap_or_default(),
                    team_id: self.apns_team_id.clone().unwrap_or_default(),
                    topic: self.apns_topic.clone().unwrap_or_default(),
                    endpoint: self.apns_endpoint.clone(),
                };
                Some(
                    ApnsSender::from_file(path, settings)
                        .map_err(|e| format!("--apns-key {}: {e}", path.display()))?,
                )
            }
            None => None,
        };
        if fcm.is_none() && apns.is_none() {
            return Ok(None);
        }
        Ok(Some(Arc::new(VendorPushSender { fcm, apns })))
    }
}
