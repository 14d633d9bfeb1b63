//! Evidence built by hand: two instances (a production source `prod` and a target `dev`) and
//! the builders the tests change them with; [`big_estate`] for timings.

use chrono::{TimeZone, Utc};
use preclone::evidence::*;
use preclone::finding::{CheckResult, Status};
use std::collections::BTreeMap;

pub fn id(n: u32) -> String {
    format!("{n:032x}")
}

pub const MID: u32 = 1;
pub const WRAPPER: u32 = 2; // a role that contains mid_server

pub fn user(n: u32, name: &str) -> User {
    User {
        sys_id: id(n),
        user_name: name.into(),
        sys_class_name: "sys_user".into(),
        active: Some(true),
        locked_out: Some(false),
        web_service_access_only: Some(true),
        internal_integration_user: Some(false),
        last_login_time: "2026-11-20 10:00:00".into(),
    }
}

pub fn grant(n: u32, user: u32, role: u32) -> UserRole {
    UserRole {
        sys_id: id(n),
        user: id(user).into(),
        role: id(role).into(),
        inherited: false,
        state: "active".into(),
    }
}

pub fn preserver(n: u32, name: &str, table: &str, condition: &str) -> Preserver {
    Preserver {
        sys_id: id(n),
        name: name.into(),
        table: table.into(),
        condition: condition.into(),
        include_in_system_clone: Some(true),
        theme: Some(false),
        created_on: "2025-01-01 00:00:00".into(),
        default: Some(false),
        metadata: Default::default(),
    }
}

pub fn instance(name: &str, role: InstanceRole, production: bool) -> InstanceEvidence {
    InstanceEvidence {
        name: name.into(),
        url: format!("https://{name}.service-now.com"),
        role,
        audit_user: None,
        production: Production {
            config: Some(production),
            property: Fact::ok(None),
        },
        build_tag: Fact::ok(Some("b1".into())),
        mid_role: Fact::ok(vec![Role {
            sys_id: id(MID),
            name: "mid_server".into(),
            elevated_privilege: Some(false),
        }]),
        role_contains: Fact::ok(vec![]),
        held_role_contains: Fact::ok(vec![]),
        roles: Fact::ok(vec![Role {
            sys_id: id(WRAPPER),
            name: "mid_wrapper".into(),
            elevated_privilege: Some(false),
        }]),
        users: Fact::ok(vec![]),
        unsafe_logins: vec![],
        user_roles: Fact::ok(vec![]),
        memberships: Fact::ok(vec![]),
        groups: Fact::ok(vec![]),
        group_roles: Fact::ok(vec![]),
        mid_servers: Fact::ok(vec![]),
        mid_configs: Fact::ok(vec![]),
        clone: None,
        preserver_evals: vec![],
        coverage: vec![],
        ..InstanceEvidence::empty(name, "", role)
    }
}

pub fn server(n: u32, name: &str, login: &str) -> MidServer {
    MidServer {
        sys_id: id(n),
        name: name.into(),
        status: "Up".into(),
        validated: Some(true),
        user_name: login.into(),
        host_name: "h".into(),
        version: "v".into(),
        last_refreshed: String::new(),
        is_using_mutual_auth: Some(false),
    }
}

pub fn eval(p: u32, table: &str, matched: &[u32], total: u64) -> PreserverEval {
    PreserverEval {
        preserver: id(p),
        table: table.into(),
        matched: Fact::ok(matched.iter().map(|m| id(*m)).collect()),
        table_matches: Fact::ok(total),
        mid_related_rows: matched.len() as u64,
    }
}

/// prod (no MID users of its own) and dev, where mid.dev (100) holds `role` through grant 101
/// and its MID Server logs in as it; the sys_user and sys_user_has_role preservers match it.
pub fn estate(role: u32) -> Evidence {
    let mut prod = instance("prod", InstanceRole::Source, true);
    prod.clone = Some(CloneSetup {
        preservers: Fact::ok(vec![
            preserver(10, "users", "sys_user", "roles=mid_server"),
            preserver(11, "grants", "sys_user_has_role", "userIN..."),
            preserver(12, "members", "sys_user_grmember", "userIN..."),
        ]),
        profiles: Fact::ok(vec![]),
        profile_preservers: Fact::ok(vec![]),
        excludes: Fact::ok(vec![]),
        clone_requests: Fact::ok(vec![]),
        console_requests: Fact::ok(Some(vec![])),
        target_records: Fact::ok(vec![InstanceRecord {
            sys_id: id(95),
            instance_name: "dev".into(),
            instance_url: "https://dev.service-now.com".into(),
            production: Some(false),
        }]),
    });
    let mut dev = instance("dev", InstanceRole::Target, false);
    dev.users = Fact::ok(vec![user(100, "mid.dev")]);
    dev.user_roles = Fact::ok(vec![grant(101, 100, role)]);
    dev.mid_servers = Fact::ok(vec![server(102, "mid-dev-01", "mid.dev")]);
    dev.preserver_evals = vec![
        eval(10, "sys_user", &[100], 1),
        eval(11, "sys_user_has_role", &[101], 1),
        eval(12, "sys_user_grmember", &[], 0),
    ];
    let mut instances = BTreeMap::new();
    instances.insert("prod".to_string(), prod);
    instances.insert("dev".to_string(), dev);
    Evidence {
        schema_version: EVIDENCE_SCHEMA_VERSION,
        tool_version: "test".into(),
        run_id: "t".into(),
        started_at: Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).unwrap(),
        finished_at: Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 1).unwrap(),
        source: "prod".into(),
        targets: vec!["dev".into()],
        instances,
        requests: 0,
        demo: false,
    }
}

/// A pending `clone_instance` request (sys_id `id(n)`) for dev (its instance record `id(95)`),
/// with no profile, no lock and every option at its platform default.
pub fn request(n: u32) -> CloneRequest {
    CloneRequest {
        table: RequestTable::CloneInstance,
        sys_id: id(n),
        number: String::new(),
        target_instance: id(95),
        state: "Scheduled".into(),
        scheduled: "2026-11-25 22:00:00".into(),
        profile: String::new(),
        lock_profile_settings: Some(false),
        preserve_theme: Some(false),
        exclude_all_from_exclusion_list: Some(true),
        exclude_large_data: Some(true),
        on_demand_backup: None,
        created_on: "2026-11-01 00:00:00".into(),
    }
}

/// A custom exclusion of `name`.
pub fn exclusion(n: u32, name: &str) -> Exclusion {
    Exclusion {
        sys_id: id(n),
        name: name.into(),
        table: String::new(),
        default: Some(false),
    }
}

pub fn status(results: &[CheckResult], check: &str, instance: &str, subject: &str) -> Status {
    let found: Vec<&CheckResult> = results
        .iter()
        .filter(|r| {
            r.check.as_str() == check && r.instance == instance && r.subject.name == subject
        })
        .collect();
    assert_eq!(found.len(), 1, "{check} {instance} {subject}: {found:#?}");
    found[0].status
}

/// Group "MIDs" (60), its grant of mid_server (62) and mid.dev's membership of it (63).
pub fn mid_group() -> (Group, GroupRole, Membership) {
    let group = Group {
        sys_id: id(60),
        name: "MIDs".into(),
        parent: String::new(),
    };
    let grant = GroupRole {
        sys_id: id(62),
        group: id(60),
        role: id(MID),
        inherits: Some(true),
    };
    let membership = Membership {
        sys_id: id(63),
        user: id(100).into(),
        group: id(60).into(),
    };
    (group, grant, membership)
}

pub fn dev(e: &mut Evidence) -> &mut InstanceEvidence {
    e.instances.get_mut("dev").unwrap()
}

pub fn prod(e: &mut Evidence) -> &mut InstanceEvidence {
    e.instances.get_mut("prod").unwrap()
}

pub fn clone_setup(e: &mut Evidence) -> &mut CloneSetup {
    prod(e).clone.as_mut().unwrap()
}

/// A large estate for timing the checks phase: prod and three targets, each with `users` MID
/// users (a direct grant and a group membership each) and one MID Server per ten users, every
/// row kept by the preservers.
pub fn big_estate(users: u32) -> Evidence {
    let mut e = estate(MID);
    let targets = ["dev", "test", "uat"];
    let grows = |inst: &mut InstanceEvidence, base: u32| {
        let group = base;
        inst.groups = Fact::ok(vec![Group {
            sys_id: id(group),
            name: "MID Servers".into(),
            parent: String::new(),
        }]);
        inst.group_roles = Fact::ok(vec![GroupRole {
            sys_id: id(group + 1),
            group: id(group),
            role: id(MID),
            inherits: Some(true),
        }]);
        let (mut us, mut grants, mut members, mut servers) = (vec![], vec![], vec![], vec![]);
        for i in 0..users {
            let u = base + 10 + i * 4;
            let name = format!("mid.{i}");
            us.push(user(u, &name));
            grants.push(grant(u + 1, u, MID));
            members.push(Membership {
                sys_id: id(u + 2),
                user: id(u).into(),
                group: id(group).into(),
            });
            if i % 10 == 0 {
                servers.push(server(u + 3, &format!("mid-{i}"), &name));
            }
        }
        inst.preserver_evals = vec![
            PreserverEval {
                preserver: id(10),
                table: "sys_user".into(),
                matched: Fact::ok(us.iter().map(|u| u.sys_id.clone()).collect()),
                table_matches: Fact::ok(u64::from(users)),
                mid_related_rows: u64::from(users),
            },
            PreserverEval {
                preserver: id(11),
                table: "sys_user_has_role".into(),
                matched: Fact::ok(grants.iter().map(|g| g.sys_id.clone()).collect()),
                table_matches: Fact::ok(u64::from(users)),
                mid_related_rows: u64::from(users),
            },
            PreserverEval {
                preserver: id(12),
                table: "sys_user_grmember".into(),
                matched: Fact::ok(members.iter().map(|m| m.sys_id.clone()).collect()),
                table_matches: Fact::ok(u64::from(users)),
                mid_related_rows: u64::from(users),
            },
        ];
        inst.users = Fact::ok(us);
        inst.user_roles = Fact::ok(grants);
        inst.memberships = Fact::ok(members);
        inst.mid_servers = Fact::ok(servers);
    };
    grows(prod(&mut e), 1_000_000);
    let dev_template = dev(&mut e).clone();
    e.targets.clear();
    for (n, name) in targets.iter().enumerate() {
        let mut t = dev_template.clone();
        t.name = name.to_string();
        t.url = format!("https://{name}.service-now.com");
        grows(&mut t, 2_000_000 * (n as u32 + 1));
        e.instances.insert(name.to_string(), t);
        e.targets.push(name.to_string());
    }
    e
}
