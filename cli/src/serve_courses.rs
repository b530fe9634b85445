//! `tidbit serve publish` and `tidbit serve assign`: putting a course version on the server
//! and saying who is offered it (see `tidbit_server::publish` and
//! `tidbit_server::assignments`). Both work beside a running server: it reads `packs/` and the
//! assignments at each request.

use std::collections::BTreeSet;
use std::path::PathBuf;

use tidbit_server::assignments::{Assignee, AssignmentChange};

use crate::serve::StoreArgs;

#[derive(clap::Args, Debug)]
pub struct PublishArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The signed pack (`.tidbit`) to publish.
    pack: PathBuf,
    /// The public key (`NAME.pub`) the pack must be signed with; repeat for several.
    #[arg(long, required = true, value_name = "KEY.pub")]
    trust: Vec<PathBuf>,
    #[arg(long)]
    json: bool,
}

#[derive(clap::Args, Debug)]
pub struct AssignArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// The course id.
    #[arg(long)]
    course: String,
    /// Offer the course to every learner.
    #[arg(long, conflicts_with_all = ["role", "learner"], required_unless_present_any = ["role", "learner"])]
    everyone: bool,
    /// Offer the course to every learner holding this role.
    #[arg(long, conflicts_with = "learner")]
    role: Option<String>,
    /// Offer the course to this learner.
    #[arg(long)]
    learner: Option<String>,
    /// Take the assignment back instead.
    #[arg(long)]
    remove: bool,
}

#[derive(clap::Args, Debug)]
pub struct RolesArgs {
    #[command(flatten)]
    store: StoreArgs,
    #[arg(long)]
    learner: String,
    /// The learner's roles, replacing any they held; none to clear them.
    #[arg(long = "role")]
    roles: Vec<String>,
}

pub fn publish(args: &PublishArgs) -> Result<(), String> {
    let trusted = crate::authoring::trusted_keys(&args.trust)?;
    let packs = args.store.data.join("packs");
    let published = tidbit_server::publish::publish(&args.pack, &packs, &trusted)
        .map_err(|e| format!("{}: {e}", args.pack.display()))?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&published).map_err(|e| e.to_string())?
        );
    } else if published.new {
        println!(
            "published {} {} as {} ({} bytes, ETag {})",
            published.course_id, published.version, published.file, published.bytes, published.etag
        );
    } else {
        println!(
            "{} {} was already published as {}; nothing changed",
            published.course_id, published.version, published.file
        );
    }
    Ok(())
}

pub fn assign(args: &AssignArgs) -> Result<(), String> {
    let to = match (&args.role, &args.learner) {
        (Some(role), _) => Assignee::Role(role.clone()),
        (_, Some(learner)) => Assignee::Learner(learner.clone()),
        _ => Assignee::Everyone,
    };
    let hub = args.store.open()?;
    let assignments = hub
        .change_assignment(&AssignmentChange {
            course: args.course.clone(),
            to: to.clone(),
            remove: args.remove,
        })
        .map_err(|e| e.to_string())?;
    let whom = match to {
        Assignee::Everyone => "every learner".to_string(),
        Assignee::Role(role) => format!("role {role}"),
        Assignee::Learner(learner) => format!("learner {learner}"),
    };
    println!(
        "{} {} {whom}; {} courses are assigned to everyone, {} roles and {} learners have courses of their own",
        args.course,
        if args.remove { "is no longer assigned to" } else { "is assigned to" },
        assignments.everyone.len(),
        assignments.roles.len(),
        assignments.learners.len()
    );
    Ok(())
}

pub fn roles(args: &RolesArgs) -> Result<(), String> {
    let hub = args.store.open()?;
    let roles: BTreeSet<String> = args.roles.iter().cloned().collect();
    let assignments = hub
        .set_learner_roles(&args.learner, &roles)
        .map_err(|e| e.to_string())?;
    let courses = assignments.courses_for(&args.learner);
    println!(
        "{} holds {} role(s) and is offered {} course(s): {}",
        args.learner,
        roles.len(),
        courses.len(),
        courses.into_iter().collect::<Vec<_>>().join(", ")
    );
    Ok(())
}
