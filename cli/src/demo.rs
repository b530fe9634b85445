//! `tidbit demo`: Tidbit's main job end to end, on its embedded defaults, in seconds.
//!
//! An author signs the field-safety sample course; an embedded server on a free loopback port
//! offers it; one learner's phone and tablet each download and verify the pack, then learn
//! offline on different days and sync now and then. At the end both devices and the server
//! must hold the same state: the last line is `converged: phone=<d> tablet=<d> server=<d>`,
//! each a digest of that side's full projected state, and the command fails unless all three
//! are equal.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::simulate::PracticeDevice;
use tidbit_core::tidbit::sync_client::{sync, SyncOptions};
use tidbit_core::tidbit::{update_courses, DeliveryOptions, Tidbit, TidbitConfig};
use tidbit_server::Hub;

use crate::syncing::describe;

const LEARNER: &str = "amara";
const COURSE_SOURCE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../content/field-safety");

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Days the two devices learn offline.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u32).range(1..=60))]
    days: u32,
    /// Minutes of practice per session.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=60))]
    minutes: u32,
    /// Seed for the learners' answers.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// The course source to sign and serve (default: the field-safety sample course).
    #[arg(long)]
    course: Option<PathBuf>,
    /// Keep the server's and devices' data here (default: a temporary directory).
    #[arg(long)]
    keep: Option<PathBuf>,
}

struct DemoDevice {
    name: &'static str,
    tidbit: Mutex<Tidbit>,
    clock: Arc<ManualClock>,
    learner: PracticeDevice,
    token: String,
    /// Local hour of its sessions.
    hour: i64,
}

pub fn run(args: &DemoArgs) -> Result<(), String> {
    let temporary;
    let work = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            dir.clone()
        }
        None => {
            temporary = tempfile::Builder::new()
                .prefix("tidbit-demo-")
                .tempdir()
                .map_err(|e| format!("cannot create a temporary directory: {e}"))?;
            temporary.path().to_path_buf()
        }
    };
    let source = args.course.clone().unwrap_or_else(|| {
        let local = PathBuf::from("content/field-safety");
        if local.is_dir() {
            local
        } else {
            PathBuf::from(COURSE_SOURCE)
        }
    });
    let runtime = tidbit_core::runtime::runtime().map_err(|e| e.to_string())?;
    let start: DateTime<Utc> = Utc::now()
        .date_naive()
        .and_hms_opt(5, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_else(Utc::now)
        - Duration::days(i64::from(args.days));

    // The author signs the course; the server offers it.
    let key = SigningKey::generate().map_err(|e| e.to_string())?;
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let server_dir = work.join("server");
    let packs = server_dir.join("packs");
    std::fs::create_dir_all(&packs).map_err(|e| format!("{}: {e}", packs.display()))?;
    let compiled = compile_course(&source).map_err(|e| format!("{}: {e}", source.display()))?;
    let course = compiled.course.id.clone();
    let path = compiled
        .course
        .paths
        .first()
        .map(|p| p.id.clone())
        .ok_or("the course has no path")?;
    let pack_name = format!("{course}.tidbit");
    let mut out = std::fs::File::create(packs.join(&pack_name)).map_err(|e| e.to_string())?;
    write_course_pack(&compiled, &key, start, &mut out, &mut |_, _| {})
        .map_err(|e| e.to_string())?;
    drop(out);
    let hub = Arc::new(Hub::open(&server_dir).map_err(|e| e.to_string())?);
    let (addr, _server) = runtime
        .block_on(tidbit_server::spawn(
            "127.0.0.1:0".parse().map_err(|_| "bad address")?,
            hub.clone(),
        ))
        .map_err(|e| format!("cannot start the embedded server: {e}"))?;
    let url = format!("http://{addr}");
    println!(
        "server   {url} (embedded; SQLite in {})",
        server_dir.display()
    );
    println!(
        "course   {course} v{}, path '{path}', signed and offered as {pack_name}",
        compiled.course.version
    );

    hub.change_assignment(&tidbit_server::assignments::AssignmentChange {
        course: course.clone(),
        to: tidbit_server::assignments::Assignee::Everyone,
        remove: false,
    })
    .map_err(|e| e.to_string())?;

    // Two devices of one learner fetch their courses from the server (download, verify,
    // install), and enroll.
    let expires = Utc::now().timestamp() + 86_400;
    let mut devices = Vec::new();
    for (name, hour, seed_offset, right_share) in [("phone", 7, 0, 0.85), ("tablet", 18, 1, 0.7)] {
        let dir = work.join(name);
        let clock = Arc::new(ManualClock::new(start));
        let tidbit = Mutex::new(
            Tidbit::open(
                TidbitConfig {
                    data_dir: dir.clone(),
                    learner_id: LEARNER.into(),
                    device_id: name.into(),
                    time_zone: "Africa/Nairobi".into(),
                    trusted_keys: trusted.clone(),
                    at_rest_key: None,
                },
                clock.clone(),
            )
            .map_err(|e| format!("{name}: {e}"))?,
        );
        let token = hub.tokens.issue(LEARNER, name, expires);
        let delivered = runtime
            .block_on(update_courses(
                &tidbit,
                &DeliveryOptions::new(&url, &token),
                &|_| {},
            ))
            .map_err(|e| format!("{name}: {e}"))?;
        if delivered.installed.is_empty() {
            return Err(format!(
                "{name}: no course was installed (refused: {:?}, pending: {:?})",
                delivered.refused, delivered.pending
            ));
        }
        let mut tidbit = tidbit.into_inner().map_err(|_| "a device lock failed")?;
        tidbit
            .enroll(&course, &path)
            .map_err(|e| format!("{name}: {e}"))?;
        let learner = PracticeDevice::new(&tidbit, args.seed + seed_offset, right_share)
            .map_err(|e| format!("{name}: {e}"))?;
        println!(
            "{name:<8} course update: {} offered, {} installed ({} bytes downloaded, verified); enrolled",
            delivered.offered,
            delivered.installed.len(),
            delivered.bytes_downloaded
        );
        devices.push(DemoDevice {
            name,
            tidbit: Mutex::new(tidbit),
            clock,
            learner,
            token,
            hour,
        });
    }

    // Offline days: the phone learns most mornings, the tablet some evenings; each syncs only
    // now and then, when it happens to have a connection.
    println!();
    for day in 0..i64::from(args.days) {
        for device in devices.iter_mut() {
            let learns = match device.name {
                "phone" => day % 3 != 2,
                _ => day % 2 == 1,
            };
            if learns {
                device
                    .clock
                    .set(start + Duration::days(day) + Duration::hours(device.hour - 3));
                let mut tidbit = device.tidbit.lock().map_err(|_| "a device lock failed")?;
                let tally = device
                    .learner
                    .practise(&mut tidbit, &device.clock, args.minutes)
                    .map_err(|e| format!("{}: {e}", device.name))?;
                println!(
                    "day {day}  {:<7} offline: {} answers ({} right), {} lesson cards, {} modules opened",
                    device.name, tally.answers, tally.right, tally.lessons, tally.modules_started
                );
            }
            let syncs = match device.name {
                "phone" => day % 3 == 1,
                _ => day % 4 == 3,
            };
            if syncs {
                sync_device(runtime, device, &url)?;
            }
        }
    }

    // Back online: phone, tablet, phone, so each holds everything the other did.
    println!();
    for index in [0, 1, 0] {
        sync_device(runtime, &devices[index], &url)?;
    }

    println!();
    let mut digests = Vec::new();
    for device in &devices {
        let tidbit = device.tidbit.lock().map_err(|_| "a device lock failed")?;
        let events = tidbit.events().map_err(|e| e.to_string())?;
        let due = tidbit.due_counts().map_err(|e| e.to_string())?;
        let stages = tidbit.stages(&course).map_err(|e| e.to_string())?;
        let passed = stages.iter().filter(|s| s.passed_ms.is_some()).count();
        println!(
            "{:<8} {} events from {} devices; {} due now, {} today; {passed}/{} stages passed",
            device.name,
            events.len(),
            events
                .iter()
                .map(|e| e.device.as_str())
                .collect::<std::collections::BTreeSet<_>>()
                .len(),
            due.due_now,
            due.due_today,
            stages.len()
        );
        digests.push(tidbit.projection_digest().map_err(|e| e.to_string())?);
    }
    let server_digest = server_state(&hub, &work, &packs.join(&pack_name), &trusted)?;
    let converged = digests.iter().all(|d| *d == server_digest);
    println!(
        "converged: phone={} tablet={} server={}",
        digests[0], digests[1], server_digest
    );
    if !converged {
        return Err("the devices and the server hold different states".into());
    }
    Ok(())
}

fn sync_device(
    runtime: &tokio::runtime::Runtime,
    device: &DemoDevice,
    url: &str,
) -> Result<(), String> {
    let report = runtime
        .block_on(sync(&device.tidbit, &SyncOptions::new(url, &device.token)))
        .map_err(|e| format!("{} sync: {e}", device.name))?;
    println!("        {:<7} sync: {}", device.name, describe(&report));
    Ok(())
}

/// The server's projected state: its events for the learner, replayed on a fresh replica.
fn server_state(
    hub: &Hub,
    work: &Path,
    pack: &Path,
    trusted: &TrustedKeys,
) -> Result<String, String> {
    let events = tidbit_server::exchange::learner_events(hub.storage.as_ref(), LEARNER)
        .map_err(|e| format!("server: {e}"))?;
    let mut replica = Tidbit::open(
        TidbitConfig {
            data_dir: work.join("server-replica"),
            learner_id: LEARNER.into(),
            device_id: "server".into(),
            time_zone: "Africa/Nairobi".into(),
            trusted_keys: trusted.clone(),
            at_rest_key: None,
        },
        Arc::new(ManualClock::new(Utc::now())),
    )
    .map_err(|e| format!("server replica: {e}"))?;
    replica
        .install_pack(pack, &mut |_, _| {})
        .map_err(|e| format!("server replica: {e}"))?;
    replica
        .replay_events(&events)
        .map_err(|e| format!("server replica: {e}"))?;
    println!("server   {} events", events.len());
    replica.projection_digest().map_err(|e| e.to_string())
}
