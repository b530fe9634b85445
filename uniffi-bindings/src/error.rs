//! The small public error enum the apps see, and how every core error maps onto it.
//!
//! Variants say what kind of thing went wrong so a UI can react (ask for a newer pack, show the
//! answer form again, ...); the message is the core's own sentence, which says what to do.
//! Nothing here decides anything beyond picking the variant.
//!
//! Every variant of every core error is matched by name, down to the inner error wherever its
//! variant decides the app's: a variant added in the core does not compile here until it is
//! given one.

use tidbit_core::learn::personalise::FitError;
use tidbit_core::learn::projection::ProjectionError;
use tidbit_core::learn::schedule::ScheduleError;
use tidbit_core::learn::voice::AudioError;
use tidbit_core::pack::PackError;
use tidbit_core::privacy::at_rest::AtRestError;
use tidbit_core::privacy::consent::ConsentError;
use tidbit_core::store::StoreError;
use tidbit_core::sync::documents::DocumentError;
use tidbit_core::sync::local::LocalError;
use tidbit_core::tidbit::sync_client::SyncError;
use tidbit_core::tidbit::{
    CommunityError, EraseError, GoalError, InterventionError, TidbitError as CoreError, VoiceError,
};

/// Why a call failed. Every message tells a person what to do next.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum TidbitError {
    /// The configuration is unusable (time zone, trusted key files, data directory settings).
    #[error("{0}")]
    InvalidSettings(String),
    /// The device's store could not be read or written.
    #[error("{0}")]
    Storage(String),
    /// A course pack was refused: bad signature, tampered, older than the installed version.
    #[error("{0}")]
    PackRejected(String),
    /// A course, path, module or step that is not installed.
    #[error("{0}")]
    UnknownContent(String),
    /// The response does not fit the item; nothing was recorded.
    #[error("{0}")]
    InvalidAnswer(String),
    /// The call does not apply to this kind of step (answering a lesson card, say).
    #[error("{0}")]
    WrongStepKind(String),
    /// Not possible yet: not enough review history, a path that is not finished, or (for
    /// `erase`) a sync still running.
    #[error("{0}")]
    NotYet(String),
    /// A certificate could not be issued or does not verify.
    #[error("{0}")]
    Certificate(String),
    /// The app's key store could not hand over a key.
    #[error("{0}")]
    KeyStore(String),
    /// The store is sealed with another at-rest key than the key store handed over, or with one
    /// while none was handed over: restore the key, or erase the store and sync it again.
    #[error("{0}")]
    AtRestKey(String),
    /// The sync server refused this device's token (expired, revoked, another learner's): get
    /// a new token for this learner and device, then sync again.
    #[error("{0}")]
    Unauthorized(String),
    /// The sync server could not be reached, refused the sync, did not settle, or sent something
    /// this device refused (nothing of it was applied); progress is kept on this device, so try
    /// again later.
    #[error("{0}")]
    Network(String),
    /// The app cancelled the call (through a `Cancellation`); what it had finished is kept.
    #[error("{0}")]
    Cancelled(String),
    /// The learner has not given the consent scope this needs (`consents()` lists them); nothing
    /// was computed or sent.
    #[error("{0}")]
    ConsentRequired(String),
    /// The request does not apply: a review of a stage with no decision to review, a reason
    /// that is empty or too long.
    #[error("{0}")]
    InvalidRequest(String),
    /// A cohort refused the call, and nothing was written: a cohort this device does not hold
    /// (sync first) or that the learner is no longer in, an entry the space does not take
    /// (feedback on something that is not a shared answer, a reaction given twice, a hide the
    /// learner may not make, a duty that is not theirs), an answer that is not the learner's or
    /// not shareable, or an entry that is malformed. The message says which.
    #[error("{0}")]
    Community(String),
    /// The object was closed; open a new one.
    #[error("this Tidbit was closed: open a new one to continue")]
    Closed,
    /// The learner was erased: by the sync server (it syncs this learner no more; the data on
    /// this device is kept until the app calls `erase`), or from this device by `erase` (the
    /// object refuses every call; open a new one to start again).
    #[error("{0}")]
    Erased(String),
    /// A bug inside Tidbit (a panic, a failed background task). The app keeps running.
    #[error("{0}")]
    Internal(String),
}

/// What a [`crate::KeyStore`] implementation reports when it cannot hand over a key.
#[derive(Debug, thiserror::Error, uniffi::Error)]
pub enum KeyStoreError {
    #[error("the key store is unavailable: {reason}")]
    Unavailable { reason: String },
}

impl From<uniffi::UnexpectedUniFFICallbackError> for KeyStoreError {
    fn from(error: uniffi::UnexpectedUniFFICallbackError) -> Self {
        KeyStoreError::Unavailable {
            reason: error.reason,
        }
    }
}

impl From<CoreError> for TidbitError {
    fn from(error: CoreError) -> Self {
        let message = error.to_string();
        match error {
            CoreError::Store(store) => from_store(store),
            CoreError::Projection(projection) => match projection {
                ProjectionError::Sqlite(_)
                | ProjectionError::BadEvent { .. }
                | ProjectionError::Schedule(ScheduleError::Parameters(_)) => {
                    TidbitError::Storage(message)
                }
                ProjectionError::Schedule(ScheduleError::Model(_)) => {
                    TidbitError::Internal(message)
                }
            },
            CoreError::Sqlite(_) | CoreError::Corrupt(_) => TidbitError::Storage(message),
            CoreError::Response(_) => TidbitError::InvalidAnswer(message),
            CoreError::TimeZone { .. } => TidbitError::InvalidSettings(message),
            CoreError::Erased => TidbitError::Erased(message),
            CoreError::UnknownStep { .. } | CoreError::UnknownPath { .. } => {
                TidbitError::UnknownContent(message)
            }
            CoreError::NotAnItem { .. }
            | CoreError::NotAFlashcard { .. }
            | CoreError::NotALesson { .. } => TidbitError::WrongStepKind(message),
            CoreError::Fit(FitError::NotEnoughData { .. }) | CoreError::PathNotFinished { .. } => {
                TidbitError::NotYet(message)
            }
            CoreError::Fit(FitError::Sqlite(_)) => TidbitError::Storage(message),
            CoreError::Fit(FitError::Fsrs(_)) => TidbitError::Internal(message),
            CoreError::Certificate(_) => TidbitError::Certificate(message),
            CoreError::Documents(documents) => from_documents(documents, message),
            CoreError::RefusedPeerData(_) => TidbitError::Network(message),
            CoreError::Consent(ConsentError::Required(_)) => TidbitError::ConsentRequired(message),
            CoreError::Consent(ConsentError::UnknownScope(_)) => {
                TidbitError::InvalidRequest(message)
            }
            CoreError::UnknownStage { .. } => TidbitError::UnknownContent(message),
            CoreError::Export { .. } => TidbitError::Storage(message),
            CoreError::Records(_)
            | CoreError::InvalidExperiment(_)
            | CoreError::InvalidPushToken(_) => TidbitError::InvalidRequest(message),
            CoreError::NothingToReview { .. } | CoreError::ReviewReason { .. } => {
                TidbitError::InvalidRequest(message)
            }
            CoreError::Voice(voice) => match voice {
                VoiceError::Audio(
                    AudioError::Empty
                    | AudioError::TooLarge { .. }
                    | AudioError::NotAudio
                    | AudioError::DamagedWav(_)
                    | AudioError::NoDuration { .. }
                    | AudioError::TooLong { .. },
                ) => TidbitError::InvalidAnswer(message),
                VoiceError::NotAVoiceItem { .. } | VoiceError::RecordingRequired { .. } => {
                    TidbitError::WrongStepKind(message)
                }
                VoiceError::NoRecording { .. } => TidbitError::UnknownContent(message),
            },
            CoreError::Community(community) => from_community(community, message),
            CoreError::Goal(goal) => match goal {
                GoalError::UnknownPart { .. } | GoalError::UnknownGoal(_) => {
                    TidbitError::UnknownContent(message)
                }
                GoalError::Invalid(_)
                | GoalError::SetByOrganisation(_)
                | GoalError::PastDate { .. } => TidbitError::InvalidRequest(message),
            },
            CoreError::Intervention(intervention) => match intervention {
                InterventionError::Unknown(_) | InterventionError::UnknownJobAid { .. } => {
                    TidbitError::UnknownContent(message)
                }
                InterventionError::WrongStep { .. } | InterventionError::ServerStep(_) => {
                    TidbitError::InvalidRequest(message)
                }
            },
        }
    }
}

/// A cohort's refusal. Every kind is the app's `Community` (the UI shows the message); each is
/// named so a kind added in the core is given its variant here on purpose.
fn from_community(error: CommunityError, message: String) -> TidbitError {
    match error {
        CommunityError::UnknownCohort(_)
        | CommunityError::NotAMember(_)
        | CommunityError::Refused { .. }
        | CommunityError::UnknownAnswer(_)
        | CommunityError::NotShareable { .. }
        | CommunityError::AnswerMismatch(_)
        | CommunityError::Invalid(_) => TidbitError::Community(message),
    }
}

/// The learner's sync documents: what a peer sent and this device refused is the server's fault
/// (nothing of it was applied; syncing again later may do), what is stored here is the device's.
fn from_documents(error: LocalError, message: String) -> TidbitError {
    match error {
        LocalError::Document(
            DocumentError::BadName(_)
            | DocumentError::BadMessage { .. }
            | DocumentError::NotAnAppend { .. }
            | DocumentError::Refused { .. },
        ) => TidbitError::Network(message),
        LocalError::Document(
            DocumentError::Damaged { .. }
            | DocumentError::BadEvent { .. }
            | DocumentError::Automerge(_),
        )
        | LocalError::Sqlite(_)
        | LocalError::Unloadable { .. } => TidbitError::Storage(message),
        LocalError::Random => TidbitError::Internal(message),
    }
}

impl From<SyncError> for TidbitError {
    fn from(error: SyncError) -> Self {
        let message = error.to_string();
        match error {
            SyncError::Tidbit(core) => core.into(),
            SyncError::Unauthorized { .. } => TidbitError::Unauthorized(message),
            SyncError::Erased { .. } => TidbitError::Erased(message),
            SyncError::Refused { .. }
            | SyncError::Unreachable { .. }
            | SyncError::TooManyRounds { .. } => TidbitError::Network(message),
            SyncError::BadServer(_) => TidbitError::InvalidSettings(message),
            SyncError::Runtime(_) | SyncError::Poisoned => TidbitError::Internal(message),
        }
    }
}

impl From<EraseError> for TidbitError {
    fn from(error: EraseError) -> Self {
        let message = error.to_string();
        match error {
            EraseError::KeyNotDestroyed(_) => TidbitError::KeyStore(message),
            EraseError::Files { .. } => TidbitError::Storage(message),
        }
    }
}

impl From<StoreError> for TidbitError {
    fn from(error: StoreError) -> Self {
        from_store(error)
    }
}

fn from_store(error: StoreError) -> TidbitError {
    let message = error.to_string();
    match error {
        StoreError::DataDir { .. }
        | StoreError::NewerSchema { .. }
        | StoreError::Sqlite(_)
        | StoreError::Io(_)
        | StoreError::Pack(PackError::SinkFailed { .. }) => TidbitError::Storage(message),
        StoreError::Pack(
            PackError::NotAPack
            | PackError::UnsupportedContainer { .. }
            | PackError::Truncated { .. }
            | PackError::TrailingData { .. }
            | PackError::TooLarge { .. }
            | PackError::ManifestMalformed(_)
            | PackError::ManifestNotCanonical
            | PackError::UnknownSchemaVersion { .. }
            | PackError::UntrustedSigner { .. }
            | PackError::SignatureInvalid
            | PackError::UnsafePath { .. }
            | PackError::DuplicateEntry { .. }
            | PackError::CompressionRatio { .. }
            | PackError::HashMismatch { .. }
            | PackError::SizeMismatch { .. }
            | PackError::AssetCorrupt { .. }
            | PackError::InvalidCourseId { .. }
            | PackError::File { .. }
            | PackError::Io(_),
        )
        | StoreError::CourseJson(_)
        | StoreError::Course(_)
        | StoreError::MissingCourseJson
        | StoreError::ManifestMismatch { .. }
        | StoreError::Downgrade { .. }
        | StoreError::VersionConflict { .. } => TidbitError::PackRejected(message),
        StoreError::UnknownCourse(_) => TidbitError::UnknownContent(message),
        StoreError::AtRest(error) => error.into(),
    }
}

impl From<AtRestError> for TidbitError {
    fn from(error: AtRestError) -> Self {
        let message = error.to_string();
        match error {
            AtRestError::WrongKey | AtRestError::KeyRequired => TidbitError::AtRestKey(message),
            AtRestError::KeyLength(_) => TidbitError::KeyStore(message),
            AtRestError::Unreadable(_) | AtRestError::TooLarge(_) => TidbitError::Storage(message),
            AtRestError::Random => TidbitError::Internal(message),
        }
    }
}

impl From<tidbit_core::certificate::CertificateError> for TidbitError {
    fn from(error: tidbit_core::certificate::CertificateError) -> Self {
        TidbitError::Certificate(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_the_sync_server_sent_and_the_device_refused_is_network_not_a_damaged_store() {
        let refused = CoreError::RefusedPeerData("a listing outside the page it was sent".into());

        match TidbitError::from(SyncError::Tidbit(refused)) {
            TidbitError::Network(message) => {
                assert!(message.contains("nothing was changed"), "{message}");
                assert!(!message.contains("reinstall"), "{message}");
            }
            other => panic!("expected Network, got {other:?}"),
        }
    }

    #[test]
    fn an_erased_learner_is_erased_whether_the_server_or_this_device_erased_it() {
        let by_server = TidbitError::from(SyncError::Erased {
            message: "erased".into(),
        });
        let on_device = TidbitError::from(CoreError::Erased);

        assert!(
            matches!(&by_server, TidbitError::Erased(m) if m.contains("nothing on this device was changed")),
            "{by_server:?}"
        );
        assert!(
            matches!(&on_device, TidbitError::Erased(m) if m.contains("open a new one")),
            "{on_device:?}"
        );
    }

    #[test]
    fn a_cohort_refusal_is_community_with_the_cores_sentence() {
        let unknown = TidbitError::from(CoreError::from(CommunityError::UnknownCohort(
            "north-9".into(),
        )));
        let refused = TidbitError::from(CoreError::from(CommunityError::Refused {
            cohort: "north-1".into(),
            reason: "it rates an entry that is not a shared answer".into(),
        }));

        assert!(
            matches!(&unknown, TidbitError::Community(m) if m.contains("'north-9'") && m.contains("sync first")),
            "{unknown:?}"
        );
        assert!(
            matches!(&refused, TidbitError::Community(m) if m.contains("not a shared answer")),
            "{refused:?}"
        );
    }

    #[test]
    fn a_sync_message_the_device_cannot_read_is_network_and_a_damaged_document_is_storage() {
        let unreadable = DocumentError::BadMessage {
            doc: "events-2026-11".into(),
            message: "truncated".into(),
        };
        let damaged = DocumentError::Damaged {
            doc: "events-2026-11".into(),
            message: "bad chunk".into(),
        };

        let unreadable = TidbitError::from(CoreError::Documents(unreadable.into()));
        let damaged = TidbitError::from(CoreError::Documents(damaged.into()));

        assert!(
            matches!(unreadable, TidbitError::Network(_)),
            "{unreadable:?}"
        );
        assert!(matches!(damaged, TidbitError::Storage(_)), "{damaged:?}");
    }
}
