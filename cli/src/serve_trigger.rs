//! `tidbit serve trigger`: an intervention for one learner, written into their documents on the
//! server's data directory: a module to revisit (the default), or with `--kind` a coaching
//! conversation with their manager (`--manager`, `--template`), a mentoring pairing with a peer
//! who holds a skill (`--course`, `--skill`; the server picks the mentor), or a job aid to open
//! (`--course`, `--aid`).

use std::sync::Arc;

use tidbit_server::interventions::{InterventionRequest, RequestedKind, MAX_WITHIN_HOURS};

use crate::serve::StoreArgs;

/// The kinds `--kind` takes.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum KindArg {
    #[default]
    Module,
    Coaching,
    Mentoring,
    JobAid,
}

#[derive(clap::Args, Debug, Clone)]
pub struct TriggerArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long)]
    learner: String,
    /// The module the intervention is about (the one to revisit, for a module intervention).
    #[arg(long)]
    module: String,
    /// The course the module belongs to (devices look it up when omitted); required for
    /// mentoring and job aids.
    #[arg(long)]
    course: Option<String>,
    /// Why, in words the learner may see (such as "two below-target sprints").
    #[arg(long)]
    reason: String,
    /// The window: hours or days, such as 48h or 2d.
    #[arg(long, default_value = "48h")]
    within: String,
    #[arg(long, value_enum, default_value_t = KindArg::Module)]
    kind: KindArg,
    /// Coaching: the manager's learner id.
    #[arg(long, required_if_eq("kind", "coaching"))]
    manager: Option<String>,
    /// Coaching: after-a-miss, practice-plan or confidence-check.
    #[arg(long, required_if_eq("kind", "coaching"))]
    template: Option<String>,
    /// Mentoring: the skill of --course a mentor must hold.
    #[arg(long, required_if_eq("kind", "mentoring"))]
    skill: Option<String>,
    /// Job aid: the id of a job aid of --course.
    #[arg(long, required_if_eq("kind", "job-aid"))]
    aid: Option<String>,
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    push: crate::serve_push::PushArgs,
}

/// Hours in `48h`, `2d` or `36`.
fn parse_within(text: &str) -> Result<u32, String> {
    let text = text.trim();
    let (number, hours_per) = match text.strip_suffix('d') {
        Some(days) => (days, 24),
        None => (text.strip_suffix('h').unwrap_or(text), 1),
    };
    number
        .trim()
        .parse::<u32>()
        .ok()
        .and_then(|n| n.checked_mul(hours_per))
        .filter(|h| (1..=MAX_WITHIN_HOURS).contains(h))
        .ok_or_else(|| {
            format!(
                "--within '{text}' is not a window of 1 to {MAX_WITHIN_HOURS} hours: write it as 48h or 2d"
            )
        })
}

pub fn trigger(args: &TriggerArgs) -> Result<(), String> {
    let within_hours = parse_within(&args.within)?;
    let data = &args.store.data;
    let sender = args.push.sender()?;
    let mut hub = args.store.open()?;
    if let Some(sender) = sender {
        hub = hub.with_push(sender);
    }
    let hub = Arc::new(hub);
    let kind = match args.kind {
        KindArg::Module => RequestedKind::Module,
        KindArg::Coaching => RequestedKind::Coaching,
        KindArg::Mentoring => RequestedKind::Mentoring,
        KindArg::JobAid => RequestedKind::JobAid,
    };
    if kind == RequestedKind::Mentoring {
        // The mentor is picked from every learner's summary, made now.
        tidbit_server::metrics::summarise_all(&hub)
            .map_err(|e| format!("{}: {e}", data.display()))?;
    }
    let request = InterventionRequest {
        kind,
        module: args.module.clone(),
        course: args.course.clone(),
        reason: args.reason.clone(),
        within_hours,
        signal: None,
        manager: args.manager.clone(),
        template: args.template.clone(),
        skill: args.skill.clone(),
        aid: args.aid.clone(),
    };
    // The intervention is committed first; the pushes announcing it follow.
    let runtime = tidbit_core::runtime::runtime().map_err(|e| e.to_string())?;
    let triggered = runtime
        .block_on(tidbit_server::interventions::trigger_and_push(
            &hub,
            &args.learner,
            request,
        ))
        .map_err(|e| format!("{}: {e}", data.display()))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&triggered).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let deadline = chrono::DateTime::from_timestamp_millis(triggered.deadline_ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default();
    let what = match &triggered.action {
        tidbit_core::events::InterventionAction::Module => format!("on '{}'", args.module),
        tidbit_core::events::InterventionAction::Coaching { manager, template } => {
            format!("coaching with {manager} ('{}')", template.title)
        }
        tidbit_core::events::InterventionAction::Mentoring { mentor, skill, .. } => {
            format!("mentoring by {mentor} on '{skill}'")
        }
        tidbit_core::events::InterventionAction::JobAid { course, aid } => {
            format!("job aid '{aid}' of {course}")
        }
    };
    println!(
        "intervention {} for {} {what} in {}, due by {deadline}{}",
        triggered.intervention,
        args.learner,
        triggered.document,
        if triggered.pushed { " (pushed)" } else { "" }
    );
    Ok(())
}
