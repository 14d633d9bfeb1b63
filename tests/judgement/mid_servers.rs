//! The MID Servers beyond their logins, judged on hand-built evidence: certificate logins
//! (which rows survive, several rows of one user, a row that maps to a user the clone replaces,
//! an exclusion of the parent table), clusters under several clones, and the states and issues
//! of `mid-server-already-down`.

use crate::estate::*;
use preclone::checks;
use preclone::evidence::*;
use preclone::finding::Status;

fn cert(n: u32, user: u32, name: &str) -> UserCertificate {
    UserCertificate {
        sys_id: id(n),
        user: id(user),
        user_name: "mid.dev".into(),
        name: name.into(),
        active: Some(true),
        expires: "2030-01-01 00:00:00".into(),
    }
}

/// The estate with mid-dev-01 logging in with a certificate: rows `certs` of mid.dev, of which
/// the preserver on sys_user_certificate (20) keeps `kept`.
fn mutual(certs: &[(u32, &str)], kept: &[u32]) -> Evidence {
    let mut e = estate(MID);
    if let Fact::Ok { value } = &mut clone_setup(&mut e).preservers {
        value.push(preserver(
            20,
            "certs",
            "sys_user_certificate",
            "user.roles=mid_server",
        ));
    }
    let d = dev(&mut e);
    if let Fact::Ok { value } = &mut d.mid_servers {
        value[0].is_using_mutual_auth = Some(true);
    }
    d.certificates = Fact::ok(certs.iter().map(|(n, name)| cert(*n, 100, name)).collect());
    let mut ev = eval(20, "sys_user_certificate", kept, kept.len() as u64);
    ev.mid_related_rows = certs.len() as u64;
    d.preserver_evals.push(ev);
    e
}

#[test]
fn a_kept_certificate_keeps_its_mid_server_and_a_lost_one_takes_it_down() {
    let r = checks::run(&mutual(&[(40, "CN=a")], &[40])).results;
    assert_eq!(
        status(&r, "mid-certificate-not-preserved", "dev", "CN=a"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Pass
    );

    let j = checks::run(&mutual(&[(40, "CN=a")], &[]));
    let r = j.results;
    assert_eq!(
        status(&r, "mid-certificate-not-preserved", "dev", "CN=a"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Fail
    );
    assert!(
        j.impact[0].because.starts_with("certificate not kept"),
        "{:?}",
        j.impact
    );
}

#[test]
fn several_certificates_of_one_user_some_lost_leave_the_mid_server_undecided() {
    let r = checks::run(&mutual(&[(40, "CN=a"), (41, "CN=b")], &[40])).results;
    assert_eq!(
        status(&r, "mid-certificate-not-preserved", "dev", "CN=a"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-certificate-not-preserved", "dev", "CN=b"),
        Status::Fail
    );
    // Which one it presents is not read: never a pass.
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Error
    );
}

#[test]
fn a_kept_row_mapping_to_a_user_the_clone_replaces_is_not_preserved() {
    let mut e = mutual(&[(40, "CN=a")], &[40]);
    // No sys_user preserver keeps mid.dev; prod brings its own mid.dev with another sys_id.
    dev(&mut e).preserver_evals[0] = eval(10, "sys_user", &[], 0);
    prod(&mut e).users = Fact::ok(vec![user(300, "mid.dev")]);
    prod(&mut e).user_roles = Fact::ok(vec![grant(301, 300, MID)]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-user-not-preserved", "dev", "mid.dev"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-certificate-not-preserved", "dev", "CN=a"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Fail
    );
}

#[test]
fn an_exclusion_of_the_parent_table_removes_the_certificates_and_a_source_copy_saves_them() {
    // Excluded through sys_certificate, not kept: lost, whatever the source holds.
    let mut e = mutual(&[(40, "CN=a")], &[]);
    clone_setup(&mut e).excludes = Fact::ok(vec![Exclusion {
        default: Some(true),
        ..exclusion(50, "sys_certificate")
    }]);
    prod(&mut e).certificates = Fact::ok(vec![cert(40, 100, "CN=a")]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-certificate-not-preserved", "dev", "CN=a"),
        Status::Fail
    );
    // Copied, the source's row with the same sys_id survives.
    let mut e = mutual(&[(40, "CN=a")], &[]);
    prod(&mut e).certificates = Fact::ok(vec![cert(40, 100, "CN=a")]);
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-certificate-not-preserved", "dev", "CN=a"),
        Status::Pass
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Pass
    );
}

#[test]
fn a_mutual_auth_mid_server_without_an_active_certificate_is_undecided() {
    let mut e = mutual(&[(40, "CN=a")], &[40]);
    if let Fact::Ok { value } = &mut dev(&mut e).certificates {
        value[0].active = Some(false);
    }
    let r = checks::run(&e).results;
    assert_eq!(
        status(&r, "mid-certificate-expiring", "dev", "CN=a"),
        Status::Fail
    );
    assert_eq!(
        status(&r, "mid-server-will-go-down", "dev", "mid-dev-01"),
        Status::Error
    );
}

#[test]
fn a_cluster_down_under_one_clone_request_fails_naming_it() {
    let mut e = estate(MID);
    clone_setup(&mut e).clone_requests = Fact::ok(vec![request(70)]);
    {
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
        // The request's clone keeps nothing of mid.dev's grant.
        d.preserver_evals[1] = eval(11, "sys_user_has_role", &[], 0);
    }
    let j = checks::run(&e);
    let r = &j.results;
    assert_eq!(
        status(r, "mid-cluster-will-go-down", "dev", "DISC-EU"),
        Status::Fail
    );
    let c = r
        .iter()
        .find(|r| r.check.as_str() == "mid-cluster-will-go-down")
        .expect("a result");
    assert!(c.message.contains("under clone request"), "{}", c.message);
    assert_eq!(
        &c.evidence["impact"],
        "Failover cluster DISC-EU: 1 of 1 members down"
    );
    assert_eq!(j.impact[0].cluster.as_deref(), Some("DISC-EU"));
    // Excluded by nothing and absent from prod: the copied table holds prod's clusters.
    assert_eq!(
        status(r, "mid-cluster-not-preserved", "dev", "DISC-EU"),
        Status::Fail
    );
}

#[test]
fn already_down_reads_states_case_insensitively_and_issues_unless_resolved() {
    for (state, issue, expected) in [
        ("Up", None, Status::Pass),
        ("UPGRADE_FAILED", None, Status::Fail),
        ("drain failed", None, Status::Fail),
        ("Paused", None, Status::Pass),
        ("Draining", Some("Resolved"), Status::Pass),
        ("Up", Some("new"), Status::Fail),
        ("Up", Some(""), Status::Fail),
        ("", None, Status::Error),
    ] {
        let mut e = estate(MID);
        let d = dev(&mut e);
        if let Fact::Ok { value } = &mut d.mid_servers {
            value[0].status = state.into();
        }
        d.agent_issues = Fact::ok(
            issue
                .map(|s| AgentIssue {
                    sys_id: id(80),
                    mid_server: id(102),
                    source: "InstanceClone".into(),
                    state: s.into(),
                    last_detected: String::new(),
                    message: String::new(),
                })
                .into_iter()
                .collect(),
        );
        let r = checks::run(&e).results;
        assert_eq!(
            status(&r, "mid-server-already-down", "dev", "mid-dev-01"),
            expected,
            "{state:?} {issue:?}"
        );
    }
}
