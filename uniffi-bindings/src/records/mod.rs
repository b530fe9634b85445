//! Records and enums that mirror the core's types for what a UI needs, with their conversions.
//!
//! They copy the core's shape field by field; the only changes are those the FFI needs: `usize`
//! becomes `u32`, tuples become small records, JSON values become JSON text, and names that are
//! keywords in a target language are spelled out.

mod answers;
mod catalog;
mod nudges;
mod plans;
mod progress;
mod steps;
mod sync;

pub use answers::*;
pub use catalog::*;
pub use nudges::*;
pub use plans::*;
pub use progress::*;
pub use steps::*;
pub use sync::*;

/// A count for the FFI, saturating (no store holds 4 billion of anything).
pub(crate) fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}
