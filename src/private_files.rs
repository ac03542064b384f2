//! Files that hold money or secrets are private to the user running the till: the data folder (which is also the
//! vault's folder) is 0700, the database (with its `-wal` and `-shm`) and the vault are 0600, whatever the umask.
//! New files are created that way; existing ones found looser are tightened when opened, and each tightening is
//! logged and reported (`tilldesk doctor` shows the modes).
//!
//! On other systems than Unix the folder's ACLs (the user's profile) already keep other users out; these helpers do
//! nothing there.

use std::io;
use std::path::{Path, PathBuf};

/// The mode of a private folder (owner only: read, write, enter).
pub const PRIVATE_DIR_MODE: u32 = 0o700;
/// The mode of a private file (owner only: read, write).
pub const PRIVATE_FILE_MODE: u32 = 0o600;

/// A path whose permissions were looser than private and were tightened.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Tightened {
    pub path: PathBuf,
    /// The permission bits found (e.g. 0o644).
    pub was: u32,
    /// The permission bits set (0o600 or 0o700).
    pub now: u32,
}

impl std::fmt::Display for Tightened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} was {:04o}, now {:04o}", self.path.display(), self.was, self.now)
    }
}

/// The permission bits of a path (None: missing, or not a Unix system).
pub fn mode_of(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::metadata(path).ok().map(|m| m.permissions().mode() & 0o7777)
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Whether permission bits give nothing to the group or others.
pub fn is_private_mode(mode: u32) -> bool {
    mode & 0o077 == 0
}

/// Sets `path` to `wanted` when its group/other bits are set; logs and returns what was changed.
fn tighten(path: &Path, wanted: u32) -> io::Result<Option<Tightened>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let meta = match std::fs::metadata(path) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let was = meta.permissions().mode() & 0o7777;
        if is_private_mode(was) {
            return Ok(None);
        }
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(wanted))?;
        let tightened = Tightened { path: path.to_owned(), was, now: wanted };
        tracing::warn!(path = %path.display(), was = format!("{was:04o}"), now = format!("{wanted:04o}"),
            "permissions were looser than private; tightened");
        Ok(Some(tightened))
    }
    #[cfg(not(unix))]
    {
        let _ = (path, wanted);
        Ok(None)
    }
}

/// Creates the folder when missing (its parents as usual, the folder itself 0700) and tightens it to 0700 when it
/// exists with group or other permissions.
pub fn private_dir(path: &Path) -> io::Result<Option<Tightened>> {
    if !path.is_dir() {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)?;
        }
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        {
            use std::os::unix::fs::DirBuilderExt as _;
            builder.mode(PRIVATE_DIR_MODE);
        }
        match builder.create(path) {
            Ok(()) => {}
            // Created meanwhile by another process: tightened below like any existing folder.
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => {}
            Err(e) => return Err(e),
        }
    }
    tighten(path, PRIVATE_DIR_MODE)
}

/// Tightens an existing file to 0600 when it has group or other permissions (a missing file is left alone).
pub fn tighten_file(path: &Path) -> io::Result<Option<Tightened>> {
    tighten(path, PRIVATE_FILE_MODE)
}

/// Creates (or truncates) a file for writing that only the owner can read: 0600 from its first byte, also when
/// an older file of that name was looser.
pub fn create_private_file(path: &Path) -> io::Result<std::fs::File> {
    crate::thread_role::assert_off_ui("writing a file");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(PRIVATE_FILE_MODE);
    }
    let file = options.open(path)?;
    // The mode given at creation does not apply to a file that already existed.
    tighten_file(path)?;
    Ok(file)
}

/// Makes sure a file exists with mode 0600 before another library (SQLite) opens it, so that it never exists with
/// the umask's mode. An existing file is not opened, only tightened when looser.
pub fn ensure_private_file(path: &Path) -> io::Result<Option<Tightened>> {
    if path.exists() {
        return tighten_file(path);
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(PRIVATE_FILE_MODE);
    }
    match options.open(path) {
        Ok(_) => Ok(None),
        // Created meanwhile by another process.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => tighten_file(path),
        Err(e) => Err(e),
    }
}

/// Before SQLite opens `db`: creates it empty with mode 0600 when missing (SQLite takes an empty file as a new
/// database). Failures are logged, not fatal: SQLite's own open then reports what is wrong with the path.
pub fn secure_database_before_open(db: &Path) {
    if let Err(e) = ensure_private_file(db) {
        tracing::warn!(path = %db.display(), error = %e, "cannot create the database with mode 0600");
    }
}

/// After SQLite opened `db` (and made its `-wal`/`-shm`): tightens all three when looser. Failures (a file owned by
/// another user) are logged, not fatal.
pub fn secure_database_after_open(db: &Path) {
    if let Err(e) = tighten_database(db) {
        tracing::warn!(path = %db.display(), error = %e, "cannot make the database files private (mode 0600)");
    }
}

/// Flushes a folder's entry list to disk (after a rename into it), so that the rename survives a power cut.
pub fn sync_dir(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::fs::File::open(path)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        // Windows cannot open a folder as a file; NTFS journals the rename itself.
        let _ = path;
        Ok(())
    }
}

/// The SQLite database at `db` and its write-ahead files, in that order.
pub fn database_files(db: &Path) -> [PathBuf; 3] {
    let with = |suffix: &str| {
        let mut name = db.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    [db.to_owned(), with("-wal"), with("-shm")]
}

/// Tightens the database and its `-wal`/`-shm` files to 0600 where they exist.
pub fn tighten_database(db: &Path) -> io::Result<Vec<Tightened>> {
    let mut out = Vec::new();
    for file in database_files(db) {
        out.extend(tighten_file(&file)?);
    }
    Ok(out)
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn set_mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_new_folder_is_0700_and_a_loose_one_is_tightened() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a").join("data");
        assert_eq!(private_dir(&dir).unwrap(), None);
        assert_eq!(mode_of(&dir), Some(0o700));
        set_mode(&dir, 0o755);
        let t = private_dir(&dir).unwrap().expect("tightened");
        assert_eq!((t.was, t.now), (0o755, 0o700));
        assert_eq!(mode_of(&dir), Some(0o700));
        assert_eq!(private_dir(&dir).unwrap(), None, "already private");
    }

    #[test]
    fn private_files_are_0600_even_over_a_loose_old_file() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("f");
        drop(create_private_file(&path).unwrap());
        assert_eq!(mode_of(&path), Some(0o600));
        set_mode(&path, 0o664);
        drop(create_private_file(&path).unwrap());
        assert_eq!(mode_of(&path), Some(0o600));

        let db = tmp.path().join("d.sqlite3");
        assert_eq!(ensure_private_file(&db).unwrap(), None);
        assert_eq!(mode_of(&db), Some(0o600));
        let [_, wal, shm] = database_files(&db);
        std::fs::write(&wal, b"").unwrap();
        set_mode(&wal, 0o644);
        std::fs::write(&shm, b"").unwrap();
        set_mode(&shm, 0o600);
        let tightened = tighten_database(&db).unwrap();
        assert_eq!(tightened.len(), 1, "{tightened:?}");
        assert!(tightened[0].to_string().ends_with("-wal was 0644, now 0600"), "{}", tightened[0]);
        assert_eq!(mode_of(&wal), Some(0o600));
    }
}
