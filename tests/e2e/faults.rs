//! Fault injection over real HTTP: the real `preclone` binary audits local fake instances that
//! rate-limit, fail, hang, cut bodies off, answer HTML, loop their `Link` headers, hide rows,
//! refuse a table, expire tokens, redirect, or are down. Each case asserts the exit code, the
//! message on stderr, that no check passed on evidence it did not have, a bounded number of
//! requests and a bounded wall time. Faults the fake cannot make by itself (a body cut off
//! mid-stream, a hang on one table, a token endpoint that stops answering) come from a small
//! TCP proxy in front of the fake ([`Proxy`]).
//!
//! Most cases audit the source and one target and differ only in the faults and the outcome:
//! each is a [`FaultCase`] run by one driver, plus the assertions peculiar to it.
//!
//! Run with `--nocapture` to see the observed exit code and request count of every case.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::proxy::{is_table, Act, Proxy, Rule, Seen};
use crate::support::run::{audit, inst, run, AuthKind, Inst, Run};
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// The checks that judge a target's MID Servers from their `ecc_agent` rows.
const SERVERS: &[&str] = &["mid-server-will-go-down", "mid-server-login-unknown"];

/// A production source with the seed preservers, and two targets, each with one MID user
/// granted mid_server directly and one MID Server logging in as it.
fn estate() -> (FakeState, FakeState, FakeState) {
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    (prod, target_dev(), target_test())
}

// ---------------------------------------------------------------------------------------------
// Bounds.
// ---------------------------------------------------------------------------------------------

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

/// Asserts that no request to `fake` whose path ends with `path` was sent twice (nothing was
/// retried).
fn assert_sent_once(fake: &FakeInstance, path: &str) {
    let sent: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.path.ends_with(path))
        .map(|r| format!("{} {:?}", r.path, r.query))
        .collect();
    let distinct: BTreeSet<&String> = sent.iter().collect();
    assert_eq!(distinct.len(), sent.len(), "{sent:#?}");
}

/// The three instances of the estate, in the config's order.
fn trio(prod: &FakeInstance, dev: &FakeInstance, test: &FakeInstance) -> [Inst; 3] {
    [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
        inst("test", test.url(), false),
    ]
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
    let run = audit(&trio(&prod, &dev, &test), &[]);
    run.assert_code(0);
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
    let run = audit(&crate::support::run::pair(&prod, &dev), &[]);
    run.assert_code(0);
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

// ---------------------------------------------------------------------------------------------
// One fault case over the source and one target.
// ---------------------------------------------------------------------------------------------

/// The faults of one audit of prod and dev, and the outcome every such case asserts.
struct FaultCase {
    /// What `observe` prints.
    name: &'static str,
    /// The faults prod's fake injects.
    prod: Faults,
    /// The faults dev's fake injects.
    dev: Faults,
    dev_auth: AuthKind,
    /// A proxy in front of dev, for faults below HTTP.
    proxy: Option<Rule>,
    /// Arguments after the usual ones.
    extra: &'static [&'static str],
    /// The exit code. 0: nothing on stderr and dev survives; 2: stderr says "incomplete";
    /// 4: the report is written and marked incomplete.
    code: i32,
    /// Tables of dev reported unreadable, with a reason in the message.
    unreadable: &'static [(&'static str, &'static str)],
    /// Checks of which no result on dev passes (at least one is reported).
    none_passed: &'static [&'static str],
    /// The bound on requests, from those of a healthy audit of the pair.
    max_requests: fn(usize) -> usize,
}

impl Default for FaultCase {
    fn default() -> Self {
        FaultCase {
            name: "",
            prod: Faults::default(),
            dev: Faults::default(),
            dev_auth: AuthKind::Basic,
            proxy: None,
            extra: &[],
            code: 0,
            unreadable: &[],
            none_passed: &[],
            max_requests: |healthy| healthy,
        }
    }
}

/// What a fault case left, for the assertions peculiar to it.
struct Outcome {
    run: Run,
    dev: FakeInstance,
    proxy: Option<Proxy>,
    /// Requests sent: to prod, and to dev or its proxy.
    requests: usize,
}

impl FaultCase {
    fn run(self) -> Outcome {
        let (prod, dev, _) = estate();
        let prod = FakeInstance::start(prod.with_faults(self.prod));
        let dev = FakeInstance::start(dev.with_faults(self.dev));
        let proxy = self.proxy.map(|rule| Proxy::start(&dev.url(), rule));
        let dev_url = proxy.as_ref().map_or_else(|| dev.url(), |p| p.url.clone());
        let run = audit(
            &[
                inst("prod", prod.url(), true),
                inst("dev", dev_url, false).auth(self.dev_auth),
            ],
            self.extra,
        );
        run.assert_code(self.code);
        match self.code {
            0 => {
                assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
                run.assert_target_survives("dev", "mid.dev", "mid-dev-01");
            }
            2 => assert!(run.stderr.contains("incomplete"), "{}", run.stderr),
            4 => run.assert_marked_incomplete(),
            other => panic!("{}: no outcome is defined for exit {other}", self.name),
        }
        for (table, reason) in self.unreadable {
            run.assert_unreadable("dev", table, reason);
        }
        if !self.none_passed.is_empty() {
            run.assert_none_passed("dev", self.none_passed);
        }
        let requests = prod.requests().len()
            + proxy
                .as_ref()
                .map_or_else(|| dev.requests().len(), |p| p.seen().len());
        observe(
            self.name,
            &run,
            requests,
            (self.max_requests)(healthy_pair_requests()),
        );
        Outcome {
            run,
            dev,
            proxy,
            requests,
        }
    }
}

fn reads_of(fake: &FakeInstance, table: &str) -> usize {
    fake.requests()
        .iter()
        .filter(|r| r.path.ends_with(&format!("/{table}")))
        .count()
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
    let run = audit(&trio(&prod, &dev, &test), &[]);
    run.assert_code(0);
    assert!(run.stderr.trim().is_empty(), "{}", run.stderr);
    run.assert_target_survives("dev", "mid.dev", "mid-dev-01");
    run.assert_target_survives("test", "mid.test", "mid-test-01");
    // The baseline the bounds below build on: no request was sent twice (no retry).
    for fake in [&prod, &dev, &test] {
        assert_sent_once(fake, "");
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
    let out = FaultCase {
        name: "429 x2 with Retry-After: 1",
        prod: Faults {
            rate_limit_first: 2,
            retry_after: Some(1),
            ..Faults::default()
        },
        max_requests: |healthy| healthy + 2,
        ..FaultCase::default()
    }
    .run();
    // The two 429s each asked for 1 s: the run waited at least that long.
    assert!(
        out.run.elapsed >= Duration::from_secs(2),
        "{:?}",
        out.run.elapsed
    );
    assert_eq!(
        out.requests,
        healthy_pair_requests() + 2,
        "one retry per 429"
    );
}

#[test]
fn a_429_storm_that_does_not_end_gives_up_after_bounded_retries() {
    let out = FaultCase {
        name: "429 storm, Retry-After: 0 (never ends)",
        dev: Faults {
            rate_limit_first: 100_000,
            retry_after: Some(0),
            ..Faults::default()
        },
        code: 2,
        unreadable: &[("sys_user_role", "429"), ("ecc_agent", "429")],
        none_passed: SURVIVAL,
        max_requests: |healthy| 5 * healthy,
        ..FaultCase::default()
    }
    .run();
    // Every read of dev tried 5 times (1 + 4 retries), never more.
    let dev_reqs = out.dev.requests().len();
    assert_eq!(dev_reqs % 5, 0, "{dev_reqs}");
}

#[test]
fn intermittent_503s_are_retried_and_the_audit_completes() {
    let every_fourth = Faults {
        fail_every: Some(4),
        ..Faults::default()
    };
    let out = FaultCase {
        name: "503 on every 4th request",
        prod: every_fourth.clone(),
        dev: every_fourth,
        // One extra request per 503, and a 503 is every fourth request.
        max_requests: |healthy| healthy + healthy / 2 + 2,
        ..FaultCase::default()
    }
    .run();
    assert!(
        out.requests > healthy_pair_requests(),
        "no 503 was retried: {}",
        out.requests
    );
}

#[test]
fn a_request_that_hangs_past_the_timeout_is_retried() {
    let out = FaultCase {
        name: "first request hangs 3 s, --timeout 1s",
        prod: Faults {
            hang_first: 1,
            hang_for: Duration::from_secs(3),
            ..Faults::default()
        },
        extra: &["--timeout", "1s"],
        max_requests: |healthy| healthy + 1,
        ..FaultCase::default()
    }
    .run();
    assert!(
        out.run.elapsed >= Duration::from_secs(1),
        "{:?}",
        out.run.elapsed
    );
    assert_eq!(out.requests, healthy_pair_requests() + 1);
}

#[test]
fn a_table_that_always_hangs_is_unreadable_after_bounded_retries() {
    let out = FaultCase {
        name: "ecc_agent always hangs, --timeout 1s",
        proxy: Some(Arc::new(|r: &Seen| {
            if is_table(r, "ecc_agent") {
                Act::Hang(Duration::from_millis(1500))
            } else {
                Act::Forward
            }
        })),
        extra: &["--timeout", "1s"],
        code: 2,
        unreadable: &[("ecc_agent", "timed out")],
        none_passed: SERVERS,
        max_requests: |healthy| healthy + 4,
        ..FaultCase::default()
    }
    .run();
    let proxy = out.proxy.expect("the proxy");
    let hung = proxy
        .seen()
        .iter()
        .filter(|r| is_table(r, "ecc_agent"))
        .count();
    assert_eq!(hung, 5, "1 attempt + 4 retries");
}

#[test]
fn a_body_cut_off_mid_stream_is_retried() {
    let out = FaultCase {
        name: "connection closed mid-body, first 2 requests",
        proxy: Some(Arc::new(
            |r: &Seen| {
                if r.n <= 2 {
                    Act::Cut
                } else {
                    Act::Forward
                }
            },
        )),
        max_requests: |healthy| healthy + 2,
        ..FaultCase::default()
    }
    .run();
    assert_eq!(out.requests, healthy_pair_requests() + 2);
}

#[test]
fn a_body_always_cut_off_makes_the_table_unreadable() {
    FaultCase {
        name: "sys_user_grmember always cut mid-body",
        proxy: Some(Arc::new(|r: &Seen| {
            if is_table(r, "sys_user_grmember") {
                Act::Cut
            } else {
                Act::Forward
            }
        })),
        code: 2,
        unreadable: &[("sys_user_grmember", "connection failed")],
        none_passed: SURVIVAL,
        max_requests: |healthy| healthy + 4 * 4,
        ..FaultCase::default()
    }
    .run();
}

#[test]
fn truncated_json_is_retried_then_the_table_is_unreadable() {
    let out = FaultCase {
        name: "truncated JSON: once on prod, always on dev ecc_agent",
        prod: Faults {
            truncate_first: 1,
            ..Faults::default()
        },
        dev: Faults {
            truncate_tables: BTreeSet::from(["ecc_agent".to_string()]),
            ..Faults::default()
        },
        code: 2,
        unreadable: &[("ecc_agent", "cut off")],
        none_passed: SERVERS,
        max_requests: |healthy| healthy + 1 + 4,
        ..FaultCase::default()
    }
    .run();
    // prod's one truncated answer was retried and read.
    out.run
        .expect("table-unreadable", "prod", "sys_user_role", "pass");
    assert_eq!(reads_of(&out.dev, "ecc_agent"), 5, "1 attempt + 4 retries");
}

#[test]
fn an_html_page_on_the_first_request_means_the_instance_could_not_be_read() {
    let out = FaultCase {
        name: "200 HTML (hibernating) from the first request",
        dev: Faults {
            html_everything: true,
            ..Faults::default()
        },
        code: 4,
        ..FaultCase::default()
    }
    .run();
    let stderr = &out.run.stderr;
    assert!(stderr.contains("dev"), "{stderr}");
    assert!(stderr.contains("HTML page"), "{stderr}");
    assert!(stderr.contains("hibernating"), "{stderr}");
    // One request to dev: the first answer settles it.
    assert_eq!(out.dev.requests().len(), 1);
}

#[test]
fn an_html_page_on_a_later_request_makes_that_table_unreadable() {
    // An HTML answer is not retried: the bound is the healthy count.
    FaultCase {
        name: "200 HTML on dev sys_user",
        dev: Faults {
            html_tables: BTreeSet::from(["sys_user".to_string()]),
            ..Faults::default()
        },
        code: 2,
        unreadable: &[("sys_user", "HTML page")],
        none_passed: SURVIVAL,
        ..FaultCase::default()
    }
    .run();
}

#[test]
fn a_link_header_that_loops_is_stopped() {
    let out = FaultCase {
        name: "Link next loops on dev ecc_agent",
        dev: Faults {
            looping_link_tables: BTreeSet::from(["ecc_agent".to_string()]),
            ..Faults::default()
        },
        code: 2,
        unreadable: &[("ecc_agent", "malformed paging")],
        none_passed: SERVERS,
        max_requests: |healthy| healthy + 1,
        ..FaultCase::default()
    }
    .run();
    assert_eq!(
        reads_of(&out.dev, "ecc_agent"),
        2,
        "page 0, the next page, then the loop is seen"
    );
}

#[test]
fn rows_hidden_by_acls_are_reported_and_nothing_passes_on_them() {
    let out = FaultCase {
        name: "X-Total-Count > rows on dev sys_user",
        dev: Faults {
            hidden_ids: [("sys_user".to_string(), BTreeSet::from([sid(200)]))]
                .into_iter()
                .collect(),
            ..Faults::default()
        },
        code: 2,
        none_passed: SURVIVAL,
        // The sys_user preserver's first page shows a match hidden: it is asked again,
        // restricted to the MID users (where the hidden row makes it unreadable).
        max_requests: |healthy| healthy + 1,
        ..FaultCase::default()
    }
    .run();
    out.run
        .expect("rows-hidden-by-acl", "dev", "sys_user", "error");
    assert!(out
        .run
        .message("rows-hidden-by-acl", "dev", "sys_user")
        .contains("hidden"));
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
    let run = audit(&trio(&prod, &dev, &test), &[]);
    run.assert_code(2);
    assert!(run.stderr.contains("incomplete"), "{}", run.stderr);
    run.assert_unreadable("dev", "sys_user_grmember", "403");
    run.assert_none_passed("dev", SURVIVAL);
    // The other target is judged on its own evidence.
    run.assert_target_survives("test", "mid.test", "mid-test-01");
    run.expect("table-unreadable", "test", "sys_user_grmember", "pass");
    // A 403 is not retried: every query of the forbidden table was sent once.
    assert_sent_once(&dev, "/sys_user_grmember");
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
    let out = FaultCase {
        name: "OAuth token expires mid-run (one refresh, works)",
        dev: Faults {
            token_max_uses: Some(uses_for_one_expiry(reads)),
            ..Faults::default()
        },
        dev_auth: AuthKind::ClientCredentials,
        max_requests: |healthy| healthy + 2 + 8,
        ..FaultCase::default()
    }
    .run();
    let reqs = out.dev.requests();
    let posts = reqs.iter().filter(|r| r.method == "POST").count();
    let gets = reqs.iter().filter(|r| r.method == "GET").count();
    // The first token, and one refresh when it expired (reads racing on the same expiry share
    // the new token).
    assert_eq!(posts, 2, "token requests");
    // Each read refused with the expired token was sent once more, no more: at most as many as
    // were in flight.
    let refused = gets - reads;
    assert!((1..=8).contains(&refused), "{refused} reads refused");
}

#[test]
fn a_refused_refreshed_oauth_token_fails_clearly_after_one_refresh() {
    let out = FaultCase {
        name: "OAuth: 401 after refresh on the first read",
        dev: Faults {
            token_max_uses: Some(0),
            ..Faults::default()
        },
        dev_auth: AuthKind::ClientCredentials,
        extra: &["-vv"],
        code: 4,
        ..FaultCase::default()
    }
    .run();
    let stderr = &out.run.stderr;
    assert!(stderr.contains("401"), "{stderr}");
    assert!(
        stderr.contains("a fresh OAuth token was refused too"),
        "{stderr}"
    );
    assert!(!stderr.contains(OAUTH_CLIENT_SECRET));
    assert!(!stderr.contains("fake-access-"), "a token was logged");
    let reqs = out.dev.requests();
    let methods: Vec<&str> = reqs.iter().map(|r| r.method.as_str()).collect();
    assert_eq!(
        methods,
        ["POST", "GET", "POST", "GET"],
        "token, read (401), one refresh, read (401), stop"
    );
}

#[test]
fn a_token_endpoint_that_stops_answering_mid_run_fails_each_read_once() {
    let posts = Arc::new(AtomicU64::new(0));
    let out = FaultCase {
        name: "OAuth: token endpoint refuses every refresh mid-run",
        dev: Faults {
            token_max_uses: Some(3),
            ..Faults::default()
        },
        dev_auth: AuthKind::ClientCredentials,
        proxy: Some(Arc::new(move |r: &Seen| {
            if r.method == "POST" && posts.fetch_add(1, Ordering::SeqCst) > 0 {
                Act::Reply(
                    401,
                    r#"{"error":"server_error","error_description":"access_denied"}"#,
                )
            } else {
                Act::Forward
            }
        })),
        code: 2,
        none_passed: SURVIVAL,
        max_requests: |healthy| healthy * 2,
        ..FaultCase::default()
    }
    .run();
    let unreadable: Vec<String> = out
        .run
        .results_on("table-unreadable", "dev")
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
    let seen = out.proxy.expect("the proxy").seen();
    let token_posts = seen.iter().filter(|r| r.method == "POST").count();
    // A refused token request is not retried: one per read at most, so no more token requests
    // than a healthy audit of dev sends reads.
    assert!(
        token_posts <= healthy_pair().1 + 1,
        "{token_posts} token requests"
    );
}

#[test]
fn a_redirect_to_another_host_is_never_followed() {
    let elsewhere = FakeInstance::start(FakeState::new());
    let out = FaultCase {
        name: "302 to another host",
        dev: Faults {
            redirect_to: Some(elsewhere.url()),
            ..Faults::default()
        },
        code: 4,
        ..FaultCase::default()
    }
    .run();
    let stderr = &out.run.stderr;
    assert!(stderr.contains("never follows redirects"), "{stderr}");
    assert!(stderr.contains("302"), "{stderr}");
    assert_eq!(out.dev.requests().len(), 1, "a redirect is not retried");
    assert!(
        elsewhere.requests().is_empty(),
        "the redirect was followed: {:?}",
        elsewhere.requests()
    );
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
    run.assert_code(4);
    assert!(run.stderr.contains("could not connect"), "{}", run.stderr);
    assert!(run.stderr.contains("dev"), "{}", run.stderr);
    run.assert_marked_incomplete();
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
    let reports = ["r.json", "r.csv", "r.html", "r.xml", "r.md"];
    // The console report on stdout, not JSON.
    let mut args: Vec<String> = [
        "-vv",
        "--source",
        "prod",
        "--target",
        "dev",
        "--timeout",
        "5s",
        "--save-evidence",
        "evidence.json",
    ]
    .map(String::from)
    .to_vec();
    for r in reports {
        args.extend(["-o".to_string(), r.to_string()]);
    }
    let run = run(
        &[
            inst("prod", prod_proxy.url.clone(), true).auth(AuthKind::OAuthPassword),
            inst("dev", dev_proxy.url.clone(), false).auth(AuthKind::OAuthPassword),
        ],
        "audit",
        &args,
    );
    run.assert_code(0);
    assert!(
        run.stderr.contains("GET"),
        "-vv logs every request: {}",
        run.stderr
    );
    assert!(
        run.stdout.contains("prod"),
        "the console report: {}",
        run.stdout
    );

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
        ("stdout".to_string(), run.stdout.clone()),
        ("stderr".to_string(), run.stderr.clone()),
    ];
    for f in reports.iter().chain(&["evidence.json"]) {
        let text = std::fs::read_to_string(run.file(f)).expect(f);
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
