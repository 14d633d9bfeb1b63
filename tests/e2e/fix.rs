//! End-to-end: `preclone fix` closes the loop. On each gap estate (no preservers, a thin profile
//! under an unlocked and a locked pending request, a child-class MID user, a switched-off
//! preserver with a hostile name, a certificate login no preserver keeps, a cluster in the
//! default exclusions under a pending request's profile) the XML it writes is loaded into the fake source as Import XML
//! loads it, and a second audit shows every finding the Markdown claims closed passing and
//! nothing new failing at medium or above. Also: nothing to fix writes no file, an unreadable
//! preserver, profile or request table writes none (exit 2), and only GET (plus the token POST)
//! ever reaches an instance.

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, inst, run, AuthKind, Inst, Run};
use serde_json::json;
use std::collections::BTreeMap;

/// A preserver name that would break naive XML or Markdown.
const HOSTILE: &str = "MID <users> & \"co\" ]]> 'it's' </unload>";

/// `preclone fix` of `instances[0]` (the source) and the rest, writing `fix.xml` (and `fix.md`)
/// in the run's folder.
fn fix(instances: &[Inst], extra: &[&str]) -> Run {
    let mut args: Vec<String> = vec!["--source".into(), instances[0].name.into()];
    for i in &instances[1..] {
        args.extend(["--target".into(), i.name.into()]);
    }
    args.extend(["--timeout".into(), "10s".into()]);
    if !extra.contains(&"-o") {
        args.extend(["-o".into(), "fix.xml".into()]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    run(instances, "fix", &args)
}

/// Undoes the Markdown escaping of a value.
fn unescape_md(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The findings the Markdown says the records close: (check, instance, subject name).
fn claims(md: &str) -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut in_closes = false;
    for line in md.lines() {
        if line == "- Closes:" {
            in_closes = true;
            continue;
        }
        match line.strip_prefix("  - ") {
            Some(item) if in_closes => {
                // `severity check on instance: subject`
                let (head, subject) = item.split_once(": ").expect("a finding line");
                let mut words = head.split(' ');
                let (_severity, check) = (words.next(), words.next().unwrap_or_default());
                let instance = head.split(" on ").nth(1).unwrap_or_default();
                let claim = (
                    check.to_string(),
                    unescape_md(instance),
                    unescape_md(subject),
                );
                if !out.contains(&claim) {
                    out.push(claim);
                }
            }
            _ => in_closes = false,
        }
    }
    out
}

/// Every record of an unload document: (table, action, fields), proving it well-formed.
type Record = (String, String, BTreeMap<String, String>);

fn records(xml: &str) -> Vec<Record> {
    let doc = parse_unload(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    assert_eq!(doc.date.len(), "2026-11-24 09:00:00".len(), "{}", doc.date);
    doc.records
        .into_iter()
        .map(|r| (r.table, r.action, r.fields.into_iter().collect()))
        .collect()
}

/// (status, severity) of every result, by check, instance and subject.
fn statuses(run: &Run) -> BTreeMap<(String, String, String, String), (String, String)> {
    run.all()
        .iter()
        .map(|r| {
            let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
            (
                (
                    s(&r["check"]),
                    s(&r["instance"]),
                    s(&r["subject"]["sys_id"]),
                    s(&r["subject"]["name"]),
                ),
                (s(&r["status"]), s(&r["severity"])),
            )
        })
        .collect()
}

/// Only GET on the Table API, and the OAuth token POST, ever reached these instances.
fn read_only(fakes: &[&FakeInstance]) {
    for f in fakes {
        for r in f.requests() {
            let get = r.method == "GET" && r.path.starts_with("/api/now/");
            let token = r.method == "POST" && r.path == "/oauth_token.do";
            assert!(get || token, "a request that is not a read: {r:?}");
        }
    }
}

/// What one round trip left: the audit before, the fix run and its files, the audit after.
struct RoundTrip {
    before: Run,
    fixed: Run,
    xml: String,
    md: String,
    after: Run,
}

/// Audits, fixes, imports the XML into `prod` (the source, first of `fakes`), audits again, and
/// asserts the loop holds: the files are written, every claimed finding failed before and
/// passes after, and nothing fails after at medium or above that did not fail before.
fn round_trip(fakes: &[&FakeInstance], insts: &[Inst]) -> RoundTrip {
    let before = audit(insts, &[]);
    assert!(before.report.is_object(), "{}", before.stderr);
    let fixed = fix(insts, &[]);
    fixed.assert_code(0);
    let xml = std::fs::read_to_string(fixed.file("fix.xml")).expect("fix.xml is written");
    let md = std::fs::read_to_string(fixed.file("fix.md")).expect("fix.md is written beside it");
    for (table, action, fields) in records(&xml) {
        assert!(
            ["clone_data_preserver", "clone_profile_preservers"].contains(&table.as_str()),
            "{table}"
        );
        assert_eq!(action, "INSERT_OR_UPDATE");
        let id = &fields["sys_id"];
        assert!(
            id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "{id}"
        );
        assert!(
            md.contains(&format!("`{id}`")),
            "the Markdown lists {id}\n{md}"
        );
    }
    let loaded = fakes[0]
        .update(|s| s.import_unload(&xml))
        .expect("the fake imports the file");
    assert!(loaded > 0);
    let after = audit(insts, &[]);
    assert!(after.report.is_object(), "{}", after.stderr);
    let claimed = claims(&md);
    assert!(!claimed.is_empty(), "no finding claimed\n{md}");
    for (check, instance, subject) in &claimed {
        assert_eq!(
            before.status(check, instance, subject),
            "fail",
            "{check} {instance} {subject} claimed but not failing before"
        );
        after.expect(check, instance, subject, "pass");
    }
    let old = statuses(&before);
    let new: Vec<String> = statuses(&after)
        .into_iter()
        .filter(|(_, (status, severity))| {
            status == "fail" && ["medium", "high", "critical"].contains(&severity.as_str())
        })
        .filter(|(k, _)| old.get(k).is_none_or(|(s, _)| s != "fail"))
        .map(|(k, v)| format!("{k:?} {v:?}"))
        .collect();
    assert!(new.is_empty(), "new fails after the import: {new:#?}\n{md}");
    read_only(fakes);
    RoundTrip {
        before,
        fixed,
        xml,
        md,
        after,
    }
}

#[test]
fn no_preservers_get_the_seed_articles_three() {
    let (prod, dev) = (
        FakeInstance::start(source_prod()),
        FakeInstance::start(target_dev()),
    );
    // The source logs in with OAuth: the token POST is the one request that is not a GET.
    let insts = [
        inst("prod", prod.url(), true).auth(AuthKind::ClientCredentials),
        inst("dev", dev.url(), false),
    ];
    let t = round_trip(&[&prod, &dev], &insts);
    let made: Vec<(String, String)> = records(&t.xml)
        .into_iter()
        .map(|(_, _, f)| (f["table"].clone(), f["condition"].clone()))
        .collect();
    assert_eq!(made.len(), 3, "{}", t.xml);
    for (table, condition) in [
        ("sys_user", "roles=mid_server"),
        ("sys_user_has_role", "user.roles=mid_server"),
        ("sys_user_grmember", "user.roles=mid_server"),
    ] {
        assert!(
            made.contains(&(table.into(), condition.into())),
            "{table}: {made:?}"
        );
    }
    t.before
        .expect("mid-user-not-preserved", "dev", "mid.dev", "fail");
    t.after
        .assert_target_survives("dev", "mid.dev", "mid-dev-01");
    assert!(t.md.contains("preserver-dot-walked"), "{}", t.md);
    assert!(prod.requests().iter().any(|r| r.method == "POST"));
    assert!(
        t.fixed.stdout.contains("wrote 3 record(s)"),
        "{}",
        t.fixed.stdout
    );
}

#[test]
fn a_thin_profile_gets_a_link_and_a_locked_request_a_manual_step() {
    let (dev, test) = (
        FakeInstance::start(target_dev()),
        FakeInstance::start(target_test()),
    );
    let mut p = source_prod();
    let users = p.add_preserver("MID server users", "sys_user", "roles=mid_server");
    p.add_preserver(
        "MID server user has role",
        "sys_user_has_role",
        "user.roles=mid_server",
    );
    let members = p.add_preserver(
        "MID server user group membership",
        "sys_user_grmember",
        "user.roles=mid_server",
    );
    // Thin lacks the role preserver; dev's request locked its profile settings, test's did not.
    let thin = p.add_clone_profile("Thin", false, &[&users, &members]);
    let dev_record = p.add_instance_record("acmedev", &dev.url());
    let test_record = p.add_instance_record("acmetest", &test.url());
    let locked = p.add_clone_request(
        "sn_instance_clone_request",
        &dev_record,
        json!({"request_id": "CR0010001", "profile": thin, "lock_profile_settings": "true"}),
    );
    p.add_clone_request(
        "clone_instance",
        &test_record,
        json!({"clone_id": "CLN0001", "profile": thin}),
    );
    let prod = FakeInstance::start(p);
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
        inst("test", test.url(), false),
    ];
    let t = round_trip(&[&prod, &dev, &test], &insts);
    // One record: the role preserver linked into Thin.
    let recs = records(&t.xml);
    assert_eq!(recs.len(), 1, "{}", t.xml);
    assert_eq!(recs[0].0, "clone_profile_preservers");
    assert_eq!(recs[0].2["profile"], thin);
    for check in ["mid-role-not-preserved", "mid-server-will-go-down"] {
        let subject = if check == "mid-role-not-preserved" {
            "mid.test"
        } else {
            "mid-test-01"
        };
        assert!(
            claims(&t.md).contains(&(check.into(), "test".into(), subject.into())),
            "{}",
            t.md
        );
    }
    // The locked request cannot take the link: said as a manual step, and not claimed.
    let step =
        t.md.lines()
            .find(|l| l.contains("CR0010001") && l.contains("locked its profile settings"))
            .unwrap_or_else(|| panic!("no manual step for the locked request\n{}", t.md));
    assert!(step.contains("request the clone again"), "{step}");
    assert!(!claims(&t.md).iter().any(|c| c.1 == "dev"), "{}", t.md);
    t.after
        .expect("mid-role-not-preserved", "dev", "mid.dev", "fail");
    // Done as the step says (the clone requested again, now): dev survives too.
    prod.update(|s| {
        s.set_field(
            "sn_instance_clone_request",
            &locked,
            "sys_created_on",
            "2099-01-01 00:00:00",
        )
    });
    let again = audit(&insts, &[]);
    again.assert_target_survives("dev", "mid.dev", "mid-dev-01");
}

#[test]
fn a_child_class_user_gets_a_preserver_on_its_class_table() {
    let mut d = target_dev();
    d.add_child_class("u_mid_service_account", "sys_user");
    let u = sid(220);
    d.add_user_with(
        "mid.svc",
        json!({"sys_id": u, "sys_class_name": "u_mid_service_account", "web_service_access_only": "true", "last_login_time": "2026-11-23 10:00:00"}),
    );
    d.grant_role_with(&u, MID_ROLE, json!({"sys_id": sid(221)}));
    d.add_mid_server("mid-svc-01", "mid.svc", "Up");
    let mut p = source_prod();
    seed_preservers(&mut p);
    let (prod, dev) = (FakeInstance::start(p), FakeInstance::start(d));
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let t = round_trip(&[&prod, &dev], &insts);
    let recs = records(&t.xml);
    assert_eq!(recs.len(), 1, "{}", t.xml);
    let f = &recs[0].2;
    assert_eq!(
        (f["table"].as_str(), f["condition"].as_str()),
        ("u_mid_service_account", "roles=mid_server")
    );
    t.before
        .expect("mid-user-not-preserved", "dev", "mid.svc", "fail");
    t.after
        .assert_target_survives("dev", "mid.svc", "mid-svc-01");
}

#[test]
fn a_switched_off_preserver_is_updated_whole_and_a_hostile_name_survives() {
    let mut p = source_prod();
    let off = p.add_preserver(HOSTILE, "sys_user", "roles=mid_server");
    p.set_field(
        "clone_data_preserver",
        &off,
        "include_in_system_clone",
        "false",
    );
    p.add_preserver(
        "MID server user has role",
        "sys_user_has_role",
        "user.roles=mid_server",
    );
    p.add_preserver(
        "MID server user group membership",
        "sys_user_grmember",
        "user.roles=mid_server",
    );
    let stored = p.row("clone_data_preserver", &off).expect("the preserver");
    let (prod, dev) = (FakeInstance::start(p), FakeInstance::start(target_dev()));
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let t = round_trip(&[&prod, &dev], &insts);
    // One record: the update of that preserver, by its sys_id, carrying every field it has.
    let recs = records(&t.xml);
    assert_eq!(recs.len(), 1, "{}", t.xml);
    let (table, _, fields) = &recs[0];
    assert_eq!(table, "clone_data_preserver");
    assert_eq!(fields["sys_id"], off);
    assert_eq!(fields["name"], HOSTILE);
    assert_eq!(fields["include_in_system_clone"], "true");
    for (k, v) in &stored {
        if k != "include_in_system_clone" && k != "sys_updated_on" {
            assert_eq!(fields.get(k), Some(v), "{k}");
        }
    }
    assert!(!t.xml.contains("<users>") && !t.xml.contains("]]>"));
    assert!(!t.md.contains("<users>"), "{}", t.md);
    assert_eq!(t.xml.matches("</unload>").count(), 1);
    // Imported, the record is the same but switched on.
    let row = prod
        .inspect(|s| s.row("clone_data_preserver", &off))
        .expect("the row");
    assert_eq!(row["name"], HOSTILE);
    assert_eq!(row["include_in_system_clone"], "true");
    assert_eq!(row["sys_created_on"], stored["sys_created_on"]);
    assert!(
        claims(&t.md).contains(&(
            "preserver-not-applied".into(),
            "prod".into(),
            HOSTILE.into()
        )),
        "{}",
        t.md
    );
    t.after
        .assert_target_survives("dev", "mid.dev", "mid-dev-01");
}

/// The clone tip's three preservers on `s`, with their sys_ids.
fn seed_ids(s: &mut FakeState) -> [String; 3] {
    [
        s.add_preserver("MID server users", "sys_user", "roles=mid_server"),
        s.add_preserver(
            "MID server user has role",
            "sys_user_has_role",
            "user.roles=mid_server",
        ),
        s.add_preserver(
            "MID server user group membership",
            "sys_user_grmember",
            "user.roles=mid_server",
        ),
    ]
}

#[test]
fn a_certificate_login_no_preserver_keeps_gets_a_preserver_on_its_table() {
    // mid-dev-02 logs in as mid.cert with a client certificate; the user tables are preserved,
    // the certificate rows are not (the sys_certificate preserver does not reach them).
    let mut d = target_dev();
    let uid = mid_user(&mut d, 210, "mid.cert", "mid-dev-02");
    d.set_field("ecc_agent", &sid(212), "is_using_mutual_auth", "true");
    d.add_user_certificate(
        &uid,
        "CN=mid-dev-02.acme.local",
        true,
        "2030-01-01 00:00:00",
    );
    let mut p = source_prod();
    seed_preservers(&mut p);
    p.add_preserver("Certificates", "sys_certificate", "active=true");
    let (prod, dev) = (FakeInstance::start(p), FakeInstance::start(d));
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let t = round_trip(&[&prod, &dev], &insts);
    let recs = records(&t.xml);
    assert_eq!(recs.len(), 1, "{}", t.xml);
    let f = &recs[0].2;
    assert_eq!(
        (f["table"].as_str(), f["condition"].as_str()),
        ("sys_user_certificate", "user.roles=mid_server")
    );
    let cert = "CN=mid-dev-02.acme.local";
    for (check, subject) in [
        ("mid-certificate-not-preserved", cert),
        ("mid-server-will-go-down", "mid-dev-02"),
    ] {
        assert!(
            claims(&t.md).contains(&(check.into(), "dev".into(), subject.into())),
            "{check}\n{}",
            t.md
        );
    }
    assert!(
        t.md.contains("the client certificates their MID Servers present"),
        "{}",
        t.md
    );
    t.after.assert_code(0);
    t.after
        .expect("mid-certificate-expiring", "dev", cert, "pass");
}

#[test]
fn an_excluded_cluster_gets_a_preserver_of_every_cluster_linked_into_the_requests_profile() {
    // DISC-EU's members both survive; the cluster itself is in the default exclusions.
    let mut d = target_dev();
    let second = d.add_mid_server("mid-dev-02", "mid.dev", "Up");
    d.add_cluster("DISC-EU", "Failover", &[&sid(202), &second]);
    let dev = FakeInstance::start(d);
    let mut p = source_prod();
    let seeds = seed_ids(&mut p);
    p.add_exclusion("ecc_agent_cluster", true);
    let standard = p.add_clone_profile("Standard", false, &[&seeds[0], &seeds[1], &seeds[2]]);
    let record = p.add_instance_record("acmedev", &dev.url());
    p.add_clone_request(
        "clone_instance",
        &record,
        json!({"clone_id": "CLN0002", "profile": standard}),
    );
    let prod = FakeInstance::start(p);
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let t = round_trip(&[&prod, &dev], &insts);
    t.before.assert_code(1);
    let recs = records(&t.xml);
    assert_eq!(recs.len(), 2, "{}", t.xml);
    let preserver = recs
        .iter()
        .find(|r| r.0 == "clone_data_preserver")
        .expect("the preserver");
    assert_eq!(
        (
            preserver.2["table"].as_str(),
            preserver.2["condition"].as_str()
        ),
        ("ecc_agent_cluster", "")
    );
    let link = recs
        .iter()
        .find(|r| r.0 == "clone_profile_preservers")
        .expect("the link");
    assert_eq!(
        (link.2["profile"].as_str(), link.2["preserver"].as_str()),
        (standard.as_str(), preserver.2["sys_id"].as_str())
    );
    assert!(
        claims(&t.md).contains(&(
            "mid-cluster-not-preserved".into(),
            "dev".into(),
            "DISC-EU".into()
        )),
        "{}",
        t.md
    );
    assert!(t.md.contains("condition none (every row)"), "{}", t.md);
    assert!(t.md.contains("empty on purpose"), "{}", t.md);
    t.after.assert_code(0);
}

#[test]
fn nothing_to_fix_says_so_and_writes_no_file() {
    let mut p = source_prod();
    seed_preservers(&mut p);
    let (prod, dev) = (FakeInstance::start(p), FakeInstance::start(target_dev()));
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let r = fix(&insts, &[]);
    r.assert_code(0);
    assert!(r.stdout.contains("nothing to fix"), "{}", r.stdout);
    assert!(!r.file("fix.xml").exists() && !r.file("fix.md").exists());
    read_only(&[&prod, &dev]);
}

#[test]
fn an_unreadable_preserver_profile_or_request_table_writes_nothing() {
    for table in ["clone_data_preserver", "clone_profile", "clone_instance"] {
        let mut p = source_prod();
        p.faults.forbidden_tables.insert(table.into());
        let (prod, dev) = (FakeInstance::start(p), FakeInstance::start(target_dev()));
        let insts = [
            inst("prod", prod.url(), true),
            inst("dev", dev.url(), false),
        ];
        let r = fix(&insts, &[]);
        r.assert_code(2);
        assert!(r.stderr.contains(table), "{table}: {}", r.stderr);
        assert!(r.stderr.contains("nothing was written"), "{}", r.stderr);
        assert!(!r.file("fix.xml").exists() && !r.file("fix.md").exists());
        read_only(&[&prod, &dev]);
    }
}

#[test]
fn the_output_must_be_an_xml_file_and_is_refused_before_any_request() {
    let (prod, dev) = (
        FakeInstance::start(source_prod()),
        FakeInstance::start(target_dev()),
    );
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    for out in ["fix.json", "-", "missing-folder/fix.xml"] {
        let r = fix(&insts, &["-o", out]);
        r.assert_code(3);
        assert!(r.stderr.contains(out), "{out}: {}", r.stderr);
    }
    assert!(prod.requests().is_empty() && dev.requests().is_empty());
}

#[test]
fn an_undecided_target_is_not_nothing_to_fix() {
    let mut p = source_prod();
    seed_preservers(&mut p);
    let mut d = target_dev();
    d.faults.forbidden_tables.insert("sys_user".into());
    let (prod, dev) = (FakeInstance::start(p), FakeInstance::start(d));
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let r = fix(&insts, &[]);
    r.assert_code(2);
    assert!(
        r.stderr
            .contains("could not tell whether anything needs fixing"),
        "{}",
        r.stderr
    );
    assert!(!r.stdout.contains("nothing to fix"), "{}", r.stdout);
    assert!(!r.file("fix.xml").exists());
    // Accepted as incomplete, it says what it can.
    let r = fix(&insts, &["--allow-incomplete"]);
    r.assert_code(0);
    assert!(
        r.stdout
            .contains("nothing to write from what could be read"),
        "{}",
        r.stdout
    );
    assert!(!r.file("fix.xml").exists());
}

#[test]
fn a_refused_login_is_exit_4_and_writes_nothing() {
    let (prod, dev) = (
        FakeInstance::start(source_prod()),
        FakeInstance::start(target_dev().with_basic("someone.else", "x")),
    );
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let r = fix(&insts, &[]);
    r.assert_code(4);
    assert!(r.stderr.contains("Nothing was written"), "{}", r.stderr);
    assert!(!r.file("fix.xml").exists() && !r.file("fix.md").exists());
}

#[test]
fn saved_evidence_gives_the_same_records_without_a_request() {
    let (prod, dev) = (
        FakeInstance::start(source_prod()),
        FakeInstance::start(target_dev()),
    );
    let insts = [
        inst("prod", prod.url(), true),
        inst("dev", dev.url(), false),
    ];
    let live = audit(&insts, &["--save-evidence", "run.json"]);
    let saved = live.file("run.json");
    let (before_prod, before_dev) = (prod.requests().len(), dev.requests().len());
    let out = live.file("offline.xml");
    let r = crate::support::run::preclone()
        .args(["fix", "--evidence"])
        .arg(&saved)
        .arg("-o")
        .arg(&out)
        .output()
        .expect("run preclone");
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let xml = std::fs::read_to_string(&out).expect("the XML");
    let tables: Vec<String> = records(&xml)
        .into_iter()
        .map(|(_, _, f)| f["table"].clone())
        .collect();
    assert_eq!(tables.len(), 3, "{xml}");
    assert!(live.file("offline.md").exists());
    assert_eq!(
        (prod.requests().len(), dev.requests().len()),
        (before_prod, before_dev)
    );
}
