//! `preclone fix` planned on evidence built by hand: which records it writes for each kind of
//! gap, what it claims they close, and that the prediction agrees with a judgement of the
//! evidence as it would stand once they are imported.

use crate::estate::*;
use chrono::{TimeZone, Utc};
use preclone::checks::CheckId;
use preclone::evidence::*;
use preclone::fix::{self, Change, Fix, FixError};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap()
}

fn plan(e: &Evidence) -> Result<Fix, FixError> {
    let mut n = 0x5000;
    fix::plan(e, &[], now(), &mut || {
        n += 1;
        id(n)
    })
}

fn closes(f: &Fix, check: CheckId, instance: &str, subject: &str) -> bool {
    f.closed()
        .iter()
        .any(|c| c.check == check && c.instance == instance && c.subject.name == subject)
}

/// The estate with no preserver at all.
fn bare() -> Evidence {
    let mut e = estate(MID);
    clone_setup(&mut e).preservers = Fact::ok(vec![]);
    dev(&mut e).preserver_evals.clear();
    e
}

#[test]
fn no_preserver_gets_the_seed_articles_three() {
    let f = plan(&bare()).expect("a plan");
    let made: Vec<(&str, &str)> = f
        .fixes
        .iter()
        .map(|x| (x.preserver.table.as_str(), x.preserver.condition.as_str()))
        .collect();
    assert_eq!(
        made,
        [
            ("sys_user", "roles=mid_server"),
            ("sys_user_grmember", "user.roles=mid_server"),
            ("sys_user_has_role", "user.roles=mid_server"),
        ]
    );
    for x in &f.fixes {
        assert_eq!(x.change, Some(Change::Create));
        assert_eq!(x.preserver.include_in_system_clone, Some(true));
        assert_eq!(x.preserver.created_on, "2026-11-24 09:00:00");
        // No pending request and no default profile: every preserver applies, nothing to link.
        assert!(x.links.is_empty());
    }
    assert!(closes(&f, CheckId::MidUserNotPreserved, "dev", "mid.dev"));
    assert!(closes(
        &f,
        CheckId::MidServerWillGoDown,
        "dev",
        "mid-dev-01"
    ));
    assert!(closes(&f, CheckId::PreserverMissing, "prod", "sys_user"));
    assert!(f.new_fails.is_empty(), "{:?}", f.new_fails);
    // The dot-walk's cost is said beside the two that dot-walk.
    let grmember = &f.fixes[1];
    assert!(grmember.notes[0].contains("preserver-dot-walked"));
    assert!(f.fixes[0].notes.is_empty());
}

#[test]
fn the_prediction_is_what_judging_the_imported_evidence_gives() {
    let e = bare();
    let f = plan(&e).expect("a plan");
    let mut imported = e.clone();
    let setup = clone_setup(&mut imported);
    if let Fact::Ok { value } = &mut setup.preservers {
        value.extend(f.fixes.iter().map(|x| x.preserver.clone()));
    }
    // What dev answers for the new conditions: its MID user and grant.
    let ids: Vec<String> = f.fixes.iter().map(|x| x.preserver.sys_id.clone()).collect();
    let tables = ["sys_user", "sys_user_grmember", "sys_user_has_role"];
    let rows: [&[u32]; 3] = [&[100], &[], &[101]];
    for ((sys_id, table), matched) in ids.iter().zip(tables).zip(rows) {
        let mut ev = eval(0, table, matched, matched.len() as u64);
        ev.preserver = sys_id.clone();
        dev(&mut imported).preserver_evals.push(ev);
    }
    let results = preclone::checks::run(&imported).results;
    for c in f.closed() {
        let s = status(&results, c.check.as_str(), &c.instance, &c.subject.name);
        assert_eq!(s, preclone::finding::Status::Pass, "{c:?}");
    }
}

#[test]
fn a_switched_off_preserver_is_updated_carrying_every_field() {
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value[0].include_in_system_clone = Some(false);
        value[0].metadata = [("sys_scope", "global"), ("sys_policy", "")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
    }
    let f = plan(&e).expect("a plan");
    assert_eq!(f.fixes.len(), 1, "{:#?}", f.fixes);
    let x = &f.fixes[0];
    assert_eq!(x.preserver.sys_id, id(10));
    assert_eq!(
        x.change,
        Some(Change::Update(vec!["include_in_system_clone true".into()]))
    );
    let written = fix::xml::fields_written(x, &f.stamp);
    for field in [
        "condition",
        "default",
        "include_in_system_clone",
        "name",
        "sys_created_on",
        "sys_id",
        "sys_policy",
        "sys_scope",
        "table",
        "theme",
    ] {
        assert!(written.contains(&field), "{field}: {written:?}");
    }
    assert!(closes(&f, CheckId::PreserverNotApplied, "prod", "users"));
    assert!(closes(&f, CheckId::MidUserNotPreserved, "dev", "mid.dev"));
}

#[test]
fn a_profile_that_lacks_a_preserver_gets_a_link_and_a_locked_request_a_manual_step() {
    for locked in [false, true] {
        let mut e = estate(MID);
        let setup = clone_setup(&mut e);
        setup.profiles = Fact::ok(vec![CloneProfile {
            sys_id: id(80),
            name: "Thin".into(),
            default_profile: Some(false),
            preserve_theme: Some(false),
            exclude_all_from_exclusion_list: Some(true),
            exclude_large_data: Some(true),
        }]);
        // The profile lists the grants' and members' preservers, not the users'.
        let link = |p: u32| ProfilePreserver {
            profile: id(80),
            preserver: id(p),
            created_on: "2025-01-01 00:00:00".into(),
        };
        setup.profile_preservers = Fact::ok(vec![link(11), link(12)]);
        let mut r = request(90);
        r.profile = id(80);
        r.lock_profile_settings = Some(locked);
        setup.clone_requests = Fact::ok(vec![r]);
        let f = plan(&e).expect("a plan");
        assert_eq!(f.fixes.len(), 1, "{:#?}", f.fixes);
        let x = &f.fixes[0];
        assert_eq!(
            (x.preserver.sys_id.as_str(), &x.change),
            (id(10).as_str(), &None)
        );
        assert_eq!(x.links.len(), 1);
        assert_eq!(
            (
                x.links[0].profile.as_str(),
                x.links[0].profile_name.as_str()
            ),
            (id(80).as_str(), "Thin")
        );
        let step = f
            .manual
            .iter()
            .find(|m| m.contains("locked its profile settings"));
        if locked {
            // The link comes after the lock: nothing closes, and the step says to request again.
            let step = step.expect("a manual step for the locked request");
            assert!(
                step.contains("\"users\" on sys_user") && step.contains("request the clone again"),
                "{step}"
            );
            assert!(f.closed().is_empty(), "{:?}", f.closed());
        } else {
            assert!(step.is_none(), "{:?}", f.manual);
            assert!(closes(&f, CheckId::PreserverNotApplied, "prod", "users"));
            assert!(closes(&f, CheckId::MidUserNotPreserved, "dev", "mid.dev"));
        }
    }
}

#[test]
fn a_child_class_user_gets_a_preserver_on_its_class_table() {
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut dev(&mut e).users {
        value[0].sys_class_name = "u_mid_service_account".into();
    }
    let f = plan(&e).expect("a plan");
    assert_eq!(f.fixes.len(), 1, "{:#?}", f.fixes);
    let p = &f.fixes[0].preserver;
    assert_eq!(
        (p.table.as_str(), p.condition.as_str()),
        ("u_mid_service_account", "roles=mid_server")
    );
    assert!(closes(&f, CheckId::MidUserNotPreserved, "dev", "mid.dev"));
}

#[test]
fn nothing_to_fix_and_unreadable_preservers() {
    let f = plan(&estate(MID)).expect("a plan");
    assert!(f.is_empty(), "{:#?}", f.fixes);
    let mut e = estate(MID);
    clone_setup(&mut e).preservers = Fact::error("clone_data_preserver", "403 Forbidden");
    match plan(&e) {
        Err(FixError::Unreadable { table, .. }) => assert_eq!(table, "clone_data_preserver"),
        other => panic!("not refused: {other:?}"),
    }
}

#[test]
fn groups_and_over_broad_preservers_are_manual_steps() {
    // mid.dev holds mid_server only through group MIDs, which the source has without the role.
    let mut e = estate(MID);
    let (group, grant, membership) = mid_group();
    let d = dev(&mut e);
    d.user_roles = Fact::ok(vec![]);
    d.groups = Fact::ok(vec![group.clone()]);
    d.group_roles = Fact::ok(vec![grant]);
    d.memberships = Fact::ok(vec![membership]);
    d.preserver_evals = vec![
        eval(10, "sys_user", &[100], 1),
        eval(11, "sys_user_has_role", &[], 0),
        eval(12, "sys_user_grmember", &[63], 1),
    ];
    prod(&mut e).groups = Fact::ok(vec![group]);
    // A switched-off preserver that keeps every user of the table.
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value.push(Preserver {
            include_in_system_clone: Some(false),
            ..preserver(13, "everyone", "sys_user", "")
        });
    }
    d_eval(&mut e, eval(13, "sys_user", &[100], 40));
    let f = plan(&e).expect("a plan");
    assert!(
        f.manual
            .iter()
            .any(|m| m.contains("grants nothing in the source") && m.contains("MIDs")),
        "{:#?}",
        f.manual
    );
    assert!(
        f.manual
            .iter()
            .any(|m| m.contains("\"everyone\"") && m.contains("over-broad")),
        "{:#?}",
        f.manual
    );
    assert!(f.fixes.iter().all(|x| x.preserver.sys_id != id(13)));
}

fn d_eval(e: &mut Evidence, ev: PreserverEval) {
    dev(e).preserver_evals.push(ev);
}

fn profile(n: u32, name: &str, default: bool) -> CloneProfile {
    CloneProfile {
        sys_id: id(n),
        name: name.into(),
        default_profile: Some(default),
        preserve_theme: Some(false),
        exclude_all_from_exclusion_list: Some(true),
        exclude_large_data: Some(true),
    }
}

#[test]
fn new_preservers_are_linked_into_each_pending_requests_profile_and_the_default_one() {
    let mut e = bare();
    let setup = clone_setup(&mut e);
    setup.profiles = Fact::ok(vec![
        profile(80, "Requested", false),
        profile(81, "Default", true),
    ]);
    let mut r = request(90);
    r.profile = id(80);
    setup.clone_requests = Fact::ok(vec![r]);
    let f = plan(&e).expect("a plan");
    assert_eq!(f.fixes.len(), 3);
    for x in &f.fixes {
        let linked: Vec<(&str, &str)> = x
            .links
            .iter()
            .map(|l| (l.profile.as_str(), l.profile_name.as_str()))
            .collect();
        assert_eq!(
            linked,
            [(id(80).as_str(), "Requested"), (id(81).as_str(), "Default")]
        );
    }
    // Every sys_id is its own.
    let mut ids: Vec<&str> = f
        .fixes
        .iter()
        .flat_map(|x| std::iter::once(&x.preserver.sys_id).chain(x.links.iter().map(|l| &l.sys_id)))
        .map(String::as_str)
        .collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n);
    assert!(closes(&f, CheckId::MidUserNotPreserved, "dev", "mid.dev"));
}

#[test]
fn a_theme_preserver_is_updated_and_a_regex_or_unwritable_one_is_a_manual_step() {
    // A theme preserver in a clone that does not preserve the theme: its flag is cleared.
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value[0].theme = Some(true);
    }
    let f = plan(&e).expect("a plan");
    assert_eq!(f.fixes.len(), 1, "{:#?}", f.fixes);
    assert_eq!(
        f.fixes[0].change,
        Some(Change::Update(vec!["theme false".into()]))
    );
    assert_eq!(f.fixes[0].preserver.theme, Some(false));
    // Switched off, with a name XML cannot carry: no update, a manual step, and the seed's
    // condition exists already, so no new preserver either.
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value[0].include_in_system_clone = Some(false);
        value[0].name = "users\u{1}".into();
    }
    let f = plan(&e).expect("a plan");
    assert!(f.fixes.is_empty(), "{:#?}", f.fixes);
    assert!(
        f.manual.iter().any(|m| m.contains("cannot carry")),
        "{:?}",
        f.manual
    );
    // A MATCH_RGX condition is never switched on; the seed's preserver is added beside it.
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value[0].include_in_system_clone = Some(false);
        value[0].condition = "user_nameMATCH_RGXmid.*".into();
    }
    let f = plan(&e).expect("a plan");
    assert!(
        f.manual.iter().any(|m| m.contains("MATCH_RGX")),
        "{:?}",
        f.manual
    );
    let made: Vec<(&str, &Option<Change>)> = f
        .fixes
        .iter()
        .map(|x| (x.preserver.condition.as_str(), &x.change))
        .collect();
    assert_eq!(made, [("roles=mid_server", &Some(Change::Create))]);
    assert!(closes(&f, CheckId::MidUserNotPreserved, "dev", "mid.dev"));
}

/// The estate with mid-dev-01 logging in with a client certificate (row 40 of mid.dev,
/// expiring on `expires`), which no preserver keeps and prod has no copy of.
fn certificate_login(expires: &str) -> Evidence {
    let mut e = estate(MID);
    let d = dev(&mut e);
    if let Fact::Ok { value } = &mut d.mid_servers {
        value[0].is_using_mutual_auth = Some(true);
    }
    d.certificates = Fact::ok(vec![UserCertificate {
        sys_id: id(40),
        user: id(100),
        user_name: "mid.dev".into(),
        name: "CN=mid-dev-01".into(),
        active: Some(true),
        expires: expires.into(),
    }]);
    e
}

/// Adds a switched-off preserver `n` on sys_user_certificate that dev evaluated as matching
/// row 40 among `total` rows of the whole table.
fn switched_off_certificates(e: &mut Evidence, n: u32, condition: &str, total: u64) {
    if let Fact::Ok { value } = &mut clone_setup(e).preservers {
        value.push(Preserver {
            include_in_system_clone: Some(false),
            ..preserver(n, "certs", "sys_user_certificate", condition)
        });
    }
    d_eval(e, eval(n, "sys_user_certificate", &[40], total));
}

#[test]
fn a_certificate_no_preserver_keeps_gets_the_recommended_one() {
    let f = plan(&certificate_login("2030-01-01 00:00:00")).expect("a plan");
    assert_eq!(f.fixes.len(), 1, "{:#?}", f.fixes);
    let x = &f.fixes[0];
    assert_eq!(x.change, Some(Change::Create));
    assert_eq!(
        (x.preserver.table.as_str(), x.preserver.condition.as_str()),
        ("sys_user_certificate", "user.roles=mid_server")
    );
    assert_eq!(x.preserver.name, "MID server user certificates");
    assert!(x.keeps.contains("client certificates"), "{}", x.keeps);
    assert!(
        x.notes.iter().any(|n| n.contains("dot-walks")),
        "{:?}",
        x.notes
    );
    assert!(closes(
        &f,
        CheckId::MidCertificateNotPreserved,
        "dev",
        "CN=mid-dev-01"
    ));
    assert!(closes(
        &f,
        CheckId::MidServerWillGoDown,
        "dev",
        "mid-dev-01"
    ));
    assert!(f.new_fails.is_empty(), "{:?}", f.new_fails);
    assert!(f.still_open.is_empty(), "{:?}", f.still_open);
}

#[test]
fn a_switched_off_certificate_preserver_is_repaired_unless_it_keeps_every_certificate() {
    // It keeps only the MID Server's row: switched on, by its sys_id.
    let mut e = certificate_login("2030-01-01 00:00:00");
    switched_off_certificates(&mut e, 20, &format!("user={}", id(100)), 1);
    let f = plan(&e).expect("a plan");
    assert_eq!(f.fixes.len(), 1, "{:#?}", f.fixes);
    assert_eq!(f.fixes[0].preserver.sys_id, id(20));
    assert_eq!(
        f.fixes[0].change,
        Some(Change::Update(vec!["include_in_system_clone true".into()]))
    );
    assert!(closes(
        &f,
        CheckId::MidCertificateNotPreserved,
        "dev",
        "CN=mid-dev-01"
    ));
    // It keeps every active certificate of dev: left off, said, and the recommended one made.
    let mut e = certificate_login("2030-01-01 00:00:00");
    switched_off_certificates(&mut e, 20, "active=true", 12);
    let f = plan(&e).expect("a plan");
    assert!(
        f.manual
            .iter()
            .any(|m| m.contains("\"certs\"") && m.contains("not MID-related")),
        "{:#?}",
        f.manual
    );
    let made: Vec<(&str, &Option<Change>)> = f
        .fixes
        .iter()
        .map(|x| (x.preserver.condition.as_str(), &x.change))
        .collect();
    assert_eq!(made, [("user.roles=mid_server", &Some(Change::Create))]);
    assert!(closes(
        &f,
        CheckId::MidCertificateNotPreserved,
        "dev",
        "CN=mid-dev-01"
    ));
}

#[test]
fn an_expiring_certificate_is_a_manual_step_not_a_record() {
    let mut e = certificate_login("2026-12-01 00:00:00");
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value.push(preserver(
            20,
            "certs",
            "sys_user_certificate",
            "user.roles=mid_server",
        ));
    }
    d_eval(&mut e, eval(20, "sys_user_certificate", &[40], 1));
    let f = plan(&e).expect("a plan");
    assert!(f.is_empty(), "{:#?}", f.fixes);
    assert!(
        f.manual
            .iter()
            .any(|m| m.contains("mid-certificate-expiring")
                && m.contains("CN=mid-dev-01")
                && m.contains("which no preserver renews")
                && m.contains("renew the certificate")),
        "{:#?}",
        f.manual
    );
}

/// The estate with cluster DISC-EU (60) of mid-dev-01 on dev, ecc_agent_cluster in prod's
/// default exclusions, and a default profile listing the three user-table preservers.
fn clustered() -> Evidence {
    let mut e = estate(MID);
    let setup = clone_setup(&mut e);
    setup.excludes = Fact::ok(vec![Exclusion {
        default: Some(true),
        ..exclusion(70, "ecc_agent_cluster")
    }]);
    setup.profiles = Fact::ok(vec![profile(81, "Default", true)]);
    setup.profile_preservers = Fact::ok(
        [10, 11, 12]
            .map(|p| ProfilePreserver {
                profile: id(81),
                preserver: id(p),
                created_on: "2025-01-01 00:00:00".into(),
            })
            .to_vec(),
    );
    let d = dev(&mut e);
    d.clusters = Fact::ok(vec![Cluster {
        sys_id: id(60),
        name: "DISC-EU".into(),
        cluster_type: "Failover".into(),
    }]);
    d.cluster_members = Fact::ok(vec![ClusterMember {
        sys_id: id(61),
        cluster: id(60),
        agent: id(102),
    }]);
    e
}

#[test]
fn an_excluded_cluster_gets_a_preserver_with_no_condition_linked_into_the_profiles() {
    let e = clustered();
    let before = preclone::checks::run(&e).results;
    assert_eq!(
        status(&before, "mid-cluster-not-preserved", "dev", "DISC-EU"),
        preclone::finding::Status::Fail
    );
    let f = plan(&e).expect("a plan");
    assert_eq!(f.fixes.len(), 1, "{:#?}", f.fixes);
    let x = &f.fixes[0];
    assert_eq!(x.change, Some(Change::Create));
    assert_eq!(
        (
            x.preserver.table.as_str(),
            x.preserver.condition.as_str(),
            x.preserver.name.as_str()
        ),
        ("ecc_agent_cluster", "", "MID server clusters")
    );
    let linked: Vec<&str> = x.links.iter().map(|l| l.profile.as_str()).collect();
    assert_eq!(linked, [id(81).as_str()]);
    assert!(
        x.notes.iter().any(|n| n.contains("empty on purpose")),
        "{:?}",
        x.notes
    );
    assert!(closes(
        &f,
        CheckId::MidClusterNotPreserved,
        "dev",
        "DISC-EU"
    ));
    assert!(f.new_fails.is_empty(), "{:?}", f.new_fails);
    assert!(f.still_open.is_empty(), "{:?}", f.still_open);
}

/// [`clustered`], with a preserver (21, "DISC-EU", `name=DISC-EU`) on `ecc_agent_cluster`
/// that no profile lists.
fn clustered_with_unlinked_preserver() -> Evidence {
    let mut e = clustered();
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value.push(preserver(
            21,
            "DISC-EU",
            "ecc_agent_cluster",
            "name=DISC-EU",
        ));
    }
    e
}

#[test]
fn a_cluster_preserver_missing_from_the_profile_is_linked_not_duplicated() {
    let mut e = clustered_with_unlinked_preserver();
    d_eval(&mut e, eval(21, "ecc_agent_cluster", &[60], 1));
    let f = plan(&e).expect("a plan");
    assert_eq!(f.fixes.len(), 1, "{:#?}", f.fixes);
    let x = &f.fixes[0];
    assert_eq!(
        (x.preserver.sys_id.as_str(), &x.change),
        (id(21).as_str(), &None)
    );
    let linked: Vec<&str> = x.links.iter().map(|l| l.profile.as_str()).collect();
    assert_eq!(linked, [id(81).as_str()]);
    assert!(x.keeps.contains("the MID Server clusters"), "{}", x.keeps);
    assert!(x.notes.is_empty(), "{:?}", x.notes);
    assert!(closes(
        &f,
        CheckId::MidClusterNotPreserved,
        "dev",
        "DISC-EU"
    ));
}

#[test]
fn a_kept_certificate_whose_user_is_lost_is_closed_by_the_user_preserver() {
    let mut e = certificate_login("2030-01-01 00:00:00");
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value.retain(|p| p.table != "sys_user");
        value.push(preserver(
            20,
            "certs",
            "sys_user_certificate",
            "user.roles=mid_server",
        ));
    }
    let d = dev(&mut e);
    d.preserver_evals.retain(|ev| ev.table != "sys_user");
    d.preserver_evals
        .push(eval(20, "sys_user_certificate", &[40], 1));
    let before = preclone::checks::run(&e).results;
    assert_eq!(
        status(
            &before,
            "mid-certificate-not-preserved",
            "dev",
            "CN=mid-dev-01"
        ),
        preclone::finding::Status::Fail
    );
    let f = plan(&e).expect("a plan");
    let made: Vec<&str> = f.fixes.iter().map(|x| x.preserver.table.as_str()).collect();
    assert_eq!(made, ["sys_user"], "{:#?}", f.fixes);
    assert!(closes(
        &f,
        CheckId::MidCertificateNotPreserved,
        "dev",
        "CN=mid-dev-01"
    ));
}

/// The results of `check` about the preserver named `name`, as (status, severity).
fn about_preserver(e: &Evidence, check: CheckId, name: &str) -> Vec<(String, String)> {
    preclone::checks::run(e)
        .results
        .into_iter()
        .filter(|r| r.check == check && r.subject.name == name)
        .map(|r| (r.status.to_string(), r.severity.to_string()))
        .collect()
}

#[test]
fn a_cluster_preserver_left_out_of_the_profile_is_a_mid_related_preserver_not_applied() {
    let mut e = clustered_with_unlinked_preserver();
    d_eval(&mut e, eval(21, "ecc_agent_cluster", &[60], 1));
    let not_applied = about_preserver(&e, CheckId::PreserverNotApplied, "DISC-EU");
    assert_eq!(not_applied, [("fail".to_string(), "high".to_string())]);
    // It matches only the cluster, a MID Server's row: not over-broad.
    let broad = about_preserver(&e, CheckId::PreserverOverbroad, "DISC-EU");
    assert_eq!(broad, [("pass".to_string(), "medium".to_string())]);
    // Linked into the profile, it applies.
    if let Fact::Ok { value } = &mut clone_setup(&mut e).profile_preservers {
        value.push(ProfilePreserver {
            profile: id(81),
            preserver: id(21),
            created_on: "2025-01-01 00:00:00".into(),
        });
    }
    let not_applied = about_preserver(&e, CheckId::PreserverNotApplied, "DISC-EU");
    assert_eq!(not_applied, [("pass".to_string(), "high".to_string())]);
}

#[test]
fn a_switched_off_certificate_preserver_is_not_applied_dot_walked_and_never_called_over_broad() {
    let mut e = certificate_login("2030-01-01 00:00:00");
    // Twelve certificates match on dev, one of them the MID Server's: the others are not read,
    // so whether they are MID-related is not known.
    switched_off_certificates(&mut e, 20, "user.roles=mid_server", 12);
    let not_applied = about_preserver(&e, CheckId::PreserverNotApplied, "certs");
    assert_eq!(not_applied, [("fail".to_string(), "high".to_string())]);
    let walked = about_preserver(&e, CheckId::PreserverDotWalked, "certs");
    assert_eq!(walked, [("fail".to_string(), "low".to_string())]);
    assert!(about_preserver(&e, CheckId::PreserverOverbroad, "certs").is_empty());
}

#[test]
fn a_cluster_preserver_on_a_target_whose_clusters_were_unreadable_is_undecided() {
    let mut e = clustered_with_unlinked_preserver();
    dev(&mut e).clusters = Fact::error("ecc_agent_cluster", "403 Forbidden");
    let not_applied = about_preserver(&e, CheckId::PreserverNotApplied, "DISC-EU");
    assert_eq!(not_applied, [("error".to_string(), "high".to_string())]);
}
