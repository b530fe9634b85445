//! `tidbit simulate`: simulated learners go through a course day by day on the real engine, and
//! the figures show an author the course's pacing (tests use it end to end).
//!
//! The simulation itself lives in the core (`tidbit_core::simulate`); this file reads the
//! options, picks the work directory and prints the report as a table or as JSON.

use std::path::PathBuf;

use tidbit_core::simulate::{
    compare_pacing, simulate, PacingComparison, SimulationConfig, SimulationReport, MASTERY_STAGE,
};

use crate::authoring::trusted_keys;

#[derive(clap::Args)]
pub struct SimulateArgs {
    /// The course pack to simulate.
    pack: PathBuf,
    /// Days to simulate.
    #[arg(long, default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=3650))]
    days: u32,
    /// Simulated learners.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    learners: u32,
    /// Seed for every random draw: the same seed gives the same report.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Minutes a learner gives the course on a day they practise.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=240))]
    minutes: u32,
    /// The pack author's public key (repeatable): the pack is verified before anything runs.
    #[arg(long, required = true)]
    trust: Vec<PathBuf>,
    /// Keep the learners' stores (DIR/sim-<n>) here; DIR must not hold an earlier simulation.
    /// Default: a temporary directory, removed afterwards.
    #[arg(long, value_name = "DIR")]
    work: Option<PathBuf>,
    /// Learners simulated at once; the report does not depend on it.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=64))]
    threads: u32,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Compare pacing instead: the same learners unpaced, and paced by the goal of the whole
    /// path within this many days (at `--minutes` a day); prints both groups' figures.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=3650))]
    goal_days: Option<u32>,
}

/// `tidbit simulate FILE.tidbit --days N --learners K --seed S [--minutes M] --trust KEY.pub`.
pub fn run(args: &SimulateArgs) -> Result<(), String> {
    let trusted = trusted_keys(&args.trust)?;
    let config = SimulationConfig {
        days: args.days,
        learners: args.learners,
        seed: args.seed,
        minutes_per_day: args.minutes,
        threads: args.threads as usize,
        ..SimulationConfig::default()
    };
    let temporary;
    let work_dir = match &args.work {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::Builder::new()
                .prefix("tidbit-simulate-")
                .tempdir()
                .map_err(|e| format!("cannot create a temporary work directory: {e}"))?;
            temporary.path().to_path_buf()
        }
    };
    if let Some(goal_days) = args.goal_days {
        let comparison = compare_pacing(&args.pack, &trusted, &config, goal_days, &work_dir)
            .map_err(|e| format!("{}: {e}", args.pack.display()))?;
        if args.json {
            let json = serde_json::to_string_pretty(&comparison).map_err(|e| e.to_string())?;
            println!("{json}");
        } else {
            print!("{}", pacing_table(&comparison));
        }
        return Ok(());
    }
    let report = simulate(&args.pack, &trusted, &config, &work_dir)
        .map_err(|e| format!("{}: {e}", args.pack.display()))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", table(&report));
    }
    Ok(())
}

fn day(day: Option<u32>) -> String {
    day.map_or_else(|| "-".to_string(), |d| d.to_string())
}

fn share(part: u32, whole: u32) -> String {
    if whole == 0 {
        "-".to_string()
    } else {
        format!("{:.0}%", 100.0 * f64::from(part) / f64::from(whole))
    }
}

/// The report as text: one row per learner, then the overall figures.
fn table(report: &SimulationReport) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let overall = &report.overall;
    let _ = writeln!(
        out,
        "{} {}, path {}: {} learners × {} days, {} min a day, seed {} (day 0 is {})",
        report.course,
        report.course_version,
        report.path,
        report.learners,
        report.days,
        report.minutes_per_day,
        report.seed,
        report.start.format("%Y-%m-%d")
    );
    let _ = writeln!(out, "\nday each stage unlocked, per learner:");
    let mut header = format!(
        "{:<9}{:>8}{:>10}{:>6}{:>7}{:>9}{:>9}{:>8}",
        "learner", "ability", "diligence", "days", "keeps", "reviews", "min/day", "recall"
    );
    for stage in &report.stages {
        let _ = write!(header, "  {stage:>w$}", w = stage.len().max(4));
    }
    let _ = writeln!(out, "{header}  cert");
    for l in &report.per_learner {
        let mut row = format!(
            "{:<9}{:>+8.2}{:>10.2}{:>6}{:>7}{:>9}{:>9.1}{:>8}",
            l.id,
            l.ability,
            l.diligence,
            l.days_practised,
            if l.keeps_practising { "yes" } else { "no" },
            l.reviews,
            l.minutes_per_day,
            l.recall.map_or_else(|| "-".into(), |r| format!("{r:.2}"))
        );
        for stage in &report.stages {
            let unlocked = l
                .stages
                .iter()
                .find(|s| &s.stage == stage)
                .and_then(|s| s.unlocked_day);
            let _ = write!(row, "  {:>w$}", day(unlocked), w = stage.len().max(4));
        }
        let _ = writeln!(out, "{row}  {}", if l.certificate { "yes" } else { "no" });
    }
    let _ = writeln!(
        out,
        "\noverall: {} of {} learners keep practising (on at least {:.0}% of days); means: \
         {:.1} days practised, {:.0} reviews, {:.1} min a day, recall {}",
        overall.keeps_practising,
        overall.learners,
        report.keeps_practising_share * 100.0,
        overall.mean_days_practised,
        overall.mean_reviews,
        overall.mean_minutes_per_day,
        overall
            .mean_recall
            .map_or_else(|| "-".into(), |r| format!("{r:.2}"))
    );
    let _ = writeln!(
        out,
        "\n{:<15}{:>10}{:>15}{:>8}{:>10}{:>10}{:>13}",
        "stage", "unlocked", "by practising", "passed", "mean day", "last day", "mean checks"
    );
    for s in &overall.stages {
        let _ = writeln!(
            out,
            "{:<15}{:>10}{:>15}{:>8}{:>10}{:>10}{:>13.1}",
            s.stage,
            s.unlocked,
            format!("{}/{}", s.unlocked_by_practising, overall.keeps_practising),
            s.passed,
            s.mean_unlocked_day
                .map_or_else(|| "-".into(), |d| format!("{d:.1}")),
            day(s.last_unlocked_day),
            s.mean_checks
        );
    }
    if let Some(stage) = overall.stages.iter().find(|s| s.stage == MASTERY_STAGE) {
        let _ = writeln!(
            out,
            "\n{} of {} learners who keep practising unlocked the {MASTERY_STAGE} stage ({})",
            stage.unlocked_by_practising,
            overall.keeps_practising,
            share(stage.unlocked_by_practising, overall.keeps_practising)
        );
    }
    let _ = writeln!(
        out,
        "certificates: {} of {} learners",
        overall.certificates, overall.learners
    );
    let _ = writeln!(out, "\nmean mastery at the end:");
    for skill in &overall.mean_mastery {
        let _ = writeln!(out, "  {:<24}{:.2}", skill.skill, skill.mastery);
    }
    out
}

/// The pacing comparison as text: one row per group.
fn pacing_table(comparison: &PacingComparison) -> String {
    use std::fmt::Write;
    let mut out = format!(
        "the whole path within {} days at {} min a day: unpaced against paced by the goal\n\n{:<10}{:>10}{:>10}{:>10}{:>12}{:>12}{:>14}{:>10}\n",
        comparison.goal_days,
        comparison.minutes_per_day,
        "group", "learners", "met goal", "met day", "min a day", "spread", "heaviest day", "behind"
    );
    for (name, g) in [
        ("unpaced", &comparison.unpaced),
        ("paced", &comparison.paced),
    ] {
        let behind = if g.pace_calls == 0 {
            "-".to_string()
        } else {
            format!("{}/{}", g.behind_calls, g.pace_calls)
        };
        let _ = writeln!(
            out,
            "{name:<10}{:>10}{:>10}{:>10}{:>12.1}{:>12.2}{:>14.1}{:>10}",
            g.learners,
            g.met_goal,
            g.mean_met_day
                .map_or_else(|| "-".into(), |d| format!("{d:.1}")),
            g.mean_daily_minutes,
            g.mean_daily_spread,
            g.mean_heaviest_day,
            behind
        );
    }
    let paced = &comparison.paced;
    let _ = writeln!(
        out,
        "\nspread: each learner's standard deviation of minutes over the days they practised, averaged;\n\
         the engine's pace calls agreeing with the line reckoned from the steps done: {} of {}",
        paced.pace_calls_agreeing, paced.pace_calls
    );
    out
}
