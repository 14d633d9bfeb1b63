//! `preclone audit --pairs [NAME ...]`: the config's pairs audited at once. Everything a run
//! could be refused for is checked first, for every pair, before any request; then the pairs
//! are collected concurrently (the reads of a shared source that do not depend on the targets
//! made once, [`FleetReads`]), each judged and written as a standalone audit of that pair
//! would be, and stdout gets one summary line per pair and a total.

use crate::audit::{
    check_evidence_path, judge_and_write, load_baseline, load_waivers, outputs, runtime,
    save_evidence, settle, Judging,
};
use crate::{env, print_stdout, progress, usage, Failure};
use futures::future::join_all;
use preclone::cli::{AuditArgs, BaselineArgs};
use preclone::collect::{self, FleetReads, Progress, RunMeta};
use preclone::config::{Config, ConfigError, PairConfig, RunInstances};
use preclone::exit::Exit;
use preclone::fleet::{self, FleetError, PairOutcome};
use preclone::report::baseline::Baseline;
use preclone::report::Format;
use preclone::settings::{Clock, RunSettings};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;

/// One pair, ready to run: its instances resolved and its files checked.
struct Planned<'a> {
    pair: &'a PairConfig,
    instances: RunInstances,
    outs: Vec<(PathBuf, Format)>,
    evidence: Option<PathBuf>,
    /// The pair's earlier report (`--baseline` with `{pair}` in its path).
    baseline: Option<Baseline>,
}

pub(crate) fn run(args: AuditArgs) -> Result<Exit, Failure> {
    let names = args.pairs.clone().unwrap_or_default();
    refuse_stdout(&args)?;
    let config = Config::load(args.config.as_deref()).map_err(usage)?;
    let pairs = fleet::select(&config, &names).map_err(usage)?;
    let plans = plan(&args, &config, &pairs)?;
    let waivers = load_waivers(args.report.waivers.as_deref())?.unwrap_or_default();
    let settings = RunSettings::resolve(&args, &config);
    let clock = Clock::from_env(env).map_err(usage)?;

    let counters = Arc::new(Progress::default());
    let instances = plans.iter().map(|p| 1 + p.instances.targets.len()).sum();
    let display = progress::wanted(
        args.report.no_progress,
        args.report.quiet,
        std::io::stderr().is_terminal(),
        std::env::var_os("CI").is_some(),
    )
    .then(|| progress::Display::start(counters.clone(), instances));
    let shared = FleetReads::new();
    let collections = plans.iter().map(|p| {
        let meta = RunMeta {
            run_id: clock.run_id.clone(),
            started_at: clock.started_at,
            tool_version: env!("CARGO_PKG_VERSION").into(),
        };
        let RunInstances { source, targets } = &p.instances;
        collect::collect_in_fleet(
            source,
            targets,
            &settings.client,
            meta,
            counters.clone(),
            &shared,
        )
    });
    let collected = runtime()?.block_on(join_all(collections));
    if let Some(d) = display {
        d.finish();
    }

    let mut outcomes = Vec::new();
    for (p, collected) in plans.iter().zip(collected) {
        let outcome = match settle(collected, &clock) {
            Ok((evidence, access_failure)) => {
                save_evidence(p.evidence.as_deref(), &evidence)?;
                let judging = Judging {
                    waivers: &waivers,
                    fail_on: settings.fail_on,
                    clock: &clock,
                    args: &args.report,
                    baseline: p.baseline.as_ref(),
                };
                let report = judge_and_write(&evidence, &judging, &p.outs, access_failure)?;
                PairOutcome::audited(p.pair, &report)
            }
            Err(f) => PairOutcome::not_audited(p.pair, f.code, &f.message),
        };
        outcomes.push(outcome);
    }
    if !args.report.quiet {
        let mut text: String = outcomes.iter().map(|o| format!("{}\n", o.line)).collect();
        text.push_str(&fleet::total_line(&outcomes));
        text.push('\n');
        print_stdout(&text)?;
    }
    if let Some(paragraph) = fleet::exit_paragraph(&outcomes) {
        eprintln!("{paragraph}");
    }
    Ok(fleet::worst(&outcomes))
}

/// Standard output holds the summary: `-o -` and a `--format` other than the console are
/// refused.
fn refuse_stdout(args: &AuditArgs) -> Result<(), Failure> {
    let what = if args
        .report
        .output
        .iter()
        .any(|p| crate::audit::is_stdout(p))
    {
        Some("-o -".to_string())
    } else {
        match args.report.format {
            Some(f) if f != Format::Console => Some(format!("--format {f}")),
            _ => None,
        }
    };
    match what {
        Some(what) => Err(usage(FleetError::Stdout { what })),
        None => Ok(()),
    }
}

/// Every pair's instances resolved and every pair's files checked, each problem of every pair
/// named at once, before any request.
fn plan<'a>(
    args: &AuditArgs,
    config: &Config,
    pairs: &[&'a PairConfig],
) -> Result<Vec<Planned<'a>>, Failure> {
    let n = pairs.len();
    for path in &args.report.output {
        fleet::check_path("-o", path, n).map_err(usage)?;
    }
    if let Some(path) = &args.save_evidence {
        fleet::check_path("--save-evidence", path, n).map_err(usage)?;
    }
    if let Some(path) = &args.report.baseline.baseline {
        fleet::check_path("--baseline", path, n).map_err(usage)?;
    }
    // Each problem once, with the pairs it stops (an instance shared by pairs is named once).
    let mut problems: Vec<(String, Vec<&str>)> = Vec::new();
    let mut plans = Vec::new();
    for pair in pairs {
        match config.resolve_run(&pair.source, &pair.targets, &env) {
            Ok(instances) => plans.push((pair, instances)),
            Err(e) => {
                let each = match e {
                    ConfigError::Run { problems } => problems,
                    e => vec![e],
                };
                for p in each.iter().map(ToString::to_string) {
                    match problems.iter_mut().find(|(q, _)| *q == p) {
                        Some((_, names)) => names.push(&pair.name),
                        None => problems.push((p, vec![&pair.name])),
                    }
                }
            }
        }
    }
    if !problems.is_empty() {
        let list: Vec<String> = (problems.iter())
            .map(|(p, names)| {
                let s = if names.len() == 1 { "" } else { "s" };
                format!("  - {p} (pair{s} {})", names.join(", "))
            })
            .collect();
        return Err(usage(format!(
            "the fleet was refused before any request was sent; {} problem{}:\n{}\nfix {}, then run again",
            list.len(),
            if list.len() == 1 { "" } else { "s" },
            list.join("\n"),
            if list.len() == 1 { "it" } else { "them" },
        )));
    }
    plans
        .into_iter()
        .map(|(pair, instances)| {
            let paths: Vec<PathBuf> = (args.report.output.iter())
                .map(|p| fleet::pair_path(p, &pair.name))
                .collect();
            let evidence = (args.save_evidence.as_deref()).map(|p| fleet::pair_path(p, &pair.name));
            check_evidence_path(evidence.as_deref())?;
            // Each pair compares with its own earlier report, of its own instances.
            let baseline = load_baseline(&BaselineArgs {
                baseline: (args.report.baseline.baseline.as_deref())
                    .map(|p| fleet::pair_path(p, &pair.name)),
                ..args.report.baseline.clone()
            })?;
            if let Some(b) = &baseline {
                let targets = (instances.targets.iter()).map(|t| (t.name.as_str(), t.url.as_str()));
                (b.check_instances((&instances.source.name, &instances.source.url), targets))
                    .map_err(usage)?;
            }
            Ok(Planned {
                pair,
                instances,
                outs: outputs(&paths)?,
                evidence,
                baseline,
            })
        })
        .collect()
}
