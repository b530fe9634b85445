//! Writes the committed seed corpus, `fuzz/corpus/<target>/<name>`, from real Tidbit material:
//! the sample course's source and signed pack, a certificate issued by the fuzzing key, the
//! sync messages a server's document sends a new device, exchanges carrying them, and requests
//! to the server's routes. Run it from the repository root after a format change:
//! `cargo run --manifest-path fuzz/Cargo.toml --example seeds`. Files of other names (minimised
//! crashes kept as regressions) are left alone.

use std::io::Read;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use tidbit_core::certificate::{issue_certificate, CertificateRequest};
use tidbit_core::pack::{build_pack, PackMeta};
use tidbit_core::sync::exchange::{DocumentHeads, DocumentMessage, Exchange};
use tidbit_fuzz::course_source::{
    built_at, sample_pack, CHECK_MODULE, COURSE_ID, COURSE_TOML, INTRO_MODULE,
};
use tidbit_fuzz::http_request::{self as http, RequestSpec};
use tidbit_fuzz::signing_key;
use tidbit_fuzz::sync_messages::{
    messages_to_new_device, server_document, tablet_events, DOCUMENT, LEARNER,
};

type Seeds = Vec<(&'static str, Vec<u8>)>;

fn main() -> Result<(), String> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut server = server_document(&tablet_events()?)?;
    let messages = messages_to_new_device(&mut server)?;
    let exchange = Exchange {
        heads: vec![DocumentHeads {
            doc: DOCUMENT.into(),
            heads: server.get_heads(),
        }],
        messages: messages
            .iter()
            .map(|message| DocumentMessage {
                doc: DOCUMENT.into(),
                message: message.clone(),
            })
            .collect(),
        listing: Some(tidbit_core::sync::exchange::Listing::default()),
        ..Exchange::default()
    };
    let targets: [(&str, Seeds); 6] = [
        ("pack_verify", pack_seeds()?),
        ("source_compile", source_seeds()),
        ("exchange_decode", exchange_seeds(&exchange)?),
        ("document_apply", message_seeds(&messages)),
        ("certificate_verify", certificate_seeds()?),
        ("server_request", request_seeds(&exchange)?),
    ];
    let mut total = 0;
    for (target, seeds) in targets {
        let dir = corpus.join(target);
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        for (name, bytes) in seeds {
            let path: PathBuf = dir.join(name);
            std::fs::write(&path, &bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            total += bytes.len();
        }
    }
    println!(
        "wrote the seed corpus ({total} bytes) under {}",
        corpus.display()
    );
    Ok(())
}

fn pack_seeds() -> Result<Seeds, String> {
    let pack = sample_pack();
    let mut tiny = Vec::new();
    build_pack(
        &mut tiny,
        PackMeta {
            course_id: "tiny".into(),
            version: semver::Version::new(1, 0, 0),
            locale: "en".into(),
            title: "Tiny".into(),
            created_at: built_at(),
            media_on_demand: false,
        },
        vec![
            ("course.json".into(), b"{}".to_vec()),
            (
                "assets/a.txt".into(),
                b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            ),
        ],
        signing_key(),
        &mut |_, _| {},
    )
    .map_err(|e| e.to_string())?;
    let half = pack[..pack.len() / 2].to_vec();
    Ok(vec![
        ("sample-course", pack),
        ("tiny-stored-and-deflated", tiny),
        ("sample-course-truncated", half),
    ])
}

fn source_seeds() -> Seeds {
    vec![
        ("intro-module", INTRO_MODULE.as_bytes().to_vec()),
        (
            "whole-course",
            format!("{COURSE_TOML}\0{INTRO_MODULE}\0{CHECK_MODULE}").into_bytes(),
        ),
        (
            "course-with-extra-module",
            format!(
                "{}\0{INTRO_MODULE}\0{CHECK_MODULE}\0{}",
                COURSE_TOML.replace("modules = [\"intro\"]", "modules = [\"intro\", \"extra\"]"),
                CHECK_MODULE.replace("check-", "extra-")
            )
            .into_bytes(),
        ),
    ]
}

/// The exchange's raw layout, before deflate: what the fuzzer writes in the deflated half of
/// `exchange_decode` and in a sync request with the deflate flag.
fn raw_layout(exchange: &Exchange) -> Result<Vec<u8>, String> {
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(exchange.encode().as_slice())
        .read_to_end(&mut raw)
        .map_err(|e| e.to_string())?;
    Ok(raw)
}

fn exchange_seeds(exchange: &Exchange) -> Result<Seeds, String> {
    // A document with as many heads as one entry is written with (64): the edge of the format.
    let many_heads = Exchange {
        heads: vec![DocumentHeads {
            doc: DOCUMENT.into(),
            heads: (0..64u8).map(|i| automerge::ChangeHash([i; 32])).collect(),
        }],
        ..Exchange::default()
    };
    Ok(vec![
        ("heads-and-messages", exchange.encode()),
        ("heads-and-messages-raw", raw_layout(exchange)?),
        ("many-heads-raw", raw_layout(&many_heads)?),
        ("empty", Exchange::default().encode()),
    ])
}

fn message_seeds(messages: &[Vec<u8>]) -> Seeds {
    const NAMES: [&str; 4] = [
        "server-first-message",
        "server-second-message",
        "server-third-message",
        "server-fourth-message",
    ];
    NAMES.into_iter().zip(messages.iter().cloned()).collect()
}

fn certificate_seeds() -> Result<Seeds, String> {
    let completed_at: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-11-20T16:45:00Z")
        .map_err(|e| e.to_string())?
        .with_timezone(&Utc);
    let request = CertificateRequest {
        issuer_name: "Tidbit fuzzing",
        learner_id: LEARNER,
        course_id: COURSE_ID,
        course_title: "Listening first",
        course_version: "1.0.0",
        path_id: "rep",
        path_title: "Rep",
        mastery_threshold: 0.8,
        skills: vec![("Listening".to_string(), 0.91)],
        completed_at,
    };
    let pretty = issue_certificate(&request, signing_key()).map_err(|e| e.to_string())?;
    let compact: serde_json::Value = serde_json::from_str(&pretty).map_err(|e| e.to_string())?;
    Ok(vec![
        ("issued", pretty.into_bytes()),
        ("issued-compact", compact.to_string().into_bytes()),
    ])
}

fn request_seeds(exchange: &Exchange) -> Result<Seeds, String> {
    const GET: u8 = 0;
    const POST: u8 = 1;
    const HEALTH: u8 = 0;
    const SYNC: u8 = 1;
    const INTERVENTION: u8 = 2;
    const CATALOG: u8 = 3;
    const PACK: u8 = 4;
    const FREE: u8 = 5;
    const NONE: u8 = 0;
    const LEARNER_TOKEN: u8 = 1;
    const OTHER_LEARNER: u8 = 2;
    const ADMIN: u8 = 3;
    const BEARER_GARBAGE: u8 = 5;
    let spec = |method, route, auth, flags, segment: &[u8], header: &[u8], body: &[u8]| {
        RequestSpec {
            method,
            route,
            auth,
            flags,
            segment: segment.to_vec(),
            header: header.to_vec(),
            body: body.to_vec(),
        }
        .encode()
    };
    let intervention =
        br#"{"module":"intro","course":"fuzz-sample","reason":"Refresh before the audit","within_hours":48}"#;
    Ok(vec![
        ("health", spec(GET, HEALTH, NONE, 0, b"", b"", b"")),
        (
            "sync-exchange",
            spec(POST, SYNC, LEARNER_TOKEN, 0, b"", b"", &exchange.encode()),
        ),
        (
            "sync-raw-layout",
            spec(
                POST,
                SYNC,
                LEARNER_TOKEN,
                http::DEFLATE_BODY,
                b"",
                b"",
                &raw_layout(exchange)?,
            ),
        ),
        (
            "sync-empty-for-another-learner",
            spec(
                POST,
                SYNC,
                OTHER_LEARNER,
                0,
                b"",
                b"",
                &Exchange::default().encode(),
            ),
        ),
        (
            "sync-garbage-token",
            spec(POST, SYNC, BEARER_GARBAGE, 0, b"", b"v1.00.00", b""),
        ),
        (
            "intervention",
            spec(
                POST,
                INTERVENTION,
                ADMIN,
                http::JSON,
                b"",
                b"",
                intervention,
            ),
        ),
        ("catalog", spec(GET, CATALOG, NONE, 0, b"", b"", b"")),
        (
            "pack-range",
            spec(GET, PACK, NONE, http::RANGE, b"", b"bytes=0-99", b""),
        ),
        (
            "pack-if-none-match",
            spec(GET, PACK, NONE, http::IF_NONE_MATCH, b"", b"", b""),
        ),
        (
            "pack-resume-if-range",
            spec(
                GET,
                PACK,
                NONE,
                http::RANGE | http::IF_RANGE,
                b"",
                b"bytes=100-",
                b"",
            ),
        ),
        (
            "free-path",
            spec(GET, FREE, NONE, 0, b"v1/learners/ada", b"", b""),
        ),
    ])
}
