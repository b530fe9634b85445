//! Course delivery end to end: a real server offering published packs to the learners they are
//! assigned to, the core's `update_courses` on a real store fetching them through a proxy that
//! cuts and corrupts downloads, and a scripted server whose answers contradict its catalog.
//! Whatever happens, the device holds the old version or the new one, whole.

mod support;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use support::courses::course_pack;
use support::cutter::{Cut, CuttingProxy, Scripted, ScriptedServer};
use support::proxy::SeededRng;
use support::*;
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::tidbit::{
    update_courses, CourseUpdateReport, DeliveryError, DeliveryOptions, PendingReason, Tidbit,
    TidbitConfig,
};
use tidbit_server::assignments::{Assignee, AssignmentChange};

const LEARNER: &str = "ana";

fn open_device(dir: &Path, trusted: &TrustedKeys) -> Mutex<Tidbit> {
    Mutex::new(
        Tidbit::open(
            TidbitConfig {
                data_dir: dir.to_path_buf(),
                learner_id: LEARNER.into(),
                device_id: "phone".into(),
                time_zone: "Europe/Berlin".into(),
                trusted_keys: trusted.clone(),
                at_rest_key: None,
            },
            Arc::new(ManualClock::new(start())),
        )
        .unwrap(),
    )
}

/// Options for tests: quick retries, so a cut link costs milliseconds.
fn options(server: &str, token: &str) -> DeliveryOptions {
    let mut options = DeliveryOptions::new(server, token);
    options.max_attempts = 2;
    options.initial_backoff = Duration::from_millis(1);
    options.max_backoff = Duration::from_millis(2);
    options
}

fn update(
    tidbit: &Mutex<Tidbit>,
    options: &DeliveryOptions,
) -> Result<CourseUpdateReport, DeliveryError> {
    tidbit_core::runtime::runtime()
        .unwrap()
        .block_on(update_courses(tidbit, options, &|_| {}))
}

fn installed_version(tidbit: &Mutex<Tidbit>) -> Option<String> {
    let tidbit = tidbit.lock().unwrap();
    let catalog = tidbit.catalog().unwrap();
    catalog
        .iter()
        .find(|c| c.id == COURSE)
        .map(|c| c.version.clone())
}

/// The installed course loads, and every asset it names is on disk with the bytes its name
/// (their SHA-256) says.
fn assert_whole(tidbit: &Mutex<Tidbit>) {
    let tidbit = tidbit.lock().unwrap();
    tidbit.course(COURSE).unwrap();
    let assets = Path::new(env!("CARGO_MANIFEST_DIR")).join("../content/field-safety/assets");
    for entry in std::fs::read_dir(assets).unwrap() {
        let name = format!("assets/{}", entry.unwrap().file_name().to_string_lossy());
        let file = tidbit
            .asset_file(COURSE, &name)
            .unwrap()
            .unwrap_or_else(|| panic!("{name} is not installed"));
        let bytes = std::fs::read(&file).unwrap();
        let sha = hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes));
        assert_eq!(file.file_name().unwrap().to_string_lossy(), sha, "{name}");
    }
}

/// Downloads on the device (not the locks that give calls their turns).
fn partial_files(device: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(device.join("downloads")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_none_or(|x| x != "lock"))
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn assign(server: &TestServer, course: &str, learner: &str) {
    server
        .hub
        .change_assignment(&AssignmentChange {
            course: course.into(),
            to: Assignee::Learner(learner.into()),
            remove: false,
        })
        .unwrap();
}

/// A server under `root` whose devices' requests are not rate limited: hours of a bad link
/// pass in seconds here.
fn unlimited_server(root: &Path) -> TestServer {
    let data = root.join("server");
    let hub =
        open_hub(&data)
            .with_clock(server_clock())
            .with_rate_limit(tidbit_server::RateLimit {
                burst: 1e9,
                per_second: 1e9,
            });
    TestServer::start_with(&data, Arc::new(hub))
}

#[test]
fn cut_and_corrupted_downloads_resume_and_the_device_always_holds_a_whole_version() {
    let root = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let server = unlimited_server(root.path());
    assign(&server, COURSE, LEARNER);
    let packs = server.data.join("packs");

    let seed = 0x7d1b_5eed;
    let plan_rng = Arc::new(Mutex::new(SeededRng::new(seed)));
    let planning = plan_rng.clone();
    let proxy = CuttingProxy::start(server.addr, move |line| {
        if !line.contains("/v1/packs/") {
            return Cut::Pass;
        }
        let mut rng = planning.lock().unwrap();
        match rng.below(100) {
            0..=96 => Cut::After(rng.between(256, 8 * 1024)),
            97 => Cut::Corrupt(rng.below(400_000)),
            _ => Cut::Pass,
        }
    });
    let token = server.token(LEARNER, "phone");
    let options = options(&proxy.url(), &token);
    let device_dir = root.path().join("phone");
    let mut tidbit = open_device(&device_dir, &trusted);
    let mut rng = SeededRng::new(seed ^ 1);
    let (mut calls, mut restarts, mut torn) = (0u32, 0u32, 0u32);
    let (mut downloaded, mut resumed, mut refused) = (0u64, 0u64, 0usize);
    let mut published_bytes = 0u64;
    let mut previous: Option<String> = None;
    for version in ["1.0.0", "1.1.0", "1.2.0", "2.0.0", "2.1.0"] {
        let pack = course_pack(root.path(), &key, COURSE, version, "");
        let published = tidbit_server::publish::publish(&pack, &packs, &trusted).unwrap();
        published_bytes += published.bytes;
        loop {
            calls += 1;
            assert!(calls < 5_000, "{version} never arrived");
            // The app is killed and started again between two updates.
            if rng.chance(0.08) {
                drop(tidbit);
                tidbit = open_device(&device_dir, &trusted);
                restarts += 1;
            }
            // A kill mid-write left bytes that never belonged to the pack.
            if rng.chance(0.03) {
                for partial in partial_files(&device_dir) {
                    let mut bytes = std::fs::read(&partial).unwrap();
                    bytes.extend_from_slice(b"torn write");
                    std::fs::write(&partial, bytes).unwrap();
                    torn += 1;
                }
            }
            let report = update(&tidbit, &options).unwrap();
            downloaded += report.bytes_downloaded;
            resumed += report.bytes_resumed;
            refused += report.refused.len();
            let now = installed_version(&tidbit);
            assert!(
                now == previous || now.as_deref() == Some(version),
                "after call {calls} the device holds {now:?}, neither {previous:?} nor {version}"
            );
            if now.is_some() {
                assert_whole(&tidbit);
            }
            if now.as_deref() == Some(version) {
                break;
            }
        }
        assert!(
            partial_files(&device_dir).is_empty(),
            "an installed download was left behind"
        );
        previous = Some(version.to_string());
    }

    let cuts = proxy.counts.cuts.load(std::sync::atomic::Ordering::Relaxed);
    let corrupted = proxy
        .counts
        .corrupted
        .load(std::sync::atomic::Ordering::Relaxed);
    println!(
        "delivery faults (seed {seed:#x}): {cuts} cuts, {corrupted} corrupted replies ({refused} refused and fetched again), {restarts} app restarts, {torn} torn partial files, {calls} update calls; \
         {published_bytes} bytes published; {downloaded} bytes downloaded, {resumed} bytes resumed instead of fetched again \
         (without resumption: {} bytes, {:.1}x)",
        downloaded + resumed,
        (downloaded + resumed) as f64 / downloaded as f64
    );
    assert!(cuts >= 200, "only {cuts} cuts");
    assert!(corrupted >= 1, "no corrupted reply was tried");
    assert!(
        refused >= 1,
        "a corrupted download was installed or never noticed"
    );
    assert!(
        resumed > downloaded,
        "resumption saved {resumed} bytes of {downloaded}"
    );

    // Another pack under the installed version: refused before a byte of it is fetched, and
    // the installed version stays.
    let changed = course_pack(root.path(), &key, COURSE, "2.1.0", "Changed. ");
    let served = packs.join(format!("{COURSE}-2.1.0.tidbit"));
    std::fs::copy(&changed, &served).unwrap();
    let requests_before = proxy
        .counts
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    let report = update(&tidbit, &options).unwrap();
    assert_eq!(report.refused.len(), 1, "{report:?}");
    assert!(
        report.refused[0].reason.contains("never changes"),
        "{report:?}"
    );
    assert_eq!(report.bytes_downloaded, 0);
    assert_eq!(
        proxy
            .counts
            .requests
            .load(std::sync::atomic::Ordering::Relaxed),
        requests_before + 1,
        "only the catalog was read"
    );
    assert_eq!(installed_version(&tidbit).as_deref(), Some("2.1.0"));
    assert_whole(&tidbit);
}

#[test]
fn a_byte_budget_and_wifi_only_pause_a_download_and_the_next_call_resumes_it() {
    let root = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let server = TestServer::start(&root.path().join("server"));
    let packs = server.data.join("packs");
    let pack = course_pack(root.path(), &key, COURSE, "1.0.0", "");
    let published = tidbit_server::publish::publish(&pack, &packs, &trusted).unwrap();
    let token = server.token(LEARNER, "phone");
    let tidbit = open_device(&root.path().join("phone"), &trusted);

    // Not assigned yet: nothing on offer, and the pack itself is not served to this learner.
    let report = update(&tidbit, &options(&server.url(), &token)).unwrap();
    assert_eq!((report.offered, report.installed.len()), (0, 0));
    let refused = reqwest::blocking::Client::new()
        .get(format!("{}/v1/packs/{}", server.url(), published.file))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(refused.status(), 404);
    assign(&server, COURSE, LEARNER);

    // Wi-Fi only, on a metered network: nothing is fetched.
    let mut metered = options(&server.url(), &token);
    metered.unmetered_only = true;
    metered.on_unmetered_network = false;
    let report = update(&tidbit, &metered).unwrap();
    assert_eq!(report.bytes_downloaded, 0);
    assert_eq!(
        report.pending[0].reason,
        PendingReason::UnmeteredNetworkOnly
    );

    // A budget of 100,000 bytes: the download pauses there.
    let mut budgeted = options(&server.url(), &token);
    budgeted.byte_budget = Some(100_000);
    let heard = Mutex::new(Vec::new());
    let report = tidbit_core::runtime::runtime()
        .unwrap()
        .block_on(update_courses(&tidbit, &budgeted, &|p| {
            heard.lock().unwrap().push(p.bytes_on_device)
        }))
        .unwrap();
    assert_eq!(report.bytes_downloaded, 100_000);
    assert_eq!(report.pending.len(), 1);
    assert_eq!(report.pending[0].reason, PendingReason::ByteBudget);
    assert_eq!(report.pending[0].bytes_on_device, 100_000);
    assert_eq!(report.pending[0].bytes_total, published.bytes);
    assert_eq!(installed_version(&tidbit), None);
    let heard = heard.into_inner().unwrap();
    assert_eq!(heard.last(), Some(&100_000));
    assert!(heard.windows(2).all(|w| w[0] < w[1]), "progress went back");

    // The next call fetches only the rest.
    let report = update(&tidbit, &options(&server.url(), &token)).unwrap();
    assert_eq!(report.bytes_resumed, 100_000);
    assert_eq!(report.bytes_downloaded, published.bytes - 100_000);
    assert_eq!(report.installed.len(), 1);
    assert_whole(&tidbit);

    // Up to date: nothing fetched.
    let report = update(&tidbit, &options(&server.url(), &token)).unwrap();
    assert_eq!(report.up_to_date, vec![COURSE.to_string()]);
    assert_eq!(report.bytes_downloaded, 0);

    // A revoked assignment and an erased learner.
    let another = server.token("bo", "phone");
    let other_device = Mutex::new(
        Tidbit::open(
            TidbitConfig {
                data_dir: root.path().join("bo"),
                learner_id: "bo".into(),
                device_id: "phone".into(),
                time_zone: "Europe/Berlin".into(),
                trusted_keys: trusted.clone(),
                at_rest_key: None,
            },
            Arc::new(ManualClock::new(start())),
        )
        .unwrap(),
    );
    let report = update(&other_device, &options(&server.url(), &another)).unwrap();
    assert_eq!(report.offered, 0, "bo was offered ana's course");
    assert!(matches!(
        update(&tidbit, &options(&server.url(), "v1.bad.token")),
        Err(DeliveryError::Unauthorized { status: 401 })
    ));
}

/// Two updates of one store at once (an app and its background worker): the second waits for
/// the first instead of appending to the same download, then finds the course installed.
#[test]
fn two_updates_of_one_store_at_once_take_turns_and_neither_refuses_the_pack() {
    let root = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let server = unlimited_server(root.path());
    assign(&server, COURSE, LEARNER);
    let pack = course_pack(root.path(), &key, COURSE, "1.0.0", "");
    let published =
        tidbit_server::publish::publish(&pack, &server.data.join("packs"), &trusted).unwrap();
    let options = options(&server.url(), &server.token(LEARNER, "phone"));
    let device_dir = root.path().join("phone");
    let tidbit = open_device(&device_dir, &trusted);

    // The first update stops after its first bytes and lets the second start; it goes on when
    // the second downloads too, or after a while if the second never gets to (it waits).
    let (first_paused, second_may_start) = std::sync::mpsc::channel::<()>();
    let (second_downloading, first_may_go_on) = std::sync::mpsc::channel::<()>();
    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| {
            let paused = Mutex::new(Some(first_paused));
            let first_may_go_on = Mutex::new(first_may_go_on);
            tidbit_core::runtime::runtime()
                .unwrap()
                .block_on(update_courses(&tidbit, &options, &|_| {
                    if let Some(paused) = paused.lock().unwrap().take() {
                        paused.send(()).unwrap();
                        let go_on = first_may_go_on.lock().unwrap();
                        let _ = go_on.recv_timeout(Duration::from_secs(2));
                    }
                }))
        });
        second_may_start.recv().unwrap();
        let second = scope.spawn(|| {
            let downloading = Mutex::new(Some(second_downloading));
            tidbit_core::runtime::runtime()
                .unwrap()
                .block_on(update_courses(&tidbit, &options, &|_| {
                    if let Some(downloading) = downloading.lock().unwrap().take() {
                        let _ = downloading.send(());
                    }
                }))
        });
        (first.join().unwrap(), second.join().unwrap())
    });
    let (first, second) = (first.unwrap(), second.unwrap());
    assert!(first.refused.is_empty(), "{first:?}");
    assert!(second.refused.is_empty(), "{second:?}");
    assert_eq!(first.installed.len(), 1, "{first:?}");
    assert_eq!(first.bytes_downloaded, published.bytes);
    assert_eq!(second.up_to_date, vec![COURSE.to_string()], "{second:?}");
    assert_eq!(second.bytes_downloaded, 0);
    assert_eq!(installed_version(&tidbit).as_deref(), Some("1.0.0"));
    assert_whole(&tidbit);
    assert!(partial_files(&device_dir).is_empty());
}

/// The sample course's pack as a scripted server offers it: bytes, ETag, manifest fingerprint.
struct Offer {
    bytes: Vec<u8>,
    etag: String,
    fingerprint: String,
}

fn offer(path: &Path) -> Offer {
    let bytes = std::fs::read(path).unwrap();
    let etag = format!(
        "\"{}\"",
        hex::encode(ring::digest::digest(&ring::digest::SHA256, &bytes))
    );
    let (manifest, _) = tidbit_core::pack::read_manifest_unverified(path).unwrap();
    Offer {
        bytes,
        etag,
        fingerprint: manifest.fingerprint().unwrap(),
    }
}

fn catalog_json(course: &str, version: &str, bytes: u64, etag: &str, fingerprint: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({"courses": [{
        "course_id": course, "version": version, "title": "Field safety",
        "file": "field-safety.tidbit", "bytes": bytes, "etag": etag,
        "manifest_sha256": fingerprint,
    }]}))
    .unwrap()
}

fn reply(status: u16, headers: &[(&str, &str)], body: Vec<u8>) -> Scripted {
    Scripted {
        status,
        headers: headers
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect(),
        body,
    }
}

#[test]
fn a_server_that_contradicts_its_catalog_gets_nothing_installed() {
    let root = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let installed = course_pack(root.path(), &key, COURSE, "1.0.0", "");
    let newer = offer(&course_pack(root.path(), &key, COURSE, "1.1.0", ""));
    let other = offer(&course_pack(root.path(), &key, "radio-basics", "1.1.0", ""));
    let tidbit = open_device(&root.path().join("phone"), &trusted);
    tidbit
        .lock()
        .unwrap()
        .install_pack(&installed, &mut |_, _| {})
        .unwrap();

    let serve = |catalog: Vec<u8>, pack: Scripted| {
        let mut pack = Some(pack);
        ScriptedServer::start(move |path| {
            if path.ends_with("/catalog") {
                reply(
                    200,
                    &[("content-type", "application/json")],
                    catalog.clone(),
                )
            } else {
                pack.take().unwrap_or_else(|| reply(503, &[], Vec::new()))
            }
        })
    };
    let check = |server: &ScriptedServer, expect: &str| {
        let report = update(&tidbit, &options(&server.url(), "token")).unwrap();
        assert_eq!(report.installed.len(), 0, "{report:?}");
        assert_eq!(report.refused.len(), 1, "{report:?}");
        assert!(
            report.refused[0].reason.contains(expect),
            "{expect}: {report:?}"
        );
        assert_eq!(installed_version(&tidbit).as_deref(), Some("1.0.0"));
        assert_whole(&tidbit);
        assert!(partial_files(&root.path().join("phone")).is_empty());
    };
    let len = |o: &Offer| o.bytes.len() as u64;

    // A pack of another course under the name and hash the catalog gave.
    let server = serve(
        catalog_json(
            COURSE,
            "1.1.0",
            len(&other),
            &other.etag,
            &newer.fingerprint,
        ),
        reply(200, &[("etag", &other.etag)], other.bytes.clone()),
    );
    check(&server, "holds radio-basics 1.1.0");

    // A catalog that says the pack is larger than it is.
    let server = serve(
        catalog_json(
            COURSE,
            "1.1.0",
            len(&newer) + 1_000,
            &newer.etag,
            &newer.fingerprint,
        ),
        reply(200, &[("etag", &newer.etag)], newer.bytes.clone()),
    );
    check(&server, "bytes, not");

    // The right length, the wrong bytes.
    let mut wrong = newer.bytes.clone();
    let middle = wrong.len() / 2;
    wrong[middle] ^= 0xff;
    let server = serve(
        catalog_json(
            COURSE,
            "1.1.0",
            len(&newer),
            &newer.etag,
            &newer.fingerprint,
        ),
        reply(200, &[("etag", &newer.etag)], wrong),
    );
    check(&server, "do not match the SHA-256");

    // Another ETag on the download than in the catalog.
    let server = serve(
        catalog_json(
            COURSE,
            "1.1.0",
            len(&newer),
            &newer.etag,
            &newer.fingerprint,
        ),
        reply(200, &[("etag", &other.etag)], newer.bytes.clone()),
    );
    check(&server, "contradicts its catalog");

    // Catalogs a device must not act on, and a redirect loop: an error, nothing fetched.
    for (catalog, expect) in [
        (b"{\"courses\": 7}".to_vec(), "catalog is unusable"),
        (
            climbing(catalog_json(
                COURSE,
                "1.1.0",
                len(&newer),
                &newer.etag,
                &newer.fingerprint,
            )),
            "not a pack file name",
        ),
    ] {
        let server = serve(catalog, reply(503, &[], Vec::new()));
        let error = update(&tidbit, &options(&server.url(), "token")).unwrap_err();
        assert!(matches!(error, DeliveryError::BadCatalog(_)), "{error}");
        assert!(error.to_string().contains(expect), "{error}");
        assert_eq!(server.paths.lock().unwrap().len(), 1, "a pack was fetched");
    }
    let looping = ScriptedServer::start(|path| reply(302, &[("location", path)], Vec::new()));
    let error = update(&tidbit, &options(&looping.url(), "token")).unwrap_err();
    assert!(matches!(error, DeliveryError::BadCatalog(_)), "{error}");
    assert!(error.to_string().contains("redirect"), "{error}");
    assert_eq!(installed_version(&tidbit).as_deref(), Some("1.0.0"));
    assert_whole(&tidbit);
}

/// The catalog with a file name that climbs out of the downloads directory.
fn climbing(catalog: Vec<u8>) -> Vec<u8> {
    String::from_utf8(catalog)
        .unwrap()
        .replace("field-safety.tidbit", "../tidbit.sqlite3")
        .into_bytes()
}

#[test]
fn media_on_demand_arrive_when_their_module_is_opened_through_cuts_and_wrong_bytes() {
    use tidbit_core::tidbit::fetch_module_assets;
    let root = tempfile::tempdir().unwrap();
    let key = SigningKey::generate().unwrap();
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let server = unlimited_server(root.path());
    assign(&server, COURSE, LEARNER);
    let pack = support::courses::course_pack_with(root.path(), &key, COURSE, "1.0.0", "", true);
    let published =
        tidbit_server::publish::publish(&pack, &server.data.join("packs"), &trusted).unwrap();
    let token = server.token(LEARNER, "phone");
    let tidbit = open_device(&root.path().join("phone"), &trusted);

    // The course arrives without its media.
    let report = update(&tidbit, &options(&server.url(), &token)).unwrap();
    assert_eq!(report.installed.len(), 1, "{report:?}");
    let (manifest, _) = tidbit_core::pack::read_manifest_unverified(&pack).unwrap();
    let media_bytes: u64 = manifest
        .assets
        .iter()
        .filter(|a| a.on_demand)
        .map(|a| a.packed_size)
        .sum();
    assert!(media_bytes > 0);
    assert_eq!(report.bytes_downloaded, published.bytes - media_bytes);
    let course = tidbit.lock().unwrap().course(COURSE).unwrap();
    let with_media: Vec<String> = course
        .modules
        .iter()
        .filter(|m| !tidbit_core::content::model::steps_assets(&m.steps).is_empty())
        .map(|m| m.id.clone())
        .collect();
    assert!(with_media.len() >= 2, "{with_media:?}");
    let first_module = course
        .modules
        .iter()
        .find(|m| m.id == with_media[0])
        .unwrap();
    let first_media = *tidbit_core::content::model::steps_assets(&first_module.steps)
        .keys()
        .next()
        .unwrap();
    assert_eq!(
        tidbit
            .lock()
            .unwrap()
            .asset_file(COURSE, first_media)
            .unwrap(),
        None,
        "an on-demand asset was there before it was fetched"
    );

    // Opened on a bad link: every module's media arrive in the end, cut and corrupted on the way.
    let mut rng = SeededRng::new(11);
    let mut requests = 0;
    let proxy = CuttingProxy::start(server.addr, move |_| {
        requests += 1;
        // The first fetch gets a flipped byte; then most fetches are cut, a few corrupted.
        if requests == 1 {
            return Cut::Corrupt(10);
        }
        match rng.below(10) {
            0..=5 => Cut::After(rng.between(100, 20_000)),
            6 => Cut::Corrupt(rng.below(2_000)),
            _ => Cut::Pass,
        }
    });
    let options = options(&proxy.url(), &token);
    let runtime = tidbit_core::runtime::runtime().unwrap();
    let (mut calls, mut wrong, mut fetched, mut resumed) = (0, 0, 0, 0u64);
    for module in &with_media {
        loop {
            calls += 1;
            assert!(calls < 2_000, "{module} never got its media");
            let report = runtime
                .block_on(fetch_module_assets(
                    &tidbit,
                    &options,
                    COURSE,
                    module,
                    &|_| {},
                ))
                .unwrap();
            fetched += report.fetched.len();
            resumed += report.bytes_resumed;
            wrong += report
                .missing
                .iter()
                .filter(|m| m.reason.contains("do not verify"))
                .count();
            if report.missing.is_empty() {
                break;
            }
        }
        // Opened again: nothing more to fetch.
        let again = runtime
            .block_on(fetch_module_assets(
                &tidbit,
                &options,
                COURSE,
                module,
                &|_| {},
            ))
            .unwrap();
        assert_eq!((again.fetched.len(), again.bytes_downloaded), (0, 0));
    }
    println!(
        "on-demand media: {fetched} assets fetched for {} modules in {calls} calls, {} cuts, {wrong} corrupted fetches refused, {resumed} bytes resumed",
        with_media.len(),
        proxy
            .counts
            .cuts
            .load(std::sync::atomic::Ordering::Relaxed)
    );
    assert!(wrong >= 1, "no corrupted asset was refused");
    assert!(resumed > 0, "no cut fetch resumed");
    assert_whole(&tidbit);
}
