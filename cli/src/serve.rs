//! `tidbit serve`: the reference sync and content server, and the tokens devices sync with.
//!
//! `tidbit serve --data DIR --addr 127.0.0.1:PORT` serves until interrupted; packs offered for
//! download go in `DIR/packs/`. `tidbit serve token --data DIR --learner ID --device ID` prints
//! a bearer token signed with the server's key (`--admin --role ROLE --actor NAME` for an admin
//! token). With `--oidc-issuer URL --oidc-client-id ID`, devices sign in through the
//! organisation's OpenID provider instead (see `tidbit_server::identity`). `tidbit serve
//! trigger --data DIR --learner ID --module MODULE --reason TEXT --within 48h` appends an
//! intervention to the learner's documents; their devices get it with their next sync. `tidbit
//! serve publish PACK --trust KEY.pub` publishes a course version, `tidbit serve assign --course
//! ID --everyone|--role R|--learner L` offers it (see `serve_courses`). `tidbit
//! serve erase --data DIR --learner ID` erases a learner (see `tidbit_server::erasure`), beside a
//! running server or without one. `tidbit serve migrate` and `tidbit serve copy` work on the
//! storage (see `serve_storage`).
//!
//! With `--fcm-service-account FILE` and/or `--apns-key FILE.p8 --apns-key-id ID --apns-team-id
//! ID --apns-topic BUNDLE` (see `serve_push`) the server and `trigger` wake learners' devices
//! through FCM and APNs; without them pushes are only logged.
//!
//! The server writes an access log to stderr (learner ids as pseudonyms) and refuses tokens that
//! stay valid longer than `--max-token-days` (90 by default, as `tidbit serve token` issues).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tidbit_server::access_log::LogFormat;
use tidbit_server::{Hub, Migrations};

/// Where a server keeps its keys and packs (`--data`) and learners' data (`--database`).
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// The server's data directory: its token key, server key and packs/ (and the SQLite
    /// database, unless --database names PostgreSQL).
    #[arg(long, env = "TIDBIT_DATA")]
    pub data: PathBuf,
    #[command(flatten)]
    pub database: DatabaseArgs,
}

#[derive(clap::Args, Debug, Clone)]
pub struct DatabaseArgs {
    /// Where learners' data lives: `sqlite` (the file in the data directory) or a PostgreSQL
    /// URL, postgres://USER:PASSWORD@HOST:PORT/DATABASE, shared by every server process.
    #[arg(long = "database", env = "TIDBIT_DATABASE", hide_env_values = true)]
    pub url: Option<String>,
    /// Connections to PostgreSQL per process, at most.
    #[arg(long = "database-pool", env = "TIDBIT_DATABASE_POOL", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=256))]
    pub pool: u32,
}

impl DatabaseArgs {
    pub fn config(&self) -> Result<tidbit_server::StorageConfig, String> {
        tidbit_server::StorageConfig::parse(self.url.as_deref(), self.pool as usize)
    }
}

impl StoreArgs {
    /// The hub on this data directory and database, migrations applied.
    pub fn open(&self) -> Result<Hub, String> {
        Hub::open_with(&self.data, &self.database.config()?, Migrations::Apply)
            .map_err(|e| format!("{}: {e}", self.data.display()))
    }
}

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ServeArgs {
    #[command(subcommand)]
    command: Option<ServeCommand>,
    /// A TOML file of settings: the long option names with underscores as keys (`addr =
    /// "0.0.0.0:8080"`, `database = "postgres://..."`). A flag beats its environment variable,
    /// which beats the file, which beats the default.
    #[arg(long, env = "TIDBIT_CONFIG")]
    config: Option<PathBuf>,
    /// The server's data directory (its token key, server key, packs/, and the SQLite
    /// database unless --database names PostgreSQL).
    #[arg(long, env = "TIDBIT_DATA")]
    data: Option<PathBuf>,
    #[command(flatten)]
    database: DatabaseArgs,
    /// Refuse to start on a database behind this build's schema instead of migrating it (run
    /// `tidbit serve migrate` first, as a rolling upgrade does).
    #[arg(long, env = "TIDBIT_NO_MIGRATE")]
    no_migrate: bool,
    /// The address to listen on.
    #[arg(long, env = "TIDBIT_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Where the other server processes on this database reach this one (such as
    /// http://tidbit-1:8080): the process leading the background work answers the L&D metrics
    /// for all of them. By default the address this process listens on.
    #[arg(long, env = "TIDBIT_ADVERTISE_URL", value_name = "URL")]
    advertise_url: Option<String>,
    /// The longest a token may stay valid from the moment it is used; tokens that expire later
    /// are refused (401), whoever issued them.
    #[arg(long, env = "TIDBIT_MAX_TOKEN_DAYS", default_value_t = 90,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    max_token_days: u32,
    /// How many days a decided review stays in the admin queue (the request and the decision
    /// stay in the learner's record until they are erased).
    #[arg(long, env = "TIDBIT_REVIEW_RETENTION_DAYS",
          default_value_t = tidbit_server::reviews::DEFAULT_REVIEW_RETENTION_DAYS,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    review_retention_days: u32,
    /// No access log on stderr.
    #[arg(long, env = "TIDBIT_QUIET")]
    quiet: bool,
    /// The access log's lines: `json` (one object per line, with request ids) or `text`.
    #[arg(long, env = "TIDBIT_LOG_FORMAT", default_value = "json")]
    log_format: LogFormat,
    /// On SIGTERM or SIGINT: stop accepting, answer 503 on /readyz, and give the requests in
    /// flight this long to finish.
    #[arg(long, env = "TIDBIT_SHUTDOWN_GRACE_SECONDS", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    shutdown_grace_seconds: u64,
    /// Forward learning records (xAPI statements) to the organisation's LRS at this xAPI base
    /// address (statements go to `<URL>/statements`).
    #[arg(
        long,
        env = "TIDBIT_LRS_ENDPOINT",
        value_name = "URL",
        requires = "xapi_home_page"
    )]
    lrs_endpoint: Option<String>,
    /// The LRS's HTTP Basic user.
    #[arg(long, env = "TIDBIT_LRS_USER", default_value = "")]
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
    #[arg(long, env = "TIDBIT_LRS_BATCH", default_value_t = 200,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    lrs_batch: u32,
    /// Requests to the LRS in flight at once.
    #[arg(long, env = "TIDBIT_LRS_PARALLEL", default_value_t = 2,
          value_parser = clap::value_parser!(u32).range(1..=16))]
    lrs_parallel: u32,
    /// The longest wait between attempts while the LRS fails, in seconds.
    #[arg(long, env = "TIDBIT_LRS_MAX_BACKOFF_SECONDS", default_value_t = 300,
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    lrs_max_backoff_seconds: u64,
    /// The organisation's home page: learners' xAPI accounts and activity ids live under it.
    #[arg(long, env = "TIDBIT_XAPI_HOME_PAGE", value_name = "URL")]
    xapi_home_page: Option<String>,
    /// A publisher's public key (`NAME.pub`) the packs in `packs/` are verified against before
    /// learning records and metrics read them; repeat for several (comma-separated in the
    /// environment and the file).
    #[arg(
        long,
        env = "TIDBIT_TRUST",
        value_delimiter = ',',
        value_name = "KEY.pub"
    )]
    trust: Vec<PathBuf>,
    /// Let devices sign in through the organisation's OpenID Connect provider, named by its
    /// issuer URL (such as https://id.example.org): `POST /v1/sign-in` takes the provider's ID
    /// token and answers with this server's token for the learner and device.
    #[arg(
        long,
        env = "TIDBIT_OIDC_ISSUER",
        value_name = "URL",
        requires = "oidc_client_id"
    )]
    oidc_issuer: Option<String>,
    /// The Tidbit app's client id at the provider: the audience every ID token must carry.
    #[arg(
        long,
        env = "TIDBIT_OIDC_CLIENT_ID",
        value_name = "ID",
        requires = "oidc_issuer"
    )]
    oidc_client_id: Option<String>,
    /// The ID token claim that holds the learner id (a valid learner id: letters, digits, '-',
    /// '_', '.', '@').
    #[arg(long, env = "TIDBIT_OIDC_LEARNER_CLAIM", default_value = "email")]
    oidc_learner_claim: String,
    /// Days a token issued at sign-in stays valid (at most --max-token-days).
    #[arg(long, env = "TIDBIT_SIGN_IN_TOKEN_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    sign_in_token_days: u32,
    #[command(flatten)]
    push: crate::serve_push::PushArgs,
}

#[derive(clap::Subcommand)]
enum ServeCommand {
    /// Print a bearer token for one device of one learner, or with --admin an admin token.
    Token {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long, required_unless_present = "admin")]
        learner: Option<String>,
        #[arg(long, required_unless_present = "admin")]
        device: Option<String>,
        /// An admin token (for `/v1/admin/...`), which can open no learner's documents.
        #[arg(long, conflicts_with_all = ["learner", "device"])]
        admin: bool,
        /// The admin token's role: operator (every admin endpoint), author, analyst or manager
        /// (see server/OPERATIONS.md for which may call what).
        #[arg(long, default_value = "operator", conflicts_with_all = ["learner", "device"])]
        role: tidbit_server::auth::Role,
        /// Who holds the admin token: the actor the audit log records for its requests.
        #[arg(long, default_value = "admin", conflicts_with_all = ["learner", "device"])]
        actor: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
    /// Ask a learner to act within a deadline: revisit a module, or (with --kind) hold a
    /// coaching conversation with their manager, pair with a mentor who holds a skill, or open
    /// a job aid. An intervention event in their documents, delivered to their devices through
    /// sync (and a push, if one is registered).
    Trigger(Box<crate::serve_trigger::TriggerArgs>),
    /// Erase a learner from the server: their key, documents, sync states and event ids are
    /// deleted and every token of theirs is revoked. Erasure is final.
    Erase {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        learner: String,
        #[arg(long)]
        json: bool,
    },
    /// Bring the database's schema up to this build's (PostgreSQL's versioned migrations; the
    /// SQLite file is brought up to date when opened). Run it before starting new processes.
    Migrate {
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Copy a SQLite server's store into a new, empty PostgreSQL database, and verify the copy:
    /// rows per table and every learner's digest must be equal on both sides.
    Copy {
        /// The SQLite server: `sqlite:DIR` (its data directory, with its server key).
        #[arg(long)]
        from: String,
        /// The PostgreSQL database: postgres://USER:PASSWORD@HOST:PORT/DATABASE.
        #[arg(long, env = "TIDBIT_DATABASE", hide_env_values = true)]
        to: String,
        #[arg(long)]
        json: bool,
    },
    /// Verify a signed course pack and publish it: learners it is assigned to get it at their
    /// next course update.
    Publish(crate::serve_courses::PublishArgs),
    /// Assign a course to every learner, a role or a learner (or take it back with --remove).
    Assign(crate::serve_courses::AssignArgs),
    /// Set a learner's roles (the courses assigned to a role reach every learner holding it).
    Roles(crate::serve_courses::RolesArgs),
    /// Form cohorts (by hand or automatically), list them, show one's space, hide an entry.
    Cohort(crate::serve_cohorts::CohortArgs),
    /// Print the L&D team's metrics and experiment results from a server's data directory:
    /// the numbers of `GET /v1/admin/metrics` and of the dashboard.
    Report(crate::report::ReportArgs),
}

pub fn run(args: &ServeArgs) -> Result<(), String> {
    match &args.command {
        Some(ServeCommand::Token {
            store,
            learner,
            device,
            admin,
            role,
            actor,
            days,
        }) => match (learner, device) {
            (Some(learner), Some(device)) if !admin => token(store, learner, device, *days),
            _ => admin_token(store, actor, *role, *days),
        },
        Some(ServeCommand::Trigger(args)) => crate::serve_trigger::trigger(args),
        Some(ServeCommand::Erase {
            store,
            learner,
            json,
        }) => erase(store, learner, *json),
        Some(ServeCommand::Migrate { store }) => crate::serve_storage::migrate(store),
        Some(ServeCommand::Copy { from, to, json }) => crate::serve_storage::copy(from, to, *json),
        Some(ServeCommand::Report(report)) => crate::report::run(report),
        Some(ServeCommand::Publish(publish)) => crate::serve_courses::publish(publish),
        Some(ServeCommand::Assign(assign)) => crate::serve_courses::assign(assign),
        Some(ServeCommand::Roles(roles)) => crate::serve_courses::roles(roles),
        Some(ServeCommand::Cohort(cohort)) => crate::serve_cohorts::run(cohort),
        None => {
            let data = args
                .data
                .as_ref()
                .ok_or("tidbit serve needs --data DIR (the server's data directory)")?;
            serve(data, args)
        }
    }
}

/// For `tidbit serve`: reads the settings file (`--config FILE` or `TIDBIT_CONFIG`) and puts
/// each setting the environment lacks into it, where the options read them: a flag beats its
/// environment variable, which beats the file. Call it first thing, before any thread starts.
pub fn apply_config_file(args: &[std::ffi::OsString]) -> Result<(), String> {
    use clap::Args as _;
    if args.get(1).and_then(|a| a.to_str()) != Some("serve") {
        return Ok(());
    }
    let flag = args.windows(2).find_map(|pair| match pair[0].to_str() {
        Some("--config") => Some(PathBuf::from(&pair[1])),
        _ => None,
    });
    let inline = args.iter().find_map(|a| {
        a.to_str()
            .and_then(|a| a.strip_prefix("--config="))
            .map(PathBuf::from)
    });
    let Some(path) = flag
        .or(inline)
        .or_else(|| std::env::var_os("TIDBIT_CONFIG").map(PathBuf::from))
    else {
        return Ok(());
    };
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let command = ServeArgs::augment_args(clap::Command::new("serve"));
    let known: std::collections::BTreeMap<String, String> = command
        .get_arguments()
        .filter_map(|arg| {
            let env = arg.get_env()?.to_str()?.to_string();
            let key = arg.get_long()?.replace('-', "_");
            Some((key, env))
        })
        .filter(|(key, _)| key != "config")
        .collect();
    for (key, value) in table {
        let Some(env) = known.get(&key) else {
            return Err(format!(
                "{}: unknown setting '{key}' (known: {})",
                path.display(),
                known.keys().cloned().collect::<Vec<_>>().join(", ")
            ));
        };
        let value = match value {
            // An empty list sets nothing (the option's default: none).
            toml::Value::Array(items) if items.is_empty() => continue,
            toml::Value::String(text) => text,
            toml::Value::Integer(n) => n.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            toml::Value::Array(items) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_string)
                        .unwrap_or(item.to_string())
                })
                .collect::<Vec<_>>()
                .join(","),
            other => {
                return Err(format!(
                    "{}: '{key}' must be a string, number, boolean or list, not {other}",
                    path.display()
                ))
            }
        };
        if std::env::var_os(env).is_none() {
            std::env::set_var(env, value);
        }
    }
    Ok(())
}

fn token(store: &StoreArgs, learner: &str, device: &str, days: u32) -> Result<(), String> {
    let data = &store.data;
    let admin = device == tidbit_server::auth::ADMIN_DEVICE;
    for (what, id) in [("learner", learner), ("device", device)] {
        if !admin && !tidbit_server::auth::valid_id(id) {
            return Err(format!(
                "'{id}' is not a valid {what} id (letters, digits, '-', '_', '.', '@'; at most 128)"
            ));
        }
    }
    let hub = store.open()?;
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

fn admin_token(
    store: &StoreArgs,
    actor: &str,
    role: tidbit_server::auth::Role,
    days: u32,
) -> Result<(), String> {
    if !tidbit_server::auth::valid_id(actor) {
        return Err(format!(
            "'{actor}' is not a valid actor name (letters, digits, '-', '_', '.', '@'; at most 128)"
        ));
    }
    let hub = store.open()?;
    let expires = chrono::Utc::now().timestamp() + i64::from(days) * 86_400;
    println!("{}", hub.tokens.issue_admin(actor, role, expires));
    Ok(())
}

fn serve(data: &std::path::Path, args: &ServeArgs) -> Result<(), String> {
    let addr = args.addr;
    let storage = args.database.config()?;
    let migrations = match args.no_migrate {
        true => Migrations::Require,
        false => Migrations::Apply,
    };
    // Credential files are checked before anything is opened or created.
    let push = args.push.sender()?;
    let mut hub = Hub::open_with(data, &storage, migrations)
        .map_err(|e| format!("{}: {e}", data.display()))?
        .with_log_format(args.log_format)
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
    if let Some(url) = &args.advertise_url {
        hub = hub.with_advertised_url(url);
    }
    if let (Some(issuer), Some(client_id)) = (&args.oidc_issuer, &args.oidc_client_id) {
        let mut settings = tidbit_server::identity::oidc::OidcSettings::new(issuer, client_id);
        settings.learner_claim = args.oidc_learner_claim.clone();
        settings.token_lifetime =
            std::time::Duration::from_secs(u64::from(args.sign_in_token_days) * 86_400);
        hub = hub
            .with_oidc(settings)
            .map_err(|e| format!("{}: {e}", data.display()))?;
    }
    if let Some(sender) = push {
        hub = hub.with_push(sender);
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
        let message = format!(
            "tidbit serve: listening on http://{bound} (data {}, storage {})",
            data.display(),
            storage.describe()
        );
        log(args.log_format, "info", &message);
        let grace = std::time::Duration::from_secs(args.shutdown_grace_seconds);
        tidbit_server::serve_until(listener, hub, shutdown_signal(), grace)
            .await
            .map_err(|e| format!("the server stopped: {e}"))?;
        log(
            args.log_format,
            "info",
            "tidbit serve: stopped (requests in flight finished)",
        );
        Ok(())
    })
}

/// One line of the server's own log on stderr, in the access log's format.
fn log(format: LogFormat, level: &str, message: &str) {
    use std::io::Write;
    let line = match format {
        LogFormat::Text => message.to_string(),
        LogFormat::Json => serde_json::json!({
            "ts": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "level": level,
            "msg": message,
        })
        .to_string(),
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Completes on SIGTERM (how service managers and orchestrators stop a process) or SIGINT.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = int.recv() => {}
                }
            }
            _ => std::future::pending().await,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

fn erase(store: &StoreArgs, learner: &str, json: bool) -> Result<(), String> {
    let data = &store.data;
    let hub = store.open()?;
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
