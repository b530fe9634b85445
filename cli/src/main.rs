//! `tidbit`: author, sign, verify, inspect and install course packs; learn; serve and sync.
//!
//! Every command exits 0 on success and 1 with a one-paragraph message on failure; clap exits 2
//! on a usage error. Machine-readable output (`--json`) goes to stdout, progress bars to stderr.

mod authoring;
mod certificates;
mod demo;
mod export;
mod goals;
mod inventory;
mod learn;
mod learner;
mod library;
mod nudges;
mod progress;
mod report;
mod serve;
mod serve_cohorts;
mod serve_courses;
mod serve_push;
mod serve_storage;
mod serve_trigger;
mod simulate;
mod syncing;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "tidbit",
    version,
    about = "Tidbit: offline-first microlearning"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create an Ed25519 signing key pair: NAME.key (private, mode 0600) and NAME.pub.
    Keygen { name: PathBuf },
    /// Build, verify and inspect course packs.
    #[command(subcommand)]
    Pack(PackCommand),
    /// Verify a pack and install it into a learner's data directory.
    Install {
        pack: PathBuf,
        #[arg(long)]
        data: PathBuf,
        /// A trusted author public key (repeatable).
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Verify learners' certificates.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Simulate learners going through a course day by day on the real engine: pacing, reviews,
    /// recall, mastery, stage unlocks and certificates.
    Simulate(simulate::SimulateArgs),
    /// List the courses installed in a data directory.
    Catalog {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Learn in the terminal: the recommended activity, then a session plan, answered at prompts.
    Learn(learn::LearnOptions),
    /// The notifications the learner's phone would hold for the next days, planned at --now.
    Nudges(nudges::NudgesArgs),
    /// Run the sync and content server, or issue a device's token (`tidbit serve token`).
    Serve(Box<serve::ServeArgs>),
    /// Merge a learner's data directory with a server.
    Sync(syncing::SyncArgs),
    /// The main job end to end: a server, a phone and a tablet learning offline, syncing, and
    /// converging to the same state.
    Demo(demo::DemoArgs),
    /// Write a learner's whole data (events, progress, decisions, consents, reviews) to one
    /// readable JSON archive.
    Export(export::ExportArgs),
    /// The learner's skills inventory: mastery, evidence and when each skill was last
    /// demonstrated; `--credentials` as Open Badges 3.0 / CLR 2.0 credentials.
    Inventory(inventory::InventoryArgs),
    /// The learner's goals and study time: set, withdraw, list with each goal's pace.
    #[command(subcommand)]
    Goal(goals::GoalCommand),
}

#[derive(Subcommand)]
enum CertCommand {
    /// Check a learner's certificate offline against trusted issuer keys.
    Verify {
        file: PathBuf,
        /// A trusted issuer public key (repeatable).
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand)]
enum PackCommand {
    /// Compile a course source directory and write a signed pack.
    Build {
        source: PathBuf,
        #[arg(long)]
        key: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Refuse to build when the source has warnings.
        #[arg(long)]
        deny_warnings: bool,
    },
    /// Check a pack's signature, every asset hash and its structure.
    Verify {
        pack: PathBuf,
        #[arg(long, required = true)]
        trust: Vec<PathBuf>,
    },
    /// Show what a pack holds.
    Inspect {
        pack: PathBuf,
        /// Also check the signature and hashes against this key (repeatable).
        #[arg(long)]
        trust: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    if let Err(message) = serve::apply_config_file(&std::env::args_os().collect::<Vec<_>>()) {
        eprintln!("tidbit: {message}");
        return ExitCode::from(2);
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Keygen { name } => authoring::keygen(&name),
        Command::Pack(PackCommand::Build {
            source,
            key,
            out,
            deny_warnings,
        }) => authoring::build(&source, &key, &out, deny_warnings),
        Command::Pack(PackCommand::Verify { pack, trust }) => authoring::verify(&pack, &trust),
        Command::Pack(PackCommand::Inspect { pack, trust, json }) => {
            authoring::inspect(&pack, &trust, json)
        }
        Command::Install {
            pack,
            data,
            trust,
            json,
        } => library::install(&pack, &data, &trust, json),
        Command::Catalog { data, json } => library::catalog(&data, json),
        Command::Simulate(args) => simulate::run(&args),
        Command::Learn(options) => learn::learn(&options),
        Command::Nudges(args) => nudges::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Sync(args) => syncing::run(&args),
        Command::Demo(args) => demo::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Inventory(args) => inventory::run(&args),
        Command::Goal(command) => goals::run(command),
        Command::Cert(CertCommand::Verify { file, trust, json }) => {
            certificates::verify(&file, &trust, json)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}
