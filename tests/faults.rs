//! Fault injection over real HTTP: the real `preclone` binary audits local fake instances that
//! rate-limit, fail, hang, cut bodies off, answer HTML, loop their `Link` headers, hide rows,
//! refuse a table, expire tokens, redirect, or are down. Each case asserts the exit code, the
//! message on stderr, that no check passed on evidence it did not have, a bounded number of
//! requests and a bounded wall time. Faults the fake cannot make by itself (a body cut off
//! mid-stream, a hang on one table, a token endpoint that stops answering) come from a small
//! TCP proxy in front of the fake ([`Proxy`]).
//!
//! Run with `--nocapture` to see the observed exit code and request count of every case.

mod support;

use assert_cmd::Command;
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use support::estate::*;
use support::fake::*;

const PASSWORD_ENV: &str = "PRECLONE_FAULTS_PASSWORD";
const SECRET_ENV: &str = "PRECLONE_FAULTS_SECRET";
/// The safety bound on one case's wall time (not a benchmark).
const WALL: Duration = Duration::from_secs(20);

/// The checks that judge a target's MID users and MID Servers from the simulated clone.
const SURVIVAL: &[&str] = &[
    "mid-user-not-preserved",
    "mid-user-survives-by-source-copy",
    "mid-user-name-collision",
    "mid-role-not-preserved",
    "mid-membership-not-preserved",
    "mid-group-missing-in-source",
    "mid-group-lacks-role-in-source",
    "mid-role-id-differs",
    "mid-server-will-go-down",
];

// ---------------------------------------------------------------------------------------------
// The estate: a production source with the seed preservers, and two targets, each with one MID
// user granted mid_server directly and one MID Server logging in as it.
// ---------------------------------------------------------------------------------------------

fn estate() -> (FakeState, FakeState, FakeState) {
    let mut prod = instance(true);
    mid_user(&mut prod, 100, "mid.prod", "mid-prod-01");
    prod.add_preserver("MID server users", "sys_user", "roles=mid_server");
    prod.add_preserver(
        "MID server user has role",
        "sys_user_has_role",
        "user.roles=mid_server",
    );
    prod.add_preserver(
        "MID server user group membership",
        "sys_user_grmember",
        "user.roles=mid_server",
    );
    let mut dev = instance(false);
    mid_user(&mut dev, 200, "mid.dev", "mid-dev-01");
    let mut test = instance(false);
    mid_user(&mut test, 300, "mid.test", "mid-test-01");
    (prod, dev, test)
}

// ---------------------------------------------------------------------------------------------
// Running the binary.
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
enum AuthKind {
    Basic,
    ClientCredentials,
}

struct Inst {
    name: &'static str,
    url: String,
    production: bool,
    auth: AuthKind,
}

fn inst(name: &'static str, url: String, production: bool) -> Inst {
    Inst {
        name,
        url,
        production,
        auth: AuthKind::Basic,
    }
}

struct Run {
    code: i32,
    report: Value,
    stdout: String,
    stderr: String,
    elapsed: Duration,
}

impl Run {
    fn results(&self, check: &str, instance: &str) -> Vec<&Value> {
        self.report["results"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["check"] == check && r["instance"] == instance)
                    .collect()
            })
            .unwrap_or_default()
    }

    fn status(&self, check: &str, instance: &str, subject: &str) -> String {
        let found: Vec<&Value> = self
            .results(check, instance)
            .into_iter()
            .filter(|r| r["subject"]["name"] == subject)
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{check} {instance} {subject}: {found:?}\n{}",
            self.problems()
        );
        found[0]["status"].as_str().unwrap_or_default().to_string()
    }

    fn message(&self, check: &str, instance: &str, subject: &str) -> String {
        self.results(check, instance)
            .into_iter()
            .find(|r| r["subject"]["name"] == subject)
            .map(|r| r["message"].as_str().unwrap_or_default().to_string())
            .unwrap_or_default()
    }

    /// No result of these checks on `instance` passed, and at least one of them was reported
    /// (an `error` stands where the evidence was missing).
    fn assert_none_passed(&self, instance: &str, checks: &[&str]) {
        let mut reported = 0;
        for c in checks {
            for r in self.results(c, instance) {
                reported += 1;
                assert_ne!(
                    r["status"], "pass",
                    "{c} on {instance} passed on evidence it did not have: {r}"
                );
            }
        }
        assert!(
            reported > 0,
            "no result of {checks:?} on {instance}\n{}",
            self.problems()
        );
    }

    /// `table` on `instance` is reported unreadable, with `reason` in the message.
    fn assert_unreadable(&self, instance: &str, table: &str, reason: &str) {
        assert_eq!(self.status("table-unreadable", instance, table), "error");
        let m = self.message("table-unreadable", instance, table);
        assert!(m.contains(reason), "{instance} {table}: {m}");
    }

    fn problems(&self) -> String {
        self.report["results"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|r| r["status"] != "pass")
                    .map(|r| {
                        format!(
                            "{} {} {} {}: {}",
                            r["status"],
                            r["instance"],
                            r["check"],
                            r["subject"]["name"],
                            r["message"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .unwrap_or_else(|| format!("no report; stderr: {}", self.stderr))
    }
}

fn config(instances: &[Inst]) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for i in instances {
        text.push_str(&format!(
            "[instance.{}]\nurl = \"{}\"\nproduction = {}\n",
            i.name, i.url, i.production
        ));
        text.push_str(&match i.auth {
            AuthKind::Basic => format!(
                "auth = {{ type = \"basic\", username = \"{AUDIT_USER}\", password_env = \"{PASSWORD_ENV}\" }}\n\n"
            ),
            AuthKind::ClientCredentials => format!(
                "auth = {{ type = \"oauth-client-credentials\", client_id = \"{OAUTH_CLIENT_ID}\", client_secret_env = \"{SECRET_ENV}\" }}\n\n"
            ),
        });
    }
    let path = dir.path().join("preclone.toml");
    std::fs::write(&path, text).expect("write config");
    (dir, path)
}

/// `preclone audit` of `instances[0]` (the source) and the rest (targets), JSON on stdout,
/// `--timeout 10s` unless `extra` says otherwise.
fn audit(instances: &[Inst], extra: &[&str]) -> Run {
    let (dir, cfg) = config(instances);
    let mut cmd = Command::cargo_bin("preclone").expect("binary");
    cmd.current_dir(dir.path())
        .env(PASSWORD_ENV, AUDIT_PASSWORD)
        .env(SECRET_ENV, OAUTH_CLIENT_SECRET)
        .env_remove("PRECLONE_FROZEN_TIME")
        .env("CI", "true")
        .arg("audit")
        .arg("--config")
        .arg(&cfg)
        .args(["--source", instances[0].name]);
    for i in &instances[1..] {
        cmd.args(["--target", i.name]);
    }
    cmd.args(["--format", "json"]);
    // A short timeout only where a case is about timeouts, so a loaded machine does not add
    // retries to the exact request counts the other cases assert.
    if !extra.contains(&"--timeout") {
        cmd.args(["--timeout", "10s"]);
    }
    cmd.args(extra);
    let started = Instant::now();
    let out = cmd.output().expect("run preclone");
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let report = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    Run {
        code: out.status.code().unwrap_or(-1),
        report,
        stdout,
        stderr,
        elapsed,
    }
}

/// Prints the observed outcome of a case (shown with `--nocapture`) and checks the bounds.
fn observe(case: &str, run: &Run, requests: usize, max_requests: usize) {
    println!(
        "FAULT-CASE | {case} | exit {} | {requests} requests | {:.1}s",
        run.code,
        run.elapsed.as_secs_f32()
    );
    assert!(
        requests <= max_requests,
        "{case}: {requests} requests, more than the bound {max_requests}"
    );
    assert!(
        run.elapsed < WALL,
        "{case}: took {:?}, more than {WALL:?}",
        run.elapsed
    );
}

fn sent(fakes: &[&FakeInstance]) -> usize {
    fakes.iter().map(|f| f.requests().len()).sum()
}

/// The requests of a healthy audit of the estate: every bound below is a multiple of it.
fn healthy_requests() -> usize {
    static HEALTHY: Mutex<Option<usize>> = Mutex::new(None);
    let mut cached = HEALTHY.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = *cached {
        return n;
    }
    let (prod, dev, test) = estate();
    let (prod, dev, test) = (
        FakeInstance::start(prod),
        FakeInstance::start(dev),
        FakeInstance::start(test),
    );
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
            inst("test", test.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.problems());
    let n = sent(&[&prod, &dev, &test]);
    *cached = Some(n);
    n
}

/// Requests of a healthy audit of the source and one target: (to prod, to dev).
fn healthy_pair() -> (usize, usize) {
    static HEALTHY: Mutex<Option<(usize, usize)>> = Mutex::new(None);
    let mut cached = HEALTHY.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(n) = *cached {
        return n;
    }
    let (prod, dev, _) = estate();
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.problems());
    let n = (prod.requests().len(), dev.requests().len());
    *cached = Some(n);
    n
}

/// Requests of a healthy audit of the source and one target.
fn healthy_pair_requests() -> usize {
    let (prod, dev) = healthy_pair();
    prod + dev
}

/// Uses of an OAuth token after which the fake refuses it, so that the first token of an
/// instance that a healthy audit reads `reads` times expires mid-run and the second never does
/// (a request refused twice in a row fails, by design, so the second must last).
fn uses_for_one_expiry(reads: usize) -> u64 {
    (reads / 2 + 1) as u64
}

/// Every survival check of `target` passes (the healthy outcome of the estate).
fn assert_target_survives(run: &Run, target: &str, user: &str, server: &str) {
    for c in [
        "mid-user-not-preserved",
        "mid-role-not-preserved",
        "mid-user-survives-by-source-copy",
    ] {
        assert_eq!(run.status(c, target, user), "pass", "{}", run.problems());
    }
    assert_eq!(
        run.status("mid-server-will-go-down", target, server),
        "pass",
        "{}",
        run.problems()
    );
}

// ---------------------------------------------------------------------------------------------
// A TCP proxy in front of a fake, for faults below HTTP: bodies cut off mid-stream, hangs on
// chosen requests, an endpoint that stops answering. One request per connection.
// ---------------------------------------------------------------------------------------------

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    target: String,
    /// 1-based arrival number.
    n: u64,
}

enum Act {
    Forward,
    /// Forward, then send the headers and half the body, and close.
    Cut,
    /// Answer nothing for this long, then close.
    Hang(Duration),
    /// Answer this status and JSON body without asking the fake.
    Reply(u16, &'static str),
}

type Rule = Arc<dyn Fn(&Seen) -> Act + Send + Sync>;

struct Proxy {
    url: String,
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Bodies of the answers to `POST /oauth_token.do` that were passed on.
    token_answers: Arc<Mutex<Vec<Vec<u8>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    fn start(upstream: &str, rule: Rule) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let upstream = upstream
            .strip_prefix("http://")
            .unwrap_or(upstream)
            .to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let token_answers: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let count = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, seen, token_answers) = (stop.clone(), seen.clone(), token_answers.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (upstream, rule, seen, tokens, count) = (
                        upstream.clone(),
                        rule.clone(),
                        seen.clone(),
                        token_answers.clone(),
                        count.clone(),
                    );
                    std::thread::spawn(move || {
                        let _ = serve(stream, &upstream, &rule, &seen, &tokens, &count);
                    });
                }
            })
        };
        Proxy {
            url: format!("http://{addr}"),
            addr,
            stop,
            seen,
            token_answers,
            thread: Some(thread),
        }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    rule: &Rule,
    seen: &Mutex<Vec<Seen>>,
    tokens: &Mutex<Vec<Vec<u8>>>,
    count: &AtomicU64,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("connection") {
                continue;
            }
        }
        headers.push(trimmed.to_string());
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let req = Seen {
        method: parts.next().unwrap_or("").to_string(),
        target: parts.next().unwrap_or("").to_string(),
        n: count.fetch_add(1, Ordering::SeqCst) + 1,
    };
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(req.clone());
    let act = rule(&req);
    if let Act::Hang(d) = act {
        std::thread::sleep(d);
        return Ok(());
    }
    if let Act::Reply(status, text) = act {
        let answer = format!(
            "HTTP/1.1 {status} Refused\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        return client.write_all(answer.as_bytes());
    }
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = request_line.clone();
    for h in &headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(answer.len());
    // The answer's head, with `Connection: close` so the client never reuses the connection.
    let head_text = String::from_utf8_lossy(&answer[..split]).to_string();
    let mut out_head: String = head_text
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out_head.push_str("Connection: close\r\n\r\n");
    let answer_body = &answer[split..];
    if req.target.starts_with("/oauth_token.do") {
        tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(answer_body.to_vec());
    }
    client.write_all(out_head.as_bytes())?;
    match act {
        Act::Cut => {
            client.write_all(&answer_body[..answer_body.len() / 2])?;
            client.flush()?;
            client.shutdown(std::net::Shutdown::Both)
        }
        _ => client.write_all(answer_body),
    }
}

fn is_table(req: &Seen, table: &str) -> bool {
    let path = req.target.split('?').next().unwrap_or("");
    path.ends_with(&format!("/table/{table}"))
}

// ---------------------------------------------------------------------------------------------
// The cases.
// ---------------------------------------------------------------------------------------------

#[test]
fn without_faults_every_target_survives_and_no_request_is_repeated() {
    let (prod, dev, test) = estate();
    let (prod, dev, test) = (
        FakeInstance::start(prod),
        FakeInstance::start(dev),
        FakeInstance::start(test),
    );
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
            inst("test", test.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    assert_target_survives(&run, "dev", "mid.dev", "mid-dev-01");
    assert_target_survives(&run, "test", "mid.test", "mid-test-01");
    // The baseline the bounds below build on: no request was sent twice (no retry).
    for fake in [&prod, &dev, &test] {
        let reqs: Vec<String> = fake
            .requests()
            .iter()
            .map(|r| format!("{} {:?}", r.path, r.query))
            .collect();
        let distinct: BTreeSet<&String> = reqs.iter().collect();
        assert_eq!(distinct.len(), reqs.len(), "{reqs:#?}");
    }
    let n = sent(&[&prod, &dev, &test]);
    observe(
        "no fault (baseline, 3 instances)",
        &run,
        n,
        healthy_requests(),
    );
}

#[test]
fn a_429_storm_that_ends_is_waited_out_honouring_retry_after() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod.with_faults(Faults {
        rate_limit_first: 2,
        retry_after: Some(1),
        ..Faults::default()
    }));
    let dev = FakeInstance::start(dev);
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    assert_target_survives(&run, "dev", "mid.dev", "mid-dev-01");
    // The two 429s each asked for 1 s: the run waited at least that long.
    assert!(run.elapsed >= Duration::from_secs(2), "{:?}", run.elapsed);
    let n = sent(&[&prod, &dev]);
    assert_eq!(n, healthy_pair_requests() + 2, "one retry per 429");
    observe(
        "429 x2 with Retry-After: 1",
        &run,
        n,
        healthy_pair_requests() + 2,
    );
}

#[test]
fn a_429_storm_that_does_not_end_gives_up_after_bounded_retries() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        rate_limit_first: 100_000,
        retry_after: Some(0),
        ..Faults::default()
    }));
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    run.assert_unreadable("dev", "sys_user_role", "429");
    run.assert_unreadable("dev", "ecc_agent", "429");
    run.assert_none_passed("dev", SURVIVAL);
    // Every read of dev tried 5 times (1 + 4 retries), never more.
    let dev_reqs = dev.requests().len();
    assert_eq!(dev_reqs % 5, 0, "{dev_reqs}");
    observe(
        "429 storm, Retry-After: 0 (never ends)",
        &run,
        sent(&[&prod, &dev]),
        5 * healthy_pair_requests(),
    );
}

#[test]
fn intermittent_503s_are_retried_and_the_audit_completes() {
    let (prod, dev, _) = estate();
    let faults = Faults {
        fail_every: Some(4),
        ..Faults::default()
    };
    let prod = FakeInstance::start(prod.with_faults(faults.clone()));
    let dev = FakeInstance::start(dev.with_faults(faults));
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    assert_target_survives(&run, "dev", "mid.dev", "mid-dev-01");
    let n = sent(&[&prod, &dev]);
    let base = healthy_pair_requests();
    // One extra request per 503, and a 503 is every fourth request.
    assert!(n > base, "no 503 was retried: {n}");
    observe("503 on every 4th request", &run, n, base + base / 2 + 2);
}

#[test]
fn a_request_that_hangs_past_the_timeout_is_retried() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod.with_faults(Faults {
        hang_first: 1,
        hang_for: Duration::from_secs(3),
        ..Faults::default()
    }));
    let dev = FakeInstance::start(dev);
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &["--timeout", "1s"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    assert_target_survives(&run, "dev", "mid.dev", "mid-dev-01");
    assert!(run.elapsed >= Duration::from_secs(1), "{:?}", run.elapsed);
    let n = sent(&[&prod, &dev]);
    assert_eq!(n, healthy_pair_requests() + 1);
    observe("first request hangs 3 s, --timeout 1s", &run, n, n);
}

#[test]
fn a_table_that_always_hangs_is_unreadable_after_bounded_retries() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev);
    let proxy = Proxy::start(
        &dev.url(),
        Arc::new(|r: &Seen| {
            if is_table(r, "ecc_agent") {
                Act::Hang(Duration::from_millis(1500))
            } else {
                Act::Forward
            }
        }),
    );
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", proxy.url.clone(), false),
        ],
        &["--timeout", "1s"],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    run.assert_unreadable("dev", "ecc_agent", "timed out");
    run.assert_none_passed(
        "dev",
        &["mid-server-will-go-down", "mid-server-login-unknown"],
    );
    let hung = proxy
        .seen()
        .iter()
        .filter(|r| is_table(r, "ecc_agent"))
        .count();
    assert_eq!(hung, 5, "1 attempt + 4 retries");
    observe(
        "ecc_agent always hangs, --timeout 1s",
        &run,
        prod.requests().len() + proxy.seen().len(),
        healthy_pair_requests() + 4,
    );
}

#[test]
fn a_body_cut_off_mid_stream_is_retried() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev);
    let proxy = Proxy::start(
        &dev.url(),
        Arc::new(|r: &Seen| if r.n <= 2 { Act::Cut } else { Act::Forward }),
    );
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", proxy.url.clone(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    assert_target_survives(&run, "dev", "mid.dev", "mid-dev-01");
    let n = prod.requests().len() + proxy.seen().len();
    assert_eq!(n, healthy_pair_requests() + 2);
    observe("connection closed mid-body, first 2 requests", &run, n, n);
}

#[test]
fn a_body_always_cut_off_makes_the_table_unreadable() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev);
    let proxy = Proxy::start(
        &dev.url(),
        Arc::new(|r: &Seen| {
            if is_table(r, "sys_user_grmember") {
                Act::Cut
            } else {
                Act::Forward
            }
        }),
    );
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", proxy.url.clone(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    run.assert_unreadable("dev", "sys_user_grmember", "connection failed");
    run.assert_none_passed("dev", SURVIVAL);
    let n = prod.requests().len() + proxy.seen().len();
    observe(
        "sys_user_grmember always cut mid-body",
        &run,
        n,
        healthy_pair_requests() + 4 * 4,
    );
}

#[test]
fn truncated_json_is_retried_then_the_table_is_unreadable() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod.with_faults(Faults {
        truncate_first: 1,
        ..Faults::default()
    }));
    let dev = FakeInstance::start(dev.with_faults(Faults {
        truncate_tables: BTreeSet::from(["ecc_agent".to_string()]),
        ..Faults::default()
    }));
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    // prod's one truncated answer was retried and read.
    assert_eq!(
        run.status("table-unreadable", "prod", "sys_user_role"),
        "pass"
    );
    run.assert_unreadable("dev", "ecc_agent", "cut off");
    run.assert_none_passed(
        "dev",
        &["mid-server-will-go-down", "mid-server-login-unknown"],
    );
    let agent_reads = dev
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/ecc_agent"))
        .count();
    assert_eq!(agent_reads, 5, "1 attempt + 4 retries");
    let n = sent(&[&prod, &dev]);
    observe(
        "truncated JSON: once on prod, always on dev ecc_agent",
        &run,
        n,
        healthy_pair_requests() + 1 + 4,
    );
}

#[test]
fn an_html_page_on_the_first_request_means_the_instance_could_not_be_read() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        html_everything: true,
        ..Faults::default()
    }));
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 4, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("dev"), "{}", run.stderr);
    assert!(run.stderr.contains("HTML page"), "{}", run.stderr);
    assert!(run.stderr.contains("hibernating"), "{}", run.stderr);
    assert_marked_incomplete(&run);
    // One request to dev: the first answer settles it.
    assert_eq!(dev.requests().len(), 1);
    let n = sent(&[&prod, &dev]);
    observe(
        "200 HTML (hibernating) from the first request",
        &run,
        n,
        healthy_pair_requests(),
    );
}

#[test]
fn an_html_page_on_a_later_request_makes_that_table_unreadable() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        html_tables: BTreeSet::from(["sys_user".to_string()]),
        ..Faults::default()
    }));
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    run.assert_unreadable("dev", "sys_user", "HTML page");
    run.assert_none_passed("dev", SURVIVAL);
    let n = sent(&[&prod, &dev]);
    // An HTML answer is not retried.
    observe("200 HTML on dev sys_user", &run, n, healthy_pair_requests());
}

#[test]
fn a_link_header_that_loops_is_stopped() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        looping_link_tables: BTreeSet::from(["ecc_agent".to_string()]),
        ..Faults::default()
    }));
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    run.assert_unreadable("dev", "ecc_agent", "malformed paging");
    run.assert_none_passed(
        "dev",
        &["mid-server-will-go-down", "mid-server-login-unknown"],
    );
    let pages = dev
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/ecc_agent"))
        .count();
    assert_eq!(pages, 2, "page 0, the next page, then the loop is seen");
    let n = sent(&[&prod, &dev]);
    observe(
        "Link next loops on dev ecc_agent",
        &run,
        n,
        healthy_pair_requests() + 1,
    );
}

#[test]
fn rows_hidden_by_acls_are_reported_and_nothing_passes_on_them() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(
        dev.with_faults(Faults {
            hidden_ids: [("sys_user".to_string(), BTreeSet::from([sid(200)]))]
                .into_iter()
                .collect(),
            ..Faults::default()
        }),
    );
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    assert_eq!(run.status("rows-hidden-by-acl", "dev", "sys_user"), "error");
    assert!(run
        .message("rows-hidden-by-acl", "dev", "sys_user")
        .contains("hidden"));
    run.assert_none_passed("dev", SURVIVAL);
    let n = sent(&[&prod, &dev]);
    observe(
        "X-Total-Count > rows on dev sys_user",
        &run,
        n,
        healthy_pair_requests(),
    );
}

#[test]
fn a_403_on_one_table_of_one_target_leaves_the_other_target_judged() {
    let (prod, dev, test) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        forbidden_tables: BTreeSet::from(["sys_user_grmember".to_string()]),
        ..Faults::default()
    }));
    let test = FakeInstance::start(test);
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
            inst("test", test.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    run.assert_unreadable("dev", "sys_user_grmember", "403");
    run.assert_none_passed("dev", SURVIVAL);
    // The other target is judged on its own evidence.
    assert_target_survives(&run, "test", "mid.test", "mid-test-01");
    assert_eq!(
        run.status("table-unreadable", "test", "sys_user_grmember"),
        "pass"
    );
    // A 403 is not retried: every query of the forbidden table was sent once.
    let queries: Vec<String> = dev
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/sys_user_grmember"))
        .map(|r| format!("{:?}", r.query))
        .collect();
    let distinct: BTreeSet<&String> = queries.iter().collect();
    assert_eq!(distinct.len(), queries.len(), "{queries:#?}");
    let n = sent(&[&prod, &dev, &test]);
    observe(
        "403 on dev sys_user_grmember, test fine",
        &run,
        n,
        healthy_requests(),
    );
}

#[test]
fn an_expired_oauth_token_is_refreshed_once_and_the_audit_completes() {
    let reads = healthy_pair().1;
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        token_max_uses: Some(uses_for_one_expiry(reads)),
        ..Faults::default()
    }));
    let mut dev_inst = inst("dev", dev.url(), false);
    dev_inst.auth = AuthKind::ClientCredentials;
    let run = audit(&[inst("prod", prod.url(), true), dev_inst], &[]);
    assert_eq!(run.code, 0, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    assert_target_survives(&run, "dev", "mid.dev", "mid-dev-01");
    let reqs = dev.requests();
    let posts = reqs.iter().filter(|r| r.method == "POST").count();
    let gets = reqs.iter().filter(|r| r.method == "GET").count();
    // The first token, and one refresh when it expired (reads racing on the same expiry share
    // the new token).
    assert_eq!(posts, 2, "token requests");
    // Each read refused with the expired token was sent once more, no more: at most as many as
    // were in flight.
    let refused = gets - reads;
    assert!((1..=8).contains(&refused), "{refused} reads refused");
    let n = sent(&[&prod, &dev]);
    observe(
        "OAuth token expires mid-run (one refresh, works)",
        &run,
        n,
        healthy_pair_requests() + 2 + 8,
    );
}

#[test]
fn a_refused_refreshed_oauth_token_fails_clearly_after_one_refresh() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        token_max_uses: Some(0),
        ..Faults::default()
    }));
    let mut dev_inst = inst("dev", dev.url(), false);
    dev_inst.auth = AuthKind::ClientCredentials;
    let run = audit(&[inst("prod", prod.url(), true), dev_inst], &["-vv"]);
    assert_eq!(run.code, 4, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("401"), "{}", run.stderr);
    assert!(
        run.stderr.contains("a fresh OAuth token was refused too"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(OAUTH_CLIENT_SECRET));
    assert!(!run.stderr.contains("fake-access-"), "a token was logged");
    let reqs = dev.requests();
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        ["POST", "GET", "POST", "GET"],
        "token, read (401), one refresh, read (401), stop"
    );
    let n = sent(&[&prod, &dev]);
    observe(
        "OAuth: 401 after refresh on the first read",
        &run,
        n,
        healthy_pair_requests(),
    );
}

#[test]
fn a_token_endpoint_that_stops_answering_mid_run_fails_each_read_once() {
    let (prod, dev, _) = estate();
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        token_max_uses: Some(3),
        ..Faults::default()
    }));
    let posts = Arc::new(AtomicU64::new(0));
    let proxy = {
        let posts = posts.clone();
        Proxy::start(
            &dev.url(),
            Arc::new(move |r: &Seen| {
                if r.method == "POST" && posts.fetch_add(1, Ordering::SeqCst) > 0 {
                    Act::Reply(
                        401,
                        r#"{"error":"server_error","error_description":"access_denied"}"#,
                    )
                } else {
                    Act::Forward
                }
            }),
        )
    };
    let mut dev_inst = inst("dev", proxy.url.clone(), false);
    dev_inst.auth = AuthKind::ClientCredentials;
    let run = audit(&[inst("prod", prod.url(), true), dev_inst], &[]);
    assert_eq!(run.code, 2, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    run.assert_none_passed("dev", SURVIVAL);
    let unreadable: Vec<String> = run
        .results("table-unreadable", "dev")
        .iter()
        .filter(|r| r["status"] == "error")
        .map(|r| r["message"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(!unreadable.is_empty());
    assert!(
        unreadable
            .iter()
            .any(|m| m.contains("OAuth token request failed")),
        "{unreadable:?}"
    );
    let seen = proxy.seen();
    let token_posts = seen.iter().filter(|r| r.method == "POST").count();
    // A refused token request is not retried: one per read at most, so no more token requests
    // than a healthy audit of dev sends reads.
    assert!(
        token_posts <= healthy_pair().1 + 1,
        "{token_posts} token requests"
    );
    let n = prod.requests().len() + seen.len();
    observe(
        "OAuth: token endpoint refuses every refresh mid-run",
        &run,
        n,
        healthy_pair_requests() * 2,
    );
}

#[test]
fn a_redirect_to_another_host_is_never_followed() {
    let (prod, dev, _) = estate();
    let elsewhere = FakeInstance::start(FakeState::new());
    let prod = FakeInstance::start(prod);
    let dev = FakeInstance::start(dev.with_faults(Faults {
        redirect_to: Some(elsewhere.url()),
        ..Faults::default()
    }));
    let run = audit(
        &[
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ],
        &[],
    );
    assert_eq!(run.code, 4, "{}\n{}", run.stderr, run.problems());
    assert!(
        run.stderr.contains("never follows redirects"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("302"), "{}", run.stderr);
    assert_marked_incomplete(&run);
    assert_eq!(dev.requests().len(), 1, "a redirect is not retried");
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.requests()
    );
    let n = sent(&[&prod, &dev, &elsewhere]);
    observe("302 to another host", &run, n, healthy_pair_requests());
}

#[test]
fn an_instance_that_is_down_exits_4() {
    let (prod, _, _) = estate();
    let prod = FakeInstance::start(prod);
    let down = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        format!("http://{}", l.local_addr().expect("addr"))
    };
    let run = audit(
        &[inst("prod", prod.url(), true), inst("dev", down, false)],
        &[],
    );
    assert_eq!(run.code, 4, "{}\n{}", run.stderr, run.problems());
    assert!(run.stderr.contains("could not connect"), "{}", run.stderr);
    assert!(run.stderr.contains("dev"), "{}", run.stderr);
    assert_marked_incomplete(&run);
    let n = prod.requests().len();
    observe(
        "target down (connection refused)",
        &run,
        n,
        healthy_pair_requests(),
    );
}

// ---------------------------------------------------------------------------------------------
// Secrets: a full audit with the OAuth password grant at -vv, every report format and the
// evidence file; neither the password, the client secret nor any issued token appears anywhere.
// ---------------------------------------------------------------------------------------------

#[test]
fn no_secret_or_issued_token_reaches_any_output_report_evidence_or_log() {
    let (prod, dev, _) = estate();
    // Each instance's first token expires mid-run, so the run fetches two per instance.
    let (prod_reads, dev_reads) = healthy_pair();
    let expiring = |reads: usize| Faults {
        token_max_uses: Some(uses_for_one_expiry(reads)),
        ..Faults::default()
    };
    let prod = FakeInstance::start(prod.with_faults(expiring(prod_reads)));
    let dev = FakeInstance::start(dev.with_faults(expiring(dev_reads)));
    let forward: Rule = Arc::new(|_: &Seen| Act::Forward);
    let (prod_proxy, dev_proxy) = (
        Proxy::start(&prod.url(), forward.clone()),
        Proxy::start(&dev.url(), forward),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = String::new();
    for (name, url, production) in [
        ("prod", &prod_proxy.url, true),
        ("dev", &dev_proxy.url, false),
    ] {
        text.push_str(&format!(
            "[instance.{name}]\nurl = \"{url}\"\nproduction = {production}\n\
             auth = {{ type = \"oauth-password\", client_id = \"{OAUTH_CLIENT_ID}\", client_secret_env = \"{SECRET_ENV}\", username = \"{AUDIT_USER}\", password_env = \"{PASSWORD_ENV}\" }}\n\n"
        ));
    }
    let cfg = dir.path().join("preclone.toml");
    std::fs::write(&cfg, text).expect("config");
    let reports = ["r.json", "r.csv", "r.html", "r.xml", "r.md"];
    let mut cmd = Command::cargo_bin("preclone").expect("binary");
    cmd.current_dir(dir.path())
        .env(PASSWORD_ENV, AUDIT_PASSWORD)
        .env(SECRET_ENV, OAUTH_CLIENT_SECRET)
        .env("CI", "true")
        .args(["-vv", "audit", "--config"])
        .arg(&cfg)
        .args(["--source", "prod", "--target", "dev", "--timeout", "5s"])
        .arg("--save-evidence")
        .arg(dir.path().join("evidence.json"));
    for r in reports {
        cmd.arg("-o").arg(dir.path().join(r));
    }
    let out = cmd.output().expect("run preclone");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(0), "{stderr}\n{stdout}");
    assert!(stderr.contains("GET"), "-vv logs every request: {stderr}");
    assert!(stdout.contains("prod"), "the console report: {stdout}");

    // The tokens the instances issued, read off the wire.
    let mut tokens = Vec::new();
    for proxy in [&prod_proxy, &dev_proxy] {
        for body in proxy
            .token_answers
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let v: Value = serde_json::from_slice(body).expect("a token answer");
            for k in ["access_token", "refresh_token"] {
                let t = v[k].as_str().expect("a token").to_string();
                assert!(t.len() > 12);
                tokens.push(t);
            }
        }
    }
    assert_eq!(
        tokens.len(),
        8,
        "two tokens (access and refresh) per instance"
    );
    let basic = {
        // What a basic Authorization header would carry, in case one leaked in any form.
        use std::fmt::Write as _;
        let raw = format!("{AUDIT_USER}:{AUDIT_PASSWORD}");
        let mut hex = String::new();
        for b in raw.bytes() {
            let _ = write!(hex, "{b:02x}");
        }
        hex
    };
    let mut secrets: Vec<String> = vec![
        AUDIT_PASSWORD.to_string(),
        OAUTH_CLIENT_SECRET.to_string(),
        basic,
    ];
    secrets.extend(tokens);
    let mut outputs = vec![
        ("stdout".to_string(), stdout),
        ("stderr".to_string(), stderr),
    ];
    for f in reports.iter().chain(&["evidence.json"]) {
        let text = std::fs::read_to_string(dir.path().join(f)).expect(f);
        assert!(text.len() > 200, "{f} is nearly empty");
        outputs.push((f.to_string(), text));
    }
    for (what, text) in &outputs {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{what} holds a secret");
        }
    }
    // The grant really carried the password and the client secret, so the check above meant
    // something: the token requests reached the fakes.
    let posts = prod
        .requests()
        .iter()
        .chain(dev.requests().iter())
        .filter(|r| r.method == "POST" && r.path == "/oauth_token.do")
        .count();
    assert_eq!(posts, 4);
}

/// Exit 4 still writes what was collected, marked incomplete: the report's gate says 4, and no
/// check but the coverage of what was read passes.
fn assert_marked_incomplete(run: &Run) {
    assert_eq!(run.report["gate"]["exit_code"], 4, "{}", run.stdout);
    assert_eq!(run.report["gate"]["verdict"], "incomplete");
    let results = run.report["results"].as_array().expect("results");
    assert!(!results.is_empty());
    for r in results {
        if r["status"] == "pass" {
            assert!(
                // Coverage of what was read, and the production flag the config states.
                r["check"] == "table-unreadable"
                    || r["check"] == "rows-hidden-by-acl"
                    || r["check"] == "target-is-production",
                "passed without evidence: {r}"
            );
        }
    }
}
