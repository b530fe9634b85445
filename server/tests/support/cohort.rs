//! Members of a cohort for the cohort tests: each learner on a device of their own with the
//! customer-objections sample course (it has the reflections and scenarios members share), the
//! community scope given, and the admin calls that form cohorts.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::events::ManualClock;
use tidbit_core::keys::{SigningKey, TrustedKeys};
use tidbit_core::learn::assess::Response;
use tidbit_core::privacy::consent::ConsentScope;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

use super::{start, TestServer};

pub const COURSE: &str = "customer-objections";
pub const PATH: &str = "sales-executive";
/// A reflection of the course, with three criteria.
pub const REFLECTION: &str = "comp-reflect";

/// The customer-objections sample course and the spoken fixture course (its voice item is
/// `speak-voice`), signed once per test process by one key.
pub fn packs() -> &'static (Vec<PathBuf>, TrustedKeys) {
    static PACKS: OnceLock<(Vec<PathBuf>, TrustedKeys)> = OnceLock::new();
    PACKS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap().keep();
        let key = SigningKey::generate().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let sources = [
            root.join("content").join(COURSE),
            root.join("tests/bindings/fixtures/spoken"),
        ];
        // Peers' ratings count in customer-objections (0.4 of an answer), not in the other.
        let rated = dir.join("customer-objections-source");
        super::courses::copy_tree(&sources[0], &rated);
        let toml = rated.join("course.toml");
        let text = std::fs::read_to_string(&toml).unwrap();
        let text = text.replacen("[course]\n", "[course]\npeer_feedback_weight = 0.4\n", 1);
        assert!(text.contains("peer_feedback_weight"));
        std::fs::write(&toml, text).unwrap();
        let sources = [rated, sources[1].clone()];
        let paths = sources
            .iter()
            .enumerate()
            .map(|(i, source)| {
                let compiled = compile_course(source).unwrap();
                let path = dir.join(format!("course-{i}.tidbit"));
                let mut out = std::fs::File::create(&path).unwrap();
                write_course_pack(&compiled, &key, start(), &mut out, &mut |_, _| {}).unwrap();
                path
            })
            .collect();
        (paths, TrustedKeys::from_keys([key.public_key()]))
    })
}

/// The spoken fixture course and its voice item.
pub const SPOKEN: &str = "spoken-tour";
pub const VOICE_ITEM: &str = "speak-voice";

/// One member's device.
pub struct Member {
    pub learner: String,
    pub device: String,
    pub tidbit: Mutex<Tidbit>,
    pub clock: Arc<ManualClock>,
    pub dir: PathBuf,
    pub token: String,
}

impl Member {
    /// `learner`'s device `device`, enrolled, with the community scope given (or not).
    pub fn new(
        root: &Path,
        server: &TestServer,
        learner: &str,
        device: &str,
        community: bool,
    ) -> Member {
        let (packs, trusted) = packs();
        let clock = Arc::new(ManualClock::new(start()));
        let dir = root.join(device);
        let mut tidbit = Tidbit::open(
            TidbitConfig {
                data_dir: dir.clone(),
                learner_id: learner.into(),
                device_id: device.into(),
                time_zone: "Europe/Berlin".into(),
                trusted_keys: trusted.clone(),
                // As the apps do: the store sealed under a key from the platform's keystore.
                at_rest_key: Some(Arc::new(
                    tidbit_core::privacy::at_rest::AtRestKey::from_bytes(&[7; 32]).unwrap(),
                )),
            },
            clock.clone(),
        )
        .unwrap();
        for pack in packs {
            tidbit.install_pack(pack, &mut |_, _| {}).unwrap();
        }
        tidbit.enroll(COURSE, PATH).unwrap();
        if community {
            tidbit.set_consent(ConsentScope::Community, true).unwrap();
        }
        Member {
            learner: learner.into(),
            device: device.into(),
            tidbit: Mutex::new(tidbit),
            clock,
            dir,
            token: server.token(learner, device),
        }
    }

    pub fn sync(&self, server: &TestServer) -> tidbit_core::tidbit::SyncReport {
        let options = tidbit_core::tidbit::SyncOptions::new(&server.url(), &self.token);
        tidbit_core::runtime::runtime()
            .unwrap()
            .block_on(tidbit_core::tidbit::sync(&self.tidbit, &options))
            .unwrap()
    }

    /// Answers the course's reflection with `text`, meeting every criterion; the answer's id.
    pub fn reflect(&self, text: &str) -> String {
        self.tidbit
            .lock()
            .unwrap()
            .answer(
                COURSE,
                REFLECTION,
                Response::Reflection {
                    text: text.into(),
                    criteria_met: vec![true, true, true],
                },
                60_000,
            )
            .unwrap()
            .answer_event
    }
}

/// Forms cohort `id` of `members` through the admin API; the status and the reply.
pub fn form(server: &TestServer, id: &str, members: &[&str]) -> (u16, String) {
    admin_post(
        server,
        "/v1/admin/cohorts",
        serde_json::json!({"id": id, "course": COURSE, "path": PATH, "members": members}),
    )
}

pub fn admin_post(server: &TestServer, path: &str, body: serde_json::Value) -> (u16, String) {
    let url = format!("{}{path}", server.url());
    let token = server.admin_token();
    tidbit_core::runtime::runtime().unwrap().block_on(async {
        let response = reqwest::Client::new()
            .post(url)
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.text().await.unwrap_or_default(),
        )
    })
}

/// A seeded coin for the simulated month (xorshift64*).
pub struct Coin(u64);

impl Coin {
    pub fn new(seed: u64) -> Coin {
        Coin(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        ((self.next() >> 11) as f64 / (1u64 << 53) as f64) < p
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
