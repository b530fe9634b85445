//! The server's packs read for analytics: each pack in `packs/`, verified against the keys the
//! server trusts (`tidbit serve --trust`), installed into a core store under
//! `content-index/`, so learning records and metrics name items, modules, stages and skills
//! exactly as a device does. Each pack file is read once per version of the file; a pack that
//! cannot be verified is reported, never used.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::SystemTime;

use tidbit_core::keys::TrustedKeys;
use tidbit_core::store::Store;

pub struct ContentIndex {
    inner: Mutex<Inner>,
}

struct Inner {
    store: Option<Store>,
    dir: PathBuf,
    packs_dir: PathBuf,
    trusted: TrustedKeys,
    seen: HashMap<PathBuf, (u64, Option<SystemTime>)>,
    unreadable: Vec<String>,
}

impl ContentIndex {
    pub fn new(dir: PathBuf, packs_dir: PathBuf) -> ContentIndex {
        ContentIndex {
            inner: Mutex::new(Inner {
                store: None,
                dir,
                packs_dir,
                trusted: TrustedKeys::new(),
                seen: HashMap::new(),
                unreadable: Vec::new(),
            }),
        }
    }

    /// Trusts `keys` for the packs read from now on.
    pub fn trust(&self, keys: TrustedKeys) {
        if let Ok(mut inner) = self.inner.lock() {
            inner.trusted = keys;
            inner.seen.clear();
        }
    }

    /// Packs that could not be read, with why.
    pub fn unreadable(&self) -> Vec<String> {
        self.inner
            .lock()
            .map(|i| i.unreadable.clone())
            .unwrap_or_default()
    }

    /// Runs `work` on the index, after reading the packs that are new or changed.
    pub fn with_store<T>(&self, work: impl FnOnce(&Store) -> T) -> Result<T, String> {
        let mut inner = self
            .inner
            .lock()
            .map_err(|_| "the content index is unusable; restart the server".to_string())?;
        if inner.store.is_none() {
            let store = Store::open(&inner.dir).map_err(|e| format!("the content index: {e}"))?;
            inner.store = Some(store);
        }
        inner.refresh();
        let store = inner.store.as_ref().ok_or("the content index is closed")?;
        Ok(work(store))
    }
}

impl Inner {
    fn refresh(&mut self) {
        let Ok(entries) = std::fs::read_dir(&self.packs_dir) else {
            return;
        };
        let mut packs: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "tidbit"))
            .collect();
        packs.sort();
        for pack in packs {
            let Ok(metadata) = std::fs::metadata(&pack) else {
                continue;
            };
            let stamp = (metadata.len(), metadata.modified().ok());
            if self.seen.get(&pack) == Some(&stamp) {
                continue;
            }
            let name = pack
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            self.unreadable
                .retain(|u| !u.starts_with(&format!("{name}:")));
            let Some(store) = self.store.as_mut() else {
                return;
            };
            match store.install_pack(&pack, &self.trusted, &mut |_, _| {}) {
                Ok(_) => {}
                Err(error) => self.unreadable.push(format!("{name}: {error}")),
            }
            // Remembered either way: a pack is read again only when its file changes.
            self.seen.insert(pack, stamp);
        }
    }
}
