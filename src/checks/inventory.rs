//! The inventory of MID users and MID Servers per instance, as the report lists it, read from the
//! same tables the checks judged.

use super::facts::mid_server_logins;
use super::Ctx;
use crate::evidence::{Fact, InstanceEvidence};
use serde::{Deserialize, Serialize};

/// A MID user as the inventory lists it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct UserInventory {
    pub sys_id: String,
    pub user_name: String,
    pub sys_class_name: String,
    pub active: Option<bool>,
    pub locked_out: Option<bool>,
    pub web_service_access_only: Option<bool>,
    pub last_login_time: String,
    /// Names of the MID Servers of this instance that log in as this user.
    pub used_by: Vec<String>,
    /// Whether the user holds `mid_server` effectively today; null when the tables that decide
    /// it could not be read.
    pub has_mid_role: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct MidServerInventory {
    pub sys_id: String,
    pub name: String,
    pub status: String,
    pub validated: Option<bool>,
    pub user_name: String,
    pub host_name: String,
    pub version: String,
    pub last_refreshed: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[schemars(deny_unknown_fields)]
pub struct InstanceInventory {
    pub instance: String,
    /// `None` when the table could not be read (with the reason in `error`).
    pub mid_users: Option<Vec<UserInventory>>,
    pub mid_servers: Option<Vec<MidServerInventory>>,
    pub error: Option<String>,
}

/// The inventory of the source, then of each target.
pub(super) fn inventory(ctx: &Ctx) -> Vec<InstanceInventory> {
    let evidence = ctx.evidence;
    evidence
        .source()
        .into_iter()
        .chain(evidence.target_instances())
        .map(|inst| of_instance(ctx, inst))
        .collect()
}

fn of_instance(ctx: &Ctx, inst: &InstanceEvidence) -> InstanceInventory {
    let used = ctx.used_by(inst);
    let today = ctx.today(inst).ok();
    let mut error = Vec::new();
    let mid_users = match &inst.users {
        Fact::Ok { value } => Some(
            value
                .iter()
                .filter(|u| {
                    used.contains_key(&u.user_name)
                        || today.is_some_and(|w| w.is_mid_role_holder(u))
                })
                .map(|u| UserInventory {
                    sys_id: u.sys_id.clone(),
                    user_name: u.user_name.clone(),
                    sys_class_name: u.sys_class_name.clone(),
                    active: u.active,
                    locked_out: u.locked_out,
                    web_service_access_only: u.web_service_access_only,
                    last_login_time: u.last_login_time.clone(),
                    used_by: used.get(&u.user_name).cloned().unwrap_or_default(),
                    has_mid_role: today.map(|w| w.mid_grant(&u.sys_id).is_some()),
                })
                .collect(),
        ),
        Fact::Error { table, reason } => {
            error.push(format!("{table}: {reason}"));
            None
        }
    };
    let mid_servers = match &inst.mid_servers {
        Fact::Ok { value } => Some(
            value
                .iter()
                .map(|m| MidServerInventory {
                    sys_id: m.sys_id.clone(),
                    name: m.name.clone(),
                    status: m.status.clone(),
                    validated: m.validated,
                    user_name: mid_server_logins(inst, m).join(", "),
                    host_name: m.host_name.clone(),
                    version: m.version.clone(),
                    last_refreshed: m.last_refreshed.clone(),
                })
                .collect(),
        ),
        Fact::Error { table, reason } => {
            error.push(format!("{table}: {reason}"));
            None
        }
    };
    InstanceInventory {
        instance: inst.name.clone(),
        mid_users,
        mid_servers,
        error: (!error.is_empty()).then(|| error.join("; ")),
    }
}
