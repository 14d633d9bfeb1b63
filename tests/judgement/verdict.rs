//! The stage that turns evidence into a verdict (`preclone::verdict`), as the commands use it,
//! and how long judging a large estate takes.

use super::estate::big_estate;
use assert_cmd::Command;
use preclone::checks;

fn preclone(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("preclone").expect("the preclone binary");
    cmd.current_dir(dir)
        .env_remove("PRECLONE_FROZEN_TIME")
        .env("NO_COLOR", "1");
    cmd
}

/// `audit --evidence` gates with `fail_on` from the config file, as an online audit does; the
/// flag still wins.
#[test]
fn audit_of_saved_evidence_reads_fail_on_from_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The sample estate fails at critical, so the default gate (high) exits 1.
    preclone(dir.path())
        .args(["demo", "-q", "--save-evidence", "evidence.json"])
        .assert()
        .code(0);
    preclone(dir.path())
        .args(["audit", "-q", "--evidence", "evidence.json"])
        .assert()
        .code(1);

    std::fs::write(dir.path().join("preclone.toml"), "fail_on = \"never\"\n").expect("config");
    preclone(dir.path())
        .args(["audit", "-q", "--evidence", "evidence.json"])
        .assert()
        .code(0);
    preclone(dir.path())
        .args([
            "audit",
            "-q",
            "--evidence",
            "evidence.json",
            "--fail-on",
            "high",
        ])
        .assert()
        .code(1);

    std::fs::write(dir.path().join("other.toml"), "fail_on = \"never\"\n").expect("config");
    std::fs::remove_file(dir.path().join("preclone.toml")).expect("remove");
    preclone(dir.path())
        .args([
            "audit",
            "-q",
            "--evidence",
            "evidence.json",
            "--config",
            "other.toml",
        ])
        .assert()
        .code(0);
}

/// `checks::sort` orders as a plain stable sort by status, severity, instance, check id, subject
/// name and sys_id would, ties kept in the order judged.
#[test]
fn sorting_results_is_a_stable_sort_by_the_report_order() {
    let now = chrono::Utc::now();
    let mut results = checks::run(&preclone::demo::evidence(now, "sort")).results;
    results.extend(checks::run(&big_estate(50)).results);
    results.reverse();
    let mut expected = results.clone();
    expected.sort_by(|a, b| {
        let key = |r: &preclone::finding::CheckResult| {
            (
                r.status,
                std::cmp::Reverse(r.severity),
                r.instance.clone(),
                r.check.as_str(),
                r.subject.name.clone(),
                r.subject.sys_id.clone(),
            )
        };
        key(a).cmp(&key(b))
    });
    checks::sort(&mut results);
    assert_eq!(results, expected);
}

/// CPU time of this thread so far (Linux), else `None`: timings on a busy machine read this,
/// not the wall clock.
fn thread_cpu_time() -> Option<std::time::Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: u64 = stat.split_whitespace().next()?.parse().ok()?;
    Some(std::time::Duration::from_nanos(ns))
}

/// Times the checks phase on [`big_estate`] with 2,000 MID users per instance. Not a test of
/// speed (CI times nothing): `cargo test --release --test judgement -- --ignored --nocapture`
/// prints the figures.
#[test]
#[ignore]
fn time_the_checks_phase_on_a_big_estate() {
    let e = big_estate(2_000);
    let (mut wall, mut cpu) = (Vec::new(), Vec::new());
    let mut results = 0;
    for _ in 0..5 {
        let (start, start_cpu) = (std::time::Instant::now(), thread_cpu_time());
        results = checks::run(&e).results.len();
        wall.push(start.elapsed());
        if let (Some(a), Some(b)) = (start_cpu, thread_cpu_time()) {
            cpu.push(b - a);
        }
    }
    wall.sort();
    cpu.sort();
    println!(
        "checks phase, 4 instances x 2,000 MID users, {results} results: wall min {:?} median {:?}; cpu min {:?} median {:?}",
        wall[0],
        wall[2],
        cpu.first(),
        cpu.get(2)
    );
}
