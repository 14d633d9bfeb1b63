//! The embedded sample estate of `preclone demo`: a production source `prod` and two targets,
//! `dev` and `test`, written as evidence (no network). It shows every check family: MID Servers
//! that go Down, a MID user of a child class of sys_user that no preserver on its class table
//! keeps, a group that holds mid_server in production without passing it to its members
//! (`inherits` false), a preserver switched off, an
//! over-broad and a dot-walked one, non-production MID users kept in production, a MID Server
//! registered in production from dev's host (with the production credentials it receives), a
//! table of dev with rows hidden by ACLs, a legacy clone request for dev and a Clone Admin Console
//! request for test, and three waivers (valid, expiring within 30 days, expired). What it shows
//! of MID Server clusters, certificate logins, issues and pinned versions is in `demo/mid.rs`.

use crate::checks::CheckId;
use crate::evidence::*;
use crate::waivers::Waiver;
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

mod mid;

/// A stable sys_id for a label.
fn id(label: &str) -> String {
    format!("{:x}", Sha256::digest(label.as_bytes()))[..32].to_string()
}

fn user(label: &str, name: &str, class: &str, active: bool, wsao: bool, last_login: &str) -> User {
    User {
        sys_id: id(label),
        user_name: name.into(),
        sys_class_name: class.into(),
        active: Some(active),
        locked_out: Some(false),
        web_service_access_only: Some(wsao),
        internal_integration_user: Some(false),
        last_login_time: last_login.into(),
    }
}

fn grant(label: &str, user: &str, role: &str, inherited: bool) -> UserRole {
    UserRole {
        sys_id: id(label),
        user: id(user).into(),
        role: id(role).into(),
        inherited,
        state: "active".into(),
    }
}

fn role(label: &str, name: &str, elevated: bool) -> Role {
    Role {
        sys_id: id(label),
        name: name.into(),
        elevated_privilege: Some(elevated),
    }
}

fn server(label: &str, name: &str, status: &str, user_name: &str, host: &str) -> MidServer {
    MidServer {
        sys_id: id(label),
        name: name.into(),
        status: status.into(),
        validated: Some(true),
        user_name: user_name.into(),
        host_name: host.into(),
        version: "xanadu-07-02-2024__patch3".into(),
        last_refreshed: "2026-11-23 23:55:00".into(),
        is_using_mutual_auth: Some(false),
    }
}

fn preserver(label: &str, name: &str, table: &str, condition: &str, include: bool) -> Preserver {
    Preserver {
        sys_id: id(label),
        name: name.into(),
        table: table.into(),
        condition: condition.into(),
        include_in_system_clone: Some(include),
        theme: Some(false),
        created_on: "2025-03-02 10:00:00".into(),
        default: Some(false),
        metadata: Default::default(),
    }
}

fn exclusion(label: &str, name: &str, default: bool) -> Exclusion {
    Exclusion {
        sys_id: id(label),
        name: name.into(),
        table: String::new(),
        default: Some(default),
    }
}

/// A scheduled request with every option at its platform default and no profile.
fn request(
    table: RequestTable,
    label: &str,
    number: &str,
    target: &str,
    scheduled: &str,
) -> CloneRequest {
    CloneRequest {
        table,
        sys_id: id(label),
        number: number.into(),
        target_instance: id(target),
        state: "Scheduled".into(),
        scheduled: scheduled.into(),
        profile: String::new(),
        lock_profile_settings: Some(false),
        preserve_theme: Some(false),
        exclude_all_from_exclusion_list: Some(true),
        exclude_large_data: Some(true),
        on_demand_backup: None,
        created_on: "2026-11-20 09:00:00".into(),
    }
}

fn credential(label: &str, name: &str, kind: &str, mid_list: &[&str]) -> Credential {
    Credential {
        sys_id: id(label),
        name: name.into(),
        kind: kind.into(),
        active: Some(true),
        mid_list: mid_list.iter().map(|m| id(m)).collect(),
    }
}

fn target_record(label: &str, name: &str, url: &str) -> InstanceRecord {
    InstanceRecord {
        sys_id: id(label),
        instance_name: name.into(),
        instance_url: url.into(),
        production: Some(false),
    }
}

fn eval(p: &str, table: &str, matched: &[&str], total: u64, related: u64) -> PreserverEval {
    PreserverEval {
        preserver: id(p),
        table: table.into(),
        matched: Fact::ok(matched.iter().map(|m| id(m)).collect()),
        table_matches: Fact::ok(total),
        mid_related_rows: related,
    }
}

fn read(table: &str, requests: u64, rows: u64) -> TableRead {
    TableRead {
        table: table.into(),
        requests,
        rows,
        hidden_rows: 0,
        error: None,
        absent: false,
        cause: None,
    }
}

fn coverage(extra: &[(&str, u64, u64)]) -> Vec<TableRead> {
    let mut v: Vec<TableRead> = [
        ("ecc_agent", 1, 2),
        ("ecc_agent_config", 1, 0),
        ("sys_group_has_role", 1, 1),
        ("sys_properties", 1, 2),
        ("sys_user", 2, 3),
        ("sys_user_group", 1, 1),
        ("sys_user_grmember", 2, 1),
        ("sys_user_has_role", 3, 4),
        ("sys_user_role", 1, 1),
        ("sys_user_role_contains", 1, 0),
    ]
    .iter()
    .chain(extra)
    .map(|(t, q, r)| read(t, *q, *r))
    .collect();
    v.sort_by(|a, b| a.table.cmp(&b.table));
    v
}

fn roles() -> Vec<Role> {
    vec![
        role("role:mid_server", "mid_server", false),
        role("role:admin", "admin", true),
        role("role:itil", "itil", false),
    ]
}

fn instance(
    name: &str,
    url: &str,
    role_: InstanceRole,
    production: bool,
    build: &str,
) -> InstanceEvidence {
    InstanceEvidence {
        audit_user: Some("preclone.audit".into()),
        production: Production {
            config: Some(production),
            property: Fact::ok(Some(production.to_string())),
        },
        build_tag: Fact::ok(Some(build.into())),
        mid_role: Fact::ok(vec![role("role:mid_server", "mid_server", false)]),
        roles: Fact::ok(roles()),
        coverage: coverage(&[]),
        ..InstanceEvidence::empty(name, url, role_)
    }
}

/// The build, as `glide.war` names it.
const BUILD: &str = "glide-xanadu-07-02-2024__patch3-11-12-2024_11-20-2024_1455.zip";

fn prod(now: DateTime<Utc>) -> InstanceEvidence {
    let long_ago = (now - Duration::days(212))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let recent = (now - Duration::hours(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut i = instance(
        "prod",
        "https://acme.service-now.com",
        InstanceRole::Source,
        true,
        BUILD,
    );
    i.users = Fact::ok(vec![
        user("prod:mid.prod", "mid.prod", "sys_user", true, true, &recent),
        user("prod:mid.test", "mid.test", "sys_user", true, true, &recent),
        user(
            "prod:mid.legacy",
            "mid.legacy",
            "sys_user",
            true,
            false,
            &long_ago,
        ),
    ]);
    i.user_roles = Fact::ok(vec![
        grant("prod:g1", "prod:mid.prod", "role:mid_server", false),
        grant("prod:g2", "prod:mid.test", "role:mid_server", false),
        grant("prod:g3", "prod:mid.legacy", "role:mid_server", false),
        grant("prod:g4", "prod:mid.legacy", "role:admin", false),
    ]);
    i.groups = Fact::ok(vec![Group {
        sys_id: id("group:discovery"),
        name: "Discovery MIDs".into(),
        parent: String::new(),
    }]);
    // Production's group holds mid_server but does not pass it to its members.
    i.group_roles = Fact::ok(vec![GroupRole {
        sys_id: id("prod:gr1"),
        group: id("group:discovery"),
        role: id("role:mid_server"),
        inherits: Some(false),
    }]);
    i.mid_servers = Fact::ok(vec![
        server(
            "prod:mid1",
            "mid-prod-01",
            "Up",
            "mid.prod",
            "midp01.acme.local",
        ),
        // dev's MID host, pointed at production with production's MID user, and validated.
        server(
            "prod:mid2",
            "mid-dev-01",
            "Up",
            "mid.prod",
            "MIDD01.acme.local",
        ),
    ]);
    i.validation_override = Fact::ok(Some("false".into()));
    i.credentials = Some(Fact::ok(vec![
        credential(
            "cred:win",
            "Windows domain (discovery)",
            "Windows",
            &["prod:mid1", "prod:mid2"],
        ),
        credential("cred:ssh", "Linux SSH (discovery)", "SSH", &["prod:mid2"]),
    ]));
    // Every row the clone copies was made long ago.
    let stamp = RowTimes {
        created_on: long_ago.clone(),
        updated_on: long_ago.clone(),
    };
    for id in [
        "prod:mid.prod",
        "prod:mid.test",
        "prod:mid.legacy",
        "prod:g1",
        "prod:g2",
        "prod:g3",
        "prod:g4",
        "group:discovery",
        "prod:gr1",
    ] {
        i.row_times.insert(self::id(id), stamp.clone());
    }
    let tomorrow = (now + Duration::days(1))
        .format("%Y-%m-%d 22:00:00")
        .to_string();
    let in_three_days = (now + Duration::days(3))
        .format("%Y-%m-%d 20:00:00")
        .to_string();
    i.clone = Some(CloneSetup {
        preservers: Fact::ok(vec![
            preserver(
                "p:users",
                "MID server users",
                "sys_user",
                "roles=mid_server",
                true,
            ),
            preserver(
                "p:roles",
                "MID server user has role",
                "sys_user_has_role",
                "user.roles=mid_server",
                true,
            ),
            preserver(
                "p:members",
                "MID server user group membership",
                "sys_user_grmember",
                "user.roles=mid_server",
                true,
            ),
            preserver(
                "p:byname",
                "MID users by name (old)",
                "sys_user",
                "user_nameSTARTSWITHmid.^EQ",
                false,
            ),
            preserver("p:theme", "Theme", "sys_ui_theme", "", true),
        ]),
        profiles: Fact::ok(vec![]),
        profile_preservers: Fact::ok(vec![]),
        excludes: Fact::ok(vec![
            exclusion("x:email", "sys_email", false),
            exclusion("x:syslog", "syslog*", true),
        ]),
        clone_requests: Fact::ok(vec![request(
            RequestTable::CloneInstance,
            "clone:1",
            "CLN0001234",
            "instance:dev",
            &tomorrow,
        )]),
        // The Clone Admin Console's request: the clone of test, in three days.
        console_requests: Fact::ok(Some(vec![CloneRequest {
            on_demand_backup: Some(false),
            ..request(
                RequestTable::SnInstanceCloneRequest,
                "clone:2",
                "CR0010042",
                "instance:test",
                &in_three_days,
            )
        }])),
        target_records: Fact::ok(vec![
            target_record(
                "instance:dev",
                "acmedev",
                "https://acmedev.service-now.com/",
            ),
            target_record(
                "instance:test",
                "acmetest",
                "https://acmetest.service-now.com/",
            ),
        ]),
    });
    i.coverage = coverage(&[
        ("clone_data_exclude", 1, 2),
        ("clone_data_preserver", 1, 5),
        ("clone_instance", 1, 1),
        ("clone_profile", 1, 0),
        ("clone_profile_preservers", 1, 0),
        ("instance", 1, 2),
        ("sn_instance_clone_request", 1, 1),
        ("discovery_credentials", 1, 2),
    ]);
    i
}

fn dev(now: DateTime<Utc>) -> InstanceEvidence {
    let recent = (now - Duration::minutes(5))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut i = instance(
        "dev",
        "https://acmedev.service-now.com",
        InstanceRole::Target,
        false,
        BUILD,
    );
    // An ACL hides one of dev's properties: its build is not known (its production flag comes
    // from the config).
    let hidden = "1 of 2 rows hidden by ACLs";
    i.production.property = Fact::error("sys_properties", hidden);
    i.build_tag = Fact::error("sys_properties", hidden);
    for c in i
        .coverage
        .iter_mut()
        .filter(|c| c.table == "sys_properties")
    {
        c.rows = 1;
        c.hidden_rows = 1;
    }
    i.users = Fact::ok(vec![
        user("dev:mid.dev", "mid.dev", "sys_user", true, false, &recent),
        user(
            "dev:mid.dev2",
            "mid.dev2",
            "u_mid_service_account",
            true,
            true,
            &recent,
        ),
    ]);
    i.user_roles = Fact::ok(vec![
        grant("dev:g1", "dev:mid.dev", "role:mid_server", false),
        grant("dev:g2", "dev:mid.dev2", "role:mid_server", false),
    ]);
    i.mid_servers = Fact::ok(vec![
        server(
            "dev:mid1",
            "mid-dev-01",
            "Up",
            "mid.dev",
            "midd01.acme.local",
        ),
        server(
            "dev:mid2",
            "mid-dev-02",
            "Up",
            "mid.dev2",
            "midd02.acme.local",
        ),
    ]);
    i.preserver_evals = vec![
        eval(
            "p:users",
            "sys_user",
            &["dev:mid.dev", "dev:mid.dev2"],
            2,
            2,
        ),
        eval("p:roles", "sys_user_has_role", &["dev:g1", "dev:g2"], 2, 2),
        eval("p:members", "sys_user_grmember", &[], 0, 0),
        eval(
            "p:byname",
            "sys_user",
            &["dev:mid.dev", "dev:mid.dev2"],
            3,
            2,
        ),
    ];
    i
}

fn test(now: DateTime<Utc>) -> InstanceEvidence {
    let recent = (now - Duration::minutes(3))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut i = instance(
        "test",
        "https://acmetest.service-now.com",
        InstanceRole::Target,
        false,
        "glide-washingtondc-12-20-2023__patch9-08-01-2024_08-07-2024_1201.zip",
    );
    i.users = Fact::ok(vec![
        user("test:mid.test", "mid.test", "sys_user", true, true, &recent),
        user("test:mid.disc", "mid.disc", "sys_user", true, true, &recent),
    ]);
    i.user_roles = Fact::ok(vec![
        grant("test:g1", "test:mid.test", "role:mid_server", false),
        grant("test:g2", "test:mid.disc", "role:mid_server", true),
    ]);
    i.memberships = Fact::ok(vec![Membership {
        sys_id: id("test:m1"),
        user: id("test:mid.disc").into(),
        group: id("group:discovery").into(),
    }]);
    i.groups = Fact::ok(vec![Group {
        sys_id: id("group:discovery"),
        name: "Discovery MIDs".into(),
        parent: String::new(),
    }]);
    i.group_roles = Fact::ok(vec![GroupRole {
        sys_id: id("test:gr1"),
        group: id("group:discovery"),
        role: id("role:mid_server"),
        inherits: Some(true),
    }]);
    let mut unknown = server("test:mid3", "mid-test-03", "Down", "", "midt03.acme.local");
    unknown.validated = Some(false);
    i.mid_servers = Fact::ok(vec![
        server(
            "test:mid1",
            "mid-test-01",
            "Up",
            "mid.test",
            "midt01.acme.local",
        ),
        server(
            "test:mid2",
            "mid-test-02",
            "Up",
            "mid.disc",
            "midt02.acme.local",
        ),
        unknown,
    ]);
    i.preserver_evals = vec![
        eval(
            "p:users",
            "sys_user",
            &["test:mid.test", "test:mid.disc"],
            2,
            2,
        ),
        eval(
            "p:roles",
            "sys_user_has_role",
            &["test:g1", "test:g2"],
            2,
            2,
        ),
        eval("p:members", "sys_user_grmember", &["test:m1"], 1, 1),
        eval(
            "p:byname",
            "sys_user",
            &["test:mid.test", "test:mid.disc"],
            2,
            2,
        ),
    ];
    i
}

/// The sample estate's evidence, dated `now`.
pub fn evidence(now: DateTime<Utc>, run_id: &str) -> Evidence {
    let mut instances = BTreeMap::new();
    for i in [prod(now), dev(now), test(now)] {
        instances.insert(i.name.clone(), i);
    }
    mid::extend(&mut instances, now);
    let requests = instances
        .values()
        .flat_map(|i| i.coverage.iter())
        .map(|c| c.requests)
        .sum::<u64>()
        + 8;
    Evidence {
        schema_version: EVIDENCE_SCHEMA_VERSION,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        run_id: run_id.into(),
        started_at: now,
        finished_at: now,
        source: "prod".into(),
        targets: vec!["dev".into(), "test".into()],
        instances,
        requests,
        demo: true,
    }
}

/// The sample estate's waivers: one valid, one expiring within 30 days, one expired.
pub fn waivers(now: DateTime<Utc>) -> Vec<Waiver> {
    let day = |d: i64| (now + Duration::days(d)).date_naive();
    vec![
        Waiver {
            check: CheckId::ProdSharedMidCredential,
            instance: "prod".into(),
            subject: "mid.test".into(),
            reason: "Shared by design until CHG0031337 splits the test MID cluster".into(),
            approver: "j.doe".into(),
            expires: day(180),
            line: 1,
        },
        Waiver {
            check: CheckId::MidUserNameCollision,
            instance: "test".into(),
            subject: "mid.test".into(),
            reason: "The prod copy of mid.test is removed in RITM0042001 before the clone".into(),
            approver: "a.khan".into(),
            expires: day(20),
            line: 9,
        },
        Waiver {
            check: CheckId::MidUserInteractiveLogin,
            instance: "dev".into(),
            subject: "mid.dev".into(),
            reason: "Temporary UI access while the MID host is rebuilt".into(),
            approver: "j.doe".into(),
            expires: day(-10),
            line: 17,
        },
    ]
}
