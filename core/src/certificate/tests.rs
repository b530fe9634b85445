//! Specifications of issuing and verifying certificates: the Open Badges shape, the content-derived
//! id, the signature's coverage, and every way an altered, forged or malformed certificate is
//! refused. A test must never accept a certificate that the documented verification procedure
//! would refuse.

use super::*;

fn request() -> CertificateRequest<'static> {
    CertificateRequest {
        issuer_name: "Northwind Sales Enablement",
        learner_id: "learner-0042",
        course_id: "customer-objections",
        course_title: "Handling customer objections",
        course_version: "1.2.0",
        path_id: "account-executive",
        path_title: "Account executive",
        mastery_threshold: 0.8,
        skills: vec![
            ("Acknowledge the concern".to_string(), 0.86),
            ("Reframe on value".to_string(), 0.913),
            ("Agree next steps".to_string(), 0.8),
        ],
        completed_at: DateTime::parse_from_rfc3339("2026-03-14T09:30:27.5+01:00")
            .unwrap()
            .with_timezone(&Utc),
    }
}

fn issued() -> (SigningKey, TrustedKeys, String) {
    let key = SigningKey::generate().unwrap();
    let trusted = TrustedKeys::from_keys([key.public_key()]);
    let json = issue_certificate(&request(), &key).unwrap();
    (key, trusted, json)
}

fn parsed(json: &str) -> Value {
    serde_json::from_str(json).unwrap()
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

/// Writes `value` with every object's members in reverse order and odd whitespace.
fn reordered(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let members: Vec<String> = map
                .iter()
                .rev()
                .map(|(k, v)| format!("\r\n    {} :\t{}", Value::from(k.as_str()), reordered(v)))
                .collect();
            format!("{{{} }}", members.join(" ,"))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(reordered).collect();
            format!("[ {} ]", items.join(" , "))
        }
        scalar => scalar.to_string(),
    }
}

/// Re-signs `credential` (without its proof) as is, keeping whatever `id` it has.
fn resign(mut credential: Value, key: &SigningKey) -> String {
    let map = credential.as_object_mut().unwrap();
    let proof = map.remove("proof").unwrap();
    let signature = key.sign(
        CERTIFICATE_SIGNATURE_DOMAIN,
        canonical_json(&Value::Object(map.clone())).as_bytes(),
    );
    let mut proof = proof;
    proof["proofValue"] = Value::from(hex::encode(signature));
    map.insert("proof".into(), proof);
    pretty(&credential)
}

#[test]
fn issued_certificate_verifies_and_reports_who_finished_what_when() {
    let (key, trusted, json) = issued();
    let verified = verify_certificate(json.as_bytes(), &trusted).unwrap();
    assert_eq!(
        verified,
        VerifiedCertificate {
            issuer_key_id: key.key_id(),
            issuer_name: "Northwind Sales Enablement".into(),
            learner_id: "learner-0042".into(),
            achievement_name: "Account executive — Handling customer objections".into(),
            course_id: "customer-objections".into(),
            path_id: "account-executive".into(),
            valid_from: "2026-03-14T08:30:27Z".into(),
        }
    );
}

#[test]
fn issued_certificate_is_shaped_like_an_open_badges_3_credential() {
    let (key, _, json) = issued();
    let value = parsed(&json);
    let issuer_id = format!("urn:tidbit:issuer:{}", key.key_id());
    assert_eq!(value["@context"], json!([VC_CONTEXT, OPEN_BADGES_CONTEXT]));
    assert_eq!(
        value["type"],
        json!(["VerifiableCredential", "OpenBadgeCredential"])
    );
    assert_eq!(
        value["issuer"],
        json!({"id": issuer_id, "type": ["Profile"], "name": "Northwind Sales Enablement"})
    );
    assert_eq!(value["validFrom"], "2026-03-14T08:30:27Z");
    assert_eq!(
        value["name"],
        "Account executive — Handling customer objections"
    );
    let subject = &value["credentialSubject"];
    assert_eq!(subject["id"], "urn:tidbit:learner:learner-0042");
    assert_eq!(subject["type"], json!(["AchievementSubject"]));
    let achievement = &subject["achievement"];
    assert_eq!(
        achievement["id"],
        "urn:tidbit:achievement:customer-objections:account-executive:1.2.0"
    );
    assert_eq!(achievement["type"], json!(["Achievement"]));
    assert_eq!(achievement["achievementType"], "Certificate");
    let narrative = achievement["criteria"]["narrative"].as_str().unwrap();
    assert!(
        narrative.starts_with(
            "Passed the stage checks of every stage (foundation, application, mastery, \
             reinforcement) of the Account executive path in Handling customer objections, \
             version 1.2.0, with skill mastery of at least 0.80"
        ),
        "{narrative}"
    );
    assert_eq!(
        achievement["resultDescription"][1],
        json!({
            "id": "urn:tidbit:achievement:customer-objections:account-executive:1.2.0#skill-2",
            "type": ["ResultDescription"],
            "name": "Mastery of Reframe on value",
            "resultType": "ScaledScore",
            "valueMin": "0.00",
            "valueMax": "1.00",
            "requiredValue": "0.80",
        })
    );
    let values: Vec<&str> = subject["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["0.86", "0.91", "0.80"]);
    assert_eq!(
        subject["result"][0]["resultDescription"],
        "urn:tidbit:achievement:customer-objections:account-executive:1.2.0#skill-1"
    );
    let proof = &value["proof"];
    assert_eq!(proof["type"], "DataIntegrityProof");
    assert_eq!(proof["cryptosuite"], "tidbit-ed25519-jcs-2026");
    assert_eq!(proof["created"], "2026-03-14T08:30:27Z");
    assert_eq!(proof["verificationMethod"], format!("{issuer_id}#key"));
    assert_eq!(proof["proofPurpose"], "assertionMethod");
    assert_eq!(proof["proofValue"].as_str().unwrap().len(), 128);
}

#[test]
fn credential_id_is_the_truncated_hash_of_the_content_without_id_and_proof() {
    let (_, _, json) = issued();
    let mut value = parsed(&json);
    let map = value.as_object_mut().unwrap();
    let id = map.remove("id").unwrap();
    map.remove("proof");
    let hash = digest::digest(&digest::SHA256, canonical_json(&value).as_bytes());
    assert_eq!(
        id,
        format!("urn:tidbit:credential:{}", &hex::encode(hash)[..32])
    );
}

#[test]
fn signature_covers_the_domain_and_the_canonical_credential_without_proof() {
    let (key, _, json) = issued();
    let mut value = parsed(&json);
    let proof = value.as_object_mut().unwrap().remove("proof").unwrap();
    let signature: [u8; 64] = hex::decode(proof["proofValue"].as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let canonical = canonical_json(&value);
    assert!(key
        .public_key()
        .verify(b"tidbit-certificate-v1\0", canonical.as_bytes(), &signature));
}

#[test]
fn same_request_and_key_give_the_same_bytes() {
    let key = SigningKey::generate().unwrap();
    let first = issue_certificate(&request(), &key).unwrap();
    let second = issue_certificate(&request(), &key).unwrap();
    assert_eq!(first, second);
}

#[test]
fn changing_any_signed_value_is_reported_as_altered() {
    let (_, trusted, json) = issued();
    let edits: [(&str, Value); 9] = [
        (
            "/credentialSubject/id",
            json!("urn:tidbit:learner:learner-0043"),
        ),
        ("/credentialSubject/result/1/value", json!("0.99")),
        (
            "/name",
            json!("Sales director — Handling customer objections"),
        ),
        ("/validFrom", json!("2025-03-14T08:30:27Z")),
        (
            "/credentialSubject/achievement/id",
            json!("urn:tidbit:achievement:customer-objections:sales-director:1.2.0"),
        ),
        (
            "/credentialSubject/achievement/name",
            json!("Sales director — Handling customer objections"),
        ),
        (
            "/credentialSubject/achievement/resultDescription/0/requiredValue",
            json!("0.50"),
        ),
        ("/issuer/name", json!("Someone else")),
        (
            "/id",
            json!("urn:tidbit:credential:00000000000000000000000000000000"),
        ),
    ];
    for (pointer, new_value) in edits {
        let mut value = parsed(&json);
        *value.pointer_mut(pointer).unwrap() = new_value;
        let err = verify_certificate(pretty(&value).as_bytes(), &trusted).unwrap_err();
        assert!(
            matches!(err, CertificateError::SignatureInvalid),
            "{pointer}: {err}"
        );
        assert!(
            err.to_string()
                .contains("the certificate was altered after it was issued"),
            "{err}"
        );
    }
}

#[test]
fn adding_a_member_is_reported_as_altered() {
    let (_, trusted, json) = issued();
    let mut value = parsed(&json);
    value["credentialSubject"]["narrative"] = json!("Also top of the class.");
    let err = verify_certificate(pretty(&value).as_bytes(), &trusted).unwrap_err();
    assert!(matches!(err, CertificateError::SignatureInvalid), "{err}");
}

#[test]
fn reformatted_whitespace_and_reordered_members_still_verify() {
    let (_, trusted, json) = issued();
    let value = parsed(&json);
    let compact = serde_json::to_string(&value).unwrap();
    let shuffled = reordered(&value);
    assert_ne!(compact, json);
    assert!(
        shuffled.starts_with("{\r\n    \"validFrom\" :\t"),
        "{shuffled}"
    );
    for text in [compact, shuffled] {
        verify_certificate(text.as_bytes(), &trusted).unwrap();
    }
}

#[test]
fn certificate_signed_by_a_key_not_trusted_is_rejected_with_its_key_id() {
    let (key, _, json) = issued();
    let other = TrustedKeys::from_keys([SigningKey::generate().unwrap().public_key()]);
    let err = verify_certificate(json.as_bytes(), &other).unwrap_err();
    assert!(
        matches!(&err, CertificateError::UntrustedIssuer { key_id } if *key_id == key.key_id()),
        "{err}"
    );
    assert!(err.to_string().contains(&key.key_id()), "{err}");
    let none = verify_certificate(json.as_bytes(), &TrustedKeys::new()).unwrap_err();
    assert!(matches!(none, CertificateError::UntrustedIssuer { .. }));
}

#[test]
fn forged_issuer_id_pointing_at_a_trusted_key_fails_the_signature() {
    let (_, _, json) = issued();
    let victim = SigningKey::generate().unwrap();
    let trusted = TrustedKeys::from_keys([victim.public_key()]);
    let mut value = parsed(&json);
    let victim_id = format!("urn:tidbit:issuer:{}", victim.key_id());
    value["issuer"]["id"] = json!(victim_id);
    value["proof"]["verificationMethod"] = json!(format!("{victim_id}#key"));
    let err = verify_certificate(pretty(&value).as_bytes(), &trusted).unwrap_err();
    assert!(matches!(err, CertificateError::SignatureInvalid), "{err}");
}

#[test]
fn malformed_json_is_not_json() {
    let (_, trusted, json) = issued();
    for text in [
        &json[..json.len() / 2],
        "",
        "{\"@context\": [",
        "certificate",
    ] {
        let err = verify_certificate(text.as_bytes(), &trusted).unwrap_err();
        assert!(matches!(err, CertificateError::NotJson { .. }), "{err}");
    }
    let err = verify_certificate(&[0xff, 0xfe, b'{'], &trusted).unwrap_err();
    assert!(matches!(err, CertificateError::NotJson { .. }), "{err}");
}

#[test]
fn member_named_twice_is_not_json() {
    let (_, trusted, json) = issued();
    let doubled = json.replacen(
        "\"name\": \"Northwind Sales Enablement\"",
        "\"name\": \"Northwind Sales Enablement\", \"name\": \"Contoso\"",
        1,
    );
    assert_ne!(doubled, json);
    let err = verify_certificate(doubled.as_bytes(), &trusted).unwrap_err();
    assert!(matches!(err, CertificateError::NotJson { .. }), "{err}");
    assert!(err.to_string().contains("'name' appears twice"), "{err}");
}

#[test]
fn missing_proof_is_not_a_credential() {
    let (_, trusted, json) = issued();
    let mut value = parsed(&json);
    value.as_object_mut().unwrap().remove("proof");
    let err = verify_certificate(pretty(&value).as_bytes(), &trusted).unwrap_err();
    assert!(
        matches!(&err, CertificateError::NotACredential { member, .. } if member == "proof"),
        "{err}"
    );
    assert!(err.to_string().contains("not signed"), "{err}");
}

#[test]
fn json_that_is_not_a_credential_names_the_member_at_fault() {
    let (_, trusted, json) = issued();
    let cases: [(&str, Value, &str); 4] = [
        ("", json!([1, 2]), "(document)"),
        ("/@context", json!(["https://example.org"]), "@context"),
        ("/type", json!(["VerifiableCredential"]), "type"),
        ("/proof/proofValue", json!("abcd"), "proof.proofValue"),
    ];
    for (pointer, new_value, expected) in cases {
        let mut value = parsed(&json);
        *value.pointer_mut(pointer).unwrap() = new_value;
        let err = verify_certificate(pretty(&value).as_bytes(), &trusted).unwrap_err();
        assert!(
            matches!(&err, CertificateError::NotACredential { member, .. } if member == expected),
            "{pointer}: {err}"
        );
    }
}

#[test]
fn other_proof_suites_are_named_as_unknown() {
    let (_, trusted, json) = issued();
    let mut value = parsed(&json);
    value["proof"]["cryptosuite"] = json!("eddsa-rdfc-2022");
    let err = verify_certificate(pretty(&value).as_bytes(), &trusted).unwrap_err();
    assert!(
        matches!(&err, CertificateError::UnknownProofSuite { found } if found.contains("eddsa-rdfc-2022")),
        "{err}"
    );
}

#[test]
fn unsigned_proof_members_cannot_say_something_else() {
    let (_, trusted, json) = issued();
    let cases: [(&str, Value); 3] = [
        ("created", json!("2020-01-01T00:00:00Z")),
        (
            "verificationMethod",
            json!("urn:tidbit:issuer:0000000000000000#key"),
        ),
        ("note", json!("valid forever")),
    ];
    for (name, new_value) in cases {
        let mut value = parsed(&json);
        value["proof"][name] = new_value;
        let err = verify_certificate(pretty(&value).as_bytes(), &trusted).unwrap_err();
        assert!(
            matches!(&err, CertificateError::NotACredential { member, .. }
                if *member == format!("proof.{name}")),
            "{name}: {err}"
        );
    }
}

#[test]
fn id_not_derived_from_the_content_is_rejected_even_when_signed() {
    let (key, trusted, json) = issued();
    let mut value = parsed(&json);
    value["id"] = json!("urn:tidbit:credential:00000000000000000000000000000000");
    let err = verify_certificate(resign(value, &key).as_bytes(), &trusted).unwrap_err();
    assert!(
        matches!(&err, CertificateError::IdMismatch { found, expected }
            if found.ends_with("0000") && *expected == parsed(&json)["id"]),
        "{err}"
    );
}

#[test]
fn signed_credential_with_a_malformed_learner_is_not_a_credential() {
    let (key, trusted, json) = issued();
    let mut value = parsed(&json);
    value["credentialSubject"]["id"] = json!("mailto:someone@example.org");
    value.as_object_mut().unwrap().remove("id");
    let mut content = value.as_object().unwrap().clone();
    content.remove("proof");
    value["id"] = json!(credential_id(&content));
    let err = verify_certificate(resign(value, &key).as_bytes(), &trusted).unwrap_err();
    assert!(
        matches!(&err, CertificateError::NotACredential { member, .. } if member == "credentialSubject.id"),
        "{err}"
    );
}

#[test]
fn oversized_input_is_refused_before_parsing() {
    let big = vec![b' '; MAX_CERTIFICATE_BYTES + 1];
    let err = verify_certificate(&big, &TrustedKeys::new()).unwrap_err();
    assert!(matches!(err, CertificateError::TooLarge { .. }), "{err}");
}

#[test]
fn certificate_is_not_issued_for_an_unfinished_path() {
    let key = SigningKey::generate().unwrap();
    let mut below = request();
    below.skills[2].1 = 0.79;
    let err = issue_certificate(&below, &key).unwrap_err();
    assert!(
        err.to_string()
            .contains("skill 'Agree next steps' has mastery 0.79, below the threshold 0.80"),
        "{err}"
    );
    let mut none = request();
    none.skills.clear();
    assert!(matches!(
        issue_certificate(&none, &key),
        Err(CertificateError::InvalidRequest { .. })
    ));
}

#[test]
fn request_with_ids_that_cannot_form_urns_is_refused() {
    let key = SigningKey::generate().unwrap();
    let mut spaced = request();
    spaced.learner_id = "Ada Lovelace";
    let mut colon = request();
    colon.path_id = "sales:director";
    let mut version = request();
    version.course_version = "v1";
    let mut name = request();
    name.issuer_name = "Northwind\nFake line";
    for bad in [spaced, colon, version, name] {
        let err = issue_certificate(&bad, &key).unwrap_err();
        assert!(
            matches!(err, CertificateError::InvalidRequest { .. }),
            "{err}"
        );
    }
}

#[test]
fn canonical_json_sorts_members_recursively_by_utf16_without_whitespace() {
    // U+E000 sorts after U+10000 in UTF-16 (0xE000 > 0xD800), before it in UTF-8.
    let value = parsed(
        r#"{ "b": [ {"z": 1, "a": "x\u001fy\n"} ], "a": {"d": null, "c": true},
             "\ue000": "bmp", "\ud800\udc00": "astral", "é": "/" }"#,
    );
    assert_eq!(
        canonical_json(&value),
        "{\"a\":{\"c\":true,\"d\":null},\"b\":[{\"a\":\"x\\u001fy\\n\",\"z\":1}],\
         \"é\":\"/\",\"\u{10000}\":\"astral\",\"\u{e000}\":\"bmp\"}"
    );
}

#[test]
fn canonical_json_ignores_the_order_members_were_written_in() {
    let value = parsed(r#"{"b": {"y": 2, "x": 1}, "a": 0}"#);
    let same = parsed(&reordered(&value));
    assert_eq!(canonical_json(&value), canonical_json(&same));
    assert_eq!(canonical_json(&value), r#"{"a":0,"b":{"x":1,"y":2}}"#);
}

#[test]
fn certificate_signature_is_bound_to_its_domain() {
    let (key, trusted, json) = issued();
    let mut value = parsed(&json);
    let map = value.as_object_mut().unwrap();
    map.remove("proof");
    let pack_signature = key.sign(
        b"tidbit-pack-manifest-v1\0",
        canonical_json(&Value::Object(map.clone())).as_bytes(),
    );
    let mut forged = parsed(&json);
    forged["proof"]["proofValue"] = json!(hex::encode(pack_signature));
    let err = verify_certificate(pretty(&forged).as_bytes(), &trusted).unwrap_err();
    assert!(matches!(err, CertificateError::SignatureInvalid), "{err}");
}
