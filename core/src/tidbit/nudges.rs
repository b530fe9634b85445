//! The facade's nudge calls: plan the notifications, record what became of them, register a
//! push token.
//!
//! Planning reads the projections (due cards, finished modules, the streak) and the nudge events
//! of the log (interventions, outcomes), hands them to the pure planner, and records every
//! planning decision with its reason. It writes an event only for an intervention it finds
//! missed, once, so the server learns of the miss through sync.

use chrono::{DateTime, Duration, Utc};

use super::decided::{self, DecisionRow};
use super::{Tidbit, TidbitError};
use crate::events::{Event, EventKind, PushOutcome};
use crate::learn::projection::read;
use crate::nudge::{
    self, FinishedModule, Intervention, Nudge, NudgeKind, NudgeOutcome, NudgePlan,
    NudgePreferences, OutcomeRecord, PlanningState,
};
use crate::privacy::consent::ConsentScope;

/// Seconds one reinforcement item takes before the learner has a history.
const DEFAULT_SECONDS_PER_ITEM: u32 = 24;

impl Tidbit {
    /// The notifications the OS should hold for the next `prefs.days` days, at the clock's now.
    /// Each decision is recorded (`decisions()`, kinds `nudge_placed`, `nudge_dropped`,
    /// `nudge_missed`, `nudge_withheld`).
    pub fn plan_nudges(&mut self, prefs: &NudgePreferences) -> Result<NudgePlan, TidbitError> {
        let now = self.now();
        let mut state = self.nudge_state(now, prefs)?;
        state.cohort_duties = self.cohort_duties()?;
        let plan = nudge::plan_nudges(now, self.time_zone, prefs, &state);
        let tx = self.store.conn_mut().transaction()?;
        // The decisions taken before these come first.
        let earlier = self.decided.write(&tx)?;
        let rows: Vec<DecisionRow> = plan
            .decisions
            .iter()
            .map(|decision| {
                let output = match &decision.nudge {
                    Some(id) => plan
                        .nudges
                        .iter()
                        .find(|n| &n.id == id)
                        .map(|n| serde_json::to_value(n).unwrap_or_default())
                        .unwrap_or_default(),
                    None => serde_json::Value::Null,
                };
                let inputs = serde_json::json!({
                    "kind": decision.kind,
                    "subject": decision.subject,
                    "time_zone": plan.time_zone,
                    "due_items": state.due_ms.len(),
                    "daily_cap": prefs.daily_cap,
                    "min_spacing_minutes": prefs.min_spacing_minutes,
                });
                DecisionRow {
                    at_ms: now.timestamp_millis(),
                    kind: format!("nudge_{}", decision.action),
                    reason: decision.reason.clone(),
                    inputs: inputs.to_string(),
                    output: output.to_string(),
                }
            })
            .collect();
        decided::insert(&tx, &rows)?;
        tx.commit()?;
        self.decided.written(earlier);
        for missed in &plan.missed {
            self.record(EventKind::NudgeOutcomeRecorded {
                nudge: missed.intervention.clone(),
                nudge_kind: NudgeKind::Intervention,
                subject: missed.intervention.clone(),
                variant: "direct".into(),
                local_hour: 0,
                outcome: NudgeOutcome::Missed,
                detail: Some(missed.why.clone()),
            })?;
        }
        Ok(plan)
    }

    /// Records what became of a planned nudge (scheduled, delivered, opened, dismissed, ignored).
    pub fn record_nudge_outcome(
        &mut self,
        nudge: &Nudge,
        outcome: NudgeOutcome,
    ) -> Result<(), TidbitError> {
        self.record(EventKind::NudgeOutcomeRecorded {
            nudge: nudge.id.clone(),
            nudge_kind: nudge.kind,
            subject: nudge.subject.clone(),
            variant: nudge.variant.clone(),
            local_hour: nudge.local_hour(),
            outcome,
            detail: None,
        })?;
        Ok(())
    }

    /// Tells the server (through sync) where to push interventions: `fcm` or `apns`, and the
    /// token the platform gave the app. A token of the wrong shape for its platform is refused
    /// ([`TidbitError::InvalidPushToken`]) and nothing is recorded.
    pub fn register_push_token(&mut self, platform: &str, token: &str) -> Result<(), TidbitError> {
        crate::events::check_push_token(platform, token).map_err(TidbitError::InvalidPushToken)?;
        self.record(EventKind::PushTokenRegistered {
            platform: platform.into(),
            token: token.into(),
        })?;
        Ok(())
    }

    /// True when the push vendor told the server that the token this device registered last
    /// is dead (the app was reinstalled, the token rotated): ask the platform for a fresh token
    /// and pass it to [`Tidbit::register_push_token`]. The server pushes to the dead token no
    /// more; the answer turns false once a newer token is registered. False when this device
    /// never registered a token.
    pub fn push_token_needed(&self) -> Result<bool, TidbitError> {
        let events = self.nudge_events()?;
        let latest = events.iter().rev().find(|e| {
            e.device == self.device_id() && matches!(e.kind, EventKind::PushTokenRegistered { .. })
        });
        let Some(latest) = latest else {
            return Ok(false);
        };
        // Outcomes name the registration they are about, so the device's and the server's
        // clocks may disagree without a dead token looking alive.
        Ok(events.iter().any(|e| {
            matches!(&e.kind, EventKind::PushOutcomeRecorded {
                registration,
                outcome: PushOutcome::Unregistered,
                ..
            } if *registration == latest.id)
        }))
    }

    /// The nudge events of the log (interventions, outcomes, push tokens), in its order.
    pub fn nudge_events(&self) -> Result<Vec<Event>, TidbitError> {
        Ok(crate::store::event_log::nudge_events(self.store.conn())?)
    }

    fn nudge_state(
        &self,
        now: DateTime<Utc>,
        prefs: &NudgePreferences,
    ) -> Result<PlanningState, TidbitError> {
        let conn = self.store.conn();
        let horizon = now + Duration::days(i64::from(prefs.days) + 1);
        let due_ms = read::due_times_before(conn, horizon.timestamp_millis())?;
        let typical = read::typical_response_ms(conn)?;
        let remediations = read::open_remediation_count(conn)?;
        let window_start =
            now - Duration::days(crate::nudge::FOLLOW_UP_AFTER_DAYS) - Duration::days(2);
        let finished_modules =
            read::modules_completed_since(conn, window_start.timestamp_millis())?
                .into_iter()
                .map(
                    |read::CompletedModule {
                         course,
                         module,
                         title,
                         completed_at,
                     }| FinishedModule {
                        course,
                        module,
                        title,
                        completed_at,
                    },
                )
                .collect();
        let streak = self.streak()?;
        let consents = self.consent_gate()?;
        let mut interventions = Vec::new();
        let mut outcomes = Vec::new();
        let mut wording = std::collections::BTreeMap::new();
        // The registrations of this device's tokens, and what the server's last push to one of
        // them for each intervention became (outcomes name their registration).
        let events = self.nudge_events()?;
        let own_registrations: std::collections::BTreeSet<&str> = events
            .iter()
            .filter(|e| {
                e.device == self.device_id()
                    && matches!(e.kind, EventKind::PushTokenRegistered { .. })
            })
            .map(|e| e.id.as_str())
            .collect();
        let mut pushes: std::collections::BTreeMap<String, (PushOutcome, String)> =
            std::collections::BTreeMap::new();
        for event in events.iter().cloned() {
            let at = event.at();
            match event.kind {
                EventKind::PushOutcomeRecorded {
                    platform,
                    registration,
                    intervention: Some(intervention),
                    outcome,
                    detail,
                    ..
                } if own_registrations.contains(registration.as_str()) => {
                    let why = match detail {
                        Some(detail) => format!("{platform} answered {}: {detail}", outcome.name()),
                        None => format!("{platform} answered {}", outcome.name()),
                    };
                    pushes.insert(intervention, (outcome, why));
                }
                EventKind::InterventionTriggered {
                    course,
                    module,
                    reason,
                    deadline_ms,
                    signal,
                    action,
                } => {
                    // A work-context signal is acted on only under the signals scope.
                    if signal.is_some() && !consents.is_granted(ConsentScope::Signals) {
                        continue;
                    }
                    // A coaching conversation held, a job aid opened, a pairing accepted: done.
                    if action.completed_by().is_some_and(|step| {
                        super::interventions::step_taken(&events, &event.id, step)
                    }) {
                        continue;
                    }
                    let course = match course {
                        Some(course) => Some(course),
                        None => conn
                            .prepare_cached(
                                "SELECT course_id FROM modules WHERE id = ?1 ORDER BY course_id LIMIT 1",
                            )?
                            .query_row([&module], |r| r.get(0))
                            .ok(),
                    };
                    interventions.push(Intervention {
                        id: event.id.clone(),
                        course,
                        module,
                        reason,
                        triggered_at: at,
                        deadline: DateTime::from_timestamp_millis(deadline_ms).unwrap_or_default(),
                        undelivered_push: None,
                        action,
                    });
                }
                EventKind::NudgeOutcomeRecorded {
                    nudge,
                    nudge_kind,
                    subject,
                    variant,
                    local_hour,
                    outcome,
                    ..
                } => outcomes.push(OutcomeRecord {
                    at,
                    nudge,
                    kind: nudge_kind,
                    subject,
                    variant,
                    local_hour,
                    outcome,
                }),
                EventKind::ExperimentExposed {
                    nudge_wording: Some(assigned),
                    ..
                } => {
                    wording.insert(assigned.kind, assigned.variant);
                }
                _ => {}
            }
        }
        for intervention in &mut interventions {
            intervention.undelivered_push = pushes
                .remove(&intervention.id)
                .filter(|(outcome, _)| *outcome != PushOutcome::Delivered)
                .map(|(_, why)| why);
        }
        Ok(PlanningState {
            due_ms,
            seconds_per_item: typical
                .map(|ms| (ms / 1000.0).round().max(5.0) as u32)
                .unwrap_or(DEFAULT_SECONDS_PER_ITEM),
            remediations,
            finished_modules,
            streak_days: streak.current,
            practised_today: streak.practised_today,
            interventions,
            outcomes,
            personalised: consents.is_granted(ConsentScope::Personalisation),
            wording,
            cohort_duties: Vec::new(),
        })
    }
}
