//! `tidbit goal`: the learner's own goals and study time in their data directory, and every
//! goal's pace (a goal the L&D team set arrives with `tidbit sync` and is listed, not changed).
//!
//! - `tidbit goal set --data DIR --goal ID --title T --course C --path P [--stage S]...
//!   [--skill K]... --due YYYY-MM-DD`;
//! - `tidbit goal withdraw --data DIR --goal ID`;
//! - `tidbit goal study-time --data DIR --minutes M [--day-off N]...` (ISO weekdays, 1 = Monday);
//! - `tidbit goal list --data DIR [--json]`.

use std::path::PathBuf;

use tidbit_core::learn::goal::{GoalSpec, GoalStatus};

#[derive(clap::Subcommand)]
pub enum GoalCommand {
    /// Set (or replace) one of the learner's own goals.
    Set {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        goal: String,
        #[arg(long)]
        title: String,
        #[arg(long)]
        course: String,
        #[arg(long)]
        path: String,
        /// A stage of the path to pass (repeatable); none and no skills: every stage.
        #[arg(long = "stage")]
        stages: Vec<String>,
        /// A skill to bring to the course's mastery threshold (repeatable).
        #[arg(long = "skill")]
        skills: Vec<String>,
        /// The learner's local date, YYYY-MM-DD.
        #[arg(long)]
        due: String,
    },
    /// Withdraw one of the learner's own goals.
    Withdraw {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        goal: String,
    },
    /// The minutes a learning day holds and the weekdays off.
    StudyTime {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=480))]
        minutes: u32,
        /// An ISO weekday off (1 = Monday to 7 = Sunday; repeatable).
        #[arg(long = "day-off", value_parser = clap::value_parser!(u8).range(1..=7))]
        days_off: Vec<u8>,
    },
    /// Every goal in force with its pace, today's share and whether it can be met.
    List {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
}

fn line(status: &GoalStatus) -> String {
    format!(
        "{} ({}, set by {}): {}; about {} min of new material today",
        status.spec.goal, status.spec.due, status.set_by, status.summary, status.minutes_today
    )
}

pub fn run(command: GoalCommand) -> Result<(), String> {
    let data = match &command {
        GoalCommand::Set { data, .. }
        | GoalCommand::Withdraw { data, .. }
        | GoalCommand::StudyTime { data, .. }
        | GoalCommand::List { data, .. } => data.clone(),
    };
    let mut tidbit = crate::learner::open_learner_at(&data, None, None)?;
    let failed = |e: tidbit_core::tidbit::TidbitError| format!("{}: {e}", data.display());
    match command {
        GoalCommand::Set {
            goal,
            title,
            course,
            path,
            stages,
            skills,
            due,
            ..
        } => {
            let spec = GoalSpec {
                goal,
                title,
                course,
                path,
                stages,
                skills,
                due,
            };
            println!("{}", line(&tidbit.set_goal(&spec).map_err(failed)?));
        }
        GoalCommand::Withdraw { goal, .. } => {
            tidbit.withdraw_goal(&goal).map_err(failed)?;
            println!("withdrew {goal}");
        }
        GoalCommand::StudyTime {
            minutes, days_off, ..
        } => {
            tidbit.set_study_time(minutes, &days_off).map_err(failed)?;
            println!("{minutes} minutes a learning day, days off {days_off:?}");
        }
        GoalCommand::List { json, .. } => {
            let goals = tidbit.goals().map_err(failed)?;
            if json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&goals).map_err(|e| e.to_string())?
                );
            } else if goals.is_empty() {
                println!("no goals");
            } else {
                for status in &goals {
                    println!("{}", line(status));
                }
            }
        }
    }
    Ok(())
}
