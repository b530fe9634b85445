//! `tidbit nudges`: the notifications a learner's phone would hold, planned at a given instant.
//!
//! `tidbit nudges --data DIR --now 2026-09-21T07:00:00Z --days 7 [--tz ZONE] [--quiet 21:00-08:00]
//! [--cap N] [--json]` plans on the learner's store as the app would, with the learner's
//! consent (running the command is asking for the plan), and prints a table, or with `--json` a
//! list of objects (`id`, `kind`, `fire_at_utc`, `fire_at_local`, `title`, `body`, `deep_link`,
//! `variant`, `soft`, `deadline_utc`). Each planning decision is recorded in the store. The table
//! ends with the interventions the learner's log holds, each with its kind (a module to revisit,
//! a coaching conversation, a mentor, a job aid) and whether it is open, done or missed.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use tidbit_core::events::InterventionAction;
use tidbit_core::nudge::{LocalWindow, NudgePreferences, MAX_PENDING};
use tidbit_core::tidbit::Tidbit;

#[derive(clap::Args)]
pub struct NudgesArgs {
    /// The learner's data directory.
    #[arg(long)]
    data: PathBuf,
    /// The planning instant (RFC 3339, such as 2026-09-21T07:00:00Z).
    #[arg(long)]
    now: String,
    /// Days ahead to plan.
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(1..=14))]
    days: u32,
    /// The learner's IANA time zone (default: $TZ, else UTC).
    #[arg(long)]
    tz: Option<String>,
    /// Quiet hours in local time, HH:MM-HH:MM ("none" for none).
    #[arg(long, default_value = "21:00-08:00")]
    quiet: String,
    /// Most notifications on one local day.
    #[arg(long, default_value_t = 2)]
    cap: u32,
    /// Least minutes between two notifications.
    #[arg(long, default_value_t = 120)]
    spacing: u32,
    /// Preferred local windows, HH:MM-HH:MM (repeatable).
    #[arg(long)]
    window: Vec<String>,
    /// No notifications on Saturdays and Sundays.
    #[arg(long)]
    weekends_off: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &NudgesArgs) -> Result<(), String> {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339(&args.now)
        .map_err(|e| {
            format!(
                "--now '{}' is not an RFC 3339 time ({e}), such as 2026-09-21T07:00:00Z",
                args.now
            )
        })?
        .with_timezone(&Utc);
    let quiet_hours = match args.quiet.as_str() {
        "none" | "" => None,
        text => Some(
            text.parse::<LocalWindow>()
                .map_err(|e| format!("--quiet: {e}"))?,
        ),
    };
    let preferred_windows = args
        .window
        .iter()
        .map(|w| {
            w.parse::<LocalWindow>()
                .map_err(|e| format!("--window: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut prefs = NudgePreferences {
        consent: true,
        quiet_hours,
        preferred_windows,
        daily_cap: args.cap,
        min_spacing_minutes: args.spacing,
        days: args.days,
        max_pending: MAX_PENDING,
        ..NudgePreferences::default()
    };
    if args.weekends_off {
        prefs = prefs.with_weekends_off();
    }
    let mut tidbit = open_at(args, now)?;
    let plan = tidbit
        .plan_nudges(&prefs)
        .map_err(|e| format!("{}: {e}", args.data.display()))?;
    if args.json {
        let list: Vec<serde_json::Value> = plan
            .nudges
            .iter()
            .map(|n| {
                serde_json::json!({
                    "id": n.id,
                    "kind": n.kind,
                    "subject": n.subject,
                    "fire_at_utc": n.fire_at_utc.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    "fire_at_local": n.fire_at_local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false),
                    "title": n.title,
                    "body": n.body,
                    "deep_link": n.deep_link,
                    "variant": n.variant,
                    "soft": n.soft,
                    "deadline_utc": n.deadline_utc,
                })
            })
            .collect();
        let text = serde_json::to_string_pretty(&list).map_err(|e| e.to_string())?;
        println!("{text}");
        return Ok(());
    }
    println!(
        "{} notification(s) from {} ({}), cap {} a day",
        plan.nudges.len(),
        now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        plan.time_zone,
        args.cap
    );
    println!("{:<22} {:<18} {:<34} id", "local time", "kind", "message");
    for nudge in &plan.nudges {
        let text: String = nudge.body.text.chars().take(34).collect();
        println!(
            "{:<22} {:<18} {:<34} {}",
            nudge.fire_at_local.format("%a %Y-%m-%d %H:%M"),
            nudge.kind.name(),
            text,
            &nudge.id[..12]
        );
    }
    for missed in &plan.missed {
        println!(
            "missed {} intervention {} ({}): {}",
            missed.kind.name().replace('_', " "),
            missed.intervention,
            missed.module,
            missed.why
        );
    }
    let interventions = tidbit.interventions().map_err(|e| e.to_string())?;
    if !interventions.is_empty() {
        println!("interventions:");
    }
    for i in &interventions {
        let asked = match &i.action {
            InterventionAction::Module => format!("revisit '{}'", i.module),
            InterventionAction::Coaching { manager, template } => format!(
                "coaching with {manager}: {} ({} prompts){}",
                template.title,
                template.prompts.len(),
                if i.shared_with_manager {
                    ""
                } else {
                    "; give the coaching consent to share it"
                }
            ),
            InterventionAction::Mentoring { mentor, skill, .. } => {
                format!("pair with mentor {mentor} on '{skill}'")
            }
            InterventionAction::JobAid { course, aid } => format!("open job aid {course}/{aid}"),
        };
        let state = match i.done_ms {
            Some(_) => "done",
            None if i.deadline_ms < now.timestamp_millis() => "missed",
            None => "open",
        };
        println!("  {} [{state}] {asked}", &i.id[..12.min(i.id.len())]);
    }
    Ok(())
}

/// The learner's Tidbit on a clock stopped at `now`.
fn open_at(args: &NudgesArgs, now: DateTime<Utc>) -> Result<Tidbit, String> {
    crate::learner::open_learner_at(&args.data, args.tz.as_deref(), Some(now))
}
