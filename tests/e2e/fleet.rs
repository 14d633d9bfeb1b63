//! End-to-end: fleets (`preclone audit --pairs`). Three pairs share one production source: the
//! source's reads that do not depend on the targets are made once for the fleet, each pair's
//! JSON report equals a standalone audit of that pair, the reports land where `{pair}` says,
//! and the run exits with the worst pair's code. Every refusal exits 3 before any request.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{preclone, PASSWORD_ENV};
use preclone::tables;
use serde_json::Value;
use std::collections::BTreeMap;

const FROZEN: &str = "2026-11-24T09:12:00Z";

/// prod (the seed's preservers, a role containing `mid_server`, a clone request to an instance
/// that is not audited) and three targets: dev (passes), test (a MID Server logging in as a
/// user that holds no `mid_server`: fails) and stage (its memberships unreadable: incomplete).
struct Fleet {
    prod: FakeInstance,
    dev: FakeInstance,
    test: FakeInstance,
    stage: FakeInstance,
    dir: tempfile::TempDir,
}

/// The pairs of the fleet's config, and the exit each gets alone.
const PAIRS: &[(&str, &[&str], i32)] = &[
    ("prod-dev", &["dev"], 0),
    ("prod-dev-test", &["dev", "test"], 1),
    ("prod-stage", &["stage"], 2),
];

impl Fleet {
    fn start(pairs_toml: &str) -> Fleet {
        let mut prod = source_prod();
        seed_preservers(&mut prod);
        let admin = prod.add_role("mid_admin");
        prod.add_role_contains(&admin, MID_ROLE);
        let other = prod.add_instance_record("acmeother", "https://acmeother.service-now.com/");
        prod.add_clone_request("clone_instance", &other, serde_json::json!({}));
        let mut test = target_test();
        test.add_user("svc.test");
        test.add_mid_server("mid-test-02", "svc.test", "Up");
        let mut stage = instance(false);
        mid_user(&mut stage, 400, "mid.stage", "mid-stage-01");
        stage
            .faults
            .forbidden_tables
            .insert("sys_user_grmember".into());
        let fleet = Fleet {
            prod: FakeInstance::start(prod),
            dev: FakeInstance::start(target_dev()),
            test: FakeInstance::start(test),
            stage: FakeInstance::start(stage),
            dir: tempfile::tempdir().expect("tempdir"),
        };
        let mut config = String::new();
        for (name, fake, production) in fleet.named() {
            config.push_str(&format!(
                "[instance.{name}]\nurl = \"{}\"\nproduction = {production}\n\
                 auth = {{ type = \"basic\", username = \"{AUDIT_USER}\", password_env = \"{PASSWORD_ENV}\" }}\n\n",
                fake.url()
            ));
        }
        config.push_str(pairs_toml);
        std::fs::write(fleet.dir.path().join("preclone.toml"), config).expect("config");
        std::fs::create_dir(fleet.dir.path().join("out")).expect("out/");
        fleet
    }

    fn named(&self) -> [(&'static str, &FakeInstance, bool); 4] {
        [
            ("prod", &self.prod, true),
            ("dev", &self.dev, false),
            ("test", &self.test, false),
            ("stage", &self.stage, false),
        ]
    }

    /// `preclone audit ARGS` in the config's folder, on the frozen clock.
    fn audit(&self, args: &[&str]) -> (i32, String, String) {
        let out = preclone()
            .current_dir(self.dir.path())
            .env("PRECLONE_FROZEN_TIME", FROZEN)
            .arg("audit")
            .args(args)
            .args(["--timeout", "10s"])
            .output()
            .expect("run preclone");
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn clear(&self) {
        for (_, fake, _) in self.named() {
            fake.clear_requests();
        }
    }

    /// Requests received by every fake, by name.
    fn counts(&self) -> Vec<(&'static str, usize)> {
        self.named()
            .iter()
            .map(|(n, f, _)| (*n, f.requests().len()))
            .collect()
    }

    fn json(&self, path: &str) -> Value {
        let text = std::fs::read_to_string(self.dir.path().join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        serde_json::from_str(&text).expect("a JSON report")
    }
}

fn pairs_toml() -> String {
    PAIRS
        .iter()
        .map(|(name, targets, _)| {
            let targets: Vec<String> = targets.iter().map(|t| format!("\"{t}\"")).collect();
            format!(
                "[[pair]]\nname = \"{name}\"\nsource = \"prod\"\ntargets = [{}]\n\n",
                targets.join(", ")
            )
        })
        .collect()
}

/// One request as the fake saw it: table, query, fields, offset.
type Key = (String, String, String, String);

fn requests_of(fake: &FakeInstance) -> BTreeMap<Key, usize> {
    let mut out = BTreeMap::new();
    for r in fake.requests() {
        let q = |k: &str| r.query.get(k).cloned().unwrap_or_default();
        let table = r.path.rsplit('/').next().unwrap_or_default().to_string();
        let key = (
            table,
            q("sysparm_query"),
            q("sysparm_fields"),
            q("sysparm_offset"),
        );
        *out.entry(key).or_default() += 1;
    }
    out
}

/// A read whose query is a table's fixed first query ([`tables::Table::probe`]).
fn is_fixed(key: &Key) -> bool {
    tables::ALL
        .iter()
        .any(|t| t.name == key.0 && t.probe == key.1)
}

/// A read that follows from the source's fixed reads alone: the `instance` records the clone
/// requests point to. (Role containment is read whole: a fixed read.)
fn follows_from_fixed(key: &Key) -> bool {
    key.0 == "instance" && key.1.starts_with("sys_idIN")
}

#[test]
fn a_fleet_shares_the_source_reads_and_each_pair_reports_as_if_alone() {
    let fleet = Fleet::start(&pairs_toml());

    // Each pair alone, the prod requests of each run kept.
    let mut alone = Vec::new();
    for (name, targets, code) in PAIRS {
        fleet.clear();
        let mut args = vec!["--source", "prod"];
        for t in *targets {
            args.extend(["--target", t]);
        }
        let out = format!("alone-{name}.json");
        args.extend(["-o", &out, "-q"]);
        let (got, _, stderr) = fleet.audit(&args);
        assert_eq!(got, *code, "{name} alone: {stderr}");
        alone.push((fleet.json(&out), requests_of(&fleet.prod)));
    }

    fleet.clear();
    let (code, stdout, stderr) =
        fleet.audit(&["--pairs", "-o", "out/{pair}.json", "-o", "out/{pair}.md"]);
    // The worst pair's code: 1 outranks 2 and 0.
    assert_eq!(code, 1, "stdout:\n{stdout}\nstderr:\n{stderr}");

    // Each pair's report equals its standalone audit, whole (the clock is frozen).
    for ((name, _, pair_code), (report, _)) in PAIRS.iter().zip(&alone) {
        let got = fleet.json(&format!("out/{name}.json"));
        assert_eq!(got["gate"]["exit_code"], *pair_code, "{name}");
        if got != *report {
            panic!(
                "{name}: the fleet's report differs from the standalone one\nfleet:\n{}\nalone:\n{}",
                serde_json::to_string_pretty(&got).unwrap_or_default(),
                serde_json::to_string_pretty(report).unwrap_or_default()
            );
        }
        let md = std::fs::read_to_string(fleet.dir.path().join(format!("out/{name}.md")))
            .expect("the pair's Markdown report");
        assert!(md.contains("prod"), "{md}");
    }

    // One summary line per pair, in the config's order, and a total.
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{stdout}");
    assert!(
        lines[0].starts_with("prod-dev: PASS (exit 0), prod -> dev: "),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("prod-dev-test: FAIL (exit 1), prod -> dev, test: "),
        "{stdout}"
    );
    assert!(
        lines[2].starts_with("prod-stage: INCOMPLETE (exit 2), prod -> stage: "),
        "{stdout}"
    );
    assert_eq!(
        lines[3],
        "total: 3 pairs: 1 pass, 1 fail, 1 incomplete, 0 unreachable; exit 1 (the worst pair's)"
    );
    assert!(
        stderr.contains("2 of 3 pairs did not pass; the run exits 1"),
        "{stderr}"
    );
    assert!(
        stderr.contains("prod-dev-test (exit 1)") && stderr.contains("prod-stage (exit 2)"),
        "{stderr}"
    );

    // The source's reads that do not depend on the targets were made once for the fleet; the
    // others once per pair, as alone.
    let fleet_reads = requests_of(&fleet.prod);
    let shared: Vec<&Key> = fleet_reads
        .keys()
        .filter(|k| is_fixed(k) || follows_from_fixed(k))
        .collect();
    assert!(
        shared.iter().filter(|k| is_fixed(k)).count() >= 10,
        "{shared:#?}"
    );
    assert!(
        shared
            .iter()
            .any(|k| k.0 == "instance" && follows_from_fixed(k)),
        "no follow-up read of instance: {shared:#?}"
    );
    assert!(
        shared
            .iter()
            .any(|k| k.0 == "sys_user_role_contains" && is_fixed(k)),
        "role containment was not read whole once: {shared:#?}"
    );
    for key in &shared {
        assert_eq!(
            fleet_reads[*key], 1,
            "{key:?} read more than once in the fleet"
        );
        for (_, reads) in &alone {
            assert_eq!(reads.get(*key), Some(&1), "{key:?} not read alone");
        }
    }
    let total = |reads: &BTreeMap<Key, usize>| reads.values().sum::<usize>();
    let alone_total: usize = alone.iter().map(|(_, r)| total(r)).sum();
    assert_eq!(
        total(&fleet_reads),
        alone_total - (PAIRS.len() - 1) * shared.len(),
        "the fleet saved exactly the shared reads of two pairs"
    );
    // Every read of a target-dependent query was made as often as alone.
    for (key, n) in &fleet_reads {
        if !shared.contains(&key) {
            let alone_n: usize = alone.iter().filter_map(|(_, r)| r.get(key)).sum();
            assert_eq!(*n, alone_n, "{key:?}");
        }
    }
    // Each pair's report counts the requests made for it, shared ones included.
    let summed: u64 = PAIRS
        .iter()
        .map(|(n, ..)| {
            fleet.json(&format!("out/{n}.json"))["summary"]["requests"]
                .as_u64()
                .unwrap_or(0)
        })
        .sum();
    let sent: usize = fleet.counts().iter().map(|(_, n)| n).sum();
    assert_eq!(summed as usize, sent + (PAIRS.len() - 1) * shared.len());
}

#[test]
fn one_named_pair_may_write_to_a_plain_path_and_exits_with_its_own_code() {
    let fleet = Fleet::start(&pairs_toml());
    let (code, stdout, stderr) = fleet.audit(&["--pairs", "prod-dev", "-o", "report.json"]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(fleet.json("report.json")["targets"][0]["name"], "dev");
    assert_eq!(stdout.lines().count(), 2, "{stdout}");
    assert!(stderr.is_empty(), "{stderr}");
    // Only the pair's instances were read.
    assert_eq!(
        fleet.stage.requests().len() + fleet.test.requests().len(),
        0
    );
    let (code, stdout, _) = fleet.audit(&["--pairs", "prod-stage", "prod-dev", "-q"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty(), "{stdout}");
}

#[test]
fn every_refusal_exits_3_before_any_request() {
    let fleet = Fleet::start(&pairs_toml());
    let cases: &[(&[&str], &str)] = &[
        (&["--pairs", "-o", "report.html"], "-o report.html: 3 pairs would all share this one file; put {pair} in the path"),
        (&["--pairs", "prod-dev", "prod-stage", "--save-evidence", "run.json"], "--save-evidence run.json: 2 pairs would all share"),
        (&["--pairs", "prod-qa"], "--pairs prod-qa: no [[pair]] of the config is named so; the config defines prod-dev, prod-dev-test, prod-stage"),
        (&["--pairs", "prod-dev", "prod-dev"], "--pairs prod-dev is given 2 times"),
        (&["--pairs", "--source", "prod"], "cannot be used with"),
        (&["--pairs", "prod-dev", "--target", "dev"], "cannot be used with"),
        (&["--pairs", "-o", "-"], "-o - with --pairs: standard output holds one summary line per pair"),
        (&["--pairs", "--format", "json"], "--format json with --pairs"),
        (&["--pairs", "-o", "out/{pair}.txt"], "cannot tell the report format of out/prod-dev.txt"),
        (&["--pairs", "--baseline", "last.json"], "--baseline last.json: 3 pairs would all share"),
        (&["--pairs", "prod-dev", "--baseline", "out/{pair}-missing.json"], "out/prod-dev-missing.json"),
    ];
    for (args, expected) in cases {
        let (code, stdout, stderr) = fleet.audit(args);
        assert_eq!(code, 3, "{args:?}: {stdout}{stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
        assert!(
            fleet.counts().iter().all(|(_, n)| *n == 0),
            "{args:?}: {:?}",
            fleet.counts()
        );
    }
    let written = std::fs::read_dir(fleet.dir.path().join("out"))
        .expect("out/")
        .count();
    assert_eq!(written, 0, "nothing written");

    // A secret missing for one pair's instance refuses the whole fleet, naming the pair.
    let out = preclone()
        .current_dir(fleet.dir.path())
        .env_remove(PASSWORD_ENV)
        .args(["audit", "--pairs", "-o", "out/{pair}.json"])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the fleet was refused before any request was sent; 4 problems:"),
        "{stderr}"
    );
    let prod = "  - instance prod: the environment variable PRECLONE_TEST_PASSWORD (named by \
                instance.prod.auth.password_env) is unset or empty";
    assert!(stderr.contains(prod), "{stderr}");
    assert!(
        stderr.contains("(pairs prod-dev, prod-dev-test, prod-stage)"),
        "{stderr}"
    );
    assert!(stderr.contains("(pair prod-dev-test)"), "{stderr}");
    assert!(fleet.counts().iter().all(|(_, n)| *n == 0));
}

#[test]
fn a_bad_pair_table_or_no_pair_at_all_exits_3_naming_the_key() {
    let twice = "[[pair]]\nname = \"a\"\nsource = \"prod\"\ntargets = [\"dev\"]\n\n\
                 [[pair]]\nname = \"a\"\nsource = \"prod\"\ntargets = [\"qa\"]\n";
    let fleet = Fleet::start(twice);
    let (code, _, stderr) = fleet.audit(&["--pairs", "-o", "out/{pair}.json"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(
        stderr.contains("pair[1].name: the pair name \"a\" is already used by pair[0]"),
        "{stderr}"
    );
    assert!(
        stderr.contains("pair[1].targets[0]: unknown instance \"qa\""),
        "{stderr}"
    );
    assert!(fleet.counts().iter().all(|(_, n)| *n == 0));

    let none = Fleet::start("");
    let (code, _, stderr) = none.audit(&["--pairs"]);
    assert_eq!(code, 3);
    assert!(stderr.contains("defines no [[pair]]"), "{stderr}");
    assert!(none.counts().iter().all(|(_, n)| *n == 0));
}

#[test]
fn an_unreachable_target_ends_its_pair_in_4_and_the_other_pairs_are_still_audited() {
    // A loopback port nothing listens on: every connection is refused.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port");
    let pairs = format!(
        "[instance.gone]\nurl = \"http://{dead}\"\nproduction = false\n\
         auth = {{ type = \"basic\", username = \"{AUDIT_USER}\", password_env = \"{PASSWORD_ENV}\" }}\n\n\
         [[pair]]\nname = \"prod-dev-test\"\nsource = \"prod\"\ntargets = [\"dev\", \"test\"]\n\n\
         [[pair]]\nname = \"prod-gone\"\nsource = \"prod\"\ntargets = [\"gone\"]\n\n\
         [[pair]]\nname = \"prod-dev\"\nsource = \"prod\"\ntargets = [\"dev\"]\n"
    );
    let fleet = Fleet::start(&pairs);
    let (code, stdout, stderr) = fleet.audit(&[
        "--pairs",
        "-o",
        "out/{pair}.json",
        "--save-evidence",
        "out/{pair}.evidence.json",
    ]);
    // 4 outranks 1.
    assert_eq!(code, 4, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(fleet.json("out/prod-gone.json")["gate"]["exit_code"], 4);
    assert_eq!(fleet.json("out/prod-dev-test.json")["gate"]["exit_code"], 1);
    assert_eq!(fleet.json("out/prod-dev.json")["gate"]["exit_code"], 0);
    for name in ["prod-gone", "prod-dev-test", "prod-dev"] {
        let evidence = fleet.json(&format!("out/{name}.evidence.json"));
        assert_eq!(evidence["source"], "prod", "{name}");
    }
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[1].starts_with("prod-gone: INCOMPLETE (exit 4), prod -> gone: "),
        "{stdout}"
    );
    assert!(lines[1].contains("could not read gone"), "{stdout}");
    assert_eq!(
        lines[3],
        "total: 3 pairs: 1 pass, 1 fail, 0 incomplete, 1 unreachable; exit 4 (the worst pair's)"
    );
    assert!(stderr.contains("the run exits 4"), "{stderr}");
}
