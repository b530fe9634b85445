//! Intervention outcomes across learners, in all and per kind (module, coaching, mentoring,
//! job aid): how many were triggered, done within their window, done late, missed (past the
//! deadline, undone) and still open, so the L&D team sees which kind worked.

use serde::{Deserialize, Serialize};

use super::summary::InterventionRecord;
use crate::events::InterventionKind;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct InterventionOutcomes {
    pub triggered: u64,
    pub done_in_time: u64,
    pub done_late: u64,
    pub overdue: u64,
    pub open: u64,
    /// The same figures per kind, every kind listed (in [`InterventionKind::ALL`]'s order).
    #[serde(default)]
    pub by_kind: Vec<KindOutcomes>,
}

/// One kind's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KindOutcomes {
    pub kind: InterventionKind,
    pub triggered: u64,
    pub done_in_time: u64,
    pub done_late: u64,
    /// Past the deadline and not done.
    pub missed: u64,
    pub open: u64,
    /// Done within the window, of those whose outcome is known (`triggered − open`); 0 when
    /// none is.
    pub rate: f64,
}

/// Where one intervention stands at `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    DoneInTime,
    DoneLate,
    Missed,
    Open,
}

impl Standing {
    pub fn of(record: &InterventionRecord, now_ms: i64) -> Standing {
        match record.done_ms {
            Some(done) if done <= record.deadline_ms => Standing::DoneInTime,
            Some(_) => Standing::DoneLate,
            None if record.deadline_ms < now_ms => Standing::Missed,
            None => Standing::Open,
        }
    }
}

impl InterventionOutcomes {
    pub fn new() -> InterventionOutcomes {
        InterventionOutcomes {
            by_kind: InterventionKind::ALL
                .into_iter()
                .map(|kind| KindOutcomes {
                    kind,
                    triggered: 0,
                    done_in_time: 0,
                    done_late: 0,
                    missed: 0,
                    open: 0,
                    rate: 0.0,
                })
                .collect(),
            ..InterventionOutcomes::default()
        }
    }

    /// Counts `record` as it stands at `now_ms`; returns its standing.
    pub fn count(&mut self, record: &InterventionRecord, now_ms: i64) -> Standing {
        let standing = Standing::of(record, now_ms);
        let kind = record.action.kind();
        let Some(of_kind) = self.by_kind.iter_mut().find(|k| k.kind == kind) else {
            return standing;
        };
        self.triggered += 1;
        of_kind.triggered += 1;
        match standing {
            Standing::DoneInTime => {
                self.done_in_time += 1;
                of_kind.done_in_time += 1;
            }
            Standing::DoneLate => {
                self.done_late += 1;
                of_kind.done_late += 1;
            }
            Standing::Missed => {
                self.overdue += 1;
                of_kind.missed += 1;
            }
            Standing::Open => {
                self.open += 1;
                of_kind.open += 1;
            }
        }
        let known = of_kind.triggered - of_kind.open;
        of_kind.rate = if known == 0 {
            0.0
        } else {
            of_kind.done_in_time as f64 / known as f64
        };
        standing
    }
}
