//! The store's SQLite VFS: SQLite's own, except that each write-ahead-log frame reaches the file
//! in one write, and a growing log is extended a megabyte of zeros at a time.
//!
//! SQLite writes a WAL frame as two writes: its 24-byte header, then the page. An answer commits
//! about twenty frames, so about forty writes, and the header's small unaligned write costs the
//! kernel more than the page's (2.8 µs of the 4.7 µs a frame takes on the benchmark machine).
//! This VFS holds a 24-byte write to a WAL file until the next call on that file: when it is the
//! write that continues it, both go out as one; anything else (a read, a sync, a size, a
//! truncate, a write elsewhere, the close) writes the held bytes first, so the file holds exactly
//! what SQLite wrote, in its order, before anything can observe it. A process killed between the
//! two calls leaves neither half of the frame, where SQLite's own order could leave the header
//! alone: either way the frame is incomplete, its checksum fails and recovery stops before it.
//!
//! Frames are appended, and a write past a file's end costs the kernel new blocks and page cache
//! page by page; a write within the file does not. When the writer runs ahead of the checkpoints
//! (answers without a pause), every frame is such an append. So a write that would lengthen the
//! log first extends it with zeros to the next megabyte boundary ([`WalFile::write_growing`]).
//!
//! Every other file (the database, its shared-memory index, journals) is SQLite's own file
//! object with SQLite's own methods: this VFS only chooses them in `xOpen`.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name connections open the store with.
pub(crate) const VFS_NAME: &CStr = c"tidbit-frames";

/// A WAL frame's header: page number, commit size, two salts, two checksums.
const FRAME_HEADER: usize = 24;

/// How far a growing WAL file is extended with zeros at a time, ahead of the frames to come.
const GROW_BY: i64 = 1 << 20;

/// The zeros handed to one write of SQLite's own while extending.
const ZEROS_AT_ONCE: i64 = 64 << 10;

/// A WAL file as this VFS sees it; SQLite allocates `szOsFile` bytes for it, and SQLite's own
/// file object lives in the same allocation right after it.
#[repr(C)]
struct WalFile {
    /// What SQLite reads: the methods below.
    base: ffi::sqlite3_file,
    /// SQLite's own file object for the same file.
    inner: *mut ffi::sqlite3_file,
    /// A frame header waiting for its page: its bytes and where they go.
    held: Option<([u8; FRAME_HEADER], i64)>,
    /// The header and page joined for one write (kept between frames to reuse its capacity).
    joined: Vec<u8>,
    /// The file's length as far as writes through here know it (SQLite's frames, and zeros
    /// past them); `None` until read from the file, and again after a truncate or a failure.
    len: Option<i64>,
}

/// Where SQLite's own file object starts in the allocation (8-byte aligned).
const INNER_OFFSET: usize = std::mem::size_of::<WalFile>().next_multiple_of(8);

/// The default VFS this one passes through to, found when the VFS is registered.
struct Root(*mut ffi::sqlite3_vfs);
// SAFETY: a registered VFS is immutable and lives for the process; SQLite calls it from any
// thread.
unsafe impl Send for Root {}
unsafe impl Sync for Root {}

static ROOT: OnceLock<Result<Root, c_int>> = OnceLock::new();

/// Registers the VFS (once per process) and returns its name, or SQLite's code when there is
/// no default VFS to build it on.
pub(crate) fn vfs_name() -> Result<&'static CStr, rusqlite::Error> {
    let registered = ROOT.get_or_init(|| {
        // SAFETY: sqlite3_vfs_find and sqlite3_vfs_register are thread-safe; the VFS struct is
        // leaked so it outlives every connection, as SQLite requires.
        unsafe {
            let root = ffi::sqlite3_vfs_find(std::ptr::null());
            if root.is_null() {
                return Err(ffi::SQLITE_ERROR);
            }
            let mut vfs = *root;
            vfs.pNext = std::ptr::null_mut();
            vfs.zName = VFS_NAME.as_ptr();
            vfs.szOsFile =
                c_int::try_from(INNER_OFFSET).map_err(|_| ffi::SQLITE_ERROR)? + (*root).szOsFile;
            vfs.xOpen = Some(open);
            let vfs = Box::into_raw(Box::new(vfs));
            let rc = ffi::sqlite3_vfs_register(vfs, 0);
            if rc != ffi::SQLITE_OK {
                drop(Box::from_raw(vfs));
                return Err(rc);
            }
            Ok(Root(root))
        }
    });
    match registered {
        Ok(_) => Ok(VFS_NAME),
        Err(code) => Err(rusqlite::Error::SqliteFailure(
            ffi::Error::new(*code),
            Some("no default SQLite VFS to build the store's on".into()),
        )),
    }
}

fn root() -> *mut ffi::sqlite3_vfs {
    match ROOT.get() {
        Some(Ok(root)) => root.0,
        // `open` is only reachable through the registered VFS, so ROOT is set by then.
        _ => std::ptr::null_mut(),
    }
}

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let root = root();
    if root.is_null() {
        return ffi::SQLITE_ERROR;
    }
    // SAFETY: SQLite passes `szOsFile` bytes at `file`, enough for SQLite's own file object at
    // the start (non-WAL files) or after the WalFile (WAL files); `root` is the live default VFS.
    unsafe {
        let Some(root_open) = (*root).xOpen else {
            return ffi::SQLITE_ERROR;
        };
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            return root_open(root, name, file, flags, out_flags);
        }
        let inner = file
            .cast::<u8>()
            .add(INNER_OFFSET)
            .cast::<ffi::sqlite3_file>();
        let rc = root_open(root, name, inner, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            (*file).pMethods = std::ptr::null();
            return rc;
        }
        file.cast::<WalFile>().write(WalFile {
            base: ffi::sqlite3_file {
                pMethods: &WAL_METHODS,
            },
            inner,
            held: None,
            joined: Vec::new(),
            len: None,
        });
        ffi::SQLITE_OK
    }
}

/// The WAL file behind SQLite's pointer.
///
/// # Safety
/// `file` was opened by [`open`] as a WAL file and not yet closed.
unsafe fn wal<'a>(file: *mut ffi::sqlite3_file) -> &'a mut WalFile {
    unsafe { &mut *file.cast::<WalFile>() }
}

/// SQLite's own methods for the file.
///
/// # Safety
/// `inner` is an open SQLite file object.
unsafe fn methods<'a>(inner: *mut ffi::sqlite3_file) -> &'a ffi::sqlite3_io_methods {
    unsafe { &*(*inner).pMethods }
}

impl WalFile {
    /// Writes `bytes` at `offset` with SQLite's own method, first extending the file with zeros
    /// to the next [`GROW_BY`] boundary when the write would make it longer.
    ///
    /// Frames are appended one after the other, and a write past the end of a file costs the
    /// kernel its allocation of new blocks and page cache, page by page, where a write over
    /// bytes the file already holds does not (3.5 µs a frame against 1.2 µs with `pwrite` on
    /// ext4). A megabyte of zeros at a time moves that allocation into one large write. SQLite
    /// ignores what lies past its last valid frame (a zeroed frame's salts never match the
    /// header's), as it ignores the frames of an earlier generation of the log, so recovery
    /// after a killed process reads the same log either way. A failed extension (a full disk)
    /// is left to the write itself to report.
    fn write_growing(&mut self, bytes: &[u8], offset: i64) -> c_int {
        // SAFETY: `inner` is open while this WalFile is.
        let inner = unsafe { methods(self.inner) };
        let (Some(write), Ok(amount)) = (inner.xWrite, c_int::try_from(bytes.len())) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        let end = offset + i64::from(amount);
        let len = match self.len {
            Some(len) if len >= end => Some(len),
            // The write may lengthen the file: its length is read afresh, as another connection
            // on the store may have written frames past what this one knows. Zeros only ever go
            // past the file's true end: frames are written under the log's write lock, which
            // this connection holds now, so no other writes meanwhile.
            _ => {
                let mut len = 0;
                let rc = match inner.xFileSize {
                    // SAFETY: as above, with a valid out pointer.
                    Some(size) => unsafe { size(self.inner, &mut len) },
                    None => ffi::SQLITE_IOERR_FSTAT,
                };
                (rc == ffi::SQLITE_OK).then_some(len)
            }
        };
        self.len = len;
        if let Some(mut at) = len.filter(|&len| len < end) {
            let to = (end + GROW_BY - 1) / GROW_BY * GROW_BY;
            // Allocated for the extension rather than kept in the library's data, and written
            // in pieces SQLite's own write takes whole (it truncates a write of 128 KiB or more).
            let zeros = vec![0u8; (to - at).min(ZEROS_AT_ONCE) as usize];
            while at < to {
                let n = (to - at).min(zeros.len() as i64) as c_int;
                // SAFETY: `zeros` holds at least `n` bytes.
                if unsafe { write(self.inner, zeros.as_ptr().cast(), n, at) } != ffi::SQLITE_OK {
                    break;
                }
                at += i64::from(n);
            }
            self.len = Some(at);
        }
        // SAFETY: `bytes` is `amount` readable bytes.
        let rc = unsafe { write(self.inner, bytes.as_ptr().cast(), amount, offset) };
        self.len = match (rc, self.len) {
            (ffi::SQLITE_OK, Some(len)) => Some(len.max(end)),
            _ => None,
        };
        rc
    }

    /// Writes a held header on its own: something other than its page comes next.
    fn flush(&mut self) -> c_int {
        let Some((header, offset)) = self.held.take() else {
            return ffi::SQLITE_OK;
        };
        self.write_growing(&header, offset)
    }
}

/// Forwards a call to SQLite's own method after writing any held header.
macro_rules! forward {
    ($name:ident, $method:ident ( $($arg:ident : $ty:ty),* ), flush) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: SQLite calls these only on a file `open` made a WalFile.
            let wal = unsafe { wal(file) };
            let rc = wal.flush();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
            match unsafe { methods(wal.inner) }.$method {
                Some(method) => unsafe { method(wal.inner $(, $arg)*) },
                None => ffi::SQLITE_IOERR,
            }
        }
    };
    ($name:ident, $method:ident ( $($arg:ident : $ty:ty),* )) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $arg: $ty)*) -> c_int {
            // SAFETY: as above.
            let wal = unsafe { wal(file) };
            match unsafe { methods(wal.inner) }.$method {
                Some(method) => unsafe { method(wal.inner $(, $arg)*) },
                None => ffi::SQLITE_IOERR,
            }
        }
    };
}

forward!(read, xRead(buf: *mut c_void, amount: c_int, offset: i64), flush);

unsafe extern "C" fn truncate(file: *mut ffi::sqlite3_file, size: i64) -> c_int {
    // SAFETY: SQLite calls this only on a file `open` made a WalFile.
    let wal = unsafe { wal(file) };
    let rc = wal.flush();
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    // Read again at the next write: the file is as long as SQLite made it now.
    wal.len = None;
    match unsafe { methods(wal.inner) }.xTruncate {
        Some(truncate) => unsafe { truncate(wal.inner, size) },
        None => ffi::SQLITE_IOERR_TRUNCATE,
    }
}
forward!(sync, xSync(flags: c_int), flush);
forward!(file_size, xFileSize(size: *mut i64), flush);
forward!(lock, xLock(level: c_int));
forward!(unlock, xUnlock(level: c_int));
forward!(check_reserved_lock, xCheckReservedLock(out: *mut c_int));
forward!(file_control, xFileControl(op: c_int, arg: *mut c_void), flush);
forward!(sector_size, xSectorSize());
forward!(device_characteristics, xDeviceCharacteristics());
forward!(shm_map, xShmMap(page: c_int, size: c_int, extend: c_int, out: *mut *mut c_void));
forward!(shm_lock, xShmLock(offset: c_int, n: c_int, flags: c_int));
forward!(shm_unmap, xShmUnmap(delete: c_int));
forward!(fetch, xFetch(offset: i64, amount: c_int, out: *mut *mut c_void), flush);
forward!(unfetch, xUnfetch(offset: i64, page: *mut c_void));

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    // SAFETY: SQLite calls this only on a file `open` made a WalFile.
    let wal = unsafe { wal(file) };
    if let Some(barrier) = unsafe { methods(wal.inner) }.xShmBarrier {
        unsafe { barrier(wal.inner) }
    }
}

unsafe extern "C" fn write(
    file: *mut ffi::sqlite3_file,
    buf: *const c_void,
    amount: c_int,
    offset: i64,
) -> c_int {
    // SAFETY: SQLite calls this only on a file `open` made a WalFile, with `amount` readable
    // bytes at `buf`.
    let wal = unsafe { wal(file) };
    let Ok(len) = usize::try_from(amount) else {
        return ffi::SQLITE_IOERR_WRITE;
    };
    let bytes = unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) };
    // The page of the header held: one write for the frame.
    if let Some((header, at)) = wal.held {
        if at + FRAME_HEADER as i64 == offset {
            wal.held = None;
            let mut joined = std::mem::take(&mut wal.joined);
            joined.clear();
            joined.extend_from_slice(&header);
            joined.extend_from_slice(bytes);
            let rc = wal.write_growing(&joined, at);
            wal.joined = joined;
            return rc;
        }
    }
    let rc = wal.flush();
    if rc != ffi::SQLITE_OK {
        return rc;
    }
    if len == FRAME_HEADER {
        let mut header = [0u8; FRAME_HEADER];
        header.copy_from_slice(bytes);
        wal.held = Some((header, offset));
        return ffi::SQLITE_OK;
    }
    wal.write_growing(bytes, offset)
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes each file `open` made a WalFile once; after this nothing uses it.
    let wal = unsafe { wal(file) };
    let flushed = wal.flush();
    let inner = wal.inner;
    let closed = match unsafe { methods(inner) }.xClose {
        Some(close) => unsafe { close(inner) },
        None => ffi::SQLITE_OK,
    };
    unsafe { std::ptr::drop_in_place(file.cast::<WalFile>()) };
    if flushed != ffi::SQLITE_OK {
        flushed
    } else {
        closed
    }
}

static WAL_METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;

    /// A WAL file opened through the VFS directly, as SQLite opens one.
    struct Opened {
        file: Vec<u64>,
        _path: CString,
    }

    impl Opened {
        fn new(path: &std::path::Path) -> Self {
            let name = vfs_name().unwrap();
            let path = CString::new(path.to_str().unwrap()).unwrap();
            unsafe {
                let vfs = ffi::sqlite3_vfs_find(name.as_ptr());
                assert!(!vfs.is_null());
                let words = ((*vfs).szOsFile as usize).div_ceil(8);
                let mut file = vec![0u64; words];
                let mut out = 0;
                let flags =
                    ffi::SQLITE_OPEN_WAL | ffi::SQLITE_OPEN_READWRITE | ffi::SQLITE_OPEN_CREATE;
                let rc = ((*vfs).xOpen.unwrap())(
                    vfs,
                    path.as_ptr(),
                    file.as_mut_ptr().cast(),
                    flags,
                    &mut out,
                );
                assert_eq!(rc, ffi::SQLITE_OK);
                Opened { file, _path: path }
            }
        }

        fn ptr(&mut self) -> *mut ffi::sqlite3_file {
            self.file.as_mut_ptr().cast()
        }

        fn methods(&mut self) -> &'static ffi::sqlite3_io_methods {
            unsafe { &*(*self.ptr()).pMethods }
        }

        fn write(&mut self, bytes: &[u8], offset: i64) {
            let write = self.methods().xWrite.unwrap();
            let rc = unsafe {
                write(
                    self.ptr(),
                    bytes.as_ptr().cast(),
                    bytes.len() as c_int,
                    offset,
                )
            };
            assert_eq!(rc, ffi::SQLITE_OK);
        }

        fn read(&mut self, len: usize, offset: i64) -> Vec<u8> {
            let read = self.methods().xRead.unwrap();
            let mut out = vec![0u8; len];
            let rc = unsafe { read(self.ptr(), out.as_mut_ptr().cast(), len as c_int, offset) };
            assert_eq!(rc, ffi::SQLITE_OK);
            out
        }

        fn close(mut self) {
            let close = self.methods().xClose.unwrap();
            assert_eq!(unsafe { close(self.ptr()) }, ffi::SQLITE_OK);
        }
    }

    #[test]
    fn a_frame_header_and_its_page_reach_the_file_together_and_nothing_is_ever_lost_or_reordered() {
        let dir = tempfile::tempdir().unwrap();
        // SQLite's VFS gives a WAL file its database's permissions: the database must exist.
        std::fs::write(dir.path().join("store"), b"").unwrap();
        let path = dir.path().join("store-wal");
        let mut wal = Opened::new(&path);
        assert!(
            std::ptr::eq(wal.methods(), &WAL_METHODS),
            "a WAL file gets the joining methods"
        );
        let on_disk = || std::fs::read(&path).unwrap();

        // A header is held until its page comes, then both are in the file at once.
        wal.write(&[1; FRAME_HEADER], 32);
        assert_eq!(on_disk().len(), 0, "the header waits for its page");
        wal.write(&[2; 100], 32 + FRAME_HEADER as i64);
        let file = on_disk();
        assert_eq!(&file[32..56], &[1; FRAME_HEADER]);
        assert_eq!(&file[56..156], &[2; 100]);
        // The file grew a megabyte, zeros past the frame, ahead of the frames to come.
        assert_eq!(file.len() as i64, GROW_BY);
        assert!(file[..32].iter().chain(&file[156..]).all(|&b| b == 0));

        // A read sees a held header: it is written first.
        wal.write(&[3; FRAME_HEADER], 200);
        assert_eq!(wal.read(FRAME_HEADER, 200), vec![3; FRAME_HEADER]);

        // A write elsewhere writes the held header first, then itself.
        wal.write(&[4; FRAME_HEADER], 300);
        wal.write(&[5; 10], 1000);
        let file = on_disk();
        assert_eq!(&file[300..324], &[4; FRAME_HEADER]);
        assert_eq!(&file[1000..1010], &[5; 10]);

        // Two headers in a row: the first is written when the second comes.
        wal.write(&[6; FRAME_HEADER], 400);
        wal.write(&[7; FRAME_HEADER], 424);
        assert_eq!(&on_disk()[400..424], &[6; FRAME_HEADER]);

        // Closing writes a header still held.
        wal.close();
        assert_eq!(&on_disk()[424..448], &[7; FRAME_HEADER]);
        assert_eq!(on_disk().len() as i64, GROW_BY);
    }

    #[test]
    fn a_log_grows_a_megabyte_at_a_time_and_again_from_where_a_truncate_left_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("store"), b"").unwrap();
        let path = dir.path().join("store-wal");
        let mut wal = Opened::new(&path);
        let len = || std::fs::metadata(&path).unwrap().len() as i64;
        let page = vec![9u8; 4096];
        let frame = (FRAME_HEADER + page.len()) as i64;

        // Frames up to the first megabyte's end fit in it; the next one extends the file again.
        let fit = (GROW_BY - 32) / frame;
        for n in 0..fit {
            wal.write(&[1; FRAME_HEADER], 32 + n * frame);
            wal.write(&page, 32 + n * frame + FRAME_HEADER as i64);
            assert_eq!(len(), GROW_BY, "frame {n}");
        }
        wal.write(&[1; FRAME_HEADER], 32 + fit * frame);
        wal.write(&page, 32 + fit * frame + FRAME_HEADER as i64);
        assert_eq!(len(), 2 * GROW_BY);
        let file = std::fs::read(&path).unwrap();
        let written = (32 + (fit + 1) * frame) as usize;
        assert_eq!(&file[written - 4096..written], &page[..]);
        assert!(file[written..].iter().all(|&b| b == 0));

        // SQLite truncating the log (a restart past its size limit, or the last close) is
        // followed: the next write past the new end extends it again.
        let truncate = wal.methods().xTruncate.unwrap();
        assert_eq!(unsafe { truncate(wal.ptr(), 100) }, ffi::SQLITE_OK);
        assert_eq!(len(), 100);
        wal.write(&[3; 10], 100);
        assert_eq!(len(), GROW_BY);
        assert_eq!(&std::fs::read(&path).unwrap()[100..110], &[3; 10]);
        wal.close();
    }

    /// The store in `dir` copied while its connections are open (as after a killed process),
    /// opened with SQLite's own VFS.
    fn copied_while_open(dir: &std::path::Path) -> (tempfile::TempDir, rusqlite::Connection) {
        let copy = tempfile::tempdir().unwrap();
        for name in ["store.sqlite3", "store.sqlite3-wal"] {
            std::fs::copy(dir.join(name), copy.path().join(name)).unwrap();
        }
        let plain = rusqlite::Connection::open(copy.path().join("store.sqlite3")).unwrap();
        (copy, plain)
    }

    fn assert_intact(conn: &rusqlite::Connection) {
        let check: String = conn
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
    }

    #[test]
    fn two_store_connections_writing_in_turn_keep_every_committed_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let first = crate::store::db::open_connection(&path).unwrap();
        let second = crate::store::db::open_connection(&path).unwrap();
        first
            .execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body BLOB)")
            .unwrap();
        // Each commit is a few frames; in turns of unequal length, each connection's log grows
        // past the end the other last knew, a megabyte at a time, again and again.
        let mut id = 0i64;
        for turn in 0..40 {
            let conn = if turn % 2 == 0 { &first } else { &second };
            for _ in 0..(turn % 7 + 3) {
                conn.execute(
                    "INSERT INTO notes (id, body) VALUES (?1, zeroblob(9000))",
                    [id],
                )
                .unwrap();
                id += 1;
            }
        }

        let (_copy, plain) = copied_while_open(dir.path());
        let (count, most): (i64, i64) = plain
            .query_row("SELECT count(*), max(id) FROM notes", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((count, most), (id, id - 1));
        assert_intact(&plain);
        drop((first, second));
    }

    #[test]
    fn zeros_never_cover_frames_another_connection_wrote_past_what_this_one_knew() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("store"), b"").unwrap();
        let path = dir.path().join("store-wal");
        let mut first = Opened::new(&path);
        let mut second = Opened::new(&path);
        let page = vec![9u8; 4096];

        // The first writes a frame: the file is a megabyte long as far as it knows.
        first.write(&[1; FRAME_HEADER], 32);
        first.write(&page, 32 + FRAME_HEADER as i64);
        // The second (another connection holding the write lock in its turn) writes a frame
        // past that megabyte.
        let theirs = GROW_BY + 100;
        second.write(&[2; FRAME_HEADER], theirs);
        second.write(&[8; 4096], theirs + FRAME_HEADER as i64);
        // The first, in its turn, writes past the end it knew: it extends from the true end.
        let mine = 2 * GROW_BY + 100;
        first.write(&[3; FRAME_HEADER], mine);
        first.write(&page, mine + FRAME_HEADER as i64);

        let file = std::fs::read(&path).unwrap();
        let at = theirs as usize;
        assert_eq!(&file[at..at + FRAME_HEADER], &[2; FRAME_HEADER]);
        assert_eq!(
            &file[at + FRAME_HEADER..at + FRAME_HEADER + 4096],
            &[8; 4096]
        );
        let at = mine as usize;
        assert_eq!(&file[at..at + FRAME_HEADER], &[3; FRAME_HEADER]);
        assert_eq!(file.len() as i64, 3 * GROW_BY);
        first.close();
        second.close();
    }

    #[test]
    fn other_files_keep_sqlites_own_methods() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let conn = rusqlite::Connection::open_with_flags_and_vfs(
            &path,
            rusqlite::OpenFlags::default(),
            vfs_name().unwrap(),
        )
        .unwrap();
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .unwrap();
        let mut file: *mut ffi::sqlite3_file = std::ptr::null_mut();
        let rc = unsafe {
            ffi::sqlite3_file_control(
                conn.handle(),
                c"main".as_ptr(),
                ffi::SQLITE_FCNTL_FILE_POINTER,
                (&mut file as *mut *mut ffi::sqlite3_file).cast(),
            )
        };
        assert_eq!(rc, ffi::SQLITE_OK);
        assert!(!file.is_null());
        assert!(!std::ptr::eq(unsafe { (*file).pMethods }, &WAL_METHODS));
    }

    #[test]
    fn what_a_store_commits_through_it_is_read_back_by_plain_sqlite_without_a_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite3");
        let conn = crate::store::db::open_connection(&path).unwrap();
        conn.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            .unwrap();
        for i in 0..200 {
            conn.execute(
                "INSERT INTO notes (id, body) VALUES (?1, ?2)",
                rusqlite::params![i as i64, format!("note {i} {}", "x".repeat(i * 7))],
            )
            .unwrap();
        }
        let wal_len = std::fs::metadata(dir.path().join("store.sqlite3-wal"))
            .unwrap()
            .len();
        assert!(
            wal_len > 200 * 4096,
            "the commits are in the WAL ({wal_len} bytes)"
        );
        assert_eq!(wal_len as i64 % GROW_BY, 0, "grown a megabyte at a time");

        // A copy taken while the connection is open (as after a killed process), read by SQLite's
        // own VFS: every committed row is there.
        let (_copy, plain) = copied_while_open(dir.path());
        let (count, total): (i64, i64) = plain
            .query_row("SELECT count(*), sum(length(body)) FROM notes", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(count, 200);
        let expected: usize = (0..200).map(|i| format!("note {i} ").len() + i * 7).sum();
        assert_eq!(total as usize, expected);
        assert_intact(&plain);
        drop(conn);
    }
}
