//! Builders of the estates the end-to-end, fault and hostile-data tests audit: instances that
//! share the built-in roles' sys_ids (targets are clones of production), MID users with a direct
//! grant of `mid_server` and a MID Server logging in as them, and the clone tip's preservers.
#![allow(dead_code)]

use super::fake::FakeState;
use serde_json::json;

/// The `mid_server` role's sys_id: the same on every instance.
pub const MID_ROLE: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a01";
pub const ADMIN_ROLE: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a02";
pub const ITIL_ROLE: &str = "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a03";

/// A stable sys_id from a number.
pub fn sid(n: u32) -> String {
    format!("{n:032x}")
}

/// An instance with the built-in roles and the properties every instance has.
pub fn instance(production: bool) -> FakeState {
    let mut s = FakeState::new();
    for (id, name, elevated) in [
        (MID_ROLE, "mid_server", "false"),
        (ADMIN_ROLE, "admin", "true"),
        (ITIL_ROLE, "itil", "false"),
    ] {
        s.insert(
            "sys_user_role",
            json!({"sys_id": id, "name": name, "elevated_privilege": elevated}),
        );
    }
    s.set_property(
        "glide.installation.production",
        if production { "true" } else { "false" },
    );
    s.set_property(
        "glide.war",
        "glide-xanadu-07-02-2024__patch3-11-12-2024_11-20-2024_1455.zip",
    );
    s
}

/// A web-service-only MID user (sys_id `sid(id)`) with a direct grant of mid_server
/// (`sid(id + 1)`) and, unless `server` is empty, a MID Server of that name (`sid(id + 2)`)
/// logging in as it. Returns the user's sys_id.
pub fn mid_user(s: &mut FakeState, id: u32, name: &str, server: &str) -> String {
    let uid = sid(id);
    s.add_user_with(
        name,
        json!({"sys_id": uid, "web_service_access_only": "true", "last_login_time": "2026-11-23 10:00:00"}),
    );
    s.insert(
        "sys_user_has_role",
        json!({"sys_id": sid(id + 1), "user": uid, "role": MID_ROLE, "inherited": "false", "state": "active"}),
    );
    if !server.is_empty() {
        s.insert(
            "ecc_agent",
            json!({"sys_id": sid(id + 2), "name": server, "status": "Up", "validated": "true", "user_name": name, "host_name": server, "version": "v", "last_refreshed": "", "is_using_mutual_auth": "false"}),
        );
    }
    uid
}

/// The three preservers of the clone tip.
pub fn seed_preservers(s: &mut FakeState) {
    s.add_preserver("MID server users", "sys_user", "roles=mid_server");
    s.add_preserver(
        "MID server user has role",
        "sys_user_has_role",
        "user.roles=mid_server",
    );
    s.add_preserver(
        "MID server user group membership",
        "sys_user_grmember",
        "user.roles=mid_server",
    );
}

/// The production source of most scenarios: `mid.prod` (sys_id `sid(100)`) with its MID Server
/// `mid-prod-01`, and no preserver.
pub fn source_prod() -> FakeState {
    let mut s = instance(true);
    mid_user(&mut s, 100, "mid.prod", "mid-prod-01");
    s
}

/// A target: `mid.dev` (sys_id `sid(200)`) with its MID Server `mid-dev-01`.
pub fn target_dev() -> FakeState {
    let mut s = instance(false);
    mid_user(&mut s, 200, "mid.dev", "mid-dev-01");
    s
}

/// A second target: `mid.test` (sys_id `sid(300)`) with its MID Server `mid-test-01`.
pub fn target_test() -> FakeState {
    let mut s = instance(false);
    mid_user(&mut s, 300, "mid.test", "mid-test-01");
    s
}
