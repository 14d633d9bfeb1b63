//! Writing files: reports, evidence and the `init` config, each atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(
        "cannot write {}: the folder {} does not exist (or is not a folder); create it first or \
         choose another path",
        path.display(),
        dir.display()
    )]
    NoParentDir { path: PathBuf, dir: PathBuf },

    #[error("could not write {}: {source}; check the path and its permissions", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes `contents` to `path` atomically: a temporary file in the same folder, flushed to disk,
/// then renamed over `path`. A reader never sees a half-written report, and a failed write leaves
/// any previous report in place and no temporary file behind.
pub fn write_atomic(path: &Path, contents: &str) -> Result<(), WriteError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(WriteError::NoParentDir {
            path: path.to_path_buf(),
            dir,
        });
    }
    let write_err = |source: std::io::Error| WriteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".preclone-report-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // A report is an ordinary file, with the mode `File::create` would give it (0666 less the
        // umask), not the temporary file's 0600.
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    // Dropping the temporary file on any early return deletes it.
    let mut tmp = builder.tempfile_in(&dir).map_err(write_err)?;
    // Replacing a report keeps the permissions the previous one had.
    if let Ok(existing) = std::fs::metadata(path) {
        if existing.is_file() {
            tmp.as_file()
                .set_permissions(existing.permissions())
                .map_err(write_err)?;
        }
    }
    tmp.write_all(contents.as_bytes()).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    tmp.persist(path).map_err(|e| write_err(e.error))?;
    Ok(())
}
