//! Checks of the files a run will write, made before its first request: a report or evidence
//! path that cannot be written is refused then, not found out after the whole audit.

use std::path::{Path, PathBuf};

/// Why a file the run was asked to write cannot be written. `option` is the flag that named it
/// (`-o`, `--save-evidence`).
#[derive(Debug, thiserror::Error)]
pub enum NotWritable {
    #[error("{option} {}: this is a folder; give the path of a file in it", .path.display())]
    IsAFolder { option: String, path: PathBuf },

    #[error(
        "{option} {}: the folder {} does not exist (or is not a folder); create it first, or \
         choose another path",
        .path.display(),
        .dir.display()
    )]
    NoFolder {
        option: String,
        path: PathBuf,
        dir: PathBuf,
    },

    #[error(
        "{option} {}: no file can be created in the folder {} ({source}); make it writable, or \
         choose another path",
        .path.display(),
        .dir.display()
    )]
    Denied {
        option: String,
        path: PathBuf,
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Checks that `path` can be written the way reports are (a temporary file in its folder, then
/// renamed over it): it is not a folder, its folder exists, and a file can be created there. The
/// check creates and removes a temporary file; an existing file at `path` is never touched.
/// `-` is standard output, always writable.
pub fn check_writable(option: &str, path: &Path) -> Result<(), NotWritable> {
    if path == Path::new("-") {
        return Ok(());
    }
    if path.is_dir() {
        return Err(NotWritable::IsAFolder {
            option: option.to_string(),
            path: path.to_path_buf(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(NotWritable::NoFolder {
            option: option.to_string(),
            path: path.to_path_buf(),
            dir,
        });
    }
    // Dropping the probe deletes it.
    tempfile::Builder::new()
        .prefix(".preclone-check-")
        .suffix(".tmp")
        .tempfile_in(&dir)
        .map(drop)
        .map_err(|source| NotWritable::Denied {
            option: option.to_string(),
            path: path.to_path_buf(),
            dir,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_in_an_existing_folder_is_writable_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("r.json");
        check_writable("-o", &report).expect("a new file");
        assert!(!report.exists(), "the check creates nothing at the path");
        std::fs::write(&report, "previous report").unwrap();
        check_writable("-o", &report).expect("an existing file");
        assert_eq!(std::fs::read_to_string(&report).unwrap(), "previous report");
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "no probe left behind: {left:?}");
    }

    #[test]
    fn a_folder_or_a_missing_folder_is_refused_naming_the_option() {
        let dir = tempfile::tempdir().unwrap();
        let err = check_writable("--save-evidence", dir.path()).expect_err("a folder");
        assert!(matches!(err, NotWritable::IsAFolder { .. }), "{err:?}");
        assert!(err.to_string().starts_with("--save-evidence "), "{err}");

        let missing = dir.path().join("nope").join("r.html");
        let err = check_writable("-o", &missing).expect_err("no folder");
        assert!(matches!(err, NotWritable::NoFolder { .. }), "{err:?}");
        assert!(err.to_string().contains("create it first"), "{err}");

        // A file where the folder should be.
        let file = dir.path().join("plain");
        std::fs::write(&file, "").unwrap();
        let err = check_writable("-o", &file.join("r.html")).expect_err("not a folder");
        assert!(matches!(err, NotWritable::NoFolder { .. }), "{err:?}");
    }
}
