//! `tidbit inventory`: the learner's skills inventory, read from their data directory.
//!
//! `tidbit inventory --data DIR [--now 2026-09-21T07:00:00Z] [--json | --credentials]` prints
//! each skill of the courses the learner follows with its mastery, the course's threshold,
//! whether it is held, when it was last demonstrated and its evidence (answers, right answers,
//! items, passed stage checks, finished paths, peer ratings); `--json` prints the inventory
//! record, `--credentials` the held skills as Open Badges 3.0 credentials in one CLR 2.0
//! `ClrCredential` (unsigned: held by the learner). Records nothing.

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use tidbit_core::analytics::inventory::SkillInventory;

#[derive(clap::Args)]
pub struct InventoryArgs {
    /// The learner's data directory.
    #[arg(long)]
    data: PathBuf,
    /// The instant mastery is measured at (RFC 3339; default: now).
    #[arg(long)]
    now: Option<String>,
    /// Print the inventory as JSON.
    #[arg(long, conflicts_with = "credentials")]
    json: bool,
    /// Print the held skills as Open Badges 3.0 credentials in a CLR 2.0 record (JSON).
    #[arg(long)]
    credentials: bool,
}

pub fn run(args: &InventoryArgs) -> Result<(), String> {
    let now = match &args.now {
        None => None,
        Some(text) => Some(
            DateTime::parse_from_rfc3339(text)
                .map_err(|e| {
                    format!("--now '{text}' is not an RFC 3339 time ({e}), such as 2026-09-21T07:00:00Z")
                })?
                .with_timezone(&Utc),
        ),
    };
    let tidbit = crate::learner::open_learner_at(&args.data, None, now)?;
    let failed = |e: tidbit_core::tidbit::TidbitError| format!("{}: {e}", args.data.display());
    if args.credentials {
        println!("{}", tidbit.skill_credentials().map_err(failed)?);
    } else if args.json {
        println!("{}", tidbit.skills_inventory_json().map_err(failed)?);
    } else {
        print!("{}", table(&tidbit.skills_inventory().map_err(failed)?));
    }
    Ok(())
}

fn date(ms: Option<i64>) -> String {
    ms.and_then(DateTime::from_timestamp_millis)
        .map_or_else(|| "never".to_string(), |d| d.format("%Y-%m-%d").to_string())
}

fn table(inventory: &SkillInventory) -> String {
    let mut out = format!(
        "skills of {} at {}\n{:<44} {:>7} {:>9} {:>4}  {:<10} {:>7} {:>5} {:>5} {:>6} {:>5} {:>5}\n",
        inventory.learner,
        date(Some(inventory.at_ms)),
        "course/skill",
        "mastery",
        "threshold",
        "held",
        "last shown",
        "answers",
        "right",
        "items",
        "checks",
        "certs",
        "peers"
    );
    for skill in &inventory.skills {
        let e = &skill.evidence;
        out.push_str(&format!(
            "{:<44} {:>7.2} {:>9.2} {:>4}  {:<10} {:>7} {:>5} {:>5} {:>6} {:>5} {:>5}\n",
            format!("{}/{}", skill.course, skill.skill),
            skill.mastery,
            skill.threshold,
            if skill.held { "yes" } else { "no" },
            date(skill.last_demonstrated_ms),
            e.answers,
            e.right,
            e.items,
            e.checks.len(),
            skill.certificates.len(),
            e.peer_ratings
        ));
    }
    let held = inventory.skills.iter().filter(|s| s.held).count();
    out.push_str(&format!(
        "{held} of {} skills held; --credentials writes them as Open Badges 3.0 credentials (unsigned, yours to share)\n",
        inventory.skills.len()
    ));
    out
}
