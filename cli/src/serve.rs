//! `tidbit serve`: the reference sync and content server, and the tokens devices sync with.
//!
//! `tidbit serve --data DIR --addr 127.0.0.1:PORT` serves until interrupted; packs offered for
//! download go in `DIR/packs/`. `tidbit serve token --data DIR --learner ID --device ID` prints
//! a bearer token signed with the server's key (`--admin` for an admin token). `tidbit serve
//! trigger --data DIR --learner ID --module MODULE --reason TEXT --within 48h` appends an
//! intervention to the learner's documents; their devices get it with their next sync. `tidbit
//! serve erase --data DIR --learner ID` erases a learner (see `tidbit_server::erasure`), beside a
//! running server or without one.
//!
//! The server writes an access log to stderr (learner ids as pseudonyms) and refuses tokens that
//! stay valid longer than `--max-token-days` (90 by default, as `tidbit serve token` issues).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tidbit_server::Hub;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    command: Option<ServeCommand>,
    /// The server's data directory (its database, token key and packs/).
    #[arg(long)]
    data: Option<PathBuf>,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The longest a token may stay valid from the moment it is used; tokens that expire later
    /// are refused (401), whoever issued them.
    #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
    max_token_days: u32,
    /// How many days a decided review stays in the admin queue (the request and the decision
    /// stay in the learner's record until they are erased).
    #[arg(long, default_value_t = tidbit_server::reviews::DEFAULT_REVIEW_RETENTION_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    review_retention_days: u32,
    /// No access log on stderr.
    #[arg(long)]
    quiet: bool,
    /// Forward learning records (xAPI statements) to the organisation's LRS at this xAPI base
    /// address (statements go to `<URL>/statements`).
    #[arg(long, value_name = "URL", requires = "xapi_home_page")]
    lrs_endpoint: Option<String>,
    /// The LRS's HTTP Basic user.
    #[arg(long, default_value = "")]
    lrs_user: String,
    /// The LRS's HTTP Basic password (better: the TIDBIT_LRS_PASSWORD environment variable).
    #[arg(
        long,
        env = "TIDBIT_LRS_PASSWORD",
        default_value = "",
        hide_env_values = true
    )]
    lrs_password: String,
    /// Statements per request to the LRS.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=1000))]
    lrs_batch: u32,
    /// Requests to the LRS in flight at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=16))]
    lrs_parallel: u32,
    /// The longest wait between attempts while the LRS fails, in seconds.
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    lrs_max_backoff_seconds: u64,
    /// The organisation's home page: learners' xAPI accounts and activity ids live under it.
    #[arg(long, value_name = "URL")]
    xapi_home_page: Option<String>,
    /// A publisher's public key (`NAME.pub`) the packs in `packs/` are verified against before
    /// learning records and metrics read them; repeat for several.
    #[arg(long, value_name = "KEY.pub")]
    trust: Vec<PathBuf>,
}

#[derive(clap::Subcommand)]
enum ServeCommand {
    /// Print a bearer token for one device of one learner, or with --admin an admin token.
    Token {
        #[arg(long)]
        data: PathBuf,
        #[arg(long, required_unless_present = "admin")]
        learner: Option<String>,
        #[arg(long, required_unless_present = "admin")]
        device: Option<String>,
        /// An admin token (for `POST /v1/admin/...`), which can open no learner's documents.
        #[arg(long, conflicts_with_all = ["learner", "device"])]
        admin: bool,
        /// Days until the token expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
    /// Ask a learner to revisit a module within a deadline: an intervention event in their
    /// documents, delivered to their devices through sync (and a push, if one is registered).
    Trigger {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        learner: String,
        #[arg(long)]
        module: String,
        /// The course the module belongs to (devices look it up when omitted).
        #[arg(long)]
        course: Option<String>,
        /// Why, in words the learner may see (such as "two below-target sprints").
        #[arg(long)]
        reason: String,
        /// The window: hours or days, such as 48h or 2d.
        #[arg(long, default_value = "48h")]
        within: String,
        #[arg(long)]
        json: bool,
    },
    /// Erase a learner from the server: their key, documents, sync states and event ids are
    /// deleted and every token of theirs is revoked. Erasure is final.
    Erase {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        learner: String,
        #[arg(long)]
        json: bool,
    },
    /// Print the L&D team's metrics and experiment results from a server's data directory:
    /// the numbers of `GET /v1/admin/metrics` and of the dashboard.
    Report(crate::report::ReportArgs),
}

pub fn run(args: &ServeArgs) -> Result<(), String> {
    match &args.command {
        Some(ServeCommand::Token {
            data,
            learner,
            device,
            admin,
            days,
        }) => match (learner, device) {
            (Some(learner), Some(device)) if !admin => token(data, learner, device, *days),
            _ => token(data, "*", tidbit_server::auth::ADMIN_DEVICE, *days),
        },
        Some(ServeCommand::Trigger {
            data,
            learner,
            module,
            course,
            reason,
            within,
            json,
        }) => trigger(
            data,
            learner,
            module,
            course.as_deref(),
            reason,
            within,
            *json,
        ),
        Some(ServeCommand::Erase {
            data,
            learner,
            json,
        }) => erase(data, learner, *json),
        Some(ServeCommand::Report(report)) => crate::report::run(report),
        None => {
            let data = args
                .data
                .as_ref()
                .ok_or("tidbit serve needs --data DIR (the server's data directory)")?;
            serve(data, args)
        }
    }
}

fn token(data: &std::path::Path, learner: &str, device: &str, days: u32) -> Result<(), String> {
    let admin = device == tidbit_server::auth::ADMIN_DEVICE;
    for (what, id) in [("learner", learner), ("device", device)] {
        if !admin && !tidbit_server::auth::valid_id(id) {
            return Err(format!(
                "'{id}' is not a valid {what} id (letters, digits, '-', '_', '.', '@'; at most 128)"
            ));
        }
    }
    let hub = Hub::open(data).map_err(|e| format!("{}: {e}", data.display()))?;
    if !admin
        && hub
            .storage
            .is_erased(learner)
            .map_err(|e| format!("{}: {e}", data.display()))?
    {
        return Err(format!(
            "learner '{learner}' was erased from this server and their id is retired: give the person a new learner id"
        ));
    }
    let expires = chrono::Utc::now().timestamp() + i64::from(days) * 86_400;
    println!("{}", hub.tokens.issue(learner, device, expires));
    Ok(())
}

fn serve(data: &std::path::Path, args: &ServeArgs) -> Result<(), String> {
    let addr = args.addr;
    let mut hub = Hub::open(data)
        .map_err(|e| format!("{}: {e}", data.display()))?
        .with_max_token_lifetime(std::time::Duration::from_secs(
            u64::from(args.max_token_days) * 86_400,
        ))
        .with_review_retention_days(args.review_retention_days)
        .with_trusted_packs(crate::authoring::trusted_keys(&args.trust)?);
    if let Some(endpoint) = &args.lrs_endpoint {
        let settings = tidbit_server::records::LrsSettings {
            endpoint: endpoint.clone(),
            user: args.lrs_user.clone(),
            password: args.lrs_password.clone(),
            batch: args.lrs_batch,
            parallel: args.lrs_parallel,
            max_backoff: std::time::Duration::from_secs(args.lrs_max_backoff_seconds),
            home_page: args.xapi_home_page.clone().unwrap_or_default(),
        };
        hub = hub
            .with_records(settings)
            .map_err(|e| format!("{}: {e}", data.display()))?;
    }
    if !args.quiet {
        // Ignores write errors: a closed stderr must never fail a request.
        hub = hub.with_access_log(Arc::new(|line: &str| {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "{line}");
        }));
    }
    let hub = Arc::new(hub);
    let runtime = tidbit_core::runtime::runtime().map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        let bound = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!(
            "tidbit serve: listening on http://{bound} (data {})",
            data.display()
        );
        tidbit_server::serve(listener, hub)
            .await
            .map_err(|e| format!("the server stopped: {e}"))
    })
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
        .filter(|h| (1..=tidbit_server::interventions::MAX_WITHIN_HOURS).contains(h))
        .ok_or_else(|| {
            format!(
                "--within '{text}' is not a window of 1 to {} hours: write it as 48h or 2d",
                tidbit_server::interventions::MAX_WITHIN_HOURS
            )
        })
}

fn trigger(
    data: &std::path::Path,
    learner: &str,
    module: &str,
    course: Option<&str>,
    reason: &str,
    within: &str,
    json: bool,
) -> Result<(), String> {
    let within_hours = parse_within(within)?;
    let hub = Hub::open(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let request = tidbit_server::interventions::InterventionRequest {
        module: module.into(),
        course: course.map(str::to_string),
        reason: reason.into(),
        within_hours,
        signal: None,
    };
    let triggered = tidbit_server::interventions::trigger(
        hub.storage.as_ref(),
        learner,
        &request,
        chrono::Utc::now().timestamp_millis(),
        &tidbit_server::interventions::LoggingPushSender,
    )
    .map_err(|e| format!("{}: {e}", data.display()))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&triggered).map_err(|e| e.to_string())?
        );
    } else {
        let deadline = chrono::DateTime::from_timestamp_millis(triggered.deadline_ms)
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default();
        println!(
            "intervention {} for {learner} on '{module}' in {}, due by {deadline}{}",
            triggered.intervention,
            triggered.document,
            if triggered.pushed { " (pushed)" } else { "" }
        );
    }
    Ok(())
}

fn erase(data: &std::path::Path, learner: &str, json: bool) -> Result<(), String> {
    let hub = Hub::open(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let receipt = tidbit_server::erasure::erase(&hub, learner)
        .map_err(|e| format!("{}: {e}", data.display()))?;
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&receipt).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    match receipt {
        tidbit_server::erasure::Receipt::Erased {
            record,
            wal_truncated,
        } => println!(
            "erased {learner}: erasure {}, {} documents, {} chunks, {} sync states, {} event ids{}",
            record.erasure,
            record.documents,
            record.chunks,
            record.sync_states,
            record.event_ids,
            if wal_truncated {
                ""
            } else {
                " (another process is reading: the write-ahead log empties at its next checkpoint)"
            }
        ),
        tidbit_server::erasure::Receipt::AlreadyErased => {
            println!("{learner} was already erased; nothing changed")
        }
    }
    Ok(())
}
