//! The evidence: plain, serialisable facts collected from every instance. Checks are pure
//! functions of this document; `--save-evidence` writes it and `audit --evidence` reads it back.
//!
//! Anything that could not be read is a fact too ([`Fact::Error`]), never an empty list that
//! looks like "none".

use crate::shared_text::{self, Shared};
use crate::tables::{self, Table};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod cause;
mod exposure;
mod mid;
mod times;
pub use cause::Cause;
pub use exposure::{list_values, Credential};
pub use mid::{AgentIssue, Cluster, ClusterMember, MidPin, UserCertificate};
pub use times::{parse_time, user_table_row_ids, RowTimes};

/// Version of the evidence document's shape. Bumped on any incompatible change. Version 2 added
/// the Clone Admin Console's requests, the `instance` records of the requests' targets, the
/// requests' and profiles' clone options, profile-link times and the exclusions' `default` flag.
/// Version 3 added every field of the preservers (their `default` flag and `sys_metadata`
/// fields), when the source's user-table rows were created and changed, the
/// `glide.ecc_agent.validated.override` property, production's credentials that name MID
/// Servers, the MID Servers' clusters, open issues, pinned versions and mutual authentication,
/// and the certificate rows of their users.
pub const EVIDENCE_SCHEMA_VERSION: u32 = 3;

/// Reads `schema_version` and refuses any other version at once, naming both: an older
/// document lacks facts this version relies on, and must never read as "nothing found".
fn current_schema_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let v = u32::deserialize(d)?;
    if v != EVIDENCE_SCHEMA_VERSION {
        return Err(serde::de::Error::custom(format!(
            "evidence schema {v}, this preclone reads schema {EVIDENCE_SCHEMA_VERSION}: collect it again with this version"
        )));
    }
    Ok(v)
}

/// A value read from an instance, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "lowercase")]
pub enum Fact<T> {
    Ok { value: T },
    Error { table: String, reason: String },
}

impl<T> Fact<T> {
    pub fn ok(value: T) -> Self {
        Fact::Ok { value }
    }

    pub fn error(table: &str, reason: impl Into<String>) -> Self {
        Fact::Error {
            table: table.to_string(),
            reason: reason.into(),
        }
    }

    pub fn get(&self) -> Option<&T> {
        match self {
            Fact::Ok { value } => Some(value),
            Fact::Error { .. } => None,
        }
    }

    /// The table and reason of an unreadable fact.
    pub fn err(&self) -> Option<(&str, &str)> {
        match self {
            Fact::Ok { .. } => None,
            Fact::Error { table, reason } => Some((table, reason)),
        }
    }

    pub fn as_result(&self) -> Result<&T, Unreadable> {
        match self {
            Fact::Ok { value } => Ok(value),
            Fact::Error { table, reason } => Err(Unreadable {
                table: table.clone(),
                reason: reason.clone(),
            }),
        }
    }
}

impl<T: Default> Default for Fact<T> {
    fn default() -> Self {
        Fact::Ok {
            value: T::default(),
        }
    }
}

/// Why a fact is missing: the table and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub table: String,
    pub reason: String,
}

/// Where an instance's production status came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductionOrigin {
    /// `production = true|false` in the config.
    Config,
    /// `glide.installation.production` in `sys_properties`.
    Property,
    /// Neither: the config is silent and the property is missing (the platform then falls back
    /// to production), unreadable, or neither true nor false.
    Unknown,
}

/// What the run knows of an instance's production status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Production {
    /// `production` from the config, when set.
    pub config: Option<bool>,
    /// The value of `glide.installation.production`: `Ok(None)` when the property does not
    /// exist (the platform then falls back to `true`: not "non-production", but unknown here).
    pub property: Fact<Option<String>>,
}

impl Production {
    /// The effective flag and where it came from: the config wins, then a property that reads
    /// true or false (in any case, or 1/0). A missing, unreadable or other value is unknown.
    pub fn resolve(&self) -> (Option<bool>, ProductionOrigin) {
        if let Some(v) = self.config {
            return (Some(v), ProductionOrigin::Config);
        }
        match self
            .property
            .get()
            .cloned()
            .flatten()
            .as_deref()
            .map(parse_bool)
        {
            Some(Some(v)) => (Some(v), ProductionOrigin::Property),
            _ => (None, ProductionOrigin::Unknown),
        }
    }

    /// Why the production status is unknown, for a message that ends with what to do: `None`
    /// when it is known.
    pub fn unknown_because(&self) -> Option<String> {
        if self.resolve().0.is_some() {
            return None;
        }
        Some(match &self.property {
            Fact::Error { reason, .. } => {
                format!("glide.installation.production could not be read ({reason})")
            }
            Fact::Ok { value: None } => "glide.installation.production is not set (the platform then treats the instance as production)".to_string(),
            Fact::Ok { value: Some(v) } => {
                format!("glide.installation.production is {v:?}, neither true nor false")
            }
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InstanceRole {
    Source,
    Target,
}

/// A `sys_user` record. Tri-state booleans: `None` when the field was absent (unknown).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub sys_id: String,
    pub user_name: String,
    pub sys_class_name: String,
    pub active: Option<bool>,
    pub locked_out: Option<bool>,
    pub web_service_access_only: Option<bool>,
    pub internal_integration_user: Option<bool>,
    /// `YYYY-MM-DD HH:MM:SS` (UTC) or empty when never logged in.
    pub last_login_time: String,
}

impl User {
    /// Active and not locked out. Unknown counts as unusable only where it is known to be so.
    pub fn usable(&self) -> bool {
        self.active == Some(true) && self.locked_out != Some(true)
    }
}

/// A `sys_user_has_role` row. The most numerous rows of all: the user, role and state each
/// repeat across many of them and are shared ([`crate::shared_text`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRole {
    pub sys_id: String,
    #[serde(deserialize_with = "shared_text::deserialize")]
    pub user: Shared,
    #[serde(deserialize_with = "shared_text::deserialize")]
    pub role: Shared,
    pub inherited: bool,
    /// `active` when present; other values are not grants.
    #[serde(deserialize_with = "shared_text::deserialize")]
    pub state: Shared,
}

/// A `sys_user_grmember` row (its user and group shared, as a role row's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub sys_id: String,
    #[serde(deserialize_with = "shared_text::deserialize")]
    pub user: Shared,
    #[serde(deserialize_with = "shared_text::deserialize")]
    pub group: Shared,
}

/// A `sys_user_group` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub sys_id: String,
    pub name: String,
    /// sys_id of the parent group, empty when none.
    pub parent: String,
}

/// A `sys_group_has_role` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupRole {
    pub sys_id: String,
    pub group: String,
    pub role: String,
    /// `inherits`: whether the group passes the role to its members (the platform's default is
    /// true). `None` when the field was not returned or is not a boolean: unknown, never false.
    #[serde(default)]
    pub inherits: Option<bool>,
}

/// A `sys_user_role` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub sys_id: String,
    pub name: String,
    /// The elevated-privilege flag, where the field exists.
    pub elevated_privilege: Option<bool>,
}

/// A `sys_user_role_contains` row: `role` contains (and so grants) `contains`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleContains {
    pub sys_id: String,
    pub role: String,
    pub contains: String,
}

/// An `ecc_agent` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidServer {
    pub sys_id: String,
    pub name: String,
    pub status: String,
    pub validated: Option<bool>,
    /// The user_name it logged in as; empty when unknown.
    pub user_name: String,
    pub host_name: String,
    pub version: String,
    pub last_refreshed: String,
    /// `is_using_mutual_auth`: it logs in with a client certificate mapped to its user
    /// ([`UserCertificate`]). `None` when not returned.
    pub is_using_mutual_auth: Option<bool>,
}

/// An `ecc_agent_config` row with `param_name=mid.instance.username`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidConfig {
    pub sys_id: String,
    /// sys_id of the `ecc_agent` it configures; empty when the row applies to all.
    pub ecc_agent: String,
    pub value: String,
}

/// A `clone_data_preserver` record on the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preserver {
    pub sys_id: String,
    pub name: String,
    pub table: String,
    pub condition: String,
    /// `include_in_system_clone`; `None` when the field does not exist.
    pub include_in_system_clone: Option<bool>,
    pub theme: Option<bool>,
    /// `sys_created_on`, to tell whether it was added after a locked request.
    pub created_on: String,
    /// The `default` flag; `None` when the field was not returned.
    pub default: Option<bool>,
    /// The `sys_metadata` fields that came back (`sys_class_name`, `sys_name`, `sys_package`,
    /// `sys_policy`, `sys_scope`, `sys_update_name`), as stored: what an update of the record
    /// must carry besides the fields above.
    pub metadata: BTreeMap<String, String>,
}

/// A `clone_profile` record, with the clone options a request made with it starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloneProfile {
    pub sys_id: String,
    pub name: String,
    pub default_profile: Option<bool>,
    pub preserve_theme: Option<bool>,
    pub exclude_all_from_exclusion_list: Option<bool>,
    pub exclude_large_data: Option<bool>,
}

/// A `clone_profile_preservers` row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfilePreserver {
    pub profile: String,
    pub preserver: String,
    /// `sys_created_on`: when the preserver was linked into the profile.
    pub created_on: String,
}

/// A `clone_data_exclude` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exclusion {
    pub sys_id: String,
    /// A table name or a wildcard such as `sys_script.*`.
    pub name: String,
    pub table: String,
    /// `default`: a default exclusion applies to every clone; the custom list (`false`) as the
    /// request's options say.
    pub default: Option<bool>,
}

/// The table a clone request was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestTable {
    /// `clone_instance`, the legacy request.
    CloneInstance,
    /// `sn_instance_clone_request`, the Clone Admin Console's request.
    SnInstanceCloneRequest,
}

impl RequestTable {
    pub fn name(self) -> &'static str {
        match self {
            RequestTable::CloneInstance => tables::CLONE_INSTANCE.name,
            RequestTable::SnInstanceCloneRequest => tables::SN_INSTANCE_CLONE_REQUEST.name,
        }
    }
}

/// A clone request (`clone_instance` or `sn_instance_clone_request`): scheduled, requested or
/// past.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloneRequest {
    pub table: RequestTable,
    pub sys_id: String,
    /// Its number: `clone_id` (clone_instance) or `request_id` (console); empty when unset.
    pub number: String,
    /// The sys_id of the `instance` record of its target (a reference, as stored).
    pub target_instance: String,
    pub state: String,
    pub scheduled: String,
    pub profile: String,
    pub lock_profile_settings: Option<bool>,
    pub preserve_theme: Option<bool>,
    pub exclude_all_from_exclusion_list: Option<bool>,
    pub exclude_large_data: Option<bool>,
    /// `on_demand_backup`; always `None` on `clone_instance`, which has no such field.
    pub on_demand_backup: Option<bool>,
    pub created_on: String,
}

/// An `instance` record on the source: a registered clone target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InstanceRecord {
    pub sys_id: String,
    pub instance_name: String,
    pub instance_url: String,
    pub production: Option<bool>,
}

/// The source's clone set-up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CloneSetup {
    pub preservers: Fact<Vec<Preserver>>,
    pub profiles: Fact<Vec<CloneProfile>>,
    pub profile_preservers: Fact<Vec<ProfilePreserver>>,
    pub excludes: Fact<Vec<Exclusion>>,
    /// `clone_instance` records.
    pub clone_requests: Fact<Vec<CloneRequest>>,
    /// `sn_instance_clone_request` records; `None` when the release lacks the table (no
    /// console requests).
    pub console_requests: Fact<Option<Vec<CloneRequest>>>,
    /// The `instance` records the requests' `target_instance` point to.
    pub target_records: Fact<Vec<InstanceRecord>>,
}

/// What a target answered for one preserver's condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreserverEval {
    pub preserver: String,
    pub table: String,
    /// The MID-related rows of this target the condition matches (sys_ids).
    pub matched: Fact<Vec<String>>,
    /// How many rows of the whole table the condition matches on this target.
    pub table_matches: Fact<u64>,
    /// How many MID-related rows of that table the target has (the denominator of `matched`).
    pub mid_related_rows: u64,
}

/// A login that cannot be put safely into a query (it holds `^` or a line break).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsafeLogin {
    pub user_name: String,
    pub reason: String,
}

/// How reading one table went, for the coverage section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableRead {
    pub table: String,
    pub requests: u64,
    pub rows: u64,
    /// The largest `X-Total-Count` announced for a query whose rows all should have arrived.
    pub hidden_rows: u64,
    /// `None` when everything was read; otherwise why not.
    pub error: Option<String>,
    /// The release lacks the table (400 "Invalid table"), which it may: nothing to read.
    pub absent: bool,
    /// The kind of `error`, where the client knew it (absent in older evidence files, and where
    /// the reason alone tells: [`Cause::of_reason`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cause: Option<Cause>,
}

/// Everything read from one instance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstanceEvidence {
    pub name: String,
    pub url: String,
    pub role: InstanceRole,
    /// The user preclone logged in as, from the config.
    pub audit_user: Option<String>,
    pub production: Production,
    /// The build: the `glide.war` property (the build file name); `None` when not set.
    pub build_tag: Fact<Option<String>>,
    /// The `mid_server` role record(s) (normally exactly one).
    pub mid_role: Fact<Vec<Role>>,
    /// `sys_user_role_contains` rows on the paths to `mid_server` (followed transitively).
    pub role_contains: Fact<Vec<RoleContains>>,
    /// `sys_user_role_contains` rows of every role the collected users and groups hold (on the
    /// source also the roles the targets' MID users hold), followed down transitively to
    /// the roles they grant (`roleIN`), for `mid-user-elevated-roles`.
    #[serde(default)]
    pub held_role_contains: Fact<Vec<RoleContains>>,
    /// Every role a collected row refers to, with its name.
    pub roles: Fact<Vec<Role>>,
    /// MID users (and, on the source, the users named like a target's MID users).
    pub users: Fact<Vec<User>>,
    /// Logins that could not be looked up safely.
    pub unsafe_logins: Vec<UnsafeLogin>,
    /// All `sys_user_has_role` rows of those users.
    pub user_roles: Fact<Vec<UserRole>>,
    /// All `sys_user_grmember` rows of those users.
    pub memberships: Fact<Vec<Membership>>,
    /// The groups those memberships point to, and their parents (transitively).
    pub groups: Fact<Vec<Group>>,
    /// The roles of those groups.
    pub group_roles: Fact<Vec<GroupRole>>,
    pub mid_servers: Fact<Vec<MidServer>>,
    pub mid_configs: Fact<Vec<MidConfig>>,
    /// The source's clone set-up; `None` on targets.
    pub clone: Option<CloneSetup>,
    /// Preserver conditions as this target evaluated them; empty on the source.
    pub preserver_evals: Vec<PreserverEval>,
    pub coverage: Vec<TableRead>,
    /// `glide.ecc_agent.validated.override` (true: every MID Server counts as validated and
    /// receives credentials); `Ok(None)` when the property does not exist (the platform's
    /// default, false).
    pub validation_override: Fact<Option<String>>,
    /// On the source: its credentials whose MID Server list names one of its MID Servers that
    /// looks like a target's (`prod-nonprod-mid-server`). `None` where not read (a target, or
    /// no such MID Server). Optional evidence: unreadable, it is never an `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Fact<Vec<Credential>>>,
    /// On the source: when each user-table row read was created and last changed, by sys_id
    /// (`source-copy-in-backup-window`); a row missing here has unknown times.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub row_times: BTreeMap<String, RowTimes>,
    /// MID Server clusters (`ecc_agent_cluster`).
    pub clusters: Fact<Vec<Cluster>>,
    /// Their members (`ecc_agent_cluster_member_m2m`).
    pub cluster_members: Fact<Vec<ClusterMember>>,
    /// Open `ecc_agent_issue` rows.
    pub agent_issues: Fact<Vec<AgentIssue>>,
    /// `mid.pinned.version` rows of `ecc_agent_config` (read with [`Self::mid_configs`]).
    pub mid_pins: Fact<Vec<MidPin>>,
    /// The `sys_user_certificate` rows of the users of MID Servers that use (or may use) mutual
    /// authentication; on the source also those of the targets' such users (the copies the
    /// clone brings).
    pub certificates: Fact<Vec<UserCertificate>>,
}

impl InstanceEvidence {
    /// An instance read in full where nothing was found: every list empty, no production flag
    /// in the config, neither property set (so production is unknown), no clone setup (set `clone` for a source), no
    /// coverage.
    pub fn empty(name: &str, url: &str, role: InstanceRole) -> Self {
        InstanceEvidence {
            name: name.to_string(),
            url: url.to_string(),
            role,
            audit_user: None,
            production: Production {
                config: None,
                property: Fact::ok(None),
            },
            build_tag: Fact::ok(None),
            mid_role: Fact::ok(Vec::new()),
            role_contains: Fact::ok(Vec::new()),
            held_role_contains: Fact::ok(Vec::new()),
            roles: Fact::ok(Vec::new()),
            users: Fact::ok(Vec::new()),
            unsafe_logins: Vec::new(),
            user_roles: Fact::ok(Vec::new()),
            memberships: Fact::ok(Vec::new()),
            groups: Fact::ok(Vec::new()),
            group_roles: Fact::ok(Vec::new()),
            mid_servers: Fact::ok(Vec::new()),
            mid_configs: Fact::ok(Vec::new()),
            clone: None,
            preserver_evals: Vec::new(),
            coverage: Vec::new(),
            validation_override: Fact::ok(None),
            credentials: None,
            row_times: BTreeMap::new(),
            clusters: Fact::ok(Vec::new()),
            cluster_members: Fact::ok(Vec::new()),
            agent_issues: Fact::ok(Vec::new()),
            mid_pins: Fact::ok(Vec::new()),
            certificates: Fact::ok(Vec::new()),
        }
    }

    /// An instance the run did not read: every fact unreadable for `why`, each naming its
    /// table (on a source, the clone setup too), no coverage.
    pub fn unread(name: &str, url: &str, role: InstanceRole, why: &str) -> Self {
        fn no<T>(table: &Table, why: &str) -> Fact<T> {
            Fact::error(table.name, why)
        }
        InstanceEvidence {
            production: Production {
                config: None,
                property: no(&tables::SYS_PROPERTIES, why),
            },
            build_tag: no(&tables::SYS_PROPERTIES, why),
            mid_role: no(&tables::SYS_USER_ROLE, why),
            role_contains: no(&tables::SYS_USER_ROLE_CONTAINS, why),
            held_role_contains: no(&tables::SYS_USER_ROLE_CONTAINS, why),
            roles: no(&tables::SYS_USER_ROLE, why),
            users: no(&tables::SYS_USER, why),
            user_roles: no(&tables::SYS_USER_HAS_ROLE, why),
            memberships: no(&tables::SYS_USER_GRMEMBER, why),
            groups: no(&tables::SYS_USER_GROUP, why),
            group_roles: no(&tables::SYS_GROUP_HAS_ROLE, why),
            mid_servers: no(&tables::ECC_AGENT, why),
            mid_configs: no(&tables::ECC_AGENT_CONFIG, why),
            clusters: no(&tables::ECC_AGENT_CLUSTER, why),
            cluster_members: no(&tables::ECC_AGENT_CLUSTER_MEMBER, why),
            agent_issues: no(&tables::ECC_AGENT_ISSUE, why),
            mid_pins: no(&tables::ECC_AGENT_CONFIG, why),
            certificates: no(&tables::SYS_USER_CERTIFICATE, why),
            clone: (role == InstanceRole::Source).then(|| CloneSetup {
                preservers: no(&tables::CLONE_DATA_PRESERVER, why),
                profiles: no(&tables::CLONE_PROFILE, why),
                profile_preservers: no(&tables::CLONE_PROFILE_PRESERVERS, why),
                excludes: no(&tables::CLONE_DATA_EXCLUDE, why),
                clone_requests: no(&tables::CLONE_INSTANCE, why),
                console_requests: no(&tables::SN_INSTANCE_CLONE_REQUEST, why),
                target_records: no(&tables::INSTANCE, why),
            }),
            validation_override: no(&tables::SYS_PROPERTIES, why),
            credentials: (role == InstanceRole::Source)
                .then(|| no(&tables::DISCOVERY_CREDENTIALS, why)),
            ..InstanceEvidence::empty(name, url, role)
        }
    }
}

/// The whole evidence document of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    #[serde(deserialize_with = "current_schema_version")]
    pub schema_version: u32,
    pub tool_version: String,
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Name of the source instance (a key of `instances`).
    pub source: String,
    /// Names of the targets, in the order given.
    pub targets: Vec<String>,
    pub instances: BTreeMap<String, InstanceEvidence>,
    /// HTTP requests sent to collect this evidence.
    pub requests: u64,
    /// The embedded sample estate of `preclone demo`, not a live instance.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub demo: bool,
}

impl Evidence {
    pub fn source(&self) -> Option<&InstanceEvidence> {
        self.instances.get(&self.source)
    }

    pub fn target_instances(&self) -> impl Iterator<Item = &InstanceEvidence> {
        self.targets.iter().filter_map(|t| self.instances.get(t))
    }
}

/// The user tables a clone replaces (PRODUCT.md 2.1), defined with the other tables.
pub use crate::tables::USER_TABLES;

/// Parses a Table API boolean: `true`/`false` in any case, or `1`/`0`. `None` for empty or any
/// other text (unknown, never false).
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim() {
        t if t.eq_ignore_ascii_case("true") || t == "1" => Some(true),
        t if t.eq_ignore_ascii_case("false") || t == "0" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
