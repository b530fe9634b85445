//! Forwards Tidbit's `tracing` events to the app's logger (logcat on Android, `os_log` on iOS,
//! Python's `logging`).
//!
//! The app hands over a [`Logger`] once with [`set_logger`]; a `tracing` subscriber installed
//! on the first call formats each event and passes it on. Calling it again replaces the logger
//! and its level. Logging must never fail a call: with no logger, events are dropped.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, Once, RwLock};

use tracing::field::{Field, Visit};
use tracing::{Event, Level, Metadata, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};

use crate::error::TidbitError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    Error,
    Warn,
    Info,
    Debug,
    Trace,
}

/// One log line: its level, where it comes from (a Rust module path) and the text.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct LogRecord {
    pub level: LogLevel,
    pub target: String,
    pub message: String,
}

/// The app's logger.
#[uniffi::export(foreign)]
pub trait Logger: Send + Sync {
    fn log(&self, record: LogRecord);
}

static LOGGER: RwLock<Option<Arc<dyn Logger>>> = RwLock::new(None);
/// The most verbose level forwarded, as `LogLevel as u8`; `u8::MAX` before any logger is set.
static MAX_LEVEL: AtomicU8 = AtomicU8::new(u8::MAX);

/// Sends Tidbit's log events at `max_level` and above to `logger` (replacing any earlier one).
#[uniffi::export]
pub fn set_logger(logger: Arc<dyn Logger>, max_level: LogLevel) -> Result<(), TidbitError> {
    static INSTALL: Once = Once::new();
    let mut installed = Ok(());
    INSTALL.call_once(|| {
        let subscriber = tracing_subscriber::registry().with(ForeignLogLayer);
        installed = tracing::subscriber::set_global_default(subscriber).map_err(|e| {
            TidbitError::InvalidSettings(format!(
                "another tracing subscriber is already installed in this process ({e}): \
                 set Tidbit's logger before any other"
            ))
        });
    });
    installed?;
    match LOGGER.write() {
        Ok(mut slot) => *slot = Some(logger),
        Err(poisoned) => *poisoned.into_inner() = Some(logger),
    }
    MAX_LEVEL.store(max_level as u8, Ordering::SeqCst);
    // Callsites cache whether they are enabled; a new level must reach them.
    tracing::callsite::rebuild_interest_cache();
    tracing::debug!(level = ?max_level, "logger installed");
    Ok(())
}

fn level_of(level: &Level) -> LogLevel {
    match *level {
        Level::ERROR => LogLevel::Error,
        Level::WARN => LogLevel::Warn,
        Level::INFO => LogLevel::Info,
        Level::DEBUG => LogLevel::Debug,
        _ => LogLevel::Trace,
    }
}

fn current_logger() -> Option<Arc<dyn Logger>> {
    match LOGGER.read() {
        Ok(slot) => slot.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    }
}

struct ForeignLogLayer;

impl<S: Subscriber> Layer<S> for ForeignLogLayer {
    fn enabled(&self, metadata: &Metadata<'_>, _: Context<'_, S>) -> bool {
        let max = MAX_LEVEL.load(Ordering::Relaxed);
        max != u8::MAX && (level_of(metadata.level()) as u8) <= max
    }

    fn on_event(&self, event: &Event<'_>, _: Context<'_, S>) {
        let Some(logger) = current_logger() else {
            return;
        };
        let mut text = MessageText::default();
        event.record(&mut text);
        logger.log(LogRecord {
            level: level_of(event.metadata().level()),
            target: event.metadata().target().to_string(),
            message: text.0,
        });
    }
}

/// The event's message followed by its other fields as `name=value`.
#[derive(Default)]
struct MessageText(String);

impl Visit for MessageText {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "message" {
            let fields = std::mem::take(&mut self.0);
            let _ = write!(self.0, "{value:?}{fields}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.0.insert_str(0, value);
        } else {
            let _ = write!(self.0, " {}={value}", field.name());
        }
    }
}
