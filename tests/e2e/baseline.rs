//! `--baseline PREVIOUS.json` and `--gate-on new` over real HTTP: a run is saved, the estate
//! changes (one gap fixed, one opened), and the next run tells new from unchanged and resolved
//! in every format; the gate on new fails only on what is new, an error still gives exit 2, and
//! a baseline of other instances, or one that is no report, is refused before any request.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, pair, preclone, Inst, Run};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// prod (production, the seed preservers) and dev. Both MID users can log in to the UI: high on
/// prod (it stays), medium on dev (to be fixed). Also the dormant, unvalidated and name checks
/// that fail or pass as they do in any estate.
fn estate() -> (FakeInstance, FakeInstance) {
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    prod.set_field("sys_user", &sid(100), "web_service_access_only", "false");
    let mut dev = target_dev();
    dev.set_field("sys_user", &sid(200), "web_service_access_only", "false");
    (FakeInstance::start(prod), FakeInstance::start(dev))
}

/// On dev: mid.dev can no longer log in to the UI (fixed), and now holds admin (a new gap).
fn fix_one_open_one(dev: &FakeInstance) {
    dev.update(|s| {
        s.set_field("sys_user", &sid(200), "web_service_access_only", "true");
        s.grant_role(&sid(200), ADMIN_ROLE);
    });
}

/// Writes `run`'s JSON report (its stdout) where the next runs can read it.
fn keep(run: &Run, dir: &Path, name: &str) -> String {
    assert!(run.report.is_object(), "no JSON report: {}", run.stderr);
    let path = dir.join(name);
    std::fs::write(&path, &run.stdout).expect("write the baseline");
    path.display().to_string()
}

fn with_change<'r>(run: &'r Run, change: &str) -> Vec<&'r Value> {
    run.all().iter().filter(|r| r["change"] == change).collect()
}

fn is_bad(r: &Value) -> bool {
    r["status"] == "fail" || r["status"] == "error"
}

#[test]
fn one_new_one_resolved_and_the_rest_unchanged_in_every_format() {
    let (prod, dev) = estate();
    let insts = pair(&prod, &dev);
    let dir = tempfile::tempdir().expect("tempdir");
    let before = audit(&insts, &[]);
    before.assert_code(1);
    let bad_before = before.all().iter().filter(|r| is_bad(r)).count();
    assert!(bad_before >= 3, "{}", before.problems());
    let baseline = keep(&before, dir.path(), "before.json");

    fix_one_open_one(&dev);
    let outs = ["-o", "after.csv", "-o", "after.html", "-o", "after.md"];
    let mut args = vec!["--baseline", baseline.as_str()];
    args.extend(outs);
    let after = audit(&insts, &args);
    // The plain gate: the new high fail and the unchanged one.
    after.assert_code(1);

    // JSON: exactly one new, one resolved, every other fail or error unchanged.
    let new = with_change(&after, "new");
    assert_eq!(new.len(), 1, "{}", after.problems());
    assert_eq!(
        (
            &new[0]["check"],
            &new[0]["instance"],
            &new[0]["subject"]["name"]
        ),
        (
            &json!("mid-user-elevated-roles"),
            &json!("dev"),
            &json!("mid.dev")
        )
    );
    let resolved = with_change(&after, "resolved");
    assert_eq!(resolved.len(), 1, "{}", after.stdout);
    assert_eq!(resolved[0]["check"], "mid-user-interactive-login");
    assert_eq!(
        (&resolved[0]["instance"], &resolved[0]["status"]),
        (&json!("dev"), &json!("pass"))
    );
    let unchanged = with_change(&after, "unchanged");
    assert_eq!(unchanged.len(), bad_before - 1);
    for r in after.all() {
        let marked = r.get("change").is_some();
        assert_eq!(marked, is_bad(r) || r["change"] == "resolved", "{r}");
    }
    let summary = &after.report["baseline"];
    assert_eq!(
        (&summary["new"], &summary["unchanged"], &summary["resolved"]),
        (&json!(1), &json!(bad_before - 1), &json!(1))
    );
    assert_eq!(summary["gone"], json!([]));
    assert_eq!(summary["file"], baseline.as_str());
    assert_eq!(summary["run_id"], before.report["run_id"]);

    // CSV: the change column holds the same marks.
    let csv = std::fs::read_to_string(after.file("after.csv")).expect("csv written");
    let mut reader = ::csv::Reader::from_reader(csv.as_bytes());
    let header = reader.headers().expect("header").clone();
    let column = header
        .iter()
        .position(|h| h == "change")
        .expect("a change column");
    let marks: Vec<String> = reader
        .records()
        .map(|r| r.expect("row")[column].to_string())
        .collect();
    let count = |m: &str| marks.iter().filter(|x| *x == m).count();
    assert_eq!(
        (count("new"), count("resolved"), count("unchanged")),
        (1, 1, bad_before - 1)
    );

    // HTML: one `new` badge, on the new finding; the resolved one listed since the baseline.
    let html = std::fs::read_to_string(after.file("after.html")).expect("html written");
    assert_eq!(
        html.matches("<span class=\"badge ch-new\">new</span>")
            .count(),
        1
    );
    assert!(html.contains(
        "<span class=\"badge ch-new\">new</span> <code>mid-user-elevated-roles</code> · mid.dev"
    ));
    let since = &html[html
        .find("<section id=\"since\">")
        .expect("a since section")..];
    assert!(
        since[..since.find("</section>").expect("closed")].contains("mid-user-interactive-login")
    );

    // Markdown: the line of counts, and the mark on the new failure's row.
    let md = std::fs::read_to_string(after.file("after.md")).expect("md written");
    let line = format!("1 new · {} unchanged · 1 resolved", bad_before - 1);
    assert!(md.contains(&line), "{md}");
    assert!(
        md.contains("| high · **new** | dev | mid-user-elevated-roles | mid.dev |"),
        "{md}"
    );
    assert!(
        md.contains("- **resolved** medium dev · mid-user-interactive-login · mid.dev: now passes"),
        "{md}"
    );

    // The gate on new fails too: the one new fail is high.
    let gated = audit(&insts, &["--baseline", &baseline, "--gate-on", "new"]);
    gated.assert_code(1);
    assert!(gated.report["gate"]["reason"]
        .as_str()
        .unwrap_or_default()
        .starts_with("1 new unwaived failure(s) at or above high"));
}

#[test]
fn gate_on_new_passes_when_nothing_is_new_while_the_plain_gate_fails() {
    let (prod, dev) = estate();
    let insts = pair(&prod, &dev);
    let dir = tempfile::tempdir().expect("tempdir");
    let evidence = dir.path().join("evidence.json").display().to_string();
    let before = audit(&insts, &["--save-evidence", &evidence]);
    before.assert_code(1);
    let baseline = keep(&before, dir.path(), "before.json");

    // Only the fix: nothing new, the high fail on prod unchanged.
    dev.update(|s| s.set_field("sys_user", &sid(200), "web_service_access_only", "true"));
    let plain = audit(&insts, &["--baseline", &baseline]);
    plain.assert_code(1);
    assert_eq!(plain.report["gate"]["gate_on"], "all");
    let new_only = audit(&insts, &["--baseline", &baseline, "--gate-on", "new"]);
    new_only.assert_code(0);
    assert_eq!(new_only.report["gate"]["gate_on"], "new");
    assert_eq!(new_only.report["gate"]["verdict"], "pass");
    let reason = new_only.report["gate"]["reason"]
        .as_str()
        .unwrap_or_default();
    assert!(
        reason.contains("1 unchanged since the baseline not counted (--gate-on new)"),
        "{reason}"
    );
    new_only.expect("mid-user-interactive-login", "prod", "mid.prod", "fail");
    assert_eq!(with_change(&new_only, "resolved").len(), 1);

    // The baseline written by the release before (schema version 2) is read the same way.
    let mut v2: Value = serde_json::from_str(&before.stdout).expect("json");
    v2["schema_version"] = json!(2);
    v2.as_object_mut().map(|o| o.remove("baseline"));
    v2["gate"].as_object_mut().map(|g| g.remove("gate_on"));
    let old = dir.path().join("v2.json");
    std::fs::write(&old, v2.to_string()).expect("write");
    let old = old.display().to_string();
    let from_v2 = audit(&insts, &["--baseline", &old, "--gate-on", "new"]);
    from_v2.assert_code(0);
    assert_eq!(from_v2.report["baseline"]["schema_version"], 2);
    // The same marks (two runs: messages that count days from the run's clock may differ).
    let marks = |run: &Run| -> Vec<String> {
        let results = run.report["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        (results.iter())
            .map(|r| {
                let f = |k: &str| r[k].to_string();
                let subject =
                    r["subject"]["sys_id"].to_string() + &r["subject"]["name"].to_string();
                [f("check"), f("instance"), subject, f("status"), f("change")].join(" ")
            })
            .collect()
    };
    assert_eq!(marks(&from_v2), marks(&new_only));

    // Offline: the saved evidence of the first run, against its own report, is all unchanged.
    let offline = preclone()
        .args([
            "audit",
            "--format",
            "json",
            "--gate-on",
            "new",
            "--evidence",
            &evidence,
        ])
        .args(["--baseline", &baseline])
        .output()
        .expect("runs");
    assert_eq!(
        offline.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&offline.stderr)
    );
    let report: Value = serde_json::from_slice(&offline.stdout).expect("JSON");
    assert_eq!(report["baseline"]["new"], 0);
    assert_eq!(report["baseline"]["resolved"], 0);

    // `render` marks a saved JSON report against a baseline too.
    let after = keep(&new_only, dir.path(), "after.json");
    let md = dir.path().join("rendered.md");
    let rendered = preclone()
        .args(["render", &after, "--baseline", &baseline, "-o"])
        .arg(&md)
        .output()
        .expect("runs");
    assert_eq!(
        rendered.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&rendered.stderr)
    );
    let md = std::fs::read_to_string(md).expect("rendered");
    assert!(md.contains("0 new · "), "{md}");
    assert!(md.contains(" · 1 resolved"), "{md}");
}

#[test]
fn an_error_still_exits_2_under_gate_on_new() {
    let (prod, dev) = estate();
    let insts = pair(&prod, &dev);
    let dir = tempfile::tempdir().expect("tempdir");
    let clean = keep(&audit(&insts, &[]), dir.path(), "clean.json");

    // The preservers become unreadable: the survival checks are undecided, new errors.
    prod.update(|s| {
        s.faults.forbidden_tables = BTreeSet::from(["clone_data_preserver".to_string()]);
    });
    let first = audit(&insts, &["--baseline", &clean, "--gate-on", "new"]);
    first.assert_code(2);
    let new_errors = with_change(&first, "new");
    assert!(!new_errors.is_empty());
    assert!(
        new_errors.iter().all(|r| r["status"] == "error"),
        "{new_errors:?}"
    );

    // The same errors again: unchanged, and still exit 2 (or 0 when allowed).
    let broken = keep(&first, dir.path(), "broken.json");
    let again = audit(&insts, &["--baseline", &broken, "--gate-on", "new"]);
    again.assert_code(2);
    assert!(
        with_change(&again, "new").is_empty(),
        "{}",
        again.problems()
    );
    let bad = again.all().iter().filter(|r| is_bad(r)).count();
    assert!(
        again.all().iter().any(|r| r["status"] == "fail"),
        "{}",
        again.problems()
    );
    assert_eq!(
        with_change(&again, "unchanged").len(),
        bad,
        "{}",
        again.problems()
    );
    let allowed = audit(
        &insts,
        &[
            "--baseline",
            &broken,
            "--gate-on",
            "new",
            "--allow-incomplete",
        ],
    );
    allowed.assert_code(0);
}

/// A run of `args` that must stop with exit 3 before any request, its stderr naming `needle`.
fn refused(insts: &[Inst], fakes: &[&FakeInstance], args: &[&str], needle: &str) {
    for f in fakes {
        f.clear_requests();
    }
    let run = audit(insts, args);
    run.assert_code(3);
    assert!(run.stderr.contains(needle), "{needle:?} in {}", run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    for f in fakes {
        assert!(
            f.requests().is_empty(),
            "a request was made: {:?}",
            f.requests()
        );
    }
}

#[test]
fn a_baseline_of_other_instances_is_refused_before_any_request() {
    let (prod, dev) = estate();
    let dir = tempfile::tempdir().expect("tempdir");
    let baseline = keep(&audit(&pair(&prod, &dev), &[]), dir.path(), "prod-dev.json");
    let other = FakeInstance::start(target_dev());
    let insts = pair(&prod, &other);
    let args = ["--baseline", baseline.as_str()];
    refused(&insts, &[&prod, &other], &args, "is an audit of prod");
    refused(&insts, &[&prod, &other], &args, &other.url());
    // A target added to the audit is other instances too.
    let mut three = pair(&prod, &dev).to_vec();
    three.push(crate::support::run::inst("other", other.url(), false));
    refused(&three, &[&prod, &dev, &other], &args, "prod-dev.json");
}

#[test]
fn a_baseline_that_is_no_report_is_refused_naming_it() {
    let (prod, dev) = estate();
    let insts = pair(&prod, &dev);
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, text: &str| -> String {
        let p: PathBuf = dir.path().join(name);
        std::fs::write(&p, text).expect("write");
        p.display().to_string()
    };
    let garbage = write("garbage.json", "\u{1}not a report at all");
    let fakes = [&prod, &dev];
    refused(
        &insts,
        &fakes,
        &["--baseline", &garbage],
        "garbage.json is not JSON",
    );
    let object = write("object.json", "{\"results\": []}");
    refused(
        &insts,
        &fakes,
        &["--baseline", &object],
        "object.json is not a preclone JSON report",
    );
    let evidence = dir.path().join("evidence.json").display().to_string();
    audit(&insts, &["--save-evidence", &evidence]).assert_code(1);
    refused(
        &insts,
        &fakes,
        &["--baseline", &evidence],
        "is an evidence file, not a JSON report",
    );
    let newer = write("newer.json", "{\"schema_version\": 99}");
    refused(
        &insts,
        &fakes,
        &["--baseline", &newer],
        "newer than this preclone reads",
    );
    let missing = dir.path().join("missing.json").display().to_string();
    refused(
        &insts,
        &fakes,
        &["--baseline", &missing],
        "cannot read the baseline",
    );
    // --gate-on means nothing without a baseline.
    refused(&insts, &fakes, &["--gate-on", "new"], "--baseline");
}
