//! `tidbit learn` driven through pipes, the way a learner at a terminal drives it: the session
//! shows its recommendation, scores answers through the facade, re-asks input that does not parse
//! without recording it, ends cleanly on `q`, and leaves the store intact.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};
use std::sync::Arc;

use common::{build_sample, repo_root, run, run_ok, tidbit, workdir_with_key};
use tidbit_core::events::{EventKind, SystemClock};
use tidbit_core::keys::TrustedKeys;
use tidbit_core::learn::voice::{pcm_wav, sha256_hex};
use tidbit_core::privacy::consent::ConsentScope;
use tidbit_core::tidbit::{Tidbit, TidbitConfig};

const COURSE: &str = "field-safety";

/// A scratch directory with the field-safety pack installed in `<dir>/data`.
fn installed() -> tempfile::TempDir {
    let dir = workdir_with_key();
    let pack = build_sample(dir.path(), COURSE);
    run_ok(
        dir.path(),
        &[
            "install",
            pack.to_str().unwrap(),
            "--data",
            "data",
            "--trust",
            "author.pub",
        ],
    );
    dir
}

/// Runs `tidbit learn --data data ARGS` in `dir` with `input` on stdin.
fn learn(dir: &Path, args: &[&str], input: &str) -> Output {
    let mut child = tidbit()
        .current_dir(dir)
        .args(["learn", "--data", "data"])
        .args(args)
        .env("TZ", "Europe/Berlin")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    // A separate writer so a long transcript cannot fill stdout while stdin is still being fed;
    // the session may stop reading early (after `q`), so a closed pipe is not a failure.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    output
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn answered(transcript: &str) -> u32 {
    let line = transcript
        .lines()
        .find_map(|l| l.trim().strip_prefix("Answered: "))
        .unwrap_or_else(|| panic!("no summary in:\n{transcript}"));
    line.split(',').next().unwrap().trim().parse().unwrap()
}

fn events(data: &Path) -> Vec<EventKind> {
    open(data)
        .events()
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn open(data: &Path) -> Tidbit {
    Tidbit::open(
        TidbitConfig {
            data_dir: data.to_path_buf(),
            learner_id: "learner".into(),
            device_id: "terminal".into(),
            time_zone: "UTC".into(),
            trusted_keys: TrustedKeys::new(),
            at_rest_key: None,
        },
        Arc::new(SystemClock),
    )
    .unwrap()
}

#[test]
fn a_session_over_pipes_enrolls_scores_answers_summarises_and_leaves_the_store_intact() {
    let dir = installed();
    // Plausible answers for every kind of prompt, over and over: Enter for lesson cards, a
    // number, t, a few numbers, y, a self-rating.
    let cycle = ["", "1", "t", "1 2", "2", "y", "3"];
    let input = format!("{}\nq\n", cycle.repeat(40).join("\n"));
    let out = learn(
        dir.path(),
        &[
            "--course",
            COURSE,
            "--minutes",
            "5",
            "--learner",
            "ada",
            "--device",
            "laptop",
        ],
        &input,
    );
    let transcript = stdout(&out);
    assert!(
        out.status.success(),
        "{transcript}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        transcript.contains("Recommended: Start the 'Field Volunteer' path"),
        "{transcript}"
    );
    assert!(
        transcript.contains("Enrolled in the 'Field Volunteer' path"),
        "{transcript}"
    );
    assert!(
        ["Right (", "Partly right (", "Wrong ("]
            .iter()
            .any(|verdict| transcript.contains(verdict)),
        "{transcript}"
    );
    assert!(transcript.contains("Grade: "), "{transcript}");
    for line in ["Session summary", "Time: ", "Streak: ", "Due: "] {
        assert!(transcript.contains(line), "no '{line}' in:\n{transcript}");
    }
    assert!(answered(&transcript) >= 1, "{transcript}");

    let catalog = run_ok(dir.path(), &["catalog", "--data", "data"]);
    assert!(catalog.contains(COURSE), "{catalog}");

    // The next session continues as the same learner on the same device, already enrolled.
    let again = learn(dir.path(), &[], "q\n");
    let transcript = stdout(&again);
    assert!(again.status.success(), "{transcript}");
    assert!(
        transcript.contains("learning as 'ada' on 'laptop'"),
        "{transcript}"
    );
    assert!(transcript.contains("Recommended: "), "{transcript}");
    assert!(!transcript.contains("Start the 'Field Volunteer' path"));
    assert!(transcript.contains("Session summary"), "{transcript}");
}

#[test]
fn garbage_input_is_asked_again_and_never_recorded() {
    let dir = installed();
    // Enter through the first lesson cards (an empty line at a question is asked again), then
    // text and an out-of-range number at the first question, then stop.
    let input = format!("{}abc\n99\n0\nq\n", "\n".repeat(20));
    let out = learn(dir.path(), &["--course", COURSE], &input);
    let transcript = stdout(&out);
    assert!(out.status.success(), "{transcript}");
    assert!(
        transcript.contains("'abc' is not a number: type a number from 1 to"),
        "{transcript}"
    );
    assert!(
        transcript.contains("99 is not one of the choices"),
        "{transcript}"
    );
    assert!(transcript.contains("0 is not one of the choices"));
    assert!(transcript.contains("Answered: 0, right: 0"), "{transcript}");
    assert!(!transcript.contains("Grade: "), "{transcript}");

    let events = events(&dir.path().join("data"));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, EventKind::ItemAnswered { .. })),
        "{events:?}"
    );
    // The lesson cards read before the question were recorded.
    assert!(events
        .iter()
        .any(|e| matches!(e, EventKind::StepViewed { .. })));
}

#[test]
fn learning_without_an_installed_course_or_with_an_unknown_one_says_what_to_do() {
    let dir = installed();
    let missing = run(dir.path(), &["learn", "--data", "nowhere"]);
    assert_eq!(missing.status.code(), Some(1));
    let message = String::from_utf8_lossy(&missing.stderr);
    assert!(message.contains("tidbit install"), "{message}");
    assert!(!dir.path().join("nowhere").exists());

    let unknown = learn(dir.path(), &["--course", "no-such-course"], "q\n");
    assert_eq!(unknown.status.code(), Some(1));
    let message = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        message.contains("no installed course 'no-such-course'"),
        "{message}"
    );
}

/// A scratch directory with the spoken fixture course installed in `<dir>/data`, and three
/// files to answer with: `answer.wav` (3 s), `long.wav` (31 s, over the item's 30) and
/// `notes.txt`.
fn installed_spoken() -> tempfile::TempDir {
    let dir = workdir_with_key();
    let source = repo_root().join("tests/bindings/fixtures/spoken");
    let source = source.to_str().unwrap();
    run_ok(
        dir.path(),
        &[
            "pack",
            "build",
            source,
            "--key",
            "author.key",
            "--out",
            "spoken.tidbit",
        ],
    );
    run_ok(
        dir.path(),
        &[
            "install",
            "spoken.tidbit",
            "--data",
            "data",
            "--trust",
            "author.pub",
        ],
    );
    // 1 kHz 16-bit mono: 2 000 bytes a second.
    let wav = |seconds: usize| pcm_wav(1_000, 1, 16, &vec![0; 2_000 * seconds]);
    std::fs::write(dir.path().join("answer.wav"), wav(3)).unwrap();
    std::fs::write(dir.path().join("long.wav"), wav(31)).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "what I would say").unwrap();
    dir
}

/// The lesson card (two parts) and the three items before the voice item, answered.
const BEFORE_VOICE: &str = "\n\n1\n1 2\nt\n";

#[test]
fn a_voice_item_takes_a_recording_file_after_the_learner_consents() {
    let dir = installed_spoken();
    // Consent, a text file (asked again), a recording too long (refused by the facade, asked
    // again), then the right one rated against the two criteria.
    let input = format!("{BEFORE_VOICE}y\nnotes.txt\nlong.wav\ny\ny\nanswer.wav\ny\nn\nq\n");
    let out = learn(dir.path(), &["--course", "spoken-tour"], &input);
    let transcript = stdout(&out);
    assert!(out.status.success(), "{transcript}");
    for expected in [
        "Consent 'voice': Record spoken answers.",
        "Speak: Hand over a casualty who fell from a ladder, out loud.",
        "'notes.txt' is not a recording",
        "That recording cannot be used: the recording lasts 31000 ms, longer than the 30 s this item takes",
        "2. I said what I did Did your recording do this? (y/n)",
        "Partly right (50% credit)",
    ] {
        assert!(transcript.contains(expected), "no '{expected}' in:\n{transcript}");
    }

    let data = dir.path().join("data");
    let voice_answers: Vec<EventKind> = events(&data)
        .into_iter()
        .filter(|e| matches!(e, EventKind::ItemAnswered { item_kind, .. } if item_kind == "voice"))
        .collect();
    assert_eq!(voice_answers.len(), 1, "{voice_answers:?}");
    assert!(events(&data).iter().any(|e| matches!(
        e,
        EventKind::ConsentChanged {
            scope: ConsentScope::Voice,
            granted: true
        }
    )));
    let answer = std::fs::read(dir.path().join("answer.wav")).unwrap();
    let kept = open(&data).kept_recordings().unwrap();
    assert_eq!(
        kept.iter().map(|k| k.sha256.as_str()).collect::<Vec<_>>(),
        [sha256_hex(&answer)]
    );
}

#[test]
fn a_learner_who_declines_to_record_skips_the_voice_item() {
    let dir = installed_spoken();
    let out = learn(
        dir.path(),
        &["--course", "spoken-tour"],
        &format!("{BEFORE_VOICE}n\nq\n"),
    );
    let transcript = stdout(&out);
    assert!(out.status.success(), "{transcript}");
    assert!(
        transcript.contains("Skipped: this item is answered by speaking"),
        "{transcript}"
    );
    let data = dir.path().join("data");
    assert!(!events(&data)
        .iter()
        .any(|e| matches!(e, EventKind::ItemAnswered { item_kind, .. } if item_kind == "voice")));
    assert!(open(&data).kept_recordings().unwrap().is_empty());
}

#[test]
fn a_goal_set_with_tidbit_goal_is_shown_with_its_pace_before_the_recommendation() {
    let dir = installed();
    // The first session enrolls the learner in the path.
    let first = learn(dir.path(), &["--course", COURSE], "q\n");
    assert!(first.status.success(), "{}", stdout(&first));
    let due = (chrono::Utc::now() + chrono::Duration::days(20))
        .date_naive()
        .to_string();
    let args = [
        "goal",
        "set",
        "--data",
        "data",
        "--goal",
        "foundation",
        "--title",
        "Foundation first",
        "--course",
        COURSE,
        "--path",
        "field-volunteer",
        "--stage",
        "foundation",
        "--due",
        &due,
    ];
    let set = run_ok(dir.path(), &args);
    assert!(
        set.contains("foundation (") && set.contains("set by learner"),
        "{set}"
    );
    run_ok(
        dir.path(),
        &[
            "goal",
            "study-time",
            "--data",
            "data",
            "--minutes",
            "20",
            "--day-off",
            "7",
        ],
    );
    let listed = run_ok(dir.path(), &["goal", "list", "--data", "data", "--json"]);
    let goals: serde_json::Value = serde_json::from_str(&listed).unwrap();
    assert_eq!(goals[0]["spec"]["goal"], "foundation");
    assert_eq!(goals[0]["minutes_per_day"], 20);

    let session = learn(dir.path(), &[], "q\n");
    let transcript = stdout(&session);
    assert!(session.status.success(), "{transcript}");
    let goal_line = transcript
        .lines()
        .find(|l| l.starts_with("Goal: 'Foundation first' by "))
        .unwrap_or_else(|| panic!("no goal line in:\n{transcript}"));
    assert!(
        goal_line.contains("on track") || goal_line.contains("ahead"),
        "{goal_line}"
    );
    assert!(goal_line.contains("of new material today"), "{goal_line}");
    let goal_at = transcript.find("Goal: ").unwrap();
    assert!(goal_at < transcript.find("Recommended: ").unwrap());

    // A bad stage is refused with the reason, and nothing is set.
    let mut bad = args.to_vec();
    bad[13] = "nowhere";
    let refused = run(dir.path(), &bad);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("no stage 'nowhere'"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    run_ok(
        dir.path(),
        &["goal", "withdraw", "--data", "data", "--goal", "foundation"],
    );
    let none = run_ok(dir.path(), &["goal", "list", "--data", "data"]);
    assert_eq!(none.trim(), "no goals");
}
