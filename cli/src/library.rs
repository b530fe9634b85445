//! Learner-device commands: `install` and `catalog`.

use std::path::{Path, PathBuf};

use tidbit_core::store::{InstallOutcome, Store};

use crate::authoring::trusted_keys;
use crate::progress::BytesBar;

fn open(data: &Path) -> Result<Store, String> {
    Store::open(data).map_err(|e| e.to_string())
}

pub fn install(pack: &Path, data: &Path, trust: &[PathBuf], as_json: bool) -> Result<(), String> {
    let trusted = trusted_keys(trust)?;
    let mut store = open(data)?;
    let bar = BytesBar::new("installing");
    let result = store.install_pack(pack, &trusted, &mut |d, t| bar.update(d, t));
    bar.finish();
    let report = result.map_err(|e| format!("{}: {e}; nothing was installed", pack.display()))?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    let what = match &report.outcome {
        InstallOutcome::Installed => "installed".to_string(),
        InstallOutcome::Upgraded { from } => format!("upgraded from {from} to"),
        InstallOutcome::AlreadyInstalled => "already installed:".to_string(),
    };
    println!(
        "{what} {} {} ({}): {} steps kept, {} added, {} retired; {} assets, {} bytes",
        report.course_id,
        report.version,
        report.title,
        report.steps_kept,
        report.steps_added,
        report.steps_retired.len(),
        report.assets,
        report.asset_bytes
    );
    Ok(())
}

pub fn catalog(data: &Path, as_json: bool) -> Result<(), String> {
    let store = open(data)?;
    let courses = store.catalog().map_err(|e| e.to_string())?;
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&courses).map_err(|e| e.to_string())?
        );
        return Ok(());
    }
    if courses.is_empty() {
        println!("no courses installed in {}", data.display());
    }
    for course in &courses {
        println!(
            "{} {} — {} [{}]",
            course.id, course.version, course.title, course.locale
        );
        for path in &course.paths {
            println!(
                "  path {} ({}), about {:.0} min",
                path.title, path.id, path.estimated_minutes
            );
            for stage in &path.stages {
                println!("    {:<13} {}", stage.kind.as_str(), stage.title);
                for module in stage.modules.iter().chain(stage.check.iter()) {
                    let check = if stage.check.as_ref() == Some(module) {
                        " (check)"
                    } else {
                        ""
                    };
                    println!(
                        "      {:<34} {:>4.1} min  {:>2} items  {}{}",
                        module.id,
                        module.estimated_minutes,
                        module.items,
                        module.skills.join(", "),
                        check
                    );
                }
            }
        }
    }
    Ok(())
}
