//! Course versions for the delivery tests: the sample course compiled under another version
//! (or course id, or description), signed by a key the test holds.

use std::path::{Path, PathBuf};

use tidbit_core::content::{compile_course, write_course_pack};
use tidbit_core::keys::SigningKey;

use super::{start, COURSE};

/// Copies `from` into `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The sample course as `course` `version`, its description ending in `note` (another note:
/// another pack under the same version), signed by `key`, written into `dir`.
pub fn course_pack(
    dir: &Path,
    key: &SigningKey,
    course: &str,
    version: &str,
    note: &str,
) -> PathBuf {
    course_pack_with(dir, key, course, version, note, false)
}

/// [`course_pack`], with its media fetched on demand when `on_demand`.
pub fn course_pack_with(
    dir: &Path,
    key: &SigningKey,
    course: &str,
    version: &str,
    note: &str,
    on_demand: bool,
) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../content")
        .join(COURSE);
    let work = dir.join(format!(
        "source-{course}-{version}-{}-{on_demand}",
        note.len()
    ));
    copy_tree(&source, &work);
    let toml_path = work.join("course.toml");
    let text = std::fs::read_to_string(&toml_path).unwrap();
    let text = text
        .replacen(
            &format!("id = \"{COURSE}\""),
            &format!("id = \"{course}\""),
            1,
        )
        .replacen(
            "version = \"1.0.0\"",
            &format!("version = \"{version}\""),
            1,
        )
        .replacen(
            "description = \"Stay safe,",
            &format!("description = \"{note}Stay safe,"),
            1,
        )
        .replacen(
            "[course]\n",
            if on_demand {
                "[course]\nmedia_on_demand = true\n"
            } else {
                "[course]\n"
            },
            1,
        );
    std::fs::write(&toml_path, text).unwrap();
    let compiled = compile_course(&work).unwrap();
    assert_eq!(compiled.course.version.to_string(), version);
    let path = dir.join(format!(
        "{course}-{version}-{}-{on_demand}.tidbit",
        note.len()
    ));
    let mut out = std::fs::File::create(&path).unwrap();
    write_course_pack(&compiled, key, start(), &mut out, &mut |_, _| {}).unwrap();
    std::fs::remove_dir_all(&work).unwrap();
    path
}
