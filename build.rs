//! Records the git commit and commit date the binary is built from, for `preclone --version`.
//! A build outside a git checkout (a source tarball, or no git installed) says so instead.

// A build script talks to cargo on stdout.
#![allow(clippy::disallowed_macros)]

use std::path::Path;
use std::process::Command;

/// What `--version` shows after the crate version when the commit is not known.
const NO_COMMIT: &str = "built from a source tarball: no commit";

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (out.status.success() && !text.is_empty()).then_some(text)
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    // Only this crate's own checkout counts, not a repository it happens to be unpacked in.
    let checkout = Path::new(&manifest).join(".git").exists();
    let info = checkout
        .then(|| {
            let commit = git(&["rev-parse", "--short", "HEAD"])?;
            let date = git(&["log", "-1", "--format=%cs"])?;
            Some(format!("{commit} {date}"))
        })
        .flatten();
    if checkout {
        // A new commit or a checkout of another branch moves HEAD or a ref (a worktree keeps
        // its HEAD in its own git folder).
        for dir in [
            git(&["rev-parse", "--git-dir"]),
            git(&["rev-parse", "--git-common-dir"]),
        ]
        .into_iter()
        .flatten()
        {
            for file in ["HEAD", "refs/heads", "packed-refs"] {
                let path = Path::new(&manifest).join(&dir).join(file);
                if path.exists() {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
            }
        }
    }
    println!(
        "cargo:rustc-env=PRECLONE_BUILD_INFO={}",
        info.as_deref().unwrap_or(NO_COMMIT)
    );
}
