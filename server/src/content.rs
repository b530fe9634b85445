//! The course catalog and pack downloads.
//!
//! Packs are the signed `.tidbit` files in the server's `packs/` folder; the server never
//! unpacks or re-signs them (devices verify signatures themselves). Downloads honour HTTP
//! `Range` (one range, so a download cut off on a bad link resumes where it stopped) and a
//! strong `ETag`: the SHA-256 of the file, so a device can tell a resumed download still
//! belongs to the same pack (`If-Range`) or skip one it already has (`If-None-Match`).

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde::Serialize;
use tidbit_core::pack::read_manifest_unverified;

/// One pack the server offers.
#[derive(Debug, Clone, Serialize)]
pub struct CatalogEntry {
    pub file: String,
    pub course_id: String,
    pub version: String,
    pub title: String,
    pub bytes: u64,
    pub etag: String,
}

/// The packs in `dir`, by file name. Files that are not readable packs are skipped.
pub fn catalog(dir: &Path) -> std::io::Result<Vec<CatalogEntry>> {
    let mut entries = Vec::new();
    let listing = match std::fs::read_dir(dir) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => return Err(e),
    };
    for item in listing {
        let path = item?.path();
        let Some(file) = pack_file_name(&path) else {
            continue;
        };
        let Ok((manifest, _)) = read_manifest_unverified(&path) else {
            continue;
        };
        entries.push(CatalogEntry {
            file,
            course_id: manifest.course_id,
            version: manifest.version.to_string(),
            title: manifest.title,
            bytes: std::fs::metadata(&path)?.len(),
            etag: etag(&path)?,
        });
    }
    entries.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(entries)
}

fn pack_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    (name.ends_with(".tidbit") && safe_file_name(name)).then(|| name.to_string())
}

/// A file name a client may ask for: no separators, no leading dot.
pub fn safe_file_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// The strong validator of a pack file: its SHA-256, quoted.
pub fn etag(path: &Path) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    let mut buffer = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        context.update(&buffer[..n]);
    }
    Ok(format!("\"{}\"", hex::encode(context.finish().as_ref())))
}

/// The part of a file a `Range` header asks for.
#[derive(Debug, PartialEq, Eq)]
pub enum RangeRequest {
    Whole,
    /// Inclusive byte positions.
    Part {
        start: u64,
        end: u64,
    },
    Unsatisfiable,
}

/// Reads a `Range: bytes=...` header against a file of `len` bytes. Only single ranges are
/// served; anything else gets the whole file, as HTTP allows.
pub fn parse_range(header: Option<&str>, len: u64) -> RangeRequest {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return RangeRequest::Whole;
    };
    if spec.contains(',') {
        return RangeRequest::Whole;
    }
    let Some((start, end)) = spec.split_once('-') else {
        return RangeRequest::Whole;
    };
    let (start, end) = (start.trim(), end.trim());
    let parsed = match (start.is_empty(), end.is_empty()) {
        // bytes=-N: the last N bytes.
        (true, false) => end
            .parse::<u64>()
            .ok()
            .filter(|&n| n > 0)
            .map(|n| (len.saturating_sub(n), len.saturating_sub(1))),
        (false, true) => start
            .parse::<u64>()
            .ok()
            .map(|s| (s, len.saturating_sub(1))),
        (false, false) => match (start.parse::<u64>(), end.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.min(len.saturating_sub(1)))),
            _ => return RangeRequest::Whole,
        },
        (true, true) => return RangeRequest::Whole,
    };
    match parsed {
        Some((start, end)) if start < len && start <= end => RangeRequest::Part { start, end },
        Some(_) => RangeRequest::Unsatisfiable,
        None => RangeRequest::Whole,
    }
}

/// Reads bytes `start..=end` of `path`.
pub fn read_part(path: &PathBuf, start: u64, end: u64) -> std::io::Result<Vec<u8>> {
    let mut file = std::fs::File::open(path)?;
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = vec![0u8; (end - start + 1) as usize];
    file.read_exact(&mut bytes)?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_resume_downloads_and_refuse_what_cannot_be_served() {
        assert_eq!(parse_range(None, 100), RangeRequest::Whole);
        assert_eq!(
            parse_range(Some("bytes=40-"), 100),
            RangeRequest::Part { start: 40, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=0-9"), 100),
            RangeRequest::Part { start: 0, end: 9 }
        );
        assert_eq!(
            parse_range(Some("bytes=-10"), 100),
            RangeRequest::Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=90-500"), 100),
            RangeRequest::Part { start: 90, end: 99 }
        );
        assert_eq!(
            parse_range(Some("bytes=100-"), 100),
            RangeRequest::Unsatisfiable
        );
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), RangeRequest::Whole);
        assert_eq!(parse_range(Some("items=0-1"), 100), RangeRequest::Whole);
    }

    #[test]
    fn only_plain_file_names_are_served() {
        assert!(safe_file_name("customer-objections-1.0.0.tidbit"));
        for bad in ["../x.tidbit", ".hidden", "a/b", "a\\b", ""] {
            assert!(!safe_file_name(bad), "{bad}");
        }
    }
}
