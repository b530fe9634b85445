//! `tidbit serve cohort`: forming cohorts by hand and automatically, listing them, showing one
//! and hiding an entry, on a server's data directory, and the errors a person sees.

mod common;

use common::*;

fn cohort(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["serve", "cohort"];
    all.extend_from_slice(args);
    run(dir, &all)
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn cohorts_are_formed_listed_shown_and_refused_from_the_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let data = ["--data", "server"];
    let base = [
        &data[..],
        &[
            "--course",
            "customer-objections",
            "--path",
            "sales-executive",
        ],
    ]
    .concat();
    let mut form = vec!["form", "--id", "north-1"];
    form.extend_from_slice(&base);
    form.extend_from_slice(&["--member", "ana", "--member", "ben", "--member", "chi"]);
    let out = cohort(dir.path(), &form);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("cohort north-1: 3 members (ana, ben, chi)"));

    // Seven learners in two zones: two cohorts of four and three, by time zone.
    let mut auto = vec!["auto", "--prefix", "field", "--size", "4"];
    auto.extend_from_slice(&base);
    for named in [
        "dan@America/New_York",
        "eve@America/New_York",
        "fay@America/New_York",
        "gus@Asia/Tokyo",
        "hal@Asia/Tokyo",
        "ivy@Asia/Tokyo",
        "jon@Asia/Tokyo",
    ] {
        auto.extend_from_slice(&["--learner", named]);
    }
    let out = cohort(dir.path(), &auto);
    assert!(out.status.success(), "{}", text(&out));
    let printed = text(&out);
    assert!(
        printed.contains("cohort field-1: 4 members (dan, eve, fay, gus)"),
        "{printed}"
    );
    assert!(
        printed.contains("cohort field-2: 3 members (hal, ivy, jon)"),
        "{printed}"
    );

    let mut list = vec!["list"];
    list.extend_from_slice(&data);
    let out = cohort(dir.path(), &list);
    let printed = text(&out);
    assert!(printed.contains("north-1: 3 members"), "{printed}");
    assert!(printed.contains("field-2: 3 members"), "{printed}");

    let mut show = vec!["show", "--id", "north-1"];
    show.extend_from_slice(&data);
    let out = cohort(dir.path(), &show);
    assert!(out.status.success(), "{}", text(&out));
    let view: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(view["members"].as_array().unwrap().len(), 3);
    assert_eq!(view["rota"]["duties"].as_array().unwrap().len(), 3);

    // A fourth cohort for ana is one too many; a bad id and an unknown entry are refused.
    for id in ["a-2", "a-3"] {
        let mut again = vec!["form", "--id", id];
        again.extend_from_slice(&base);
        again.extend_from_slice(&["--member", "ana"]);
        assert!(cohort(dir.path(), &again).status.success());
    }
    let mut fourth = vec!["form", "--id", "a-4"];
    fourth.extend_from_slice(&base);
    fourth.extend_from_slice(&["--member", "ana"]);
    let out = cohort(dir.path(), &fourth);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("already in 3 cohorts"),
        "{}",
        text(&out)
    );
    let mut bad = vec!["form", "--id", "North 1"];
    bad.extend_from_slice(&base);
    bad.extend_from_slice(&["--member", "ana"]);
    let out = cohort(dir.path(), &bad);
    assert!(text(&out).contains("is not a cohort id"), "{}", text(&out));
    let mut hide = vec![
        "hide",
        "--id",
        "north-1",
        "--entry",
        "0123456789abcdef0123456789abcdef",
    ];
    hide.extend_from_slice(&data);
    let out = cohort(dir.path(), &hide);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no post, share or feedback"),
        "{}",
        text(&out)
    );
}
