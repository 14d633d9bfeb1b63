//! The benchmark's estates (`benches/audit.rs`), also audited scaled down by the end-to-end test
//! of the collector's chain of round trips: one source and three targets whose shapes stay the
//! same at every size (nested groups, roles containing roles, MID users holding `mid_server`
//! through both), so a schedule that holds on the small copy holds on the large one.
#![allow(dead_code)]

use super::estate::{seed_preservers, MID_ROLE};
use super::fake::FakeState;
use serde_json::json;

/// Instance names: the source first.
pub const NAMES: [&str; 4] = ["prod", "test1", "test2", "test3"];
/// Roles besides the MID ones that ordinary users and groups hold.
const OTHER_ROLES: u64 = 46;
/// Ordinary groups (each under one of ten departments under one organisation).
const GROUPS: u64 = 200;

/// The size of an estate; its shapes are the same at every size.
#[derive(Clone, Copy, Debug)]
pub struct Estate {
    pub name: &'static str,
    pub mid_users: u64,
    pub users: u64,
    /// Role rows per ordinary user (MID users hold two to five).
    pub roles_per_user: u64,
}

/// The benchmark's estates.
pub const ESTATES: [Estate; 3] = [
    Estate {
        name: "small",
        mid_users: 5,
        users: 1_000,
        roles_per_user: 3,
    },
    Estate {
        name: "medium",
        mid_users: 200,
        users: 20_000,
        roles_per_user: 3,
    },
    Estate {
        name: "large",
        mid_users: 2_000,
        users: 200_000,
        roles_per_user: 3,
    },
];

/// The benchmark estate named `name`.
pub fn estate(name: &str) -> Option<Estate> {
    ESTATES.iter().copied().find(|e| e.name == name)
}

/// A deterministic sys_id: a kind, an instance (0 for rows every clone shares) and a number.
pub fn id(kind: u64, inst: u64, n: u64) -> String {
    format!("{kind:04x}{inst:04x}{n:024x}")
}

pub const K_ROLE: u64 = 0xa0;
pub const K_GROUP: u64 = 0xb0;
pub const K_USER: u64 = 0xc0;
pub const K_AGENT: u64 = 0xd0;

/// The MID users of instance `k`: half shared by every instance (same sys_id and name, as the
/// targets are clones of prod), half the instance's own.
pub fn mid_user(e: &Estate, k: usize, i: u64) -> (String, String) {
    if i < e.mid_users / 2 {
        (format!("mid.shared.{i}"), id(K_USER, 0, i))
    } else {
        (format!("mid.{}.{i}", NAMES[k]), id(K_USER, k as u64 + 1, i))
    }
}

/// Instance `k` of the estate: roles (mid_server contained three levels deep), groups (the one
/// granting mid_server nested four levels deep), MID users holding mid_server directly (half),
/// through that group (a quarter) or through a containing role (an eighth through the role
/// containing it, an eighth through the top of the containment), MID Servers logged in as half of them (one in four of those with a client
/// certificate, paired into clusters, one in five with an issue, one in twenty pinned), ordinary
/// users with their roles and memberships, and on the source the three seed preservers, the
/// preservers of the cluster and certificate tables and credentials naming its MID Servers.
pub fn build_instance(e: &Estate, k: usize) -> FakeState {
    let mut s = FakeState::new();
    let role = |n: u64| id(K_ROLE, 0, n);
    s.insert(
        "sys_user_role",
        json!({"sys_id": MID_ROLE, "name": "mid_server", "elevated_privilege": "false"}),
    );
    let (admin, itil, mid_ops, mid_ops_admin) = (role(1), role(2), role(3), role(4));
    let mid_ops_lead = role(5);
    for (rid, name, elevated) in [
        (&admin, "admin", "true"),
        (&itil, "itil", "false"),
        (&mid_ops, "mid_ops", "false"),
        (&mid_ops_admin, "mid_ops_admin", "false"),
        (&mid_ops_lead, "mid_ops_lead", "false"),
    ] {
        s.insert(
            "sys_user_role",
            json!({"sys_id": rid, "name": name, "elevated_privilege": elevated}),
        );
    }
    let other = |n: u64| role(100 + n % OTHER_ROLES);
    for n in 0..OTHER_ROLES {
        s.insert(
            "sys_user_role",
            json!({"sys_id": other(n), "name": format!("role_{n}"), "elevated_privilege": "false"}),
        );
    }
    s.insert(
        "sys_user_role_contains",
        json!({"sys_id": id(K_ROLE, 1, 1), "role": mid_ops, "contains": MID_ROLE}),
    );
    s.insert(
        "sys_user_role_contains",
        json!({"sys_id": id(K_ROLE, 1, 2), "role": mid_ops_admin, "contains": mid_ops}),
    );
    // Containment three levels deep: mid_ops_lead > mid_ops_admin > mid_ops > mid_server.
    s.insert(
        "sys_user_role_contains",
        json!({"sys_id": id(K_ROLE, 1, 3), "role": mid_ops_lead, "contains": mid_ops_admin}),
    );
    let production = if k == 0 { "true" } else { "false" };
    s.set_property("glide.installation.production", production);
    s.set_property(
        "glide.war",
        "glide-xanadu-07-02-2024__patch3-11-12-2024_11-20-2024_1455.zip",
    );

    // Groups: org > 10 departments > 200 groups; Integrations > MID Servers (grants mid_server).
    let group = |n: u64| id(K_GROUP, 0, n);
    let insert_group = |s: &mut FakeState, gid: &str, name: &str, parent: &str| {
        s.insert(
            "sys_user_group",
            json!({"sys_id": gid, "name": name, "parent": parent, "active": "true"}),
        );
    };
    insert_group(&mut s, &group(0), "Organisation", "");
    for d in 0..10 {
        insert_group(&mut s, &group(1 + d), &format!("Department {d}"), &group(0));
    }
    let g = |n: u64| group(100 + n % GROUPS);
    for n in 0..GROUPS {
        insert_group(&mut s, &g(n), &format!("Group {n}"), &group(1 + n % 10));
        s.grant_group_role(&g(n), &other(n));
    }
    // The MID group nested four levels deep: Organisation > IT > Integrations > Platform > MID
    // Servers, which grants mid_server.
    let (it, integrations, platform, mid_group) = (group(19), group(20), group(22), group(21));
    insert_group(&mut s, &it, "IT", &group(0));
    insert_group(&mut s, &integrations, "Integrations", &it);
    insert_group(&mut s, &platform, "Platform", &integrations);
    insert_group(&mut s, &mid_group, "MID Servers", &platform);
    s.grant_group_role(&mid_group, MID_ROLE);

    for i in 0..e.mid_users {
        let (name, uid) = mid_user(e, k, i);
        s.add_user_with(
            &name,
            json!({"sys_id": uid, "web_service_access_only": "true",
                   "last_login_time": "2026-11-23 10:00:00"}),
        );
        match i % 4 {
            0 | 1 => {
                s.grant_role(&uid, MID_ROLE);
            }
            2 => {
                s.add_member(&uid, &mid_group);
                s.grant_role_with(
                    &uid,
                    MID_ROLE,
                    json!({"inherited": "true", "granted_by": mid_group}),
                );
            }
            _ if i % 8 == 3 => {
                s.grant_role(&uid, &mid_ops);
                s.grant_role_with(
                    &uid,
                    MID_ROLE,
                    json!({"inherited": "true", "included_in_role": mid_ops}),
                );
            }
            _ => {
                // Through the top of the containment: a row for each role it contains.
                s.grant_role(&uid, &mid_ops_lead);
                for (contained, by) in [
                    (&mid_ops_admin, &mid_ops_lead),
                    (&mid_ops, &mid_ops_admin),
                    (&MID_ROLE.to_string(), &mid_ops),
                ] {
                    s.grant_role_with(
                        &uid,
                        contained,
                        json!({"inherited": "true", "included_in_role": by}),
                    );
                }
            }
        }
        s.grant_role(&uid, &itil);
        if i % 2 == 0 {
            let agent = id(K_AGENT, k as u64 + 1, i);
            let mutual = i % 8 == 0;
            s.insert(
                "ecc_agent",
                json!({"sys_id": agent, "name": format!("mid-{}-{i}", NAMES[k]),
                       "status": "Up", "validated": "true", "user_name": name,
                       "host_name": format!("mid{i}.example.invalid"), "ip_address": "10.0.0.1",
                       "version": "xanadu-07-02-2024__patch1",
                       "last_refreshed": "2026-11-23 10:00:00",
                       "is_using_mutual_auth": mutual.to_string()}),
            );
            if i % 20 == 0 {
                s.add_mid_config(&agent, "mid.instance.username", &name);
            }
            if i % 40 == 0 {
                s.add_mid_config(&agent, "mid.pinned.version", "xanadu-07-02-2024__patch1");
            }
            if mutual {
                let cert = format!("CN=mid{i}.{}.example.invalid", NAMES[k]);
                s.add_user_certificate(&uid, &cert, true, "2030-01-01 00:00:00");
            }
            if i % 10 == 0 {
                let state = if i % 20 == 0 { "resolved" } else { "new" };
                s.add_agent_issue(&agent, "MIDUserConnectivity", state);
            }
            // Failover pairs: this MID Server and the next one with a MID Server.
            if i % 4 == 0 && i + 2 < e.mid_users {
                let next = id(K_AGENT, k as u64 + 1, i + 2);
                s.add_cluster(
                    &format!("cluster-{}-{i}", NAMES[k]),
                    "Failover",
                    &[&agent, &next],
                );
            }
        }
    }
    for j in e.mid_users..e.users {
        let uid = id(K_USER, 0, j);
        s.add_user_with(&format!("user.{j}"), json!({"sys_id": uid}));
        for r in 0..e.roles_per_user {
            let rid = if j % 1000 == 0 && r == 0 {
                admin.clone()
            } else {
                other(j * 7 + r * 13)
            };
            s.grant_role(&uid, &rid);
        }
        s.add_member(&uid, &g(j));
    }
    if k == 0 {
        // Production's credentials, each usable by five of its MID Servers (the shared logins
        // and hosts make every one of them look like a target's, so all are read).
        let agents: Vec<String> = (0..e.mid_users)
            .step_by(2)
            .map(|i| id(K_AGENT, 1, i))
            .collect();
        for (c, five) in agents.chunks(5).enumerate() {
            let list: Vec<&str> = five.iter().map(String::as_str).collect();
            let kind = if c % 2 == 0 { "SSH" } else { "Windows" };
            s.add_credential(&format!("credential {c}"), kind, &list);
        }
        seed_preservers(&mut s);
        s.add_preserver("MID Server clusters", "ecc_agent_cluster", "");
        s.add_preserver(
            "MID server certificates",
            "sys_user_certificate",
            "user.roles=mid_server",
        );
        s.add_exclusion("ecc_agent_cluster", true);
    }
    s
}
