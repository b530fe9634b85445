//! `tidbit serve`: the reference sync and content server, and the tokens devices sync with.
//!
//! `tidbit serve --data DIR --addr 127.0.0.1:PORT` serves until interrupted; packs offered for
//! download go in `DIR/packs/`. `tidbit serve token --data DIR --learner ID --device ID` prints
//! a bearer token signed with the server's key.

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
}

#[derive(clap::Subcommand)]
enum ServeCommand {
    /// Print a bearer token for one device of one learner.
    Token {
        #[arg(long)]
        data: PathBuf,
        #[arg(long)]
        learner: String,
        #[arg(long)]
        device: String,
        /// Days until the token expires.
        #[arg(long, default_value_t = 90, value_parser = clap::value_parser!(u32).range(1..=3650))]
        days: u32,
    },
}

pub fn run(args: &ServeArgs) -> Result<(), String> {
    match &args.command {
        Some(ServeCommand::Token {
            data,
            learner,
            device,
            days,
        }) => token(data, learner, device, *days),
        None => {
            let data = args
                .data
                .as_ref()
                .ok_or("tidbit serve needs --data DIR (the server's data directory)")?;
            serve(data, args.addr)
        }
    }
}

fn token(data: &std::path::Path, learner: &str, device: &str, days: u32) -> Result<(), String> {
    for (what, id) in [("learner", learner), ("device", device)] {
        if !tidbit_server::auth::valid_id(id) {
            return Err(format!(
                "'{id}' is not a valid {what} id (letters, digits, '-', '_', '.', '@'; at most 128)"
            ));
        }
    }
    let hub = Hub::open(data).map_err(|e| format!("{}: {e}", data.display()))?;
    let expires = chrono::Utc::now().timestamp() + i64::from(days) * 86_400;
    println!("{}", hub.tokens.issue(learner, device, expires));
    Ok(())
}

fn serve(data: &std::path::Path, addr: SocketAddr) -> Result<(), String> {
    let hub = Arc::new(Hub::open(data).map_err(|e| format!("{}: {e}", data.display()))?);
    let runtime = tidbit_core::sync::runtime().map_err(|e| e.to_string())?;
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
