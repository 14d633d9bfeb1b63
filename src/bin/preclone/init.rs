//! `preclone init`: writes the commented example config (`templates/preclone.toml`), never over
//! an existing file.

use crate::{usage, Failure};
use preclone::exit::Exit;
use preclone::output::write_atomic;
use std::path::Path;

pub(crate) fn run(path: &Path) -> Result<Exit, Failure> {
    if path.exists() {
        return Err(usage(format!(
            "{} already exists; preclone init never overwrites a file. Move it away or pass --path.",
            path.display()
        )));
    }
    write_atomic(path, preclone::config::INIT_TEMPLATE).map_err(usage)?;
    eprintln!(
        "wrote {}: fill in your instances, export the *_env variables it names, then run `preclone doctor`",
        path.display()
    );
    Ok(Exit::Pass)
}
