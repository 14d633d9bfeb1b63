//! The `preclone` binary: parse the command line, set up logging, run one command and map its
//! outcome to an exit code. The only code that prints; one file per command beside this one.

// Printing is the binary's job: the library returns text and never prints (clippy.toml).
#![allow(clippy::disallowed_macros)]

mod audit;
mod catalogue;
mod completions;
mod demo;
mod doctor;
mod fix;
mod fleet;
mod init;
mod progress;
mod render;

use clap::{CommandFactory, FromArgMatches};
use preclone::cli::{Cli, Command};
use preclone::exit::Exit;
use std::io::{ErrorKind, IsTerminal, Write};
use std::process::ExitCode;

/// A failure that ends the run with a documented exit code and one paragraph on stderr.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: Exit,
    pub(crate) message: String,
}

/// A usage or configuration error (exit 3).
pub(crate) fn usage(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: Exit::Usage,
        message: message.to_string(),
    }
}

fn main() -> ExitCode {
    let cli = match preclone::cli::command()
        .try_get_matches()
        .and_then(|mut m| {
            Cli::from_arg_matches_mut(&mut m).map_err(|e| e.format(&mut Cli::command()))
        }) {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout (exit 0), errors to stderr (exit 3).
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Pass
            };
            return match e.print() {
                Err(err) if err.kind() != ErrorKind::BrokenPipe => Exit::Usage,
                _ => code,
            }
            .into();
        }
    };
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => code.into(),
        Err(f) => {
            eprintln!("preclone: {}", f.message);
            f.code.into()
        }
    }
}

fn init_logging(verbose: u8) {
    let level = match verbose {
        0 => "warn",
        1 => "info",
        _ => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::new(format!("preclone={level}"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .with_target(false)
        .try_init();
}

fn run(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Audit(args) if args.pairs.is_some() => fleet::run(args),
        Command::Audit(args) => audit::run(args),
        Command::Render(args) => render::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Doctor(args) => doctor::run(args),
        Command::Checks(args) => catalogue::checks(args),
        Command::Explain(args) => catalogue::explain(args),
        Command::Init(args) => init::run(&args.path),
        Command::Completions(args) => completions::run(args.shell),
        Command::Fix(args) => fix::run(args),
    }
}

/// Writes `text` to stdout. A reader that went away (`preclone demo | head`) is not a failure;
/// any other failed write is (exit 3), so a full disk never passes for a written report.
pub(crate) fn print_stdout(text: &str) -> Result<(), Failure> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != ErrorKind::BrokenPipe => {
            Err(usage(format!("could not write to standard output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Reads a variable of the environment (the resolvers take the environment as a function).
pub(crate) fn env(key: &str) -> Option<String> {
    std::env::var(key).ok()
}
