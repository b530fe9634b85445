//! Author commands: `keygen`, `pack build`, `pack verify`, `pack inspect`.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde_json::json;
use tidbit_core::content::{compile_course, write_course_pack, Course, StepBody};
use tidbit_core::keys::{write_key_pair, PublicKey, SigningKey, TrustedKeys};
use tidbit_core::pack::{
    read_manifest_unverified, verify_pack_file, DiscardSink, MemorySink, PackLimits, PackManifest,
    COURSE_PATH,
};

use crate::progress::BytesBar;

pub fn keygen(name: &Path) -> Result<(), String> {
    let (private, public) = write_key_pair(name).map_err(|e| e.to_string())?;
    let key = read_public_key(&public)?;
    println!(
        "wrote {} (private: keep it secret) and {} (share it with devices that install your packs)",
        private.display(),
        public.display()
    );
    println!("key id: {}", key.key_id());
    Ok(())
}

fn read_text(path: &Path, what: &str) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

fn read_public_key(path: &Path) -> Result<PublicKey, String> {
    PublicKey::from_file_text(&read_text(path, "public key")?)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// The trusted keys named on the command line.
pub fn trusted_keys(paths: &[PathBuf]) -> Result<TrustedKeys, String> {
    let keys = paths
        .iter()
        .map(|p| read_public_key(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TrustedKeys::from_keys(keys))
}

/// `SOURCE_DATE_EPOCH` (seconds) makes builds reproducible; otherwise the current time.
fn build_time() -> Result<chrono::DateTime<chrono::Utc>, String> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0))
            .ok_or_else(|| format!("SOURCE_DATE_EPOCH='{text}' is not a Unix time in seconds")),
        Err(_) => Ok(chrono::Utc::now()),
    }
}

pub fn build(source: &Path, key: &Path, out: &Path, deny_warnings: bool) -> Result<(), String> {
    let key = SigningKey::from_file_text(&read_text(key, "signing key")?)
        .map_err(|e| format!("{}: {e}", key.display()))?;
    let compiled = match compile_course(source) {
        Ok(compiled) => compiled,
        Err(errors) => {
            for warning in &errors.warnings {
                eprintln!("warning: {warning}");
            }
            for error in &errors.errors {
                eprintln!("error: {error}");
            }
            return Err(format!(
                "{} error(s) in {}: nothing was written",
                errors.errors.len(),
                source.display()
            ));
        }
    };
    for warning in &compiled.warnings {
        eprintln!("warning: {warning}");
    }
    if deny_warnings && !compiled.warnings.is_empty() {
        return Err(format!(
            "{} warning(s) and --deny-warnings: nothing was written",
            compiled.warnings.len()
        ));
    }
    // Write beside the target and rename, so a failed build never leaves a half pack.
    let partial = out.with_extension("tidbit.partial");
    let file =
        File::create(&partial).map_err(|e| format!("cannot create {}: {e}", partial.display()))?;
    let mut writer = BufWriter::new(file);
    let bar = BytesBar::new("packing");
    let written = write_course_pack(&compiled, &key, build_time()?, &mut writer, &mut |d, t| {
        bar.update(d, t)
    })
    .map_err(|e| e.to_string())
    .and_then(|manifest| {
        writer
            .flush()
            .and_then(|_| writer.get_ref().sync_all())
            .map_err(|e| format!("cannot write {}: {e}", partial.display()))?;
        Ok(manifest)
    });
    bar.finish();
    let manifest = match written {
        Ok(manifest) => manifest,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, out)
        .map_err(|e| format!("cannot move the pack to {}: {e}", out.display()))?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    let course = &compiled.course;
    let items: usize = course.modules.iter().map(|m| m.items().count()).sum();
    println!(
        "built {} {} {}: {} modules, {} items, {} assets, {} bytes, signed by {}",
        out.display(),
        course.id,
        course.version,
        course.modules.len(),
        items,
        manifest.assets.len() - 1,
        size,
        manifest.signer_key_id
    );
    Ok(())
}

pub fn verify(pack: &Path, trust: &[PathBuf]) -> Result<(), String> {
    let trusted = trusted_keys(trust)?;
    let bar = BytesBar::new("verifying");
    let result = verify_pack_file(
        pack,
        &trusted,
        &PackLimits::default(),
        &mut DiscardSink,
        &mut |d, t| bar.update(d, t),
    );
    bar.finish();
    let manifest = result.map_err(|e| format!("{}: {e}", pack.display()))?;
    println!(
        "ok: {} {} {} — signature by {} valid, {} assets match their hashes",
        pack.display(),
        manifest.course_id,
        manifest.version,
        manifest.signer_key_id,
        manifest.assets.len()
    );
    Ok(())
}

fn outline(course: &Course) -> serde_json::Value {
    let modules: Vec<_> = course
        .modules
        .iter()
        .map(|m| {
            let kinds: Vec<&str> = m
                .steps
                .iter()
                .map(|s| match &s.body {
                    StepBody::Lesson(_) => "lesson",
                    StepBody::Item(item) => item.interaction().kind().name(),
                })
                .collect();
            json!({
                "id": m.id,
                "title": m.title,
                "estimated_minutes": (m.estimated_minutes() * 10.0).round() / 10.0,
                "skills": m.skills,
                "steps": kinds,
            })
        })
        .collect();
    let paths: Vec<_> = course
        .paths
        .iter()
        .map(|p| {
            let stages: Vec<_> = p
                .stages
                .iter()
                .map(|s| json!({"kind": s.kind, "title": s.title, "modules": s.modules, "check": s.check}))
                .collect();
            json!({"id": p.id, "title": p.title, "stages": stages})
        })
        .collect();
    json!({
        "skills": course.skills.iter().map(|s| &s.id).collect::<Vec<_>>(),
        "paths": paths,
        "modules": modules,
    })
}

pub fn inspect(pack: &Path, trust: &[PathBuf], as_json: bool) -> Result<(), String> {
    let fail = |e: tidbit_core::pack::PackError| format!("{}: {e}", pack.display());
    let (manifest, course): (PackManifest, Option<Course>) = if trust.is_empty() {
        (read_manifest_unverified(pack).map_err(fail)?.0, None)
    } else {
        let mut sink = MemorySink::only([COURSE_PATH]);
        let manifest = verify_pack_file(
            pack,
            &trusted_keys(trust)?,
            &PackLimits::default(),
            &mut sink,
            &mut |_, _| {},
        )
        .map_err(fail)?;
        let course = sink
            .files
            .get(COURSE_PATH)
            .map(|bytes| serde_json::from_slice::<Course>(bytes))
            .transpose()
            .map_err(|e| format!("{}: course.json is not a valid course: {e}", pack.display()))?;
        (manifest, course)
    };
    if as_json {
        let value = json!({
            "manifest": manifest,
            "verified": course.is_some(),
            "course": course.as_ref().map(outline),
        });
        println!(
            "{}",
            serde_json::to_string_pretty(&value).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    println!("course    {} {}", manifest.course_id, manifest.version);
    println!("title     {}", manifest.title);
    println!("locale    {}", manifest.locale);
    println!("created   {}", manifest.created_at);
    println!("signer    {}", manifest.signer_key_id);
    println!("schema    {}", manifest.schema_version);
    println!(
        "verified  {}",
        if course.is_some() {
            "yes: signature and every hash checked"
        } else {
            "no: pass --trust AUTHOR.pub to check signature and hashes"
        }
    );
    println!("assets");
    for asset in &manifest.assets {
        println!(
            "  {:<44} {:>9} bytes  {:>9} packed ({:?})  {}",
            asset.path,
            asset.size,
            asset.packed_size,
            asset.encoding,
            &asset.sha256[..16.min(asset.sha256.len())]
        );
    }
    if let Some(course) = &course {
        for path in &course.paths {
            println!("path {} ({})", path.title, path.id);
            for stage in &path.stages {
                println!("  {} — {}", stage.kind.as_str(), stage.title);
                for id in stage.module_ids() {
                    if let Some(module) = course.module(id) {
                        println!(
                            "    {:<36} {:>4.1} min  {} steps, {} items{}",
                            module.id,
                            module.estimated_minutes(),
                            module.steps.len(),
                            module.items().count(),
                            if stage.check.as_deref() == Some(id) {
                                "  (stage check)"
                            } else {
                                ""
                            }
                        );
                    }
                }
            }
        }
    }
    Ok(())
}
