//! `sample-reports/` holds the reports of `preclone demo` in every format, written by the real
//! binary with the clock frozen at [`FROZEN_TIME`]. This test writes them again into a temporary
//! folder and fails when any committed file differs by a single byte, so CI catches stale samples.
//!
//! `PRECLONE_UPDATE_SAMPLES=1 cargo test --test e2e sample_reports` rewrites them instead (and says
//! so), plus the screenshot `sample-reports/report.png` when Chromium is installed. The screenshot
//! is never compared: font rendering differs between machines. The browser test checks the page.

use crate::browser::{installed_chromium, CHROMIUM_FLAGS};
use crate::support::run::in_ci;
use assert_cmd::Command;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Held while `sample-reports/` is rewritten or read, so tests running in parallel never see a
/// half-written file.
static SAMPLES_LOCK: Mutex<()> = Mutex::new(());

fn lock_samples() -> MutexGuard<'static, ()> {
    SAMPLES_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// The frozen clock of the samples; the demo dates its waivers relative to it.
const FROZEN_TIME: &str = "2026-11-24T09:12:00Z";

/// What the demo writes and the samples hold, compared byte for byte. `report.txt` is the console
/// report (stdout is a pipe, so no colour and width 100).
const SAMPLES: [&str; 7] = [
    "report.html",
    "report.csv",
    "report.json",
    "report.xml",
    "report.md",
    "report.txt",
    "evidence.json",
];

const UPDATE_VAR: &str = "PRECLONE_UPDATE_SAMPLES";
const UPDATE_COMMAND: &str = "PRECLONE_UPDATE_SAMPLES=1 cargo test --test e2e sample_reports";

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-reports")
}

fn update_requested() -> bool {
    std::env::var(UPDATE_VAR).is_ok_and(|v| v == "1")
}

/// Runs `preclone demo` with the frozen clock in `dir` and returns every sample it produced.
fn run_demo(dir: &Path) -> Vec<(&'static str, Vec<u8>)> {
    let out = Command::cargo_bin("preclone")
        .expect("the preclone binary is built")
        .current_dir(dir)
        .env("PRECLONE_FROZEN_TIME", FROZEN_TIME)
        .env("NO_COLOR", "1")
        .args([
            "demo",
            "--no-progress",
            "-o",
            "report.html",
            "-o",
            "report.csv",
            "-o",
            "report.json",
            "-o",
            "report.xml",
            "-o",
            "report.md",
            "--save-evidence",
            "evidence.json",
        ])
        .output()
        .expect("preclone demo runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "preclone demo gates with --fail-on never and must exit 0; stderr:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::write(dir.join("report.txt"), &out.stdout).expect("write report.txt");
    SAMPLES
        .iter()
        .map(|name| {
            let bytes = std::fs::read(dir.join(name))
                .unwrap_or_else(|e| panic!("preclone demo did not write {name}: {e}"));
            (*name, bytes)
        })
        .collect()
}

/// Where two files first differ, as `line N: committed … / now …` (or the byte offset).
fn first_difference(committed: &[u8], now: &[u8]) -> String {
    let committed_text = String::from_utf8_lossy(committed);
    let now_text = String::from_utf8_lossy(now);
    let mut a = committed_text.split('\n');
    let mut b = now_text.split('\n');
    for line in 1.. {
        match (a.next(), b.next()) {
            (Some(x), Some(y)) if x == y => continue,
            (None, None) => break,
            (x, y) => {
                let show = |s: Option<&str>| match s {
                    Some(s) => format!("{:?}", s.chars().take(160).collect::<String>()),
                    None => "(end of file)".to_string(),
                };
                return format!(
                    "line {line}:\n      committed: {}\n      now:       {}",
                    show(x),
                    show(y)
                );
            }
        }
    }
    // Same lines, so the bytes differ in something `split` hides (nothing today); say where.
    let at = committed
        .iter()
        .zip(now)
        .position(|(x, y)| x != y)
        .unwrap_or(committed.len().min(now.len()));
    format!("byte {at}")
}

#[test]
fn sample_reports_are_the_reports_the_demo_writes_today() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let fresh = run_demo(tmp.path());
    let dir = samples_dir();
    let _lock = lock_samples();

    if update_requested() {
        assert!(
            !in_ci(),
            "{UPDATE_VAR}=1 is set in CI, where it would hide stale samples; unset it"
        );
        std::fs::create_dir_all(&dir).expect("create sample-reports/");
        for (name, bytes) in &fresh {
            std::fs::write(dir.join(name), bytes).expect("write a sample report");
            eprintln!(
                "{UPDATE_VAR}=1: rewrote sample-reports/{name} ({} bytes)",
                bytes.len()
            );
        }
        match screenshot(&dir.join("report.html"), &dir.join("report.png")) {
            Ok(size) => {
                eprintln!("{UPDATE_VAR}=1: rewrote sample-reports/report.png ({size} bytes)")
            }
            Err(why) => {
                eprintln!("{UPDATE_VAR}=1: left sample-reports/report.png as it was: {why}")
            }
        }
        return;
    }

    let mut stale = Vec::new();
    for (name, bytes) in &fresh {
        match std::fs::read(dir.join(name)) {
            Ok(committed) if committed == *bytes => {}
            Ok(committed) => stale.push(format!(
                "  sample-reports/{name} differs ({} bytes committed, {} now), first at {}",
                committed.len(),
                bytes.len(),
                first_difference(&committed, bytes)
            )),
            Err(e) => stale.push(format!("  sample-reports/{name} cannot be read: {e}")),
        }
    }
    assert!(
        stale.is_empty(),
        "the sample reports are stale:\n{}\nReview the change, then regenerate them with `{UPDATE_COMMAND}`",
        stale.join("\n")
    );
}

#[test]
fn the_frozen_clock_makes_the_demo_reports_reproducible() {
    // Without this, the comparison above would fail on every run for the wrong reason.
    let (a, b) = (
        tempfile::tempdir().expect("temp"),
        tempfile::tempdir().expect("temp"),
    );
    let first = run_demo(a.path());
    let second = run_demo(b.path());
    for ((name, x), (_, y)) in first.iter().zip(&second) {
        assert!(
            x == y,
            "{name} differs between two runs with the same frozen clock, first at {}",
            first_difference(x, y)
        );
    }
}

#[test]
fn the_samples_show_what_the_readme_promises() {
    // Checked on a fresh demo run: the test above proves the committed samples are the same bytes.
    let tmp = tempfile::tempdir().expect("temp dir");
    run_demo(tmp.path());
    let read = |name: &str| std::fs::read_to_string(tmp.path().join(name)).expect("a demo report");
    let txt = read("report.txt");
    let lines: Vec<&str> = txt.lines().collect();
    // The demo says so first; the verdict follows the header and closes the report.
    assert_eq!(
        lines[0], "DEMO  embedded sample estate, not a live instance",
        "the console sample does not say it is a demo"
    );
    assert!(
        lines[4].starts_with("FAIL "),
        "the console sample does not open on its verdict:\n{}",
        lines[..6].join("\n")
    );
    assert_eq!(
        lines.last(),
        Some(&lines[4]),
        "the verdict does not close it"
    );
    assert!(!txt.contains('\u{1b}'), "colour codes in report.txt");
    if let Some(long) = txt.lines().find(|l| l.chars().count() > 100) {
        panic!("report.txt is wider than 100 columns: {long:?}");
    }

    let json: serde_json::Value = serde_json::from_str(&read("report.json")).expect("JSON report");
    assert_eq!(json["run_id"], "frozen-20261124T091200Z");
    assert_eq!(json["gate"]["verdict"], "fail");
    assert_eq!(json["demo"], true);
    let states: Vec<&str> = json["waivers"]
        .as_array()
        .expect("waivers in the JSON report")
        .iter()
        .filter_map(|w| w["state"].as_str())
        .collect();
    for state in ["active", "expiring", "expired"] {
        assert!(states.contains(&state), "no {state} waiver in {states:?}");
    }
    let evidence: serde_json::Value =
        serde_json::from_str(&read("evidence.json")).expect("evidence JSON");
    assert_eq!(evidence["run_id"], "frozen-20261124T091200Z");
    assert_eq!(evidence["demo"], true);
    let md = read("report.md");
    assert!(
        md.starts_with("> **DEMO**: embedded sample estate, not a live instance\n"),
        "{md}"
    );

    let html = read("report.html");
    assert!(html.contains(
        "<title>preclone demo (embedded sample estate, not a live instance): FAIL: prod → dev, test</title>"
    ));
    assert!(html
        .contains("<span class=\"demo\">embedded sample estate, not a live instance</span></h1>"));
    assert!(html.contains("<span class=\"verdict fail\">FAIL</span>"));
    assert!(html.contains("(expiring soon)") && html.contains("(expired)"));
    assert!(html.contains("Content-Security-Policy"));

    let _lock = lock_samples();
    let png = std::fs::read(samples_dir().join("report.png")).unwrap_or_else(|e| {
        panic!("sample-reports/report.png: {e}; run `{UPDATE_COMMAND}` with chromium installed")
    });
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 20_000,
        "sample-reports/report.png is not a real screenshot ({} bytes)",
        png.len()
    );
}

/// Takes the sample screenshot with headless Chromium (the browser test's flags), bounded to
/// 60 s. Returns the PNG's size, or why it could not.
fn screenshot(html: &Path, png: &Path) -> Result<usize, String> {
    let chromium =
        installed_chromium().ok_or("chromium is not installed (apt-get install chromium)")?;
    let profile = tempfile::tempdir().map_err(|e| e.to_string())?;
    let shot = profile.path().join("shot.png");
    let html = html.canonicalize().map_err(|e| e.to_string())?;
    let mut child = std::process::Command::new(chromium)
        .args(CHROMIUM_FLAGS)
        .arg("--window-size=1280,2000")
        .arg(format!(
            "--user-data-dir={}",
            profile.path().join("profile").display()
        ))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start chromium: {e}"))?;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match child.try_wait().map_err(|e| e.to_string())? {
            Some(_) => break,
            None if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err("chromium did not finish within 60 s".into());
            }
            None => std::thread::sleep(Duration::from_millis(100)),
        }
    }
    let bytes = std::fs::read(&shot).map_err(|e| format!("no screenshot: {e}"))?;
    std::fs::write(png, &bytes).map_err(|e| e.to_string())?;
    Ok(bytes.len())
}
