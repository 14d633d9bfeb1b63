//! `preclone audit`: settings → collect (or read saved evidence) → `verdict::judge` → reports.
//! Also what `demo` and `render` share with it: the output targets checked up front, the
//! waivers, and the evidence file read and written.

use crate::{env, print_stdout, progress, usage, Failure};
use preclone::cli::{AuditArgs, BaselineArgs, ReportArgs};
use preclone::collect::{self, CollectError, Progress, RunMeta};
use preclone::config::{Config, RunInstances};
use preclone::evidence::{Evidence, EVIDENCE_SCHEMA_VERSION};
use preclone::exit::Exit;
use preclone::finding::FailOn;
use preclone::output::write_atomic;
use preclone::preflight::check_writable;
use preclone::report::baseline::{self, Baseline};
use preclone::report::{self, ColorChoice, ConsoleOptions, Format, Report};
use preclone::settings::{Clock, RunSettings};
use preclone::verdict::{self, GateOptions};
use preclone::waivers::{self, Waiver};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub(crate) fn run(args: AuditArgs) -> Result<Exit, Failure> {
    let outs = outputs(&args.report.output)?;
    check_evidence_path(args.save_evidence.as_deref())?;
    let waivers = load_waivers(args.report.waivers.as_deref())?.unwrap_or_default();
    let baseline = load_baseline(&args.report.baseline)?;
    let config = Config::load(args.config.as_deref()).map_err(usage)?;
    let settings = RunSettings::resolve(&args, &config);
    let clock = Clock::from_env(env).map_err(usage)?;
    let judging = Judging {
        waivers: &waivers,
        fail_on: settings.fail_on,
        clock: &clock,
        args: &args.report,
        baseline: baseline.as_ref(),
    };
    if let Some(path) = &args.evidence {
        let evidence = read_evidence(path)?;
        return finish(&evidence, &judging, &outs, None);
    }
    let run = config
        .resolve_run(
            args.source.as_deref().unwrap_or_default(),
            &args.targets,
            &env,
        )
        .map_err(usage)?;
    if let Some(b) = &baseline {
        // Refused before any request: a baseline of other instances compares nothing.
        let targets = run
            .targets
            .iter()
            .map(|t| (t.name.as_str(), t.url.as_str()));
        b.check_instances((&run.source.name, &run.source.url), targets)
            .map_err(usage)?;
    }
    let quiet = (args.report.no_progress, args.report.quiet);
    let (evidence, access_failure) = collect_live(&run, &settings, &clock, quiet)?;
    save_evidence(args.save_evidence.as_deref(), &evidence)?;
    finish(&evidence, &judging, &outs, access_failure)
}

/// Reads the source and targets of `run` (with the progress display unless `quiet` holds
/// `(no_progress, quiet)` or stderr is no terminal): the evidence, and the reason when an
/// instance refused its first request (the evidence then holds what was read before).
pub(crate) fn collect_live(
    run: &RunInstances,
    settings: &RunSettings,
    clock: &Clock,
    (no_progress, quiet): (bool, bool),
) -> Result<(Evidence, Option<String>), Failure> {
    let RunInstances { source, targets } = run;
    let counters = Arc::new(Progress::default());
    let display = progress::wanted(
        no_progress,
        quiet,
        std::io::stderr().is_terminal(),
        std::env::var_os("CI").is_some(),
    )
    .then(|| progress::Display::start(counters.clone(), 1 + targets.len()));
    let runtime = runtime()?;
    let collected = runtime.block_on(collect::collect_with_progress(
        source,
        targets,
        &settings.client,
        RunMeta {
            run_id: clock.run_id.clone(),
            started_at: clock.started_at,
            tool_version: env!("CARGO_PKG_VERSION").into(),
        },
        counters,
    ));
    if let Some(d) = display {
        d.finish();
    }
    settle(collected, clock)
}

/// What a collection leaves to judge: the evidence (after an access failure, what was collected,
/// with the failure), or, when nothing could be sent at all, the failure (exit 4).
pub(crate) fn settle(
    collected: Result<Evidence, CollectError>,
    clock: &Clock,
) -> Result<(Evidence, Option<String>), Failure> {
    let (mut evidence, access_failure) = match collected {
        Ok(e) => (e, None),
        Err(CollectError::Access {
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
    if clock.is_frozen() {
        evidence.finished_at = clock.started_at;
    }
    Ok((evidence, access_failure))
}

/// The async runtime the reads run on.
pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| usage(format!("starting the async runtime: {e}")))
}

/// How a run judges its evidence: the inputs every report of the run shares.
pub(crate) struct Judging<'a> {
    pub(crate) waivers: &'a [Waiver],
    pub(crate) fail_on: FailOn,
    /// The run's clock: waivers apply by it (an old evidence file does not revive an expired
    /// waiver).
    pub(crate) clock: &'a Clock,
    pub(crate) args: &'a ReportArgs,
    pub(crate) baseline: Option<&'a Baseline>,
}

/// Judges the evidence, applies the waivers by the run's clock, builds the report, compares it
/// with the baseline, writes every output and returns the gate's exit code.
pub(crate) fn finish(
    evidence: &Evidence,
    judging: &Judging,
    outs: &[(PathBuf, Format)],
    access_failure: Option<String>,
) -> Result<Exit, Failure> {
    let report = judge_and_write(evidence, judging, outs, access_failure)?;
    let args = judging.args;
    let format = args.format.unwrap_or(Format::Console);
    let to_stdout = !args.quiet || args.output.iter().any(|p| is_stdout(p));
    if to_stdout {
        print_stdout(&render(&report, format, args.only_failed, args.color)?)?;
    }
    let code = report.gate.exit_code;
    let console_shown = to_stdout && format == Format::Console;
    if let Some(paragraph) = report::exit_paragraph(&report, console_shown) {
        eprintln!("{paragraph}");
    }
    Ok(code)
}

/// The report of `evidence`, written to every output in its format; nothing printed.
pub(crate) fn judge_and_write(
    evidence: &Evidence,
    judging: &Judging,
    outs: &[(PathBuf, Format)],
    access_failure: Option<String>,
) -> Result<Report, Failure> {
    let Judging {
        waivers,
        fail_on,
        clock,
        args,
        baseline,
    } = *judging;
    let gate = GateOptions {
        fail_on,
        allow_incomplete: args.allow_incomplete,
        access_failure,
    };
    let mut report = verdict::judge(evidence, waivers, gate, clock.now());
    compare(&mut report, baseline, &args.baseline)?;
    write_reports(&report, outs, args.only_failed)?;
    Ok(report)
}

/// `-o -`: standard output, which gets the `--format` (console by default), also with `-q`.
pub(crate) fn is_stdout(path: &Path) -> bool {
    path == Path::new("-")
}

/// Output targets, checked before any instance is contacted. `-` (standard output) is left out:
/// it takes the `--format`, and only once.
pub(crate) fn outputs(paths: &[PathBuf]) -> Result<Vec<(PathBuf, Format)>, Failure> {
    if paths.iter().filter(|p| is_stdout(p)).count() > 1 {
        return Err(usage(
            "-o - is given more than once: standard output takes one report (the --format); write the others to files",
        ));
    }
    paths
        .iter()
        .filter(|p| !is_stdout(p))
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

/// Writes the report to every output, each in its format (`only_failed`: the console and
/// Markdown show only fails and errors).
pub(crate) fn write_reports(
    report: &Report,
    outs: &[(PathBuf, Format)],
    only_failed: bool,
) -> Result<(), Failure> {
    for (path, format) in outs {
        // Files are never painted.
        let text = render(report, *format, only_failed, ColorChoice::Never)?;
        write_atomic(path, &text).map_err(usage)?;
    }
    Ok(())
}

/// The report in `format`; with `only_failed`, the console and Markdown get the view of fails
/// and errors only; `color` decides whether the console is painted.
fn render(
    report: &Report,
    format: Format,
    only_failed: bool,
    color: ColorChoice,
) -> Result<String, Failure> {
    let view;
    let shown = if only_failed && report::has_only_failed_view(format) {
        view = report::only_failed(report);
        &view
    } else {
        report
    };
    report::render(shown, format, &console_options(color)).map_err(usage)
}

fn console_options(color: ColorChoice) -> ConsoleOptions {
    let tty = std::io::stdout().is_terminal();
    ConsoleOptions {
        color: color.wanted(tty, env),
        // On a terminal, its width (as comfy-table detects it); otherwise a fixed 100 columns.
        width: if tty {
            comfy_table::Table::new().width()
        } else {
            Some(100)
        },
    }
}

/// Reads `--baseline`, before anything else is read.
pub(crate) fn load_baseline(args: &BaselineArgs) -> Result<Option<Baseline>, Failure> {
    let Some(path) = &args.baseline else {
        return Ok(None);
    };
    baseline::load(path).map(Some).map_err(usage)
}

/// Marks `report` against `baseline`, when there is one, and decides its gate by `--gate-on`.
pub(crate) fn compare(
    report: &mut Report,
    baseline: Option<&Baseline>,
    args: &BaselineArgs,
) -> Result<(), Failure> {
    let Some(b) = baseline else { return Ok(()) };
    baseline::apply(report, b, args.gate_on.unwrap_or_default()).map_err(usage)
}

pub(crate) fn load_waivers(path: Option<&Path>) -> Result<Option<Vec<Waiver>>, Failure> {
    let Some(path) = path else { return Ok(None) };
    waivers::load(path).map(Some).map_err(usage)
}

/// Refuses an evidence path that cannot be written, before anything is read.
pub(crate) fn check_evidence_path(path: Option<&Path>) -> Result<(), Failure> {
    match path {
        Some(p) if is_stdout(p) => Err(usage(
            "--save-evidence -: evidence is written to a file, not to standard output",
        )),
        Some(p) => check_writable("--save-evidence", p).map_err(usage),
        None => Ok(()),
    }
}

pub(crate) fn save_evidence(path: Option<&Path>, evidence: &Evidence) -> Result<(), Failure> {
    if let Some(p) = path {
        let text = serde_json::to_string_pretty(evidence).map_err(usage)?;
        write_atomic(p, &text).map_err(usage)?;
    }
    Ok(())
}

pub(crate) fn read_evidence(path: &Path) -> Result<Evidence, Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| usage(format!("cannot read evidence file {}: {e}", path.display())))?;
    let value = serde_json::from_str(&text).map_err(|e| not_evidence(path, e))?;
    parse_evidence(value, path)
}

fn not_evidence(path: &Path, why: impl std::fmt::Display) -> Failure {
    usage(format!(
        "{} is not a preclone evidence file ({why}); write one with `preclone audit --save-evidence FILE`",
        path.display()
    ))
}

/// A saved evidence file, refused unless it is of this build's schema and complete. The version
/// is read before the shape: an older file may no longer deserialise, and is still named as
/// older rather than as malformed.
pub(crate) fn parse_evidence(value: serde_json::Value, path: &Path) -> Result<Evidence, Failure> {
    let version = value
        .get("schema_version")
        .ok_or_else(|| not_evidence(path, "it has no schema_version"))?;
    if version.as_u64() != Some(u64::from(EVIDENCE_SCHEMA_VERSION)) {
        return Err(usage(format!(
            "{} has evidence schema {version}, this preclone reads schema {EVIDENCE_SCHEMA_VERSION}: collect it again with `preclone audit --save-evidence`",
            path.display(),
        )));
    }
    let ev: Evidence = {
        // Role and membership rows share their users, roles and groups, as when collected.
        let _pool = preclone::shared_text::Pool::new();
        serde_json::from_value(value).map_err(|e| not_evidence(path, e))?
    };
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
