//! The catalog and pack downloads over real HTTP: ranges resume a cut download, the ETag is the
//! pack's SHA-256, and only plain pack names are served.

mod support;

use support::*;

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
}

/// A client sending `token` with each request.
fn with_token(token: &str) -> reqwest::blocking::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    reqwest::blocking::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

#[test]
fn a_cut_download_resumes_with_a_range_and_the_etag_tells_an_unchanged_pack() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let (pack, _) = sample_pack();
    std::fs::create_dir_all(server.data.join("packs")).unwrap();
    std::fs::copy(pack, server.data.join("packs").join("field-safety.tidbit")).unwrap();
    let bytes = std::fs::read(pack).unwrap();
    let url = format!("{}/v1/packs/field-safety.tidbit", server.url());
    let client = || with_token(&server.admin_token());

    let catalog: serde_json::Value = client()
        .get(format!("{}/v1/catalog", server.url()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(catalog[0]["course_id"], COURSE);
    assert_eq!(catalog[0]["bytes"], bytes.len());

    let whole = client().get(&url).send().unwrap();
    assert_eq!(whole.status(), 200);
    let etag = whole.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(whole.bytes().unwrap().as_ref(), bytes.as_slice());
    assert_eq!(catalog[0]["etag"], etag);

    // The link dropped after 1,000 bytes: fetch the rest only.
    let rest = client()
        .get(&url)
        .header("range", "bytes=1000-")
        .header("if-range", &etag)
        .send()
        .unwrap();
    assert_eq!(rest.status(), 206);
    assert_eq!(
        rest.headers()["content-range"].to_str().unwrap(),
        format!("bytes 1000-{}/{}", bytes.len() - 1, bytes.len())
    );
    assert_eq!(rest.bytes().unwrap().as_ref(), &bytes[1000..]);

    // A resumed download of a pack that changed since gets the whole new pack.
    let changed = client()
        .get(&url)
        .header("range", "bytes=1000-")
        .header("if-range", "\"an-older-pack\"")
        .send()
        .unwrap();
    assert_eq!(changed.status(), 200);

    let unchanged = client()
        .get(&url)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(unchanged.status(), 304);

    let beyond = client()
        .get(&url)
        .header("range", format!("bytes={}-", bytes.len()))
        .send()
        .unwrap();
    assert_eq!(beyond.status(), 416);
}

#[test]
fn only_plain_pack_names_are_served() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    std::fs::write(server.data.join("secret.tidbit"), b"not in packs/").unwrap();
    let client = || with_token(&server.admin_token());
    for name in [
        "..%2Fsecret.tidbit",
        "token.key",
        "missing.tidbit",
        ".hidden.tidbit",
    ] {
        let response = client()
            .get(format!("{}/v1/packs/{name}", server.url()))
            .send()
            .unwrap();
        assert_eq!(response.status(), 404, "{name}");
    }
    assert_eq!(
        client()
            .get(format!("{}/health", server.url()))
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn each_learner_is_offered_the_latest_version_of_the_courses_assigned_to_them_and_nothing_else() {
    use tidbit_core::keys::{SigningKey, TrustedKeys};
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(&root.path().join("server"));
    let key = SigningKey::generate().unwrap();
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let packs = server.data.join("packs");
    let publish = |course: &str, version: &str, note: &str| {
        let pack = support::courses::course_pack(root.path(), &key, course, version, note);
        tidbit_server::publish::publish(&pack, &packs, &trusted)
    };
    publish(COURSE, "1.0.0", "").unwrap();
    let latest = publish(COURSE, "1.2.0", "").unwrap();
    let radio = publish("radio-basics", "1.0.0", "").unwrap();
    assert!(latest.new);

    // A published version never changes; an older one is refused; the same pack is a no-op.
    assert!(!publish(COURSE, "1.2.0", "").unwrap().new);
    let changed = publish(COURSE, "1.2.0", "Changed. ").unwrap_err();
    assert!(changed.to_string().contains("never changes"), "{changed}");
    let older = publish(COURSE, "1.1.0", "").unwrap_err();
    assert!(older.to_string().contains("is older"), "{older}");
    let stranger = SigningKey::generate().unwrap();
    let unsigned = support::courses::course_pack(root.path(), &stranger, COURSE, "1.3.0", "");
    let refused = tidbit_server::publish::publish(&unsigned, &packs, &trusted).unwrap_err();
    assert!(refused.to_string().contains("does not verify"), "{refused}");
    // A pack cut before its on-demand media is no pack to publish.
    let on_demand =
        support::courses::course_pack_with(root.path(), &key, COURSE, "1.4.0", "", true);
    let (manifest, _) = tidbit_core::pack::read_manifest_unverified(&on_demand).unwrap();
    let bytes = std::fs::read(&on_demand).unwrap();
    let prefix = root.path().join("prefix.tidbit");
    std::fs::write(&prefix, &bytes[..manifest.eager_len().unwrap() as usize]).unwrap();
    let cut = tidbit_server::publish::publish(&prefix, &packs, &trusted).unwrap_err();
    assert!(cut.to_string().contains("on-demand media"), "{cut}");
    let files: Vec<String> = std::fs::read_dir(&packs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(files.len(), 3, "{files:?}");

    // Assignments through the admin API: the course to a role, radio to one learner.
    let admin = with_token(&server.admin_token());
    let post = |body: serde_json::Value| {
        admin
            .post(format!("{}/v1/admin/assignments", server.url()))
            .json(&body)
            .send()
            .unwrap()
    };
    assert_eq!(
        post(serde_json::json!({"course": COURSE, "to": {"role": "marshal"}})).status(),
        200
    );
    assert_eq!(
        post(serde_json::json!({"course": "radio-basics", "to": {"learner": "bo"}})).status(),
        200
    );
    assert_eq!(
        post(serde_json::json!({"course": "../x", "to": "everyone"})).status(),
        400
    );
    let roles = admin
        .put(format!("{}/v1/admin/learners/ana/roles", server.url()))
        .json(&serde_json::json!({"roles": ["marshal"]}))
        .send()
        .unwrap();
    assert_eq!(roles.status(), 200);

    let catalog_of = |learner: &str| -> Vec<(String, String)> {
        let response = with_token(&server.token(learner, "phone"))
            .get(format!("{}/v1/learners/{learner}/catalog", server.url()))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().unwrap();
        body["courses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["course_id"].as_str().unwrap().to_string(),
                    c["version"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(
        catalog_of("ana"),
        [(COURSE.to_string(), "1.2.0".to_string())]
    );
    assert_eq!(
        catalog_of("bo"),
        [("radio-basics".to_string(), "1.0.0".to_string())]
    );
    assert!(catalog_of("cy").is_empty());

    // Packs: a learner's token gets only their courses; no token, nothing; the whole catalog
    // is for admins; a learner's catalog is for that learner's tokens only.
    let get = |token: Option<String>, path: &str| {
        let client = token.map_or_else(client, |t| with_token(&t));
        client
            .get(format!("{}{path}", server.url()))
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    let ana = Some(server.token("ana", "phone"));
    assert_eq!(get(ana.clone(), &format!("/v1/packs/{}", latest.file)), 200);
    assert_eq!(get(ana.clone(), &format!("/v1/packs/{}", radio.file)), 404);
    assert_eq!(get(None, &format!("/v1/packs/{}", latest.file)), 401);
    assert_eq!(get(ana.clone(), "/v1/catalog"), 403);
    assert_eq!(get(ana.clone(), "/v1/learners/bo/catalog"), 403);
    assert_eq!(get(ana, "/v1/admin/assignments"), 403);
    assert_eq!(get(Some(server.admin_token()), "/v1/catalog"), 200);

    // Erasing a learner takes them out of the assignments, and gives them none again.
    let phone = Device::new(root.path(), "bo", "phone");
    phone
        .tidbit
        .lock()
        .unwrap()
        .enroll(COURSE, "field-volunteer")
        .unwrap();
    phone
        .sync(&server.url(), &server.token("bo", "phone"))
        .unwrap();
    let erased = admin
        .delete(format!("{}/v1/admin/learners/bo", server.url()))
        .send()
        .unwrap();
    assert_eq!(erased.status(), 200, "{erased:?}");
    let assignments = server.hub.assignments().unwrap();
    assert!(!assignments.learners.contains_key("bo"), "{assignments:?}");
    let again = post(serde_json::json!({"course": COURSE, "to": {"learner": "bo"}}));
    assert_eq!(again.status(), 410, "an erased learner was given a course");
    assert!(assignments.learner_roles.contains_key("ana"));
}
