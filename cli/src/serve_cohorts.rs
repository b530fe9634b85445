//! `tidbit serve cohort ...`: the L&D team's cohorts from the command line, beside a running
//! server or without one (see `tidbit_server::cohorts`).
//!
//! - `form --id north-1 --course C --path P --member ana --member ben ...`: forms a cohort (or
//!   replaces its members and roles);
//! - `auto --prefix sales --course C --path P [--learner ana@Europe/Berlin ...] [--size 12]`:
//!   forms cohorts of about `size` from the learners named (or from every learner the course is
//!   assigned to), grouped by time zone;
//! - `list`: every cohort with its members and this week's metrics;
//! - `show --id north-1`: one cohort's space (rota, posts, shares, reports, metrics) as JSON;
//! - `hide --id north-1 --entry ID [--reason R]`: hides an entry for every member.

use tidbit_server::cohorts::{http, AutoRequest, Candidate, CohortRecord, CohortRequest};

use crate::serve::StoreArgs;

#[derive(clap::Args, Debug)]
pub struct CohortArgs {
    #[command(subcommand)]
    command: CohortCommand,
}

#[derive(clap::Subcommand, Debug)]
enum CohortCommand {
    /// Form a cohort of named learners, or replace its members and roles.
    Form {
        #[command(flatten)]
        store: StoreArgs,
        /// The cohort's id: lowercase letters, digits and '-'.
        #[arg(long)]
        id: String,
        #[arg(long)]
        course: String,
        #[arg(long)]
        path: String,
        /// A member; repeat for each (10 to 12 make a good cohort).
        #[arg(long = "member", required = true)]
        members: Vec<String>,
        /// A role that rotates weekly; repeat for each (default: facilitator, reviewer,
        /// summariser).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// Form cohorts automatically, balanced in size and grouped by time zone.
    Auto {
        #[command(flatten)]
        store: StoreArgs,
        /// Cohorts are named PREFIX-1, PREFIX-2, ...
        #[arg(long)]
        prefix: String,
        #[arg(long)]
        course: String,
        #[arg(long)]
        path: String,
        /// A learner as LEARNER or LEARNER@Area/City (their IANA time zone); repeat. None:
        /// every learner the course is assigned to.
        #[arg(long = "learner")]
        learners: Vec<String>,
        #[arg(long)]
        size: Option<usize>,
        #[arg(long = "role")]
        roles: Vec<String>,
    },
    /// List every cohort with its members and metrics.
    List {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        json: bool,
    },
    /// Print one cohort's space as a member sees it now, as JSON.
    Show {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        id: String,
    },
    /// Hide a post, share or feedback from every member.
    Hide {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        id: String,
        /// The entry's id (as `show` lists it).
        #[arg(long)]
        entry: String,
        #[arg(long, default_value = "")]
        reason: String,
    },
}

fn print_formed(record: &CohortRecord) {
    println!(
        "cohort {}: {} members ({}) on {} / {}",
        record.id,
        record.members.len(),
        record.members.join(", "),
        record.course,
        record.path
    );
}

pub fn run(args: &CohortArgs) -> Result<(), String> {
    match &args.command {
        CohortCommand::Form {
            store,
            id,
            course,
            path,
            members,
            roles,
        } => {
            let record = store
                .open()?
                .form_cohort(&CohortRequest {
                    id: id.clone(),
                    course: course.clone(),
                    path: path.clone(),
                    roles: roles.clone(),
                    members: members.clone(),
                })
                .map_err(|e| e.to_string())?;
            print_formed(&record);
        }
        CohortCommand::Auto {
            store,
            prefix,
            course,
            path,
            learners,
            size,
            roles,
        } => {
            let learners = learners
                .iter()
                .map(|named| match named.split_once('@') {
                    Some((learner, zone)) if zone.contains('/') || zone == "UTC" => Candidate {
                        learner: learner.to_string(),
                        time_zone: zone.to_string(),
                    },
                    _ => Candidate {
                        learner: named.clone(),
                        time_zone: "UTC".into(),
                    },
                })
                .collect();
            let formed = store
                .open()?
                .auto_form_cohorts(&AutoRequest {
                    prefix: prefix.clone(),
                    course: course.clone(),
                    path: path.clone(),
                    roles: roles.clone(),
                    learners,
                    size: *size,
                })
                .map_err(|e| e.to_string())?;
            for record in &formed {
                print_formed(record);
            }
        }
        CohortCommand::List { store, json } => {
            let hub = store.open()?;
            let summaries = http::summaries(&hub, hub.now_ms()).map_err(|e| e.to_string())?;
            if *json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&summaries).map_err(|e| e.to_string())?
                );
            } else if summaries.is_empty() {
                println!("no cohorts yet: form one with `tidbit serve cohort form`");
            }
            if !*json {
                for summary in &summaries {
                    let m = &summary.metrics;
                    println!(
                        "{}: {} members; active 7/14/30 d {}/{}/{}; {} shares, {} with feedback; duties {}/{}",
                        summary.record.id,
                        m.members,
                        m.active_7d,
                        m.active_14d,
                        m.active_30d,
                        m.shares,
                        m.shares_with_feedback,
                        m.duties_fulfilled,
                        m.duties_assigned
                    );
                }
            }
        }
        CohortCommand::Show { store, id } => {
            let hub = store.open()?;
            let view = tidbit_server::cohorts::view(hub.storage.as_ref(), id, hub.now_ms())
                .map_err(|e| e.to_string())?;
            println!(
                "{}",
                serde_json::to_string_pretty(&view).map_err(|e| e.to_string())?
            );
        }
        CohortCommand::Hide {
            store,
            id,
            entry,
            reason,
        } => {
            store
                .open()?
                .hide_cohort_entry(id, entry, reason)
                .map_err(|e| e.to_string())?;
            println!("entry {entry} of cohort {id} is hidden; members' devices drop it at their next sync");
        }
    }
    Ok(())
}
