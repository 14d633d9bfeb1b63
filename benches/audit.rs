//! Benchmark: one audit of a source and three targets against fake ServiceNow instances that add
//! latency to every request, at three estate sizes, and a naive per-user baseline beside it.
//!
//! ```sh
//! cargo bench --bench audit                  # everything (about 2 minutes on 2 cores)
//! cargo bench --bench audit -- medium 100    # one estate at one latency
//! cargo bench --bench audit -- naive         # only preclone against the naive baseline
//! PRECLONE_BENCH_LOG=preclone=debug cargo bench --bench audit -- small 300  # every request
//! PRECLONE_BENCH_EVIDENCE=/tmp/large.json cargo bench --bench audit -- large 0  # keep the evidence
//! ```
//!
//! Each row gives the requests, the longest chain of reads each waiting for the one before (in
//! round trips, across instances, from the collector's own record, whose reads are listed below
//! the table), rows and bytes received, the wall time, the floor (the login check and three
//! waves at that latency, plus the wall time of the same audit at 0 ms) and the ratio to it, the
//! checks' time, CPU time and peak RSS.
//!
//! Arguments (or `PRECLONE_BENCH`, the same words separated by spaces) pick cases: estate names
//! (`small`, `medium`, `large`), latencies in milliseconds, and `naive` (preclone against the
//! naive baseline, medium estate at 20 ms). Nothing given: everything. A latency without an
//! estate: every estate; an estate without a latency: 0, 100 and 300 ms. A case predicted to take
//! over 3 minutes is skipped and reported; an audit is stopped after 4 minutes.
//!
//! Three kinds of process, all this binary:
//!
//! - the orchestrator (what `cargo bench` starts) prints the table;
//! - `--serve-fake <estate>` builds the four instances of an estate and serves them with
//!   [`fake::FakeInstance`] until its stdin closes; it takes commands on stdin (`latency <ms>`,
//!   `reset`, `stats`), so one build serves every latency;
//! - `--run-audit <mode> <url>...` runs one audit in a fresh process and prints its figures, so
//!   the peak memory (VmHWM) is that audit's alone, plus the baseline of a process that has only
//!   started its runtime (printed beside it). Modes: `preclone` (collect, then the checks),
//!   `preclone-collect`, `naive-seq` (one request at a time per instance) and `naive-par` (8 at
//!   a time).
//!
//! `cargo test --all-targets` runs this binary without `--bench`; it then does nothing.

// The bench prints its table; the library may not print (clippy.toml).
#![allow(clippy::disallowed_macros)]

#[path = "../tests/e2e/support/big_estate.rs"]
mod big_estate;
#[path = "../tests/e2e/support/estate.rs"]
mod estate;
#[path = "../tests/e2e/support/fake.rs"]
mod fake;

use big_estate::{build_instance, estate, Estate, ESTATES, NAMES};
use fake::{FakeInstance, FakeState, AUDIT_PASSWORD, AUDIT_USER};
use futures::StreamExt;
use preclone::client::{Client, Row, Rows, TableQuery};
use preclone::collect::{self, RunMeta, Trace};
use preclone::config::{Auth, ClientSettings, ResolvedInstance, Secret};
use preclone::finding::{FailOn, Status};
use preclone::tables::*;
use preclone::verdict::{self, GateOptions};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Longest a single audit may take before it is stopped.
const AUDIT_DEADLINE: Duration = Duration::from_secs(240);
/// A case whose predicted wall time exceeds this is skipped (and said so).
const SKIP_OVER: Duration = Duration::from_secs(180);
/// The latency of the naive comparison.
const NAIVE_LATENCY_MS: u64 = 20;
/// Dependent round trips an audit cannot do without: the login check, then three waves (the MID
/// role holders and MID Servers, their users and the preserver evaluations, the groups).
const FLOOR_TRIPS: u64 = 1 + 3;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--serve-fake") => serve_fake(&args[1..]),
        Some("--run-audit") => run_audit(&args[1..]),
        _ if !args.iter().any(|a| a == "--bench") => {
            println!("audit benchmark: run it with `cargo bench --bench audit` (skipped under cargo test)");
            Ok(())
        }
        _ => orchestrate(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("audit benchmark: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------------
// `--serve-fake <estate>`: the four instances, in a process of their own.
// ---------------------------------------------------------------------------------------------

fn serve_fake(args: &[String]) -> Result<(), String> {
    let e = args
        .first()
        .and_then(|n| estate(n))
        .ok_or("--serve-fake needs an estate: small, medium or large")?;
    let started = Instant::now();
    // Two builders at a time (the machine has two cores).
    let mut states: Vec<Option<FakeState>> = (0..NAMES.len()).map(|_| None).collect();
    for pair in [[0usize, 1], [2, 3]] {
        let built: Vec<(usize, FakeState)> = std::thread::scope(|scope| {
            let handles: Vec<_> = pair
                .iter()
                .map(|&k| scope.spawn(move || (k, build_instance(&e, k))))
                .collect();
            handles.into_iter().filter_map(|h| h.join().ok()).collect()
        });
        for (k, s) in built {
            states[k] = Some(s);
        }
    }
    let instances: Vec<FakeInstance> = states
        .into_iter()
        .map(|s| {
            s.map(FakeInstance::start)
                .ok_or("building an instance panicked")
        })
        .collect::<Result<_, _>>()?;
    let urls: Vec<String> = instances.iter().map(FakeInstance::url).collect();
    let mut out = std::io::stdout().lock();
    let say = |out: &mut std::io::StdoutLock, line: String| {
        writeln!(out, "{line}").and_then(|_| out.flush())
    };
    say(
        &mut out,
        format!("ready {} {}", started.elapsed().as_millis(), urls.join(" ")),
    )
    .map_err(|e| e.to_string())?;
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["latency", ms] => {
                let ms: u64 = ms.parse().map_err(|_| format!("bad latency {ms}"))?;
                for i in &instances {
                    i.update(|s| s.faults.latency = Duration::from_millis(ms));
                }
                "ok".to_string()
            }
            ["reset"] => {
                instances.iter().for_each(FakeInstance::clear_requests);
                "ok".to_string()
            }
            ["stats"] => {
                let per: Vec<String> = instances
                    .iter()
                    .map(|i| {
                        format!(
                            "{},{},{}",
                            i.requests().len(),
                            i.rows_sent(),
                            i.bytes_sent()
                        )
                    })
                    .collect();
                format!("stats {}", per.join(" "))
            }
            _ => format!("unknown command {line:?}"),
        };
        say(&mut out, answer).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// The orchestrator's handle on a `--serve-fake` child; killed when dropped.
struct FakeChild {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    urls: Vec<String>,
    build_ms: u64,
}

/// Requests, rows and body bytes one instance served.
#[derive(Clone, Copy, Default, Debug)]
struct Served {
    requests: u64,
    rows: u64,
    bytes: u64,
}

impl FakeChild {
    fn start(e: &Estate) -> Result<FakeChild, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let mut child = Command::new(exe)
            .args(["--serve-fake", e.name])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("starting the fake instances: {e}"))?;
        let stdin = child.stdin.take().ok_or("no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("no stdout")?);
        let mut fc = FakeChild {
            child,
            stdin,
            stdout,
            urls: Vec::new(),
            build_ms: 0,
        };
        let line = fc.read_line()?;
        let mut words = line.split_whitespace();
        if words.next() != Some("ready") {
            return Err(format!("the fake instances said {line:?}"));
        }
        fc.build_ms = words.next().and_then(|w| w.parse().ok()).unwrap_or(0);
        fc.urls = words.map(str::to_string).collect();
        if fc.urls.len() != NAMES.len() {
            return Err(format!("expected {} URLs, got {line:?}", NAMES.len()));
        }
        Ok(fc)
    }

    fn read_line(&mut self) -> Result<String, String> {
        let mut line = String::new();
        match self.stdout.read_line(&mut line) {
            Ok(0) => Err("the fake instances' process ended".to_string()),
            Ok(_) => Ok(line.trim().to_string()),
            Err(e) => Err(e.to_string()),
        }
    }

    fn ask(&mut self, command: &str) -> Result<String, String> {
        writeln!(self.stdin, "{command}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| e.to_string())?;
        self.read_line()
    }

    fn stats(&mut self) -> Result<Vec<Served>, String> {
        let line = self.ask("stats")?;
        let parse = |w: &str| -> Option<Served> {
            let n: Vec<u64> = w.split(',').filter_map(|x| x.parse().ok()).collect();
            (n.len() == 3).then(|| Served {
                requests: n[0],
                rows: n[1],
                bytes: n[2],
            })
        };
        line.strip_prefix("stats ")
            .map(|rest| rest.split_whitespace().filter_map(parse).collect())
            .filter(|v: &Vec<Served>| v.len() == NAMES.len())
            .ok_or(format!("bad stats line {line:?}"))
    }
}

impl Drop for FakeChild {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------------
// `--run-audit <mode> <url>...`: one audit in a fresh process.
// ---------------------------------------------------------------------------------------------

/// `VmRSS` and `VmHWM` (peak) of this process, in KiB, from /proc/self/status (Linux).
fn memory_kib() -> (Option<u64>, Option<u64>) {
    let Ok(text) = std::fs::read_to_string("/proc/self/status") else {
        return (None, None);
    };
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn instance(name: &str, url: &str) -> ResolvedInstance {
    ResolvedInstance {
        name: name.to_string(),
        url: url.to_string(),
        production: Some(name == NAMES[0]),
        auth: Auth::Basic {
            username: AUDIT_USER.to_string(),
            password: Secret::new(AUDIT_PASSWORD.to_string()),
        },
    }
}

/// CPU time (user and system, every thread) of this process so far, in ms, from
/// /proc/self/stat (Linux; clock ticks taken as the usual 100 Hz).
fn cpu_ms() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = text.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
    Some((ticks(11)? + ticks(12)?) * 10)
}

/// What one audit process reports, as `key=value` words on one line.
#[derive(Default, Debug)]
struct AuditFigures {
    /// Collecting the evidence (preclone) or the whole naive audit.
    wall_ms: f64,
    /// Judging the evidence, `verdict::judge`: the checks, the waivers and the report (preclone,
    /// when asked).
    judge_ms: Option<f64>,
    cpu_ms: Option<u64>,
    client_requests: u64,
    /// RSS of the process with its runtime started, before the audit.
    baseline_kib: Option<u64>,
    /// Peak RSS once the evidence is collected, and once it is judged.
    collect_peak_kib: Option<u64>,
    peak_kib: Option<u64>,
    /// MID users found on each instance (preclone) or users read (naive), for a sanity check.
    users: Vec<u64>,
    errors: u64,
    /// Round trips on the longest chain of reads each waiting for the one before (preclone).
    chain: Option<u32>,
    /// That chain, read by read (preclone).
    chain_path: String,
}

impl AuditFigures {
    fn line(&self) -> String {
        let opt = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or("-".into());
        format!(
            "figures wall_ms={:.1} judge_ms={} cpu_ms={} client_requests={} baseline_kib={} \
             collect_peak_kib={} peak_kib={} users={} errors={} chain={}",
            self.wall_ms,
            self.judge_ms
                .map(|ms| format!("{ms:.1}"))
                .unwrap_or("-".into()),
            opt(self.cpu_ms),
            self.client_requests,
            opt(self.baseline_kib),
            opt(self.collect_peak_kib),
            opt(self.peak_kib),
            self.users
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
            self.errors,
            self.chain.map(|c| c.to_string()).unwrap_or("-".into()),
        )
    }

    fn parse(line: &str) -> Option<AuditFigures> {
        let rest = line.strip_prefix("figures ")?;
        let kv: BTreeMap<&str, &str> = rest
            .split_whitespace()
            .filter_map(|w| w.split_once('='))
            .collect();
        let opt = |k: &str| kv.get(k).and_then(|v| v.parse().ok());
        Some(AuditFigures {
            wall_ms: kv.get("wall_ms")?.parse().ok()?,
            judge_ms: kv.get("judge_ms").and_then(|v| v.parse().ok()),
            cpu_ms: opt("cpu_ms"),
            client_requests: kv.get("client_requests")?.parse().ok()?,
            baseline_kib: opt("baseline_kib"),
            collect_peak_kib: opt("collect_peak_kib"),
            peak_kib: opt("peak_kib"),
            users: kv
                .get("users")?
                .split(',')
                .filter_map(|v| v.parse().ok())
                .collect(),
            errors: kv.get("errors")?.parse().ok()?,
            chain: kv.get("chain").and_then(|v| v.parse().ok()),
            chain_path: String::new(),
        })
    }
}

fn run_audit(args: &[String]) -> Result<(), String> {
    let (mode, urls) = args
        .split_first()
        .ok_or("--run-audit needs a mode and URLs")?;
    if urls.len() != NAMES.len() {
        return Err(format!("--run-audit needs {} URLs", NAMES.len()));
    }
    let all: Vec<ResolvedInstance> = NAMES
        .iter()
        .zip(urls)
        .map(|(n, u)| instance(n, u))
        .collect();
    if let Ok(filter) = std::env::var("PRECLONE_BENCH_LOG") {
        // Every request with its time, to see the waves: PRECLONE_BENCH_LOG=preclone=debug.
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .init();
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let settings = ClientSettings::default();
    let baseline_kib = memory_kib().0;
    let mut figures = AuditFigures {
        baseline_kib,
        ..AuditFigures::default()
    };
    let started = Instant::now();
    match mode.as_str() {
        "preclone" | "preclone-collect" => {
            let meta = RunMeta {
                run_id: "bench".to_string(),
                started_at: chrono::Utc::now(),
                tool_version: env!("CARGO_PKG_VERSION").to_string(),
            };
            let trace = Arc::new(Trace::default());
            let evidence = runtime
                .block_on(collect::collect_traced(
                    &all[0],
                    &all[1..],
                    &settings,
                    meta,
                    trace.clone(),
                ))
                .map_err(|e| format!("the audit failed: {e}"))?;
            figures.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
            figures.collect_peak_kib = memory_kib().1;
            figures.chain = Some(trace.depth());
            figures.chain_path = collect::describe(&trace.deepest());
            if let Ok(path) = std::env::var("PRECLONE_BENCH_EVIDENCE") {
                // To judge the same evidence again offline (`preclone audit --evidence`), e.g.
                // under a profiler: written once collected, after the figures of collecting.
                let file = std::fs::File::create(&path).map_err(|e| format!("{path}: {e}"))?;
                serde_json::to_writer(std::io::BufWriter::new(file), &evidence)
                    .map_err(|e| format!("{path}: {e}"))?;
            }
            figures.client_requests = evidence.requests;
            if mode == "preclone" {
                // The whole stage that decides the exit code: every check, the waivers, the report.
                let gate = GateOptions {
                    fail_on: FailOn::High,
                    allow_incomplete: false,
                    access_failure: None,
                };
                let judged = Instant::now();
                let report = verdict::judge(&evidence, &[], gate, chrono::Utc::now());
                figures.judge_ms = Some(judged.elapsed().as_secs_f64() * 1000.0);
                figures.errors = report
                    .results
                    .iter()
                    .filter(|r| r.status == Status::Error)
                    .count() as u64;
            } else {
                figures.errors = evidence_errors(&evidence);
            }
            figures.users = NAMES
                .iter()
                .map(|n| {
                    evidence
                        .instances
                        .get(*n)
                        .and_then(|i| i.users.get())
                        .map_or(0, |u| u.len() as u64)
                })
                .collect();
            drop(evidence);
        }
        "naive-seq" | "naive-par" => {
            let parallel = if mode == "naive-seq" {
                1
            } else {
                settings.concurrency
            };
            let clients: Vec<Client> = all
                .iter()
                .map(|ri| Client::new(ri, &settings))
                .collect::<Result<_, _>>()
                .map_err(|e| e.to_string())?;
            let out = runtime.block_on(naive(&clients, parallel));
            figures.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
            figures.client_requests = clients.iter().map(Client::requests_sent).sum();
            figures.users = out.users;
            figures.errors = out.errors;
        }
        other => return Err(format!("unknown audit mode {other}")),
    }
    figures.peak_kib = memory_kib().1;
    figures.cpu_ms = cpu_ms();
    println!("{}", figures.line());
    if !figures.chain_path.is_empty() {
        println!("chain {}", figures.chain_path);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The naive baseline: the same facts, read one user (and one preserver per user) at a time.
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct NaiveOut {
    users: Vec<u64>,
    errors: u64,
}

/// Runs `queries` on one instance, `parallel` at a time (1: one after another, as a plain loop
/// does); a failed query counts as an error and reads as no rows.
async fn run_all(
    client: &Client,
    queries: Vec<TableQuery>,
    parallel: usize,
    errors: &mut u64,
) -> Vec<Vec<Row>> {
    let results: Vec<Result<Rows, _>> =
        futures::stream::iter(queries.iter().map(|q| client.fetch(q)))
            .buffered(parallel.max(1))
            .collect()
            .await;
    results
        .into_iter()
        .map(|r| match r {
            Ok(rows) => rows.rows,
            Err(_) => {
                *errors += 1;
                Vec::new()
            }
        })
        .collect()
}

/// A read of `t` asking for the fields the audit asks for.
fn q(t: &Table, query: impl Into<String>) -> TableQuery {
    TableQuery::new(t.name, query, t.fields)
}

fn col(rows: &[Row], field: &str) -> BTreeSet<String> {
    rows.iter()
        .filter_map(|r| r.get(field))
        .filter(|v| !v.is_empty())
        .cloned()
        .collect()
}

/// What the first step of the naive audit read on one instance.
struct NaiveFirst {
    holder_ids: BTreeSet<String>,
    holder_names: BTreeSet<String>,
    logins: BTreeSet<String>,
    contains: Vec<Row>,
    preservers: Vec<Row>,
}

async fn naive_first(c: &Client, source: bool, parallel: usize, errors: &mut u64) -> NaiveFirst {
    // The first read of each table, as the audit makes it.
    let first = |t: &Table| q(t, t.probe);
    let mut qs = vec![
        first(&SYS_USER_ROLE),
        first(&SYS_USER_HAS_ROLE),
        first(&ECC_AGENT),
        first(&ECC_AGENT_CONFIG),
        first(&SYS_PROPERTIES),
        first(&SYS_USER_ROLE_CONTAINS),
    ];
    if source {
        qs.extend(
            [
                &CLONE_DATA_PRESERVER,
                &CLONE_PROFILE,
                &CLONE_PROFILE_PRESERVERS,
                &CLONE_DATA_EXCLUDE,
                &CLONE_INSTANCE,
            ]
            .map(first),
        );
    }
    // The MID Servers' clusters and issues, whole, as the audit reads them (after the rest, so
    // the positions above hold).
    qs.extend(
        [
            &ECC_AGENT_CLUSTER,
            &ECC_AGENT_CLUSTER_MEMBER,
            &ECC_AGENT_ISSUE,
        ]
        .map(first),
    );
    let r = run_all(c, qs, parallel, errors).await;
    let empty = Vec::new();
    let at = |i: usize| r.get(i).unwrap_or(&empty);
    let mut logins = col(at(2), "user_name");
    // The configured users, not the pinned versions read with them.
    let configured: Vec<Row> = at(3)
        .iter()
        .filter(|r| {
            r.get("param_name")
                .is_some_and(|p| p == "mid.instance.username")
        })
        .cloned()
        .collect();
    logins.extend(col(&configured, "value"));
    NaiveFirst {
        holder_ids: col(at(1), "user"),
        holder_names: col(at(1), "user.user_name"),
        logins,
        contains: at(5).clone(),
        preservers: at(6).clone(),
    }
}

/// The rest of the naive audit on one instance: every user, its roles and memberships one user
/// at a time; every group and its roles one group at a time; the role hierarchy one role at a
/// time; and (targets) every preserver evaluated one MID user at a time.
async fn naive_rest(
    c: &Client,
    first: &NaiveFirst,
    extra_names: &BTreeSet<String>,
    preservers: &[Row],
    parallel: usize,
    errors: &mut u64,
) -> u64 {
    let mut qs = Vec::new();
    for uid in &first.holder_ids {
        qs.push(q(&SYS_USER, format!("sys_id={uid}")));
        qs.push(q(&SYS_USER_HAS_ROLE, format!("user={uid}")));
        qs.push(q(&SYS_USER_GRMEMBER, format!("user={uid}")));
    }
    let names: BTreeSet<&String> = first
        .logins
        .iter()
        .chain(extra_names)
        .filter(|n| !first.holder_names.contains(*n))
        .collect();
    for n in names {
        qs.push(q(&SYS_USER, format!("user_name={n}")));
        qs.push(q(&SYS_USER_HAS_ROLE, format!("user.user_name={n}")));
        qs.push(q(&SYS_USER_GRMEMBER, format!("user.user_name={n}")));
    }
    let r = run_all(c, qs, parallel, errors).await;
    let mut users = BTreeSet::new();
    let mut groups = BTreeSet::new();
    for chunk in r.chunks(3) {
        if let Some(u) = chunk.first() {
            users.extend(col(u, "sys_id"));
        }
        if let Some(m) = chunk.get(2) {
            groups.extend(col(m, "group"));
        }
    }
    // Groups, their roles and their parents, one group at a time.
    let mut seen = BTreeSet::new();
    let mut frontier = groups;
    while !frontier.is_empty() {
        let mut qs = Vec::new();
        for g in &frontier {
            qs.push(q(&SYS_USER_GROUP, format!("sys_id={g}")));
            qs.push(q(&SYS_GROUP_HAS_ROLE, format!("group={g}")));
        }
        seen.extend(frontier.iter().cloned());
        let r = run_all(c, qs, parallel, errors).await;
        frontier = r
            .iter()
            .step_by(2)
            .flat_map(|rows| col(rows, "parent"))
            .filter(|p| !seen.contains(p))
            .collect();
    }
    // Roles containing mid_server, one role at a time.
    let mut known: BTreeSet<String> = col(&first.contains, "contains");
    let mut frontier: BTreeSet<String> = col(&first.contains, "role");
    while !frontier.is_empty() {
        known.extend(frontier.iter().cloned());
        let qs = frontier
            .iter()
            .map(|r| q(&SYS_USER_ROLE_CONTAINS, format!("contains={r}")))
            .collect();
        let r = run_all(c, qs, parallel, errors).await;
        frontier = r
            .iter()
            .flat_map(|rows| col(rows, "role"))
            .filter(|r| !known.contains(r))
            .collect();
    }
    // Preservers, one MID user at a time, and how much of each table they match.
    let mut qs = Vec::new();
    let mut counts = Vec::new();
    for p in preservers {
        let (Some(table), Some(cond)) = (p.get("table"), p.get("condition")) else {
            continue;
        };
        let field = match table.as_str() {
            "sys_user" => "sys_id",
            "sys_user_has_role" | "sys_user_grmember" => "user",
            _ => continue,
        };
        for uid in &users {
            qs.push(TableQuery::new(
                table,
                format!("{cond}^{field}={uid}"),
                &["sys_id"],
            ));
        }
        counts.push((table.clone(), cond.clone()));
    }
    run_all(c, qs, parallel, errors).await;
    let counted: Vec<_> = futures::stream::iter(counts.iter().map(|(t, cond)| c.count(t, cond)))
        .buffered(parallel.max(1))
        .collect()
        .await;
    *errors += counted.iter().filter(|r| r.is_err()).count() as u64;
    users.len() as u64
}

async fn naive(clients: &[Client], parallel: usize) -> NaiveOut {
    let mut errors = vec![0u64; clients.len()];
    let firsts = futures::future::join_all(
        clients
            .iter()
            .zip(errors.iter_mut())
            .enumerate()
            .map(|(i, (c, e))| naive_first(c, i == 0, parallel, e)),
    )
    .await;
    let target_names: BTreeSet<String> = firsts[1..]
        .iter()
        .flat_map(|f| f.logins.iter().chain(&f.holder_names).cloned())
        .collect();
    let preservers = firsts[0].preservers.clone();
    let none = BTreeSet::new();
    let users = futures::future::join_all(
        clients
            .iter()
            .zip(&firsts)
            .zip(errors.iter_mut())
            .enumerate()
            .map(|(i, ((c, f), e))| {
                let (extra, pres): (&BTreeSet<String>, &[Row]) = if i == 0 {
                    (&target_names, &[])
                } else {
                    (&none, &preservers)
                };
                naive_rest(c, f, extra, pres, parallel, e)
            }),
    )
    .await;
    NaiveOut {
        users,
        errors: errors.iter().sum(),
    }
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.
// ---------------------------------------------------------------------------------------------

struct Case {
    estate: Estate,
    mode: &'static str,
    latency_ms: u64,
    figures: AuditFigures,
    served: Vec<Served>,
}

/// Runs one audit in a child process, stopped after [`AUDIT_DEADLINE`].
fn audit_child(mode: &str, urls: &[String]) -> Result<AuditFigures, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg("--run-audit")
        .arg(mode)
        .args(urls)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting the audit: {e}"))?;
    let deadline = Instant::now() + AUDIT_DEADLINE;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{mode} audit stopped after {AUDIT_DEADLINE:?}"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(e.to_string()),
        }
    }
    let mut text = String::new();
    if let Some(mut out) = child.stdout.take() {
        std::io::Read::read_to_string(&mut out, &mut text).map_err(|e| e.to_string())?;
    }
    let mut figures = text
        .lines()
        .find_map(AuditFigures::parse)
        .ok_or_else(|| format!("{mode} audit printed no figures: {text:?}"))?;
    if let Some(path) = text.lines().find_map(|l| l.strip_prefix("chain ")) {
        figures.chain_path = path.to_string();
    }
    Ok(figures)
}

fn run_case(
    fake: &mut FakeChild,
    e: &Estate,
    mode: &'static str,
    latency_ms: u64,
) -> Result<Case, String> {
    fake.ask(&format!("latency {latency_ms}"))?;
    fake.ask("reset")?;
    let figures = audit_child(mode, &fake.urls)?;
    let served = fake.stats()?;
    Ok(Case {
        estate: *e,
        mode,
        latency_ms,
        figures,
        served,
    })
}

fn mib(kib: Option<u64>) -> String {
    kib.map(|k| format!("{:.1}", k as f64 / 1024.0))
        .unwrap_or_else(|| "n/a".into())
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_header() {
    println!(
        "| estate | latency | audit | requests (src/t1/t2/t3) | chain | rows | bytes | wall | floor \
         | wall / floor | checks | CPU | peak RSS: collected / judged | baseline RSS |"
    );
    println!("|---|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
}

/// One row of the table. `chain` is the longest chain of reads each waiting for the one before,
/// in round trips across instances (the collector's own record); `floor` is what no schedule
/// can beat: [`FLOOR_TRIPS`] round trips at this latency plus the wall time of the same audit at
/// 0 ms (`wall0_ms`, when it was run).
fn print_case(c: &Case, wall0_ms: Option<f64>) {
    let total = c.served.iter().fold(Served::default(), |a, s| Served {
        requests: a.requests + s.requests,
        rows: a.rows + s.rows,
        bytes: a.bytes + s.bytes,
    });
    let per: Vec<String> = c.served.iter().map(|s| s.requests.to_string()).collect();
    let floor = wall0_ms.map(|w0| w0 + (FLOOR_TRIPS * c.latency_ms) as f64);
    let (floor_text, ratio) = match floor {
        Some(f) => (
            format!("{f:.0} ms"),
            format!("{:.2}", c.figures.wall_ms / f.max(1.0)),
        ),
        None => ("-".to_string(), "-".to_string()),
    };
    let judged = match c.figures.judge_ms {
        Some(ms) => format!("{ms:.0} ms"),
        None => "-".to_string(),
    };
    let peaks = match (c.figures.collect_peak_kib, c.figures.judge_ms) {
        (Some(k), Some(_)) => format!("{} / {} MiB", mib(Some(k)), mib(c.figures.peak_kib)),
        _ => format!("{} MiB / -", mib(c.figures.peak_kib)),
    };
    println!(
        "| {} | {} ms | {} | {} ({}) | {} | {} | {} | {:.0} ms | {} | {} | {} | {} | {} | {} MiB |",
        c.estate.name,
        c.latency_ms,
        c.mode.trim_end_matches("-collect"),
        thousands(total.requests),
        per.join("/"),
        c.figures
            .chain
            .map(|n| n.to_string())
            .unwrap_or_else(|| "-".into()),
        thousands(total.rows),
        thousands(total.bytes),
        c.figures.wall_ms,
        floor_text,
        ratio,
        judged,
        c.figures
            .cpu_ms
            .map(|ms| format!("{ms} ms"))
            .unwrap_or_else(|| "n/a".into()),
        peaks,
        mib(c.figures.baseline_kib),
    );
    if c.figures.errors > 0 {
        println!("  (!) {} results in error / failed reads", c.figures.errors);
    }
}

/// Unreadable facts in the evidence (when the checks were not run to count results in error).
fn evidence_errors(evidence: &preclone::evidence::Evidence) -> u64 {
    evidence
        .instances
        .values()
        .flat_map(|i| i.coverage.iter())
        .filter(|t| t.error.is_some() || t.hidden_rows > 0)
        .count() as u64
}

/// Checks the audit saw the estate: every MID user of every instance (preclone), so a broken
/// collector cannot look fast by reading nothing.
fn sanity(c: &Case) -> Result<(), String> {
    if !c.mode.starts_with("preclone") {
        return Ok(());
    }
    let e = &c.estate;
    // The source also holds the copies of the targets' shared MID users (its own).
    for (k, &n) in c.figures.users.iter().enumerate() {
        if n < e.mid_users {
            return Err(format!(
                "{} found {n} MID users on {}, expected at least {}",
                e.name, NAMES[k], e.mid_users
            ));
        }
    }
    if c.figures.errors > 0 {
        return Err(format!("{} audit had {} errors", e.name, c.figures.errors));
    }
    Ok(())
}

fn orchestrate(args: &[String]) -> Result<(), String> {
    let env = std::env::var("PRECLONE_BENCH").unwrap_or_default();
    let words: Vec<String> = args
        .iter()
        .filter(|a| !a.starts_with("--"))
        .cloned()
        .chain(env.split_whitespace().map(str::to_string))
        .collect();
    let mut estates: Vec<Estate> = words.iter().filter_map(|w| estate(w)).collect();
    let mut latencies: Vec<u64> = words.iter().filter_map(|w| w.parse().ok()).collect();
    let naive_asked = words.iter().any(|w| w == "naive");
    if let Some(w) = words
        .iter()
        .find(|w| estate(w).is_none() && w.parse::<u64>().is_err() && *w != "naive")
    {
        return Err(format!(
            "unknown argument {w:?}: give estates (small, medium, large), latencies in ms, or naive"
        ));
    }
    // Nothing given: everything. `naive` alone: only the comparison. A latency alone: every
    // estate at that latency.
    let run_naive = naive_asked || words.is_empty();
    if estates.is_empty() && (words.is_empty() || !latencies.is_empty()) {
        estates = ESTATES.to_vec();
    }
    if latencies.is_empty() {
        latencies = vec![0, 100, 300];
    }
    latencies.sort_unstable();
    latencies.dedup();
    println!(
        "preclone audit benchmark: 1 source + 3 targets per audit, concurrency {} per instance, \
         fake instances in a child process",
        ClientSettings::default().concurrency
    );
    println!(
        "peak RSS is the VmHWM of the process that ran the audit, which includes the baseline \
         RSS of that process before the audit (binary and runtime)\n"
    );
    let mut skipped = Vec::new();
    for e in &estates {
        let mut fake = FakeChild::start(e)?;
        println!(
            "{}: {} MID users and {} users per instance; the fake instances built in {:.1} s",
            e.name,
            thousands(e.mid_users),
            thousands(e.users),
            fake.build_ms as f64 / 1000.0,
        );
        let mut walls: BTreeMap<u64, f64> = BTreeMap::new();
        let mut judged = false;
        let mut chains = Vec::new();
        print_header();
        for &l in &latencies {
            // Predicted from the runs at 0 ms and at the highest latency so far.
            if let (Some((&l1, &w1)), Some(&w0)) =
                (walls.iter().rev().find(|(&k, _)| k > 0), walls.get(&0))
            {
                let predicted = w0 + (w1 - w0) / l1 as f64 * l as f64;
                if predicted > SKIP_OVER.as_secs_f64() * 1000.0 {
                    skipped.push(format!(
                        "{} at {l} ms skipped: predicted {:.0} s",
                        e.name,
                        predicted / 1000.0
                    ));
                    continue;
                }
            }
            // The checks do not depend on the latency: judged once per estate.
            let mode = if judged {
                "preclone-collect"
            } else {
                "preclone"
            };
            judged = true;
            let c = run_case(&mut fake, e, mode, l)?;
            print_case(
                &c,
                walls
                    .get(&0)
                    .copied()
                    .or((l == 0).then_some(c.figures.wall_ms)),
            );
            sanity(&c)?;
            walls.insert(l, c.figures.wall_ms);
            chains.push(format!("{} at {l} ms: {}", e.name, c.figures.chain_path));
        }
        println!();
        // Which read waited for which on the longest chain (the same at every latency unless
        // a retry or a page made one longer).
        for c in chains {
            println!("deepest chain, {c}");
        }
        println!();
        drop(fake);
    }
    if run_naive {
        let Some(e) = estate("medium") else {
            return Err("no medium estate".into());
        };
        let mut fake = FakeChild::start(&e)?;
        println!(
            "naive baseline: medium estate at {NAIVE_LATENCY_MS} ms, side by side with preclone"
        );
        print_header();
        let ours = run_case(&mut fake, &e, "preclone-collect", NAIVE_LATENCY_MS)?;
        sanity(&ours)?;
        print_case(&ours, None);
        let seq = run_case(&mut fake, &e, "naive-seq", NAIVE_LATENCY_MS)?;
        print_case(&seq, None);
        let par = run_case(&mut fake, &e, "naive-par", NAIVE_LATENCY_MS)?;
        print_case(&par, None);
        let reqs = |c: &Case| c.served.iter().map(|s| s.requests).sum::<u64>() as f64;
        for (label, n) in [
            ("one request at a time", &seq),
            ("8 at a time per instance", &par),
        ] {
            println!(
                "naive ({label}) / preclone: {:.0}x the wall time, {:.0}x the requests",
                n.figures.wall_ms / ours.figures.wall_ms,
                reqs(n) / reqs(&ours)
            );
        }
        println!();
    }
    for s in &skipped {
        println!("{s}");
    }
    Ok(())
}
