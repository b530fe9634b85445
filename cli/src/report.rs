//! `tidbit serve report --data DIR`: the L&D team's metrics in a terminal, from a server's data
//! directory: the same numbers as `GET /v1/admin/metrics` (`--json`, `--csv` print exactly
//! those) and the experiments' verdicts.

use std::path::PathBuf;

use tidbit_core::analytics::metrics::Filter;
use tidbit_server::metrics::{csv, experiments, summarise_all, view};

#[derive(clap::Args)]
pub struct ReportArgs {
    #[command(flatten)]
    store: crate::serve::StoreArgs,
    /// Only learners enrolled on this course.
    #[arg(long)]
    course: Option<String>,
    /// Only learners following this path (role) of the course.
    #[arg(long)]
    path: Option<String>,
    /// Only these learners (a cohort), comma-separated.
    #[arg(long, value_delimiter = ',')]
    learners: Vec<String>,
    /// A publisher's public key the packs are verified against; repeat for several.
    #[arg(long, value_name = "KEY.pub")]
    trust: Vec<PathBuf>,
    /// Print the metrics as the API's JSON.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// Print the metrics as the API's CSV.
    #[arg(long)]
    csv: bool,
}

pub fn run(args: &ReportArgs) -> Result<(), String> {
    let where_ = |e: String| format!("{}: {e}", args.store.data.display());
    let hub = args
        .store
        .open()?
        .with_trusted_packs(crate::authoring::trusted_keys(&args.trust)?);
    summarise_all(&hub).map_err(where_)?;
    let filter = Filter {
        course: args.course.clone(),
        path: args.path.clone(),
        learners: (!args.learners.is_empty()).then(|| args.learners.iter().cloned().collect()),
    };
    let view = view(&hub, &filter);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&view).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    if args.csv {
        print!("{}", csv(&view));
        return Ok(());
    }
    let c = &view.cohort;
    let s = &c.summary;
    let pct = |x: f64| format!("{:.1}%", x * 100.0);
    println!(
        "Tidbit outcomes as of {} ({} learners)",
        c.as_of, s.learners
    );
    let unreadable = hub.content.unreadable();
    for pack in &unreadable {
        println!("  ! pack not read (pass --trust KEY.pub): {pack}");
    }
    println!(
        "active: today {}, 7 days {}, 14 days {}, 30 days {}; {} minutes per learner active in 30 days",
        s.daily_active, s.weekly_active, s.active_14, s.monthly_active, s.minutes_per_active_learner
    );
    println!(
        "completion: modules {}, paths {}; stage checks passed {}; recall on reinforcement {}; nudges opened {}",
        pct(s.module_completion_rate),
        pct(s.path_completion_rate),
        pct(s.stage_pass_rate),
        pct(s.reinforcement_recall_rate),
        pct(s.nudge_open_rate)
    );
    if !c.stages.is_empty() {
        println!("\nstage                                     reached  passed  pass rate  days to unlock");
        for stage in &c.stages {
            println!(
                "{:<42}{:>7}{:>8}{:>11}{:>16}",
                format!("{} · {} · {}", stage.course, stage.path, stage.stage),
                stage.unlocked,
                stage.passed,
                pct(stage.pass_rate),
                stage
                    .median_days_to_unlock
                    .map_or("-".to_string(), |d| format!("{d:.1}"))
            );
        }
    }
    if !c.skills.is_empty() {
        println!("\nskill                                     learners  mean mastery  at threshold  [0-.2 .2-.4 .4-.6 .6-.8 .8-1]");
        for skill in &c.skills {
            println!(
                "{:<42}{:>8}{:>14.2}{:>14}  {:?}",
                format!("{} · {}", skill.course, skill.skill),
                skill.learners,
                skill.mean,
                skill.at_or_above_threshold,
                skill.buckets
            );
        }
    }
    let i = &c.interventions;
    println!(
        "\ninterventions: {} triggered, {} done in time, {} late, {} overdue, {} open",
        i.triggered, i.done_in_time, i.done_late, i.overdue, i.open
    );
    for k in i.by_kind.iter().filter(|k| k.triggered > 0) {
        println!(
            "  {:<10} {} triggered, {} in time, {} late, {} missed, {} open, in-time rate {:.0}%",
            k.kind.name(),
            k.triggered,
            k.done_in_time,
            k.done_late,
            k.missed,
            k.open,
            k.rate * 100.0
        );
    }
    println!("\nat risk: {}", c.at_risk.len());
    for learner in &c.at_risk {
        println!("  {}: {}", learner.learner, learner.reasons.join("; "));
    }
    let experiments = experiments(&hub).map_err(where_)?;
    if !experiments.is_empty() {
        println!("\nexperiments:");
        for experiment in experiments {
            for comparison in &experiment.result.comparisons {
                println!("  {}: {}", experiment.definition.id, comparison.verdict);
            }
        }
    }
    Ok(())
}
