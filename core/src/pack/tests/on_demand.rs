//! On-demand assets: they come last, a pack may end before them (a device's download) or hold
//! them all (the published file), and each verifies alone against the signed manifest.

use super::*;

fn on_demand_pack(key: &SigningKey) -> (Vec<u8>, PackManifest) {
    let mut out = Vec::new();
    let mut meta = meta();
    meta.media_on_demand = true;
    let manifest = build_pack(&mut out, meta, files(5_000, 4_000), key, &mut |_, _| {}).unwrap();
    (out, manifest)
}

#[test]
fn a_pack_verifies_with_or_without_its_on_demand_assets_and_never_cut_between() {
    let key = SigningKey::generate().unwrap();
    let (whole, manifest) = on_demand_pack(&key);
    assert_eq!(manifest.assets[0].path, "course.json");
    assert!(!manifest.assets[0].on_demand);
    assert!(manifest.assets[1..].iter().all(|a| a.on_demand));

    let sink = verify(&whole, &key).unwrap();
    assert_eq!(sink.files.len(), 3, "the whole file gives every asset");

    let eager = manifest.eager_len().unwrap() as usize;
    let prefix = verify(&whole[..eager], &key).unwrap();
    assert_eq!(
        prefix.files.keys().collect::<Vec<_>>(),
        ["course.json"],
        "the prefix gives the course alone"
    );

    // Cut inside the on-demand assets, or inside the eager ones: truncated either way.
    for cut in [eager + 1, whole.len() - 1, eager - 1] {
        assert!(
            matches!(
                verify(&whole[..cut], &key),
                Err(PackError::Truncated { .. })
            ),
            "cut at {cut}"
        );
    }
}

#[test]
fn each_on_demand_asset_verifies_alone_by_its_range_and_wrong_bytes_do_not() {
    let key = SigningKey::generate().unwrap();
    let (whole, manifest) = on_demand_pack(&key);
    for asset in manifest.assets.iter().filter(|a| a.on_demand) {
        let (offset, len) = manifest.on_demand_range(&asset.path).unwrap().unwrap();
        let bytes = &whole[offset as usize..(offset + len) as usize];
        let mut sink = MemorySink::new();
        verify_asset(asset, bytes, &mut sink).unwrap();
        assert_eq!(sink.files[&asset.path].len() as u64, asset.size);

        let mut wrong = bytes.to_vec();
        wrong[0] ^= 1;
        assert!(verify_asset(asset, wrong.as_slice(), &mut MemorySink::new()).is_err());
        assert!(verify_asset(asset, &bytes[..bytes.len() - 1], &mut MemorySink::new()).is_err());
    }
    assert_eq!(manifest.on_demand_range("course.json").unwrap(), None);
}

#[test]
fn on_demand_assets_before_others_or_an_on_demand_course_are_refused() {
    let key = SigningKey::generate().unwrap();
    let (mut media, media_bytes) = entry("assets/a.txt", b"media", Encoding::Stored);
    media.on_demand = true;
    let (course, course_bytes) = course_entry();
    let misordered = craft(
        &key,
        vec![(media.clone(), media_bytes.clone()), (course, course_bytes)],
    );
    assert!(matches!(
        verify(&misordered, &key),
        Err(PackError::ManifestMalformed(m)) if m.contains("on-demand assets come last")
    ));
    let (mut course, course_bytes) = course_entry();
    course.on_demand = true;
    let lazy_course = craft(&key, vec![(course, course_bytes)]);
    assert!(matches!(
        verify(&lazy_course, &key),
        Err(PackError::ManifestMalformed(m)) if m.contains("course.json")
    ));
}

#[test]
fn a_pack_without_on_demand_assets_keeps_its_manifest_form() {
    let key = SigningKey::generate().unwrap();
    let manifest = verify_with(
        &small_pack(&key),
        &trust(&key),
        &PackLimits::default(),
        &mut MemorySink::new(),
    )
    .unwrap();
    let json = String::from_utf8(manifest.to_canonical_json().unwrap()).unwrap();
    assert!(!json.contains("on_demand"), "{json}");
}
