//! The `preclone` binary: parse arguments, run, map the outcome to an exit code. The only place
//! that prints.

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::{CommandFactory, FromArgMatches};
use is_terminal::IsTerminal;
use preclone::checks::{self, CATALOGUE};
use preclone::cli::{self, Cli, Command, ReportArgs};
use preclone::collect::{self, RunMeta};
use preclone::config::{ClientSettings, Config, RunInstances};
use preclone::evidence::{Evidence, EVIDENCE_SCHEMA_VERSION};
use preclone::exit::Exit;
use preclone::finding::FailOn;
use preclone::output::write_atomic;
use preclone::preflight::check_writable;
use preclone::report::{self, ConsoleOptions, Format, Report};
use preclone::verdict::{self, GateOptions};
use preclone::waivers::{self, Waiver};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// A failure that ends the run with a documented exit code and one paragraph on stderr.
#[derive(Debug)]
struct Failure {
    code: Exit,
    message: String,
}

fn usage(message: impl std::fmt::Display) -> Failure {
    Failure {
        code: Exit::Usage,
        message: message.to_string(),
    }
}

fn main() -> ExitCode {
    // `doctor --help` lists its exit codes, defined beside the code that decides them.
    let command = Cli::command().mut_subcommand("doctor", |c| {
        c.after_help(preclone::doctor::EXIT_CODES_HELP)
    });
    let cli = match command.try_get_matches().and_then(|mut m| {
        Cli::from_arg_matches_mut(&mut m).map_err(|e| e.format(&mut Cli::command()))
    }) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                Exit::Usage
            } else {
                Exit::Pass
            };
            let _ = e.print();
            return code.into();
        }
    };
    init_logging(cli.verbose);
    match run(cli) {
        Ok(code) => ExitCode::from(code),
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

fn run(cli: Cli) -> Result<u8, Failure> {
    match cli.command {
        Command::Audit(args) => audit(args),
        Command::Render(args) => render_cmd(args),
        Command::Demo(args) => demo(args),
        Command::Doctor(args) => doctor(args),
        Command::Checks(args) => {
            let mut out = String::new();
            if args.json {
                out = serde_json::to_string_pretty(CATALOGUE).map_err(usage)? + "\n";
            } else {
                for c in CATALOGUE {
                    out.push_str(&format!(
                        "{:<34} {:<9} {}\n",
                        c.id.as_str(),
                        c.severity.as_str(),
                        c.title
                    ));
                }
            }
            print_stdout(&out);
            Ok(0)
        }
        Command::Explain(args) => match checks::find(&args.check_id) {
            Some(c) => {
                print_stdout(&format!(
                    "{id}  ({sev}{max})\n{title}\nFamily: {fam}\n\nWhy it matters\n  {why}\n\nHow it is decided\n  {how}\n\nWhat to do\n  {fix}\n",
                    id = c.id,
                    sev = c.severity,
                    max = if c.max_severity != c.severity { format!(", up to {}", c.max_severity) } else { String::new() },
                    title = c.title,
                    fam = c.family.title(),
                    why = c.rationale,
                    how = c.decided,
                    fix = c.remediation,
                ));
                Ok(0)
            }
            None => Err(usage(format!(
                "unknown check id {:?}. Run `preclone checks` to list the {} checks.",
                args.check_id,
                CATALOGUE.len()
            ))),
        },
        Command::Init(args) => init(&args.path),
    }
}

fn print_stdout(s: &str) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(s.as_bytes());
    let _ = out.flush();
}

fn init(path: &Path) -> Result<u8, Failure> {
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
    Ok(0)
}

/// The run's clock and id: `PRECLONE_FROZEN_TIME` (RFC 3339) freezes both.
fn clock() -> Result<(DateTime<Utc>, String, bool), Failure> {
    match std::env::var("PRECLONE_FROZEN_TIME") {
        Ok(v) if !v.trim().is_empty() => {
            let t = DateTime::parse_from_rfc3339(v.trim())
                .map_err(|e| usage(format!("PRECLONE_FROZEN_TIME={v:?} is not an RFC 3339 time ({e}); use e.g. 2026-11-24T09:12:00Z")))?
                .with_timezone(&Utc);
            Ok((t, format!("frozen-{}", t.format("%Y%m%dT%H%M%SZ")), true))
        }
        _ => {
            let now = Utc::now();
            let id = format!(
                "{}-{:04x}",
                now.format("%Y%m%dT%H%M%S"),
                (now.timestamp_subsec_nanos() ^ std::process::id()) & 0xffff
            );
            Ok((now, id, false))
        }
    }
}

/// Output targets checked before any instance is contacted.
fn outputs(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Format)>, Failure> {
    paths
        .iter()
        .map(|p| {
            check_writable("-o", p).map_err(usage)?;
            Format::from_extension(p).map(|f| (p.clone(), f)).ok_or_else(|| {
                usage(format!(
                    "cannot tell the report format of {}: use .html, .csv, .json, .xml (JUnit) or .md",
                    p.display()
                ))
            })
        })
        .collect()
}

fn load_waivers(path: Option<&Path>) -> Result<Option<Vec<Waiver>>, Failure> {
    let Some(path) = path else { return Ok(None) };
    waivers::load(path).map(Some).map_err(usage)
}

/// Judges the evidence, applies waivers, builds the report, writes every output and returns the
/// gate's exit code.
fn finish(
    evidence: &Evidence,
    args: &ReportArgs,
    waivers: &[Waiver],
    fail_on: FailOn,
    outs: &[(PathBuf, Format)],
    access_failure: Option<&str>,
) -> Result<u8, Failure> {
    // Waivers expire by the run's clock, so an old evidence file does not revive them.
    let (now, _, _) = clock()?;
    let gate = GateOptions {
        fail_on,
        allow_incomplete: args.allow_incomplete,
        access_failure: access_failure.map(str::to_string),
    };
    let report = verdict::judge(evidence, waivers, gate, now);
    emit(&report, args, outs)?;
    let code = report.gate.exit_code;
    if let Some(why) = access_failure {
        eprintln!(
            "preclone: {why} (exit {code}). Nothing after the first request was read; the reports written say so. Check the URL, the network and the credentials (`preclone doctor`)."
        );
    } else if code != Exit::Pass {
        eprintln!(
            "preclone: {} (exit {code}). {}",
            report.gate.reason,
            if code == Exit::Incomplete {
                "Some tables could not be read: see Coverage, and run `preclone doctor`; --allow-incomplete accepts this."
            } else {
                "See the findings above for what to fix, or waive accepted risks with --waivers."
            }
        );
    }
    Ok(code.code())
}

fn console_options() -> ConsoleOptions {
    let tty = std::io::stdout().is_terminal();
    ConsoleOptions {
        color: tty && std::env::var_os("NO_COLOR").is_none(),
        // On a terminal, its width (as comfy-table detects it); otherwise a fixed 100 columns.
        width: if tty {
            comfy_table::Table::new().width()
        } else {
            Some(100)
        },
    }
}

fn emit(report: &Report, args: &ReportArgs, outs: &[(PathBuf, Format)]) -> Result<(), Failure> {
    let console = console_options();
    for (path, format) in outs {
        let text = report::render(report, *format, &console).map_err(usage)?;
        write_atomic(path, &text).map_err(usage)?;
    }
    if !args.quiet {
        let text = report::render(report, args.format.unwrap_or(Format::Console), &console)
            .map_err(usage)?;
        print_stdout(&text);
    }
    Ok(())
}

fn save_evidence(path: Option<&Path>, evidence: &Evidence) -> Result<(), Failure> {
    if let Some(p) = path {
        let text = serde_json::to_string_pretty(evidence).map_err(usage)?;
        write_atomic(p, &text).map_err(usage)?;
    }
    Ok(())
}

fn read_evidence(path: &Path) -> Result<Evidence, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read evidence file {}: {e}", path.display())))?;
    parse_evidence(&text, path)
}

fn parse_evidence(text: &str, path: &Path) -> Result<Evidence, Failure> {
    let ev: Evidence = serde_json::from_str(text).map_err(|e| {
        usage(format!(
            "{} is not a preclone evidence file ({e}); write one with `preclone audit --save-evidence FILE`",
            path.display()
        ))
    })?;
    if ev.schema_version != EVIDENCE_SCHEMA_VERSION {
        return Err(usage(format!(
            "{} has evidence schema {}, this preclone reads schema {EVIDENCE_SCHEMA_VERSION}",
            path.display(),
            ev.schema_version
        )));
    }
    // Every instance the run names must be in it, or whole check families would go unjudged.
    let missing: Vec<&str> = std::iter::once(&ev.source)
        .chain(&ev.targets)
        .filter(|n| !ev.instances.contains_key(*n))
        .map(String::as_str)
        .collect();
    let gap = if ev.targets.is_empty() {
        Some("it names no target".to_string())
    } else if !missing.is_empty() {
        Some(format!("{} not among its instances", missing.join(", ")))
    } else {
        None
    };
    if let Some(gap) = gap {
        return Err(usage(format!(
            "{} is incomplete evidence ({gap}); collect it again with `preclone audit --save-evidence`",
            path.display()
        )));
    }
    if ev.source().is_some_and(|s| s.clone.is_none()) {
        return Err(usage(format!(
            "{}: the source {} carries no clone set-up (preservers, profiles, exclusions); collect it again with `preclone audit --save-evidence`",
            path.display(),
            ev.source
        )));
    }
    Ok(ev)
}

fn audit(args: cli::AuditArgs) -> Result<u8, Failure> {
    let outs = outputs(&args.report.output)?;
    if let Some(path) = &args.save_evidence {
        check_writable("--save-evidence", path).map_err(usage)?;
    }
    let waivers = load_waivers(args.report.waivers.as_deref())?.unwrap_or_default();
    let config = Config::load(args.config.as_deref()).map_err(usage)?;
    let fail_on = args
        .report
        .fail_on
        .or(config.fail_on)
        .unwrap_or(FailOn::High);
    if let Some(path) = &args.evidence {
        let evidence = read_evidence(path)?;
        return finish(&evidence, &args.report, &waivers, fail_on, &outs, None);
    }
    let env = |k: &str| std::env::var(k).ok();
    let source_name = args.source.clone().unwrap_or_default();
    let RunInstances { source, targets } = config
        .resolve_run(&source_name, &args.targets, &env)
        .map_err(usage)?;
    let defaults = ClientSettings::default();
    let settings = ClientSettings {
        timeout: args.timeout.or(config.timeout).unwrap_or(defaults.timeout),
        concurrency: args
            .concurrency
            .map(usize::from)
            .or(config.concurrency)
            .unwrap_or(defaults.concurrency),
        ..defaults
    };
    let (started_at, run_id, frozen) = clock()?;
    let progress = !args.report.no_progress
        && std::io::stderr().is_terminal()
        && std::env::var_os("CI").is_none();
    if progress {
        eprintln!(
            "preclone: reading {} and {} target(s), read-only…",
            source.name,
            targets.len()
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
        .map_err(|e| usage(format!("{e:#}")))?;
    let collected = runtime.block_on(collect::collect(
        &source,
        &targets,
        &settings,
        RunMeta {
            run_id,
            started_at,
            tool_version: env!("CARGO_PKG_VERSION").into(),
        },
    ));
    let (mut evidence, access_failure) = match collected {
        Ok(e) => (e, None),
        Err(collect::CollectError::Access {
            instance,
            error,
            partial,
        }) => (
            *partial,
            Some(format!("could not read {instance}: {error}")),
        ),
        Err(e) => {
            return Err(Failure {
                code: Exit::Access,
                message: format!("could not read {e}. Nothing was audited."),
            })
        }
    };
    if frozen {
        evidence.finished_at = started_at;
    }
    save_evidence(args.save_evidence.as_deref(), &evidence)?;
    finish(
        &evidence,
        &args.report,
        &waivers,
        fail_on,
        &outs,
        access_failure.as_deref(),
    )
}

fn demo(args: cli::DemoArgs) -> Result<u8, Failure> {
    let outs = outputs(&args.report.output)?;
    if let Some(path) = &args.save_evidence {
        check_writable("--save-evidence", path).map_err(usage)?;
    }
    let (now, run_id, _) = clock()?;
    let evidence = preclone::demo::evidence(now, &run_id);
    let waivers = match load_waivers(args.report.waivers.as_deref())? {
        Some(w) => w,
        None => preclone::demo::waivers(now),
    };
    save_evidence(args.save_evidence.as_deref(), &evidence)?;
    let fail_on = args.report.fail_on.unwrap_or(FailOn::Never);
    finish(&evidence, &args.report, &waivers, fail_on, &outs, None)
}

fn render_cmd(args: cli::RenderArgs) -> Result<u8, Failure> {
    let outs = outputs(&args.output)?;
    let text = std::fs::read_to_string(&args.file)
        .map_err(|e| usage(format!("cannot read {}: {e}", args.file.display())))?;
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        usage(format!(
            "{} is not JSON ({e}): give a saved evidence file or a JSON report",
            args.file.display()
        ))
    })?;
    let report = if value.get("instances").is_some() {
        let evidence = parse_evidence(&text, &args.file)?;
        let waivers = load_waivers(args.waivers.as_deref())?.unwrap_or_default();
        let (now, _, _) = clock()?;
        let gate = GateOptions {
            fail_on: args.fail_on.unwrap_or(FailOn::High),
            allow_incomplete: false,
            access_failure: None,
        };
        verdict::judge(&evidence, &waivers, gate, now)
    } else {
        report::json::parse(&text).map_err(usage)?
    };
    let console = console_options();
    for (path, format) in &outs {
        let text = report::render(&report, *format, &console).map_err(usage)?;
        write_atomic(path, &text).map_err(usage)?;
    }
    Ok(0)
}

fn doctor(args: cli::DoctorArgs) -> Result<u8, Failure> {
    let config = Config::load(args.config.as_deref()).map_err(usage)?;
    let names: Vec<String> = if args.names.is_empty() {
        config.instances.keys().cloned().collect()
    } else {
        args.names.clone()
    };
    if names.is_empty() {
        return Err(usage(
            "no instance to check: name one, or add [instance.NAME] tables to the config (`preclone init` writes an example)",
        ));
    }
    let env = |k: &str| std::env::var(k).ok();
    let instances = config.resolve_all(&names, &env).map_err(usage)?;
    let settings = ClientSettings {
        timeout: args
            .timeout
            .or(config.timeout)
            .unwrap_or(ClientSettings::default().timeout),
        retries: 1,
        ..ClientSettings::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("starting the async runtime: {e}")))?;
    let matrix = runtime.block_on(preclone::doctor::run(&instances, &settings));
    print_stdout(&preclone::doctor::render(&matrix));
    if let Some(why) = preclone::doctor::summary(&matrix) {
        eprintln!("preclone: {why}");
    }
    Ok(preclone::doctor::exit_code(&matrix))
}
