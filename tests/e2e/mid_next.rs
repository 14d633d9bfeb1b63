//! End-to-end: the MID Server checks beyond password logins, each on a passing, a failing and
//! an unreadable-table estate over real HTTP: clusters (`mid-cluster-will-go-down`,
//! `mid-cluster-not-preserved`), certificate logins (`mid-certificate-not-preserved`, counted in
//! `mid-server-will-go-down`, and `mid-certificate-expiring`), MID Servers already down
//! (`mid-server-already-down`) and pinned ones (`build-mismatch`); that no certificate read
//! names a secret field or lets one reach any output; and that these reads stay flat in the
//! number of MID Servers.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, pair, Run};
use chrono::{Duration, Utc};
use serde_json::{json, Value};

/// The one result of `check` on `instance` for `subject`.
fn one<'r>(run: &'r Run, check: &str, instance: &str, subject: &str) -> &'r Value {
    let found = run.of(check, instance, subject);
    assert_eq!(
        found.len(),
        1,
        "{check} {instance} {subject}: {found:?}\n{}",
        run.problems()
    );
    found[0]
}

/// The one result has this status and severity, and names this subject table.
fn expect(run: &Run, check: &str, instance: &str, subject: (&str, &str), status: &str, sev: &str) {
    let r = one(run, check, instance, subject.1);
    assert_eq!(
        (r["status"].as_str(), r["severity"].as_str()),
        (Some(status), Some(sev)),
        "{check} {instance} {}: {r}\n{}",
        subject.1,
        run.problems()
    );
    assert_eq!(r["subject"]["table"], subject.0, "{r}");
}

fn forbid(s: &mut FakeState, table: &str) {
    s.faults.forbidden_tables.insert(table.to_string());
}

/// A time `days` from now, as the instance stores it.
fn days_from_now(days: i64) -> String {
    (Utc::now() + Duration::days(days))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

/// A MID user `login` (sys_id `sid(id)`) whose MID Server `server` (`sid(id + 2)`) logs in with
/// a client certificate mapped to it by a row named `cert`, expiring on `expires`. Returns the
/// certificate row's sys_id.
fn cert_login(s: &mut FakeState, id: u32, login: &str, server: &str, expires: &str) -> String {
    let uid = mid_user(s, id, login, server);
    s.set_field("ecc_agent", &sid(id + 2), "is_using_mutual_auth", "true");
    s.add_user_certificate(&uid, &format!("CN={server}.acme.local"), true, expires)
}

/// prod with the clone tip's preservers and the default exclusion of the cluster table.
fn source() -> FakeState {
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    prod.add_exclusion("ecc_agent_cluster", true);
    prod
}

/// Preservers that keep the MID rows without dot-walking (so that a low gate sees no
/// `preserver-dot-walked`), and the cluster table's preserver.
fn plain_source() -> FakeState {
    let mut prod = source_prod();
    prod.add_preserver("MID users", "sys_user", "roles=mid_server");
    prod.add_preserver(
        "MID grants",
        "sys_user_has_role",
        &format!("role={MID_ROLE}"),
    );
    prod.add_preserver(
        "No memberships",
        "sys_user_grmember",
        &format!("user={}", sid(9)),
    );
    prod.add_exclusion("ecc_agent_cluster", true);
    prod.add_preserver("MID clusters", "ecc_agent_cluster", "");
    prod
}

/// dev with a second MID Server, `mid-dev-02`, logging in as `login` (no such user: it goes
/// Down after the clone), and the failover cluster DISC-EU of both.
fn clustered_dev(second_login: &str) -> (FakeState, String) {
    let mut dev = target_dev();
    let second = dev.add_mid_server("mid-dev-02", second_login, "Up");
    let cluster = dev.add_cluster("DISC-EU", "Failover", &[&sid(202), &second]);
    (dev, cluster)
}

fn start(prod: FakeState, dev: FakeState) -> Run {
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    audit(&pair(&prod, &dev), &[])
}

// --- mid-cluster-will-go-down

#[test]
fn a_cluster_whose_members_all_go_down_fails_critical_and_reads_as_a_cluster_line() {
    // No preserver at all: mid.dev is not kept, and mid-dev-02's login has no user.
    let mut prod = source_prod();
    prod.add_exclusion("ecc_agent_cluster", true);
    let (dev, _) = clustered_dev("mid.nobody");
    let run = start(prod, dev);
    run.assert_code(1);
    let cluster = ("ecc_agent_cluster", "DISC-EU");
    expect(
        &run,
        "mid-cluster-will-go-down",
        "dev",
        cluster,
        "fail",
        "critical",
    );
    let m = run.message("mid-cluster-will-go-down", "dev", "DISC-EU");
    assert!(
        m.contains("Failover cluster DISC-EU: 2 of 2 members down"),
        "{m}"
    );
    let lines = run.report["cluster_impact"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(lines.len(), 1, "{}", run.report["cluster_impact"]);
    assert_eq!(
        lines[0]["line"],
        "Failover cluster DISC-EU: 2 of 2 members down"
    );
    assert_eq!(
        (lines[0]["members"].as_u64(), lines[0]["down"].as_u64()),
        (Some(2), Some(2))
    );
    // The impact table names each MID Server's cluster.
    let impact = run.report["impact"].as_array().cloned().unwrap_or_default();
    assert_eq!(impact.len(), 2, "{impact:?}");
    assert!(
        impact.iter().all(|i| i["cluster"] == "DISC-EU"),
        "{impact:?}"
    );
}

#[test]
fn a_cluster_with_a_member_that_keeps_working_passes() {
    for (second, down) in [("mid.dev", 0), ("mid.nobody", 1)] {
        let mut prod = source();
        prod.add_preserver("MID clusters", "ecc_agent_cluster", "");
        let (dev, _) = clustered_dev(second);
        let run = start(prod, dev);
        let cluster = ("ecc_agent_cluster", "DISC-EU");
        expect(
            &run,
            "mid-cluster-will-go-down",
            "dev",
            cluster,
            "pass",
            "critical",
        );
        expect(
            &run,
            "mid-cluster-not-preserved",
            "dev",
            cluster,
            "pass",
            "high",
        );
        let lines = run.report["cluster_impact"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if down == 0 {
            run.assert_code(0);
            assert!(lines.is_empty(), "{lines:?}");
        } else {
            // mid-dev-02 goes down; its cluster line says so, and the cluster still works.
            run.assert_code(1);
            assert_eq!(
                lines[0]["line"],
                "Failover cluster DISC-EU: 1 of 2 members down"
            );
            assert_eq!(lines[0]["result_status"], "pass");
        }
    }
}

#[test]
fn unreadable_cluster_tables_leave_exactly_the_cluster_checks_in_error() {
    let mut dev = clustered_dev("mid.dev").0;
    forbid(&mut dev, "ecc_agent_cluster");
    let run = start(source(), dev);
    run.assert_code(2);
    let table = ("sys_db_object", "ecc_agent_cluster");
    expect(
        &run,
        "mid-cluster-will-go-down",
        "dev",
        table,
        "error",
        "critical",
    );
    expect(
        &run,
        "mid-cluster-not-preserved",
        "dev",
        table,
        "error",
        "high",
    );
    run.assert_unreadable("dev", "ecc_agent_cluster", "");
    // Nothing else rests on it.
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-02", "pass");
    run.expect("mid-server-already-down", "dev", "mid-dev-01", "pass");

    // Without the member rows, each cluster's fate is undecided; whether it is kept is not.
    let mut dev = clustered_dev("mid.dev").0;
    forbid(&mut dev, "ecc_agent_cluster_member_m2m");
    let mut prod = source();
    prod.add_preserver("MID clusters", "ecc_agent_cluster", "");
    let run = start(prod, dev);
    run.assert_code(2);
    let cluster = ("ecc_agent_cluster", "DISC-EU");
    expect(
        &run,
        "mid-cluster-will-go-down",
        "dev",
        cluster,
        "error",
        "critical",
    );
    expect(
        &run,
        "mid-cluster-not-preserved",
        "dev",
        cluster,
        "pass",
        "high",
    );
}

// --- mid-cluster-not-preserved

#[test]
fn a_cluster_in_the_default_exclusions_without_a_preserver_is_not_preserved() {
    let (dev, _) = clustered_dev("mid.dev");
    let run = start(source(), dev);
    run.assert_code(1);
    let cluster = ("ecc_agent_cluster", "DISC-EU");
    expect(
        &run,
        "mid-cluster-not-preserved",
        "dev",
        cluster,
        "fail",
        "high",
    );
    let m = run.message("mid-cluster-not-preserved", "dev", "DISC-EU");
    assert!(
        m.contains("\"ecc_agent_cluster\" empties ecc_agent_cluster"),
        "{m}"
    );
    // Its members still log in: the cluster itself does not go down.
    expect(
        &run,
        "mid-cluster-will-go-down",
        "dev",
        cluster,
        "pass",
        "critical",
    );
}

#[test]
fn a_copied_cluster_table_keeps_only_the_clusters_the_source_has() {
    // No exclusion: the table is copied from prod, which has DISC-EU with dev's sys_id only in
    // the second round.
    for shared in [false, true] {
        let mut prod = source_prod();
        seed_preservers(&mut prod);
        let (dev, cluster) = clustered_dev("mid.dev");
        if shared {
            prod.insert(
                "ecc_agent_cluster",
                json!({"sys_id": cluster, "name": "DISC-EU", "type": "Failover"}),
            );
        }
        let run = start(prod, dev);
        let subject = ("ecc_agent_cluster", "DISC-EU");
        if shared {
            run.assert_code(0);
            expect(
                &run,
                "mid-cluster-not-preserved",
                "dev",
                subject,
                "pass",
                "high",
            );
        } else {
            run.assert_code(1);
            expect(
                &run,
                "mid-cluster-not-preserved",
                "dev",
                subject,
                "fail",
                "high",
            );
            let m = run.message("mid-cluster-not-preserved", "dev", "DISC-EU");
            assert!(m.contains("copied from prod"), "{m}");
        }
    }
}

#[test]
fn a_cluster_preserver_left_out_of_the_profile_keeps_nothing() {
    let mut prod = source();
    let keep = prod.add_preserver("MID clusters", "ecc_agent_cluster", "nameSTARTSWITHDISC");
    let seeds: Vec<String> = prod
        .find("clone_data_preserver", "table", "sys_user")
        .into_iter()
        .chain(prod.find("clone_data_preserver", "table", "sys_user_has_role"))
        .chain(prod.find("clone_data_preserver", "table", "sys_user_grmember"))
        .map(|r| r["sys_id"].clone())
        .collect();
    let refs: Vec<&str> = seeds.iter().map(String::as_str).collect();
    prod.add_clone_profile("Standard", true, &refs);
    let (dev, _) = clustered_dev("mid.dev");
    let run = start(prod, dev);
    run.assert_code(1);
    let m = run.message("mid-cluster-not-preserved", "dev", "DISC-EU");
    assert!(
        m.contains("preserver \"MID clusters\" does not apply: not listed in the clone profile"),
        "{m}"
    );
    assert!(!keep.is_empty());
}

// --- mid-certificate-not-preserved, and mid-server-will-go-down through it

#[test]
fn a_certificate_login_whose_row_is_not_preserved_takes_its_mid_server_down() {
    let mut dev = target_dev();
    cert_login(
        &mut dev,
        210,
        "mid.cert",
        "mid-dev-02",
        "2030-01-01 00:00:00",
    );
    let mut prod = source();
    // A preserver on the parent table does not reach sys_user_certificate.
    prod.add_preserver("Certificates", "sys_certificate", "active=true");
    let run = start(prod, dev);
    run.assert_code(1);
    let cert = ("sys_user_certificate", "CN=mid-dev-02.acme.local");
    expect(
        &run,
        "mid-certificate-not-preserved",
        "dev",
        cert,
        "fail",
        "critical",
    );
    let m = run.message("mid-certificate-not-preserved", "dev", cert.1);
    assert!(
        m.contains("on sys_certificate does not reach its child table"),
        "{m}"
    );
    let server = ("ecc_agent", "mid-dev-02");
    expect(
        &run,
        "mid-server-will-go-down",
        "dev",
        server,
        "fail",
        "critical",
    );
    let m = run.message("mid-server-will-go-down", "dev", "mid-dev-02");
    assert!(m.contains("certificate not kept"), "{m}");
    // Its user survives, and its login is known: only the certificate takes it down.
    run.expect("mid-user-not-preserved", "dev", "mid.cert", "pass");
    run.expect("mid-server-login-unknown", "dev", "mid-dev-02", "pass");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");
}

#[test]
fn a_preserver_on_sys_user_certificate_keeps_the_certificate_login() {
    let mut dev = target_dev();
    cert_login(
        &mut dev,
        210,
        "mid.cert",
        "mid-dev-02",
        "2030-01-01 00:00:00",
    );
    let mut prod = source();
    prod.add_preserver(
        "MID certificates",
        "sys_user_certificate",
        "user.roles=mid_server",
    );
    let run = start(prod, dev);
    run.assert_code(0);
    let cert = ("sys_user_certificate", "CN=mid-dev-02.acme.local");
    expect(
        &run,
        "mid-certificate-not-preserved",
        "dev",
        cert,
        "pass",
        "critical",
    );
    run.expect("mid-server-will-go-down", "dev", "mid-dev-02", "pass");
    expect(&run, "mid-certificate-expiring", "dev", cert, "pass", "low");
}

#[test]
fn an_unreadable_certificate_table_leaves_the_certificate_logins_undecided() {
    let mut dev = target_dev();
    cert_login(
        &mut dev,
        210,
        "mid.cert",
        "mid-dev-02",
        "2030-01-01 00:00:00",
    );
    forbid(&mut dev, "sys_user_certificate");
    let run = start(source(), dev);
    run.assert_code(2);
    let table = ("sys_db_object", "sys_user_certificate");
    expect(
        &run,
        "mid-certificate-not-preserved",
        "dev",
        table,
        "error",
        "critical",
    );
    expect(
        &run,
        "mid-certificate-expiring",
        "dev",
        table,
        "error",
        "low",
    );
    let server = ("ecc_agent", "mid-dev-02");
    expect(
        &run,
        "mid-server-will-go-down",
        "dev",
        server,
        "error",
        "critical",
    );
    // The password login does not rest on it.
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");
    run.assert_unreadable("dev", "sys_user_certificate", "");
}

// --- mid-certificate-expiring

#[test]
fn an_inactive_or_soon_expiring_certificate_fails_low() {
    for (active, expires, what) in [
        (true, days_from_now(10), "within 30 days"),
        (true, days_from_now(-2), "expired on"),
        (false, days_from_now(400), "is inactive"),
    ] {
        let mut dev = target_dev();
        let cert = cert_login(&mut dev, 210, "mid.cert", "mid-dev-02", &expires);
        dev.set_field("sys_user_certificate", &cert, "active", &active.to_string());
        let mut prod = plain_source();
        prod.add_preserver(
            "MID certificates",
            "sys_user_certificate",
            "user.roles=mid_server",
        );
        let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
        let run = audit(&pair(&prod, &dev), &["--fail-on", "low"]);
        let subject = ("sys_user_certificate", "CN=mid-dev-02.acme.local");
        expect(
            &run,
            "mid-certificate-expiring",
            "dev",
            subject,
            "fail",
            "low",
        );
        let m = run.message("mid-certificate-expiring", "dev", subject.1);
        assert!(m.contains(what), "{m}");
        run.assert_code(1);
        // An inactive row maps nothing: the MID Server's certificate login is undecided.
        let down = if active { "pass" } else { "error" };
        run.expect("mid-server-will-go-down", "dev", "mid-dev-02", down);
    }
    // Far from expiry: nothing at the low gate but the certificate preserver's own dot-walk.
    let mut dev = target_dev();
    cert_login(&mut dev, 210, "mid.cert", "mid-dev-02", &days_from_now(90));
    let mut prod = plain_source();
    prod.add_preserver(
        "MID certificates",
        "sys_user_certificate",
        "user.roles=mid_server",
    );
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit(&pair(&prod, &dev), &["--fail-on", "low"]);
    let subject = ("clone_data_preserver", "MID certificates");
    expect(&run, "preserver-dot-walked", "prod", subject, "fail", "low");
    let problems = run.problems();
    assert_eq!(problems.lines().count(), 1, "{problems}");
    run.assert_code(1);
}

// --- mid-server-already-down

#[test]
fn a_mid_server_down_or_with_open_issues_before_the_clone_fails_low() {
    let mut dev = target_dev();
    let down = dev.add_mid_server("mid-dev-02", "mid.dev", "Down");
    let troubled = dev.add_mid_server("mid-dev-03", "mid.dev", "Up");
    dev.add_agent_issue(&troubled, "MIDUserConnectivity", "acknowledged");
    // A resolved issue is history, and a transient status counts as working.
    dev.add_agent_issue(&sid(202), "InstanceClone", "resolved");
    dev.add_mid_server("mid-dev-04", "mid.dev", "Upgrading");
    let (prod, dev) = (
        FakeInstance::start(plain_source()),
        FakeInstance::start(dev),
    );
    let run = audit(&pair(&prod, &dev), &["--fail-on", "low"]);
    run.assert_code(1);
    for server in ["mid-dev-02", "mid-dev-03"] {
        expect(
            &run,
            "mid-server-already-down",
            "dev",
            ("ecc_agent", server),
            "fail",
            "low",
        );
        let m = run.message("mid-server-already-down", "dev", server);
        assert!(m.contains("will blame the clone"), "{m}");
    }
    for server in ["mid-dev-01", "mid-dev-04"] {
        expect(
            &run,
            "mid-server-already-down",
            "dev",
            ("ecc_agent", server),
            "pass",
            "low",
        );
    }
    assert!(!down.is_empty());
}

#[test]
fn mid_servers_up_with_no_open_issue_pass_at_a_low_gate() {
    let mut dev = target_dev();
    dev.add_agent_issue(&sid(202), "InstanceClone", "resolved");
    let (prod, dev) = (
        FakeInstance::start(plain_source()),
        FakeInstance::start(dev),
    );
    let run = audit(&pair(&prod, &dev), &["--fail-on", "low"]);
    run.assert_code(0);
    expect(
        &run,
        "mid-server-already-down",
        "dev",
        ("ecc_agent", "mid-dev-01"),
        "pass",
        "low",
    );
}

#[test]
fn unreadable_issues_or_an_unknown_status_leave_mid_server_already_down_undecided() {
    let mut dev = target_dev();
    dev.add_mid_server("mid-dev-02", "mid.dev", "Down");
    forbid(&mut dev, "ecc_agent_issue");
    let (prod, dev) = (
        FakeInstance::start(plain_source()),
        FakeInstance::start(dev),
    );
    let run = audit(&pair(&prod, &dev), &["--fail-on", "low"]);
    // mid-dev-02 is Down whatever its issues.
    run.assert_code(1);
    expect(
        &run,
        "mid-server-already-down",
        "dev",
        ("ecc_agent", "mid-dev-02"),
        "fail",
        "low",
    );
    expect(
        &run,
        "mid-server-already-down",
        "dev",
        ("ecc_agent", "mid-dev-01"),
        "error",
        "low",
    );
    run.assert_unreadable("dev", "ecc_agent_issue", "");
    // Only that check rests on the issues.
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");

    // Issues readable, a status that is none of the known ones: undecided, said so.
    let mut dev = target_dev();
    mid_user(&mut dev, 220, "mid.other", "mid-dev-03");
    dev.set_field("ecc_agent", &sid(222), "status", "Hibernating");
    let (prod, dev) = (
        FakeInstance::start(plain_source()),
        FakeInstance::start(dev),
    );
    let run = audit(&pair(&prod, &dev), &["--fail-on", "low"]);
    run.assert_code(2);
    expect(
        &run,
        "mid-server-already-down",
        "dev",
        ("ecc_agent", "mid-dev-03"),
        "error",
        "low",
    );
    let m = run.message("mid-server-already-down", "dev", "mid-dev-03");
    assert!(m.contains("\"Hibernating\""), "{m}");
}

// --- build-mismatch names the pinned MID Servers

fn pinned_dev(build: &str) -> FakeState {
    let mut dev = target_dev();
    for row in dev.find("sys_properties", "name", "glide.war") {
        dev.set_field("sys_properties", &row["sys_id"], "value", build);
    }
    dev.add_mid_config(
        &sid(202),
        "mid.pinned.version",
        "washingtondc-12-20-2023__patch9",
    );
    dev
}

#[test]
fn build_mismatch_names_the_pinned_mid_servers() {
    let run = start(
        source(),
        pinned_dev("glide-washingtondc-12-20-2023__patch9.zip"),
    );
    run.assert_code(0);
    let instance = ("instance", "dev");
    expect(&run, "build-mismatch", "dev", instance, "fail", "medium");
    let m = run.message("build-mismatch", "dev", "dev");
    assert!(
        m.contains("mid-dev-01 (washingtondc-12-20-2023__patch9) will not follow the build"),
        "{m}"
    );
    // The pin is not a login.
    run.expect("mid-user-not-preserved", "dev", "mid.dev", "pass");
    run.expect("mid-server-will-go-down", "dev", "mid-dev-01", "pass");

    let same = "glide-xanadu-07-02-2024__patch3-11-12-2024_11-20-2024_1455.zip";
    let run = start(source(), pinned_dev(same));
    run.assert_code(0);
    expect(&run, "build-mismatch", "dev", instance, "pass", "medium");
    let r = one(&run, "build-mismatch", "dev", "dev");
    assert_eq!(
        r["evidence"]["pinned_mid_servers"],
        "mid-dev-01 (washingtondc-12-20-2023__patch9)"
    );
}

#[test]
fn an_unreadable_config_leaves_the_pins_unknown_but_the_builds_compared() {
    let mut dev = pinned_dev("glide-washingtondc-12-20-2023__patch9.zip");
    forbid(&mut dev, "ecc_agent_config");
    let run = start(source(), dev);
    // The MID Servers' next logins are unknown (exit 2); the builds still differ.
    run.assert_code(2);
    expect(
        &run,
        "build-mismatch",
        "dev",
        ("instance", "dev"),
        "fail",
        "medium",
    );
    let r = one(&run, "build-mismatch", "dev", "dev");
    let pins = r["evidence"]["pinned_mid_servers"]
        .as_str()
        .unwrap_or_default();
    assert!(
        pins.starts_with("unknown: ecc_agent_config unreadable"),
        "{r}"
    );
}

// --- Secrets and flat requests

#[test]
fn no_certificate_read_names_a_secret_field_nor_lets_one_reach_any_output() {
    let mut dev = target_dev();
    cert_login(
        &mut dev,
        210,
        "mid.cert",
        "mid-dev-02",
        "2030-01-01 00:00:00",
    );
    // An instance that ignores sysparm_fields and sends every field anyway.
    dev.faults.send_all_fields = true;
    let mut prod = source();
    cert_login(
        &mut prod,
        110,
        "mid.cert",
        "mid-prod-02",
        "2030-01-01 00:00:00",
    );
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let outputs = [
        "report.html",
        "report.csv",
        "report.md",
        "report.xml",
        "report.json",
    ];
    let mut args = vec!["--save-evidence", "evidence.json", "-v", "-v"];
    for o in outputs {
        args.extend(["-o", o]);
    }
    let run = audit(&pair(&prod, &dev), &args);
    run.assert_code(1);
    let mut cert_reads = 0;
    for fake in [&prod, &dev] {
        for r in fake.requests() {
            if !r.path.ends_with("/sys_user_certificate") {
                continue;
            }
            cert_reads += 1;
            let fields = r.query.get("sysparm_fields").cloned().unwrap_or_default();
            assert!(!fields.is_empty(), "{r:?}");
            for f in fields.split(',') {
                let last = f.rsplit('.').next().unwrap_or(f);
                assert!(
                    !["pem_certificate", "sha256_fingerprint", "format", "type"].contains(&last),
                    "{r:?}"
                );
            }
        }
    }
    assert!(cert_reads >= 2, "the certificate rows were not read");
    let mut texts = vec![run.stdout.clone(), run.stderr.clone()];
    for f in outputs.iter().chain(&["evidence.json"]) {
        texts.push(std::fs::read_to_string(run.file(f)).expect("written"));
    }
    for (text, name) in texts
        .iter()
        .zip(["stdout", "stderr"].iter().chain(&outputs))
    {
        for secret in [FAKE_CERT_PEM, FAKE_CERT_FINGERPRINT, "MIIFAKEcertBODY"] {
            assert!(!text.contains(secret), "{name} holds {secret}");
        }
    }
    // What was asked for is there: the certificate's name, in the report and the evidence.
    for text in &texts[6..] {
        assert!(text.contains("CN=mid-dev-02.acme.local"), "{text}");
    }
}

#[test]
fn mid_server_reads_stay_flat_in_the_number_of_mid_servers() {
    let count = |servers: u32| {
        let mut prod = source();
        let mut dev = target_dev();
        let mut members = Vec::new();
        for i in 0..servers {
            let id = 1000 + i * 10;
            let login = format!("mid.cert{i}");
            cert_login(
                &mut dev,
                id,
                &login,
                &format!("mid-dev-c{i}"),
                "2030-01-01 00:00:00",
            );
            cert_login(
                &mut prod,
                id,
                &login,
                &format!("mid-prod-c{i}"),
                "2030-01-01 00:00:00",
            );
            dev.add_agent_issue(&sid(id + 2), "MIDUserConnectivity", "new");
            members.push(sid(id + 2));
        }
        let refs: Vec<&str> = members.iter().map(String::as_str).collect();
        dev.add_cluster("DISC-EU", "Load Balance", &refs);
        prod.add_preserver("MID clusters", "ecc_agent_cluster", "");
        prod.add_preserver(
            "MID certificates",
            "sys_user_certificate",
            "user.roles=mid_server",
        );
        let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
        // prod's MID Servers log in as dev's users (prod-nonprod-mid-server fails): the gate is
        // not what this test measures.
        let run = audit(&pair(&prod, &dev), &["--fail-on", "never"]);
        run.assert_code(0);
        assert_eq!(
            run.results_on("mid-certificate-not-preserved", "dev").len(),
            servers as usize
        );
        prod.requests().len() + dev.requests().len()
    };
    assert_eq!(count(40), count(2));
}
