//! The catalog and pack downloads over real HTTP: ranges resume a cut download, the ETag is the
//! pack's SHA-256, and only plain pack names are served.

mod support;

use support::*;

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::new()
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
