//! What the sample estate shows of the MID Servers beyond their logins: on dev, a failover
//! cluster `DISC-EU` whose two members both go Down (one by its user's class, one by its
//! client certificate, which no preserver on `sys_user_certificate` keeps and which expires
//! within 30 days), a cluster table in the default exclusions, and a `sys_certificate`
//! preserver that does not reach the certificate rows; on test, a MID Server already Down with
//! an open issue, and one pinned to its version while the builds differ.

use super::{grant, id, read, user};
use crate::evidence::*;
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;

/// Adds the MID Server facts to the instances of [`super::evidence`].
pub(super) fn extend(instances: &mut BTreeMap<String, InstanceEvidence>, now: DateTime<Utc>) {
    for i in instances.values_mut() {
        for (t, rows) in [
            ("ecc_agent_cluster", 0),
            ("ecc_agent_cluster_member_m2m", 0),
            ("ecc_agent_issue", 0),
        ] {
            i.coverage.push(read(t, 1, rows));
        }
    }
    if let Some(i) = instances.get_mut("prod") {
        prod(i);
    }
    if let Some(i) = instances.get_mut("dev") {
        dev(i, now);
    }
    if let Some(i) = instances.get_mut("test") {
        test(i);
    }
    for i in instances.values_mut() {
        i.coverage.sort_by(|a, b| a.table.cmp(&b.table));
    }
}

/// Sets the rows read of one table in the coverage.
fn rows_read(i: &mut InstanceEvidence, table: &str, rows: u64) {
    match i.coverage.iter_mut().find(|c| c.table == table) {
        Some(c) => c.rows = rows,
        None => i.coverage.push(read(table, 1, rows)),
    }
}

fn prod(i: &mut InstanceEvidence) {
    let Some(clone) = i.clone.as_mut() else {
        return;
    };
    if let Fact::Ok { value } = &mut clone.excludes {
        value.push(Exclusion {
            sys_id: id("x:cluster"),
            name: "ecc_agent_cluster".into(),
            table: String::new(),
            default: Some(true),
        });
    }
    if let Fact::Ok { value } = &mut clone.preservers {
        value.push(Preserver {
            sys_id: id("p:certs"),
            name: "Integration certificates".into(),
            table: "sys_certificate".into(),
            condition: "active=true".into(),
            include_in_system_clone: Some(true),
            theme: Some(false),
            created_on: "2025-06-12 08:30:00".into(),
            default: Some(false),
            metadata: Default::default(),
        });
    }
    // The source looks up the certificate rows of the targets' certificate logins too.
    rows_read(i, "sys_user_certificate", 0);
}

/// Adds `row` to the rows a preserver's condition matched on this target.
fn matched(i: &mut InstanceEvidence, preserver: &str, row: &str) {
    for e in i
        .preserver_evals
        .iter_mut()
        .filter(|e| e.preserver == id(preserver))
    {
        if let Fact::Ok { value } = &mut e.matched {
            value.push(id(row));
        }
        if let Fact::Ok { value } = &mut e.table_matches {
            *value += 1;
        }
        e.mid_related_rows += 1;
    }
}

fn dev(i: &mut InstanceEvidence, now: DateTime<Utc>) {
    let recent = (now - Duration::minutes(4))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    if let Fact::Ok { value } = &mut i.users {
        value.push(user(
            "dev:mid.cert",
            "mid.cert",
            "sys_user",
            true,
            true,
            &recent,
        ));
    }
    if let Fact::Ok { value } = &mut i.user_roles {
        value.push(grant("dev:g3", "dev:mid.cert", "role:mid_server", false));
    }
    matched(i, "p:users", "dev:mid.cert");
    matched(i, "p:byname", "dev:mid.cert");
    matched(i, "p:roles", "dev:g3");
    // mid-dev-03 logs in with a client certificate mapped to mid.cert.
    if let Fact::Ok { value } = &mut i.mid_servers {
        value.push(MidServer {
            sys_id: id("dev:mid3"),
            name: "mid-dev-03".into(),
            status: "Up".into(),
            validated: Some(true),
            user_name: "mid.cert".into(),
            host_name: "midd03.acme.local".into(),
            version: "xanadu-07-02-2024__patch3".into(),
            last_refreshed: "2026-11-23 23:55:00".into(),
            is_using_mutual_auth: Some(true),
        });
    }
    let expires = (now + Duration::days(20))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    i.certificates = Fact::ok(vec![UserCertificate {
        sys_id: id("dev:cert1"),
        user: id("dev:mid.cert"),
        user_name: "mid.cert".into(),
        name: "CN=midd03.acme.local".into(),
        active: Some(true),
        expires,
    }]);
    rows_read(i, "sys_user_certificate", 1);
    // A failover pair: both members go Down.
    i.clusters = Fact::ok(vec![Cluster {
        sys_id: id("dev:cluster"),
        name: "DISC-EU".into(),
        cluster_type: "Failover".into(),
    }]);
    i.cluster_members = Fact::ok(
        [("dev:cm1", "dev:mid2"), ("dev:cm2", "dev:mid3")]
            .iter()
            .map(|(m, a)| ClusterMember {
                sys_id: id(m),
                cluster: id("dev:cluster"),
                agent: id(a),
            })
            .collect(),
    );
    rows_read(i, "ecc_agent_cluster", 1);
    rows_read(i, "ecc_agent_cluster_member_m2m", 2);
}

fn test(i: &mut InstanceEvidence) {
    // mid-test-03 is Down already, with an open issue.
    i.agent_issues = Fact::ok(vec![AgentIssue {
        sys_id: id("test:issue1"),
        mid_server: id("test:mid3"),
        source: "MIDUserConnectivity".into(),
        state: "new".into(),
        last_detected: "2026-11-23 21:40:00".into(),
        message: "MID Server has not connected for 3 days".into(),
    }]);
    rows_read(i, "ecc_agent_issue", 1);
    // mid-test-01 keeps its version whatever the build.
    i.mid_pins = Fact::ok(vec![MidPin {
        sys_id: id("test:pin1"),
        ecc_agent: id("test:mid1"),
        value: "washingtondc-12-20-2023__patch9".into(),
    }]);
    rows_read(i, "ecc_agent_config", 1);
}
