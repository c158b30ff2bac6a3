//! `atende backup` and `atende restore`: the database and the data directory's files in one
//! encrypted, checksummed archive ([`crate::security::archive`]), and back onto an empty
//! installation.
//!
//! What goes in: a consistent copy of the database (SQLite `VACUUM INTO`, PostgreSQL
//! `pg_dump`), taken while the server keeps running, and every file under `data.dir` except
//! the live SQLite files, `secrets.toml` and the audit anchor log. Those two stay out on
//! purpose: whoever holds the secrets and a database copy can read the clinical text and
//! rewrite the audit log, and the anchors must survive a restore to show what was lost.
//!
//! Restoring first checks the whole archive (checksum, key, every chunk, every entry's
//! SHA-256 against the manifest) into a staging folder; only then does it touch the target,
//! so a wrong key or a damaged archive leaves the installation as it was.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read as _, Seek as _, Write as _};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::config::Settings;
use crate::security::archive::{
    ArchiveError, ArchiveReader, ArchiveWriter, BackupKey, verify_checksum,
};
use crate::store::backup::{pg_dump, pg_restore, sqlite_path};
use crate::store::{Store, StoreError};

const MANIFEST: &str = "manifest.json";
const SQLITE_ENTRY: &str = "database.sqlite";
const PG_ENTRY: &str = "database.pgdump";
const FILES_PREFIX: &str = "files/";

/// Why a backup or a restore stopped. Each kind has its own exit status.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error(
        "no backup key: set backup.key (or ATENDE_BACKUP__KEY / ATENDE_BACKUP__KEY_FILE) to base64 of 32 bytes"
    )]
    NoKey,
    #[error(transparent)]
    Archive(#[from] ArchiveError),
    #[error("the installation is not empty: {0}")]
    NotEmpty(String),
    #[error("this archive holds a {archive} database but this installation uses {here}")]
    WrongBackend { archive: String, here: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl BackupError {
    /// The process exit status for `atende backup`/`restore` (documented in operations.md).
    pub fn exit_code(&self) -> u8 {
        match self {
            BackupError::NoKey => 2,
            BackupError::Archive(ArchiveError::WrongKey) => 3,
            BackupError::Archive(ArchiveError::BadKey(_)) => 2,
            BackupError::Archive(_) => 4,
            BackupError::NotEmpty(_) | BackupError::WrongBackend { .. } => 5,
            BackupError::Store(_) | BackupError::Io { .. } => 1,
        }
    }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// What the archive holds, its first entry.
#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    atende_version: String,
    created_at: chrono::DateTime<chrono::Utc>,
    backend: String,
    entries: Vec<ManifestEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestEntry {
    name: String,
    size: u64,
    sha256: String,
}

/// What a finished backup or restore reports.
#[derive(Debug)]
pub struct BackupReport {
    pub backend: String,
    /// Files of the data directory (the database not counted).
    pub files: usize,
    pub bytes: u64,
    /// SHA-256 of the whole archive, as its trailer holds it.
    pub sha256: String,
}

/// The backup key from the settings.
pub fn backup_key(settings: &Settings) -> Result<BackupKey, BackupError> {
    let key = settings.backup.key.expose();
    if key.is_empty() {
        return Err(BackupError::NoKey);
    }
    Ok(BackupKey::parse(key)?)
}

/// A folder removed when dropped (staging and snapshot files).
struct Scratch(PathBuf);

impl Scratch {
    fn new(near: &Path) -> Result<Self, BackupError> {
        let dir = near.join(format!(".atende-backup-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).map_err(io(format!("creating {}", dir.display())))?;
        Ok(Self(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The data directory's files that belong in a backup, as (path, name inside `files/`).
fn data_files(
    settings: &Settings,
    skip: &[PathBuf],
) -> Result<Vec<(PathBuf, String)>, BackupError> {
    let root = &settings.data.dir;
    let mut out = Vec::new();
    if !root.exists() {
        return Ok(out);
    }
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(io(format!("reading {}", dir.display())))?;
        for entry in entries {
            let entry = entry.map_err(io(format!("reading {}", dir.display())))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let kind = entry
                .file_type()
                .map_err(io(format!("{}", path.display())))?;
            if name.starts_with(".atende-backup-") || skip.iter().any(|s| same_file(s, &path)) {
                continue;
            }
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let rel = path
                    .strip_prefix(root)
                    .map_err(|_| BackupError::NotEmpty(format!("{} escapes", path.display())))?
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((path, rel));
            }
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    Ok(out)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// Files never backed up: the live SQLite files, the secrets, the anchors, the archive.
fn skipped(settings: &Settings, out: &Path) -> Vec<PathBuf> {
    let mut skip = vec![
        settings.data.dir.join("secrets.toml"),
        settings.audit_anchor_path(),
        out.to_path_buf(),
        partial(out),
    ];
    if let Some(db) = sqlite_path(&settings.database_url()) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            skip.push(PathBuf::from(format!("{}{suffix}", db.display())));
        }
    }
    skip
}

fn partial(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", out.display()))
}

fn sha256_of(path: &Path) -> Result<(u64, String), BackupError> {
    let mut file = File::open(path).map_err(io(format!("reading {}", path.display())))?;
    let mut hash = Sha256::new();
    let size =
        std::io::copy(&mut file, &mut hash).map_err(io(format!("reading {}", path.display())))?;
    Ok((size, hex::encode(hash.finalize())))
}

/// Back up the installation `settings` describes into `out` (written as `out.partial`,
/// renamed when complete). Safe while the server runs.
pub async fn backup(
    settings: &Settings,
    out: &Path,
    key: &BackupKey,
) -> Result<BackupReport, BackupError> {
    let parent = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let scratch = Scratch::new(parent)?;
    let url = settings.database_url();
    let (backend, db_entry, db_file) = if settings.uses_sqlite() {
        let store = Store::connect(&url, 1).await?;
        let file = scratch.0.join(SQLITE_ENTRY);
        store.vacuum_into(&file).await?;
        store.close().await;
        ("sqlite", SQLITE_ENTRY, file)
    } else {
        let file = scratch.0.join(PG_ENTRY);
        pg_dump(&url, &file).await?;
        ("postgres", PG_ENTRY, file)
    };
    let files = data_files(settings, &skipped(settings, out))?;

    // The manifest needs every size and hash first. A data file may change between hashing
    // and copying: it is copied to the scratch folder first, so the two agree.
    let mut entries = vec![(db_entry.to_string(), db_file)];
    for (i, (path, rel)) in files.iter().enumerate() {
        let copy = scratch.0.join(format!("f{i}"));
        std::fs::copy(path, &copy).map_err(io(format!("copying {}", path.display())))?;
        entries.push((format!("{FILES_PREFIX}{rel}"), copy));
    }
    let mut manifest = Manifest {
        format: 1,
        atende_version: env!("CARGO_PKG_VERSION").to_string(),
        created_at: chrono::Utc::now(),
        backend: backend.to_string(),
        entries: Vec::new(),
    };
    for (name, path) in &entries {
        let (size, sha256) = sha256_of(path)?;
        manifest.entries.push(ManifestEntry {
            name: name.clone(),
            size,
            sha256,
        });
    }
    let manifest_json = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| io("encoding the manifest")(std::io::Error::other(e)))?;

    let tmp = partial(out);
    let file = File::create(&tmp).map_err(io(format!("creating {}", tmp.display())))?;
    let write = || -> Result<[u8; 32], BackupError> {
        let mut w =
            ArchiveWriter::new(BufWriter::new(file), key).map_err(io("writing the archive"))?;
        w.entry(
            MANIFEST,
            manifest_json.len() as u64,
            &mut manifest_json.as_slice(),
        )
        .map_err(io("writing the archive"))?;
        for ((name, path), listed) in entries.iter().zip(&manifest.entries) {
            let mut f = File::open(path).map_err(io(format!("reading {}", path.display())))?;
            w.entry(name, listed.size, &mut BufReader::new(&mut f))
                .map_err(io("writing the archive"))?;
        }
        let (buf, digest) = w.finish().map_err(io("writing the archive"))?;
        let file = buf
            .into_inner()
            .map_err(|e| io("writing the archive")(e.into_error()))?;
        file.sync_all().map_err(io("writing the archive"))?;
        Ok(digest)
    };
    let digest = match write() {
        Ok(d) => d,
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            return Err(e);
        }
    };
    std::fs::rename(&tmp, out).map_err(io(format!("renaming to {}", out.display())))?;
    let bytes = std::fs::metadata(out).map(|m| m.len()).unwrap_or_default();
    Ok(BackupReport {
        backend: backend.to_string(),
        files: files.len(),
        bytes,
        sha256: hex::encode(digest),
    })
}

/// Check an archive completely (checksum, key, every entry against the manifest) and
/// unpack it into `into`; returns the manifest.
fn unpack(from: &Path, key: &BackupKey, into: &Path) -> Result<(Manifest, [u8; 32]), BackupError> {
    let mut file = File::open(from).map_err(io(format!("reading {}", from.display())))?;
    let digest = verify_checksum(BufReader::new(&mut file))?;
    let len = file.metadata().map_err(io("reading the archive"))?.len();
    file.rewind().map_err(io("reading the archive"))?;
    let body = BufReader::new(file).take(len.saturating_sub(32));
    let mut reader = ArchiveReader::open(body, key)?;
    let corrupt = |why| BackupError::Archive(ArchiveError::Corrupt(why));
    let Some((name, size)) = reader.next_entry()? else {
        return Err(corrupt("no manifest"));
    };
    if name != MANIFEST || size > 64 << 20 {
        return Err(corrupt("no manifest"));
    }
    let mut json = Vec::new();
    reader.copy_entry(size, &mut json)?;
    let manifest: Manifest = serde_json::from_slice(&json).map_err(|_| corrupt("manifest"))?;
    if manifest.format != 1 {
        return Err(BackupError::Archive(ArchiveError::NotAnArchive));
    }
    for (i, listed) in manifest.entries.iter().enumerate() {
        let Some((name, size)) = reader.next_entry()? else {
            return Err(corrupt("an entry of the manifest is missing"));
        };
        if name != listed.name || size != listed.size || !safe_name(&name) {
            return Err(corrupt("entries differ from the manifest"));
        }
        let path = into.join(format!("e{i}"));
        let mut out = HashingFile {
            file: BufWriter::new(File::create(&path).map_err(io(format!("{}", path.display())))?),
            hash: Sha256::new(),
        };
        reader.copy_entry(size, &mut out)?;
        out.file
            .flush()
            .map_err(io(format!("{}", path.display())))?;
        if hex::encode(out.hash.finalize()) != listed.sha256 {
            return Err(corrupt("an entry's SHA-256 differs from the manifest"));
        }
    }
    if reader.next_entry()?.is_some() {
        return Err(corrupt("entries differ from the manifest"));
    }
    Ok((manifest, digest))
}

/// Entry names are relative paths without `..`: a crafted archive cannot write elsewhere.
fn safe_name(name: &str) -> bool {
    !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|p| !p.is_empty() && p != "." && p != "..")
}

struct HashingFile {
    file: BufWriter<File>,
    hash: Sha256,
}

impl std::io::Write for HashingFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

/// Restore `from` onto the empty installation `settings` describes.
pub async fn restore(
    settings: &Settings,
    from: &Path,
    key: &BackupKey,
) -> Result<BackupReport, BackupError> {
    let here = if settings.uses_sqlite() {
        "sqlite"
    } else {
        "postgres"
    };
    let url = settings.database_url();
    let sqlite_file = sqlite_path(&url);
    // An empty installation: no database yet (or one without tables).
    match &sqlite_file {
        Some(path) if path.exists() => {
            let store = Store::connect(&url, 1).await?;
            let tables = store.table_count().await?;
            store.close().await;
            if tables > 0 {
                return Err(BackupError::NotEmpty(format!(
                    "{} has tables",
                    path.display()
                )));
            }
        }
        Some(_) => {}
        None => {
            let store = Store::connect(&url, 1).await?;
            let tables = store.table_count().await?;
            store.close().await;
            if tables > 0 {
                return Err(BackupError::NotEmpty(format!(
                    "the PostgreSQL database has {tables} tables"
                )));
            }
        }
    }
    std::fs::create_dir_all(&settings.data.dir)
        .map_err(io(format!("creating {}", settings.data.dir.display())))?;
    let scratch = Scratch::new(&settings.data.dir)?;
    let (manifest, digest) = unpack(from, key, &scratch.0)?;
    if manifest.backend != here {
        return Err(BackupError::WrongBackend {
            archive: manifest.backend,
            here: here.to_string(),
        });
    }
    // Every file lands where no file is yet.
    let mut moves = Vec::new();
    let mut pg_staged = None;
    let mut files = 0;
    for (i, entry) in manifest.entries.iter().enumerate() {
        let staged = scratch.0.join(format!("e{i}"));
        let target = if let Some(rel) = entry.name.strip_prefix(FILES_PREFIX) {
            files += 1;
            settings.data.dir.join(rel)
        } else if entry.name == SQLITE_ENTRY {
            sqlite_file
                .clone()
                .ok_or_else(|| BackupError::WrongBackend {
                    archive: "sqlite".into(),
                    here: here.into(),
                })?
        } else if entry.name == PG_ENTRY {
            pg_staged = Some(staged);
            continue;
        } else {
            return Err(BackupError::Archive(ArchiveError::Corrupt("unknown entry")));
        };
        if target.exists() && entry.name != SQLITE_ENTRY {
            return Err(BackupError::NotEmpty(format!(
                "{} exists",
                target.display()
            )));
        }
        moves.push((staged, target));
    }
    if let Some(dump) = pg_staged {
        pg_restore(&url, &dump).await?;
    }
    for (staged, target) in moves {
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(io(format!("creating {}", dir.display())))?;
        }
        if sqlite_file.as_ref() == Some(&target) {
            for suffix in ["-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", target.display()));
            }
        }
        // Same file system (the staging folder is inside data.dir) unless the database file
        // lives elsewhere: then copy.
        if std::fs::rename(&staged, &target).is_err() {
            std::fs::copy(&staged, &target).map_err(io(format!("writing {}", target.display())))?;
        }
    }
    Ok(BackupReport {
        backend: manifest.backend,
        files,
        bytes: std::fs::metadata(from).map(|m| m.len()).unwrap_or_default(),
        sha256: hex::encode(digest),
    })
}

/// Record a successful backup for node_exporter's textfile collector (written to a
/// temporary file, then renamed, so a scrape never reads half of it).
pub fn write_metrics_file(path: &Path, report: &BackupReport) -> Result<(), BackupError> {
    let now = chrono::Utc::now().timestamp();
    let text = format!(
        "# HELP atende_backup_last_success_timestamp_seconds When the last atende backup completed.\n\
         # TYPE atende_backup_last_success_timestamp_seconds gauge\n\
         atende_backup_last_success_timestamp_seconds {now}\n\
         # HELP atende_backup_last_size_bytes Size of the last atende backup archive.\n\
         # TYPE atende_backup_last_size_bytes gauge\n\
         atende_backup_last_size_bytes {}\n",
        report.bytes
    );
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    let what = || format!("the metrics file {} could not be written", path.display());
    std::fs::write(&tmp, text).map_err(io(what()))?;
    std::fs::rename(&tmp, path).map_err(io(what()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_cannot_leave_the_data_directory() {
        assert!(safe_name("files/docs/a.pdf"));
        for bad in [
            "/etc/passwd",
            "files/../../x",
            "files//x",
            "files/./x",
            "a\\b",
        ] {
            assert!(!safe_name(bad), "{bad}");
        }
    }
}
