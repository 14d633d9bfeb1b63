//! `preclone completions SHELL`: the completion script of one shell, generated from the command
//! line's own description, on stdout.

use crate::{print_stdout, usage, Failure};
use preclone::exit::Exit;

pub(crate) fn run(shell: clap_complete::Shell) -> Result<Exit, Failure> {
    let mut script = Vec::new();
    clap_complete::generate(
        shell,
        &mut preclone::cli::command(),
        "preclone",
        &mut script,
    );
    print_stdout(&String::from_utf8(script).map_err(usage)?)?;
    Ok(Exit::Pass)
}
