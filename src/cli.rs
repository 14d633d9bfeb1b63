//! Command-line types (clap derive). No I/O here.

use crate::finding::FailOn;
use crate::report::{ColorChoice, Format, GateOn};
use clap::{Args, CommandFactory, Parser, Subcommand};
use std::path::PathBuf;

/// `preclone --version`: the crate version, then the git commit and its date where the build had
/// them (set by `build.rs`). The reports' version field stays the crate version alone.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("PRECLONE_BUILD_INFO"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "preclone",
    version = LONG_VERSION,
    about = "Read-only pre-clone audit: will every MID Server survive a ServiceNow system clone, and is production exposed?",
    long_about = None,
    propagate_version = true
)]
pub struct Cli {
    /// More logs on stderr (-v info, -vv debug). Secrets are never logged.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

/// The whole command line as clap describes it: what is parsed, and what the completion scripts
/// and the man page are generated from. `doctor --help` lists its exit codes, defined beside the
/// code that decides them.
pub fn command() -> clap::Command {
    Cli::command().mut_subcommand("doctor", |c| c.after_help(crate::doctor::EXIT_CODES_HELP))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Audit a source and its clone targets (or re-audit a saved evidence file offline).
    Audit(AuditArgs),
    /// Render a saved evidence file or JSON report into other formats, offline.
    Render(RenderArgs),
    /// Audit the embedded sample estate: no network, ignores preclone.toml.
    Demo(DemoArgs),
    /// Can we log in and read every table the audit needs? Prints a matrix.
    Doctor(DoctorArgs),
    /// List the check catalogue.
    Checks(ChecksArgs),
    /// Rationale, how it is decided and remediation of one check.
    Explain(ExplainArgs),
    /// Write a commented preclone.toml in the current directory.
    Init(InitArgs),
    /// Print a shell completion script, e.g. `preclone completions bash > /etc/bash_completion.d/preclone`.
    Completions(CompletionsArgs),
    /// Audit, then write the missing preservers as an XML file to review and import on the source (never writes to an instance).
    Fix(FixArgs),
}

/// Options that shape the reports and the gate, shared by `audit` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct ReportArgs {
    /// Write a report; the format follows the extension (.html .csv .json .xml .md). Repeatable.
    #[arg(short = 'o', long = "output", value_name = "PATH")]
    pub output: Vec<PathBuf>,
    /// What stdout gets (default: console).
    #[arg(long, value_name = "FORMAT")]
    pub format: Option<Format>,
    /// The lowest severity that fails the run (default: high for audit, never for demo).
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<FailOn>,
    /// Exit 0 rather than 2 when some checks could not be decided.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// A TOML file of accepted risks.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Colour the console report: auto (on a terminal, unless NO_COLOR; CLICOLOR_FORCE forces it), always or never.
    #[arg(long, value_name = "WHEN", value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// Show only fails and errors in the console and Markdown (the other formats stay whole).
    #[arg(long)]
    pub only_failed: bool,
    /// Print nothing on stdout.
    #[arg(short, long)]
    pub quiet: bool,
    /// Never show progress on stderr.
    #[arg(long)]
    pub no_progress: bool,
    #[command(flatten)]
    pub baseline: BaselineArgs,
}

/// `--baseline` and `--gate-on`, shared by `audit`, `demo` and `render`.
#[derive(Debug, Clone, Args)]
pub struct BaselineArgs {
    /// The JSON report of an earlier run of the same audit: marks each fail or error new, unchanged or resolved since then.
    #[arg(long, value_name = "PREVIOUS.json")]
    pub baseline: Option<PathBuf>,
    /// With --baseline: fail the gate on every unwaived fail (all, the default) or only on those new since the baseline (new). Errors still give exit 2.
    #[arg(long, value_name = "WHICH", value_enum, requires = "baseline")]
    pub gate_on: Option<GateOn>,
}

#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The instance cloned from: a name in the config, or an https:// URL.
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present_any = ["evidence", "pairs"],
        conflicts_with = "evidence"
    )]
    pub source: Option<String>,
    /// An instance cloned over (repeatable).
    #[arg(
        long = "target",
        value_name = "NAME",
        required_unless_present_any = ["evidence", "pairs"],
        conflicts_with = "evidence"
    )]
    pub targets: Vec<String>,
    /// The config's pairs to audit as a fleet (every one when none is named).
    #[arg(
        long,
        help = "Audit the config's [[pair]]s (every one, or those named) concurrently; -o and \
                --save-evidence paths hold {pair}, which each pair's name replaces",
        value_name = "PAIR",
        num_args = 0..,
        conflicts_with_all = ["source", "targets", "evidence"]
    )]
    pub pairs: Option<Vec<String>>,
    /// Re-audit a saved evidence file offline instead of reading instances.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// The config file (default ./preclone.toml).
    #[arg(long, value_name = "FILE", env = "PRECLONE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Write the collected evidence to this file (JSON). Not with --evidence, which reads none.
    #[arg(long, value_name = "FILE", conflicts_with = "evidence")]
    pub save_evidence: Option<PathBuf>,
    /// Per-request timeout, e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Concurrent requests per instance (1-64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: Option<u16>,
    #[command(flatten)]
    pub report: ReportArgs,
}

/// `preclone fix`: the instance options of `audit`, the XML file to write, and the gate that
/// decides whether "nothing to fix" can be said.
#[derive(Debug, Args)]
pub struct FixArgs {
    /// The instance cloned from, where the records are imported: a name in the config, or an https:// URL.
    #[arg(
        long,
        value_name = "NAME",
        required_unless_present = "evidence",
        conflicts_with = "evidence"
    )]
    pub source: Option<String>,
    /// A clone target whose MID users, certificate logins and clusters the records keep (repeatable).
    #[arg(
        long = "target",
        value_name = "NAME",
        required_unless_present = "evidence",
        conflicts_with = "evidence"
    )]
    pub targets: Vec<String>,
    /// Plan the fix from a saved evidence file instead of reading instances.
    #[arg(long, value_name = "FILE")]
    pub evidence: Option<PathBuf>,
    /// The config file (default ./preclone.toml).
    #[arg(long, value_name = "FILE", env = "PRECLONE_CONFIG")]
    pub config: Option<PathBuf>,
    /// The XML file to write (the platform's list export); what each record does goes beside it, with .md.
    #[arg(short = 'o', long = "output", value_name = "FILE.xml")]
    pub output: PathBuf,
    /// Per-request timeout, e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// Concurrent requests per instance (1-64).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: Option<u16>,
    /// The lowest severity of an undecided result that keeps fix from saying "nothing to fix" (default: high).
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<FailOn>,
    /// Say "nothing to fix" (exit 0) even when some results could not be decided.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// A TOML file of accepted risks: a waived finding is not fixed.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Print nothing on stdout.
    #[arg(short, long)]
    pub quiet: bool,
    /// Never show progress on stderr.
    #[arg(long)]
    pub no_progress: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// A saved evidence file or JSON report.
    pub file: PathBuf,
    /// Where to write; the format follows the extension. Repeatable.
    #[arg(short = 'o', long = "output", value_name = "PATH", required = true)]
    pub output: Vec<PathBuf>,
    /// The gate to apply when FILE is evidence (default: high).
    #[arg(long, value_name = "LEVEL")]
    pub fail_on: Option<FailOn>,
    /// A TOML file of accepted risks, when FILE is evidence.
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    #[command(flatten)]
    pub baseline: BaselineArgs,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub report: ReportArgs,
    /// Also write the sample estate's evidence to this file.
    #[arg(long, value_name = "FILE")]
    pub save_evidence: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// The config file (default ./preclone.toml).
    #[arg(long, value_name = "FILE", env = "PRECLONE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Instances to check (default: every instance in the config).
    pub names: Vec<String>,
    /// Per-request timeout, e.g. 30s.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// What stdout gets: the matrix as a table (console) or as JSON.
    #[arg(long, value_name = "FORMAT", value_enum, default_value_t = DoctorFormat::Console)]
    pub format: DoctorFormat,
}

/// `doctor --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DoctorFormat {
    Console,
    Json,
}

#[derive(Debug, Args)]
pub struct ChecksArgs {
    /// Print the catalogue as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// A check id, e.g. mid-user-not-preserved.
    pub check_id: String,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to write (default ./preclone.toml). An existing file is never overwritten.
    #[arg(long, value_name = "FILE", default_value = "preclone.toml")]
    pub path: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell: bash, zsh, fish, powershell or elvish.
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// A timeout: a duration longer than zero.
fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    match humantime::parse_duration(s) {
        Ok(d) if d.is_zero() => Err("a timeout must be longer than zero, e.g. 30s or 2m".into()),
        Ok(d) => Ok(d),
        Err(e) => Err(format!("{s:?} is not a duration like 30s or 2m: {e}")),
    }
}
