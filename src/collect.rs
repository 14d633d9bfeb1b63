//! What to ask each instance, concurrently, in waves; builds the [`Evidence`].
//!
//! Every instance is collected at once; within an instance the client bounds concurrency. The
//! waves are those of PRODUCT.md section 7, and each instance moves to its next wave as soon as
//! what that wave needs has arrived (no instance waits for another's unrelated reads):
//!
//! 0. one request (the `mid_server` role) that tells whether the instance can be read at all;
//! 1. its holders' role rows, MID Servers and their configured users, the roles containing
//!    `mid_server`, and (source) the preservers; (target) the properties;
//! 2. the MID users (by sys_id and by login, in `IN` lists ORed into as few 8 KB requests as
//!    fit), all their role rows and memberships (with their groups' ancestors, dot-walked), on
//!    the source also the users named like every target's MID logins (the copies the clone
//!    will bring); on a target also the whole-table count of each preserver and the preserver
//!    conditions on sys_user, sys_user_has_role and sys_user_grmember evaluated for the holders
//!    of `mid_server`;
//! 3. the groups of those memberships and the groups' roles (on the source also every group a
//!    target row refers to), the next level of roles containing `mid_server`, and on a target
//!    the user-level conditions for any MID user that is not a holder;
//! 4. on a target, the preserver conditions on the group and role tables.
//!
//! On the source, whose wave 1 is full, the reads nothing else depends on (the properties, the
//! clone profiles, exclusions and clone requests) queue behind wave 2's. Deeper group trees and
//! role hierarchies add a wave per level only when the data has them.
//!
//! Unreadable tables and rows hidden by ACLs become facts ([`Fact::Error`]), never a crash and
//! never an empty list that looks like "none".

use crate::client::{Client, ClientError, Row, TableQuery};
use crate::config::{ClientSettings, ResolvedInstance};
use crate::evidence::*;
use crate::query::{self, MAX_QUERY_BYTES};
use crate::tables::*;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use tokio::sync::oneshot;

/// Rows asked for per page: the platform's default `sysparm_limit`, so that a read of a few
/// thousand MID-related rows (every holder of `mid_server`, every MID Server) is one round trip
/// rather than a chain of sequential pages.
const PAGE_SIZE: usize = 10_000;

/// Why a run could not collect at all (exit code 4).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    /// An instance could not be reached or refused the credentials on its first request. The
    /// run stops there; `partial` holds what was collected, every other fact marked unreadable,
    /// so reports can still be written (marked incomplete).
    #[error("{instance}: {error}")]
    Access {
        instance: String,
        error: ClientError,
        partial: Box<Evidence>,
    },
    #[error("{instance}: {error}")]
    Setup {
        instance: String,
        error: ClientError,
    },
}

/// Identity of a run, injected so reports can be frozen.
#[derive(Debug, Clone)]
pub struct RunMeta {
    pub run_id: String,
    pub started_at: DateTime<Utc>,
    pub tool_version: String,
}

/// The ancestors of a membership's group that its row walks to (see [`SYS_USER_GRMEMBER`]).
const GROUP_ANCESTORS: &[&str] = &[
    "group.parent",
    "group.parent.parent",
    "group.parent.parent.parent",
];

fn get<'r>(row: &'r Row, field: &str) -> &'r str {
    row.get(field).map(|s| s.trim()).unwrap_or("")
}

fn opt_bool(row: &Row, field: &str) -> Option<bool> {
    row.get(field).and_then(|v| parse_bool(v))
}

/// One instance being collected: its client and what its tables yielded.
struct Inst {
    client: Client,
    name: String,
    coverage: Mutex<BTreeMap<String, TableRead>>,
}

impl Inst {
    /// How each table read went, in table order (the map is keyed by table).
    fn tables_read(&self) -> Vec<TableRead> {
        self.coverage
            .lock()
            .map(|c| c.values().cloned().collect())
            .unwrap_or_default()
    }

    fn record(&self, table: &str, requests: u64, rows: u64, hidden: u64, error: Option<String>) {
        let mut cov = self.coverage.lock().unwrap_or_else(|e| e.into_inner());
        let entry = cov.entry(table.to_string()).or_insert_with(|| TableRead {
            table: table.to_string(),
            requests: 0,
            rows: 0,
            hidden_rows: 0,
            error: None,
        });
        entry.requests += requests;
        entry.rows += rows;
        entry.hidden_rows += hidden;
        if entry.error.is_none() {
            entry.error = error;
        }
    }

    /// All rows of one query. Rows hidden by ACLs make the read fail: what is hidden could be the
    /// very row that matters.
    async fn read(
        &self,
        table: &str,
        q: impl Into<String>,
        fields: &[&str],
    ) -> Result<Vec<Row>, Unreadable> {
        match self.client.fetch(&TableQuery::new(table, q, fields)).await {
            Ok(rows) => {
                let hidden = rows.hidden();
                self.record(table, rows.requests, rows.rows.len() as u64, hidden, None);
                if hidden > 0 {
                    return Err(Unreadable {
                        table: table.to_string(),
                        reason: format!(
                            "{hidden} of {} rows hidden by ACLs",
                            rows.announced.unwrap_or(0)
                        ),
                    });
                }
                Ok(rows.rows)
            }
            Err(e) => {
                let reason = e.short();
                self.record(table, 1, 0, 0, Some(reason.clone()));
                Err(Unreadable {
                    table: table.to_string(),
                    reason,
                })
            }
        }
    }

    /// Rows whose `field` is in `values`, in as many requests as 8 KB URLs need. No request when
    /// `values` is empty.
    async fn read_in(
        &self,
        table: &str,
        field: &str,
        values: &BTreeSet<String>,
        fields: &[&str],
    ) -> Result<Vec<Row>, Unreadable> {
        self.read_any(table, &[(field, values)], fields).await
    }

    /// Rows matching any of `terms` (`<field>IN<values>`, joined with `^OR`), in as many
    /// requests as 8 KB URLs need ([`query::or_chunks`]). No request when every list is empty.
    async fn read_any(
        &self,
        table: &str,
        terms: &[(&str, &BTreeSet<String>)],
        fields: &[&str],
    ) -> Result<Vec<Row>, Unreadable> {
        let chunks = query::or_chunks(terms, MAX_QUERY_BYTES);
        let results = join_all(chunks.iter().map(|q| self.read(table, q, fields))).await;
        let mut out = Vec::new();
        let mut seen = BTreeSet::new();
        for r in results {
            for row in r? {
                let id = get(&row, "sys_id").to_string();
                if id.is_empty() || seen.insert(id) {
                    out.push(row);
                }
            }
        }
        Ok(out)
    }

    /// Rows of users given by sys_id and by login name: `userIN` for ids and `user.user_nameIN`
    /// for names safe in a list (ORed into the same requests where they fit), `user.user_name=`
    /// one by one for names holding a comma. Groups by name are read the same way.
    async fn read_by_users(
        &self,
        table: &str,
        id_field: &str,
        name_field: &str,
        ids: &BTreeSet<String>,
        names: &BTreeSet<String>,
        fields: &[&str],
    ) -> Result<Vec<Row>, Unreadable> {
        let (listable, single): (BTreeSet<String>, BTreeSet<String>) =
            names.iter().cloned().partition(|n| query::safe_in_list(n));
        let single: Vec<String> = single
            .into_iter()
            .filter(|n| query::safe_equals(n))
            .collect();
        let terms = [(id_field, ids), (name_field, &listable)];
        let (listed, c) = futures::join!(
            self.read_any(table, &terms, fields),
            join_all(
                single
                    .iter()
                    .map(|n| self.read(table, format!("{name_field}={n}"), fields))
            ),
        );
        let mut out = listed?;
        let mut seen: BTreeSet<String> = out.iter().map(|r| get(r, "sys_id").to_string()).collect();
        for row in c
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?
            .into_iter()
            .flatten()
        {
            if seen.insert(get(&row, "sys_id").to_string()) {
                out.push(row);
            }
        }
        Ok(out)
    }

    async fn count(&self, table: &str, q: &str) -> Result<u64, Unreadable> {
        match self.client.count(table, q).await {
            Ok(n) => {
                self.record(table, 1, 0, 0, None);
                Ok(n)
            }
            Err(e) => {
                let reason = e.short();
                self.record(table, 1, 0, 0, Some(reason.clone()));
                Err(Unreadable {
                    table: table.to_string(),
                    reason,
                })
            }
        }
    }
}

fn fact<T>(r: Result<T, Unreadable>) -> Fact<T> {
    match r {
        Ok(v) => Fact::ok(v),
        Err(e) => Fact::Error {
            table: e.table,
            reason: e.reason,
        },
    }
}

fn to_user(r: &Row) -> User {
    User {
        sys_id: get(r, "sys_id").into(),
        user_name: get(r, "user_name").into(),
        sys_class_name: get(r, "sys_class_name").into(),
        active: opt_bool(r, "active"),
        locked_out: opt_bool(r, "locked_out"),
        web_service_access_only: opt_bool(r, "web_service_access_only"),
        internal_integration_user: opt_bool(r, "internal_integration_user"),
        last_login_time: get(r, "last_login_time").into(),
    }
}

fn to_user_role(r: &Row) -> UserRole {
    UserRole {
        sys_id: get(r, "sys_id").into(),
        user: get(r, "user").into(),
        role: get(r, "role").into(),
        // A row whose `inherited` was not returned proves nothing, like an inherited one.
        inherited: opt_bool(r, "inherited").unwrap_or(true),
        state: get(r, "state").into(),
    }
}

fn to_membership(r: &Row) -> Membership {
    Membership {
        sys_id: get(r, "sys_id").into(),
        user: get(r, "user").into(),
        group: get(r, "group").into(),
    }
}

fn to_group(r: &Row) -> Group {
    Group {
        sys_id: get(r, "sys_id").into(),
        name: get(r, "name").into(),
        parent: get(r, "parent").into(),
    }
}

fn to_group_role(r: &Row) -> GroupRole {
    GroupRole {
        sys_id: get(r, "sys_id").into(),
        group: get(r, "group").into(),
        role: get(r, "role").into(),
    }
}

fn to_contains(r: &Row) -> RoleContains {
    RoleContains {
        sys_id: get(r, "sys_id").into(),
        role: get(r, "role").into(),
        contains: get(r, "contains").into(),
    }
}

fn to_role(r: &Row) -> Role {
    Role {
        sys_id: get(r, "sys_id").into(),
        name: get(r, "name").into(),
        elevated_privilege: opt_bool(r, "elevated_privilege"),
    }
}

/// The role a row refers to, from its dot-walked `<field>.name` (and elevated flag).
fn referenced_role(r: &Row, field: &str) -> Option<Role> {
    let id = get(r, field);
    let name = get(r, &format!("{field}.name"));
    (!id.is_empty() && !name.is_empty()).then(|| Role {
        sys_id: id.into(),
        name: name.into(),
        elevated_privilege: opt_bool(r, &format!("{field}.elevated_privilege")),
    })
}

fn to_agent(r: &Row) -> MidServer {
    MidServer {
        sys_id: get(r, "sys_id").into(),
        name: get(r, "name").into(),
        status: get(r, "status").into(),
        validated: opt_bool(r, "validated"),
        user_name: get(r, "user_name").into(),
        host_name: get(r, "host_name").into(),
        version: get(r, "version").into(),
        last_refreshed: get(r, "last_refreshed").into(),
    }
}

fn to_preserver(r: &Row) -> Preserver {
    Preserver {
        sys_id: get(r, "sys_id").into(),
        name: get(r, "name").into(),
        table: get(r, "table").into(),
        condition: r.get("condition").cloned().unwrap_or_default(),
        include_in_system_clone: opt_bool(r, "include_in_system_clone"),
        theme: opt_bool(r, "theme"),
        created_on: get(r, "sys_created_on").into(),
    }
}

fn to_request(r: &Row) -> CloneRequest {
    let target = [
        "target_instance.instance_url",
        "target_instance.instance_name",
        "target_instance",
    ]
    .iter()
    .map(|f| get(r, f))
    .find(|v| !v.is_empty())
    .unwrap_or("");
    CloneRequest {
        sys_id: get(r, "sys_id").into(),
        target_instance: target.into(),
        state: get(r, "state").into(),
        scheduled: get(r, "scheduled").into(),
        profile: get(r, "profile").into(),
        lock_settings: opt_bool(r, "lock_settings"),
        preserve_theme: opt_bool(r, "preserve_theme"),
        created_on: get(r, "sys_created_on").into(),
    }
}

/// What wave 1 found on one instance.
struct Phase1 {
    mid_role: Fact<Vec<Role>>,
    holder_rows: Result<Vec<Row>, Unreadable>,
    agents: Fact<Vec<MidServer>>,
    configs: Fact<Vec<MidConfig>>,
    contains: Result<Vec<Row>, Unreadable>,
    /// The source's clone data preservers (`None` on a target).
    preservers: Option<Fact<Vec<Preserver>>>,
    /// A target's properties, read in this wave, which has room for them (`None` on the
    /// source, whose wave 1 is full: it reads them after wave 2's reads).
    extras: Option<Extras>,
}

impl Phase1 {
    /// The MID Servers' logins (logged-in and configured).
    fn logins(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        if let Some(a) = self.agents.get() {
            out.extend(a.iter().map(|m| m.user_name.clone()));
        }
        if let Some(c) = self.configs.get() {
            out.extend(c.iter().map(|c| c.value.clone()));
        }
        out.retain(|n| !n.is_empty());
        out
    }

    fn holder_ids(&self) -> BTreeSet<String> {
        self.holder_rows
            .as_ref()
            .map(|rows| {
                rows.iter()
                    .map(|r| get(r, "user").to_string())
                    .filter(|s| query::is_sys_id(s))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn holder_names(&self) -> BTreeSet<String> {
        self.holder_rows
            .as_ref()
            .map(|rows| {
                rows.iter()
                    .map(|r| get(r, "user.user_name").to_string())
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The holders' sys_ids whose login name (from the same row) is exactly one of `names`.
    fn holders_named(&self, names: &BTreeSet<String>) -> BTreeSet<String> {
        self.holder_rows
            .as_ref()
            .map(|rows| {
                rows.iter()
                    .filter(|r| names.contains(get(r, "user.user_name")))
                    .map(|r| get(r, "user").to_string())
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Wave 0: the first request tells whether we can reach and log in at all.
async fn gate(inst: &Inst) -> Result<Fact<Vec<Role>>, ClientError> {
    let first = inst
        .client
        .fetch(&TableQuery::new(
            "sys_user_role",
            "name=mid_server",
            SYS_USER_ROLE.fields,
        ))
        .await;
    match first {
        Ok(rows) => {
            inst.record(
                "sys_user_role",
                rows.requests,
                rows.rows.len() as u64,
                rows.hidden(),
                None,
            );
            // Hidden rows could hide the very role: never read that as "no mid_server role".
            let hidden = rows.hidden();
            if hidden > 0 {
                return Ok(Fact::error(
                    "sys_user_role",
                    format!(
                        "{hidden} of {} rows hidden by ACLs",
                        rows.announced.unwrap_or(0)
                    ),
                ));
            }
            Ok(Fact::ok(rows.rows.iter().map(to_role).collect()))
        }
        Err(e) if e.is_fatal_on_first_request() => Err(e),
        Err(e) => {
            inst.record("sys_user_role", 1, 0, 0, Some(e.short()));
            Ok(Fact::error("sys_user_role", e.short()))
        }
    }
}

/// Wave 1: what the later waves start from.
async fn phase1(inst: &Inst, mid_role: Fact<Vec<Role>>, is_source: bool) -> Phase1 {
    let preservers = async {
        if !is_source {
            return None;
        }
        let rows = inst
            .read("clone_data_preserver", "", CLONE_DATA_PRESERVER.fields)
            .await;
        Some(fact(
            rows.map(|rows| rows.iter().map(to_preserver).collect()),
        ))
    };
    let target_extras = async {
        if is_source {
            None
        } else {
            Some(extras(inst, false).await)
        }
    };
    let (holder_rows, agents, configs, contains, preservers, extras) = futures::join!(
        inst.read(
            "sys_user_has_role",
            "role.name=mid_server",
            SYS_USER_HAS_ROLE.fields
        ),
        inst.read("ecc_agent", "", ECC_AGENT.fields),
        inst.read(
            "ecc_agent_config",
            "param_name=mid.instance.username",
            ECC_AGENT_CONFIG.fields
        ),
        inst.read(
            "sys_user_role_contains",
            "contains.name=mid_server",
            SYS_USER_ROLE_CONTAINS.fields
        ),
        preservers,
        target_extras,
    );
    Phase1 {
        mid_role,
        holder_rows,
        agents: fact(agents.map(|rows| rows.iter().map(to_agent).collect())),
        configs: fact(configs.map(|rows| {
            rows.iter()
                .map(|r| MidConfig {
                    sys_id: get(r, "sys_id").into(),
                    ecc_agent: get(r, "ecc_agent").into(),
                    value: get(r, "value").into(),
                })
                .collect()
        })),
        contains,
        preservers,
        extras,
    }
}

/// Reads no later wave depends on: the properties and, on the source, the clone setup besides
/// the preservers. They run beside waves 2 and 3, queued after wave 2's reads.
struct Extras {
    props: Result<Vec<Row>, Unreadable>,
    /// Profiles, their preservers, exclusions and clone requests (source only).
    clone: Option<CloneExtras>,
}

/// The source's clone setup besides the preservers.
struct CloneExtras {
    profiles: Fact<Vec<CloneProfile>>,
    profile_preservers: Fact<Vec<ProfilePreserver>>,
    excludes: Fact<Vec<String>>,
    clone_requests: Fact<Vec<CloneRequest>>,
}

async fn extras(inst: &Inst, is_source: bool) -> Extras {
    let clone = async {
        if !is_source {
            return None;
        }
        let (pr, pp, ex, req) = futures::join!(
            inst.read("clone_profile", "", CLONE_PROFILE.fields),
            inst.read(
                "clone_profile_preservers",
                "",
                CLONE_PROFILE_PRESERVERS.fields
            ),
            inst.read("clone_data_exclude", "", CLONE_DATA_EXCLUDE.fields),
            inst.read("clone_instance", "", CLONE_INSTANCE.fields),
        );
        Some(CloneExtras {
            profiles: fact(pr.map(|rows| {
                rows.iter()
                    .map(|r| CloneProfile {
                        sys_id: get(r, "sys_id").into(),
                        name: get(r, "name").into(),
                        default_profile: opt_bool(r, "default_profile"),
                    })
                    .collect()
            })),
            profile_preservers: fact(pp.map(|rows| {
                rows.iter()
                    .map(|r| ProfilePreserver {
                        profile: get(r, "profile").into(),
                        preserver: get(r, "preserver").into(),
                    })
                    .collect()
            })),
            excludes: fact(ex.map(|rows| {
                rows.iter()
                    .map(|r| get(r, "name").to_string())
                    .filter(|n| !n.is_empty())
                    .collect()
            })),
            clone_requests: fact(req.map(|rows| rows.iter().map(to_request).collect())),
        })
    };
    let (props, clone) = futures::join!(
        inst.read(
            "sys_properties",
            "nameINglide.installation.production,glide.buildtag",
            SYS_PROPERTIES.fields
        ),
        clone,
    );
    Extras { props, clone }
}

/// What wave 2 found: users, their role rows and memberships.
struct Phase2 {
    users: Result<Vec<User>, Unreadable>,
    unsafe_logins: Vec<UnsafeLogin>,
    user_roles: Result<Vec<Row>, Unreadable>,
    memberships: Result<Vec<Row>, Unreadable>,
}

/// Wave 2: the users given by sys_id (`ids`) and by login (`names`), all their role rows and
/// memberships.
async fn phase2(inst: &Inst, p1: &Phase1, names: &BTreeSet<String>) -> Phase2 {
    let mut unsafe_logins = Vec::new();
    let mut queryable = BTreeSet::new();
    for n in names {
        if query::safe_equals(n) {
            queryable.insert(n.clone());
        } else {
            unsafe_logins.push(UnsafeLogin {
                user_name: n.clone(),
                reason: format!(
                    "the login {n:?} holds '^' or a line break and cannot be put into a query safely"
                ),
            });
        }
    }
    // A holder whose own row names it by a login looked up by name is found by that lookup
    // (with any other user of the same name): asking for its sys_id as well would only lengthen
    // the lists.
    let by_name = p1.holders_named(&queryable);
    let ids: BTreeSet<String> = p1
        .holder_ids()
        .into_iter()
        .filter(|id| !by_name.contains(id))
        .collect();
    let (users, roles, members) = futures::join!(
        inst.read_by_users(
            "sys_user",
            "sys_id",
            "user_name",
            &ids,
            &queryable,
            SYS_USER.fields
        ),
        inst.read_by_users(
            "sys_user_has_role",
            "user",
            "user.user_name",
            &ids,
            &queryable,
            SYS_USER_HAS_ROLE.fields
        ),
        inst.read_by_users(
            "sys_user_grmember",
            "user",
            "user.user_name",
            &ids,
            &queryable,
            SYS_USER_GRMEMBER.fields
        ),
    );
    Phase2 {
        users: users.map(|rows| rows.iter().map(to_user).collect()),
        unsafe_logins,
        user_roles: roles,
        memberships: members,
    }
}

/// The MID-related rows of one table on a target: the field and values that restrict a
/// condition to them (`userIN<MID user ids>`), and the rows' own sys_ids.
struct Related {
    field: &'static str,
    values: BTreeSet<String>,
    rows: BTreeSet<String>,
}

impl Related {
    fn new(field: &'static str, values: BTreeSet<String>, rows: BTreeSet<String>) -> Self {
        Related {
            field,
            values,
            rows,
        }
    }
}

/// How many rows of its whole table each preserver on a user table matches, by position in
/// `preservers` (`None` for preservers on other tables). Needs no MID-related row, so it goes
/// out in wave 2.
async fn count_all(inst: &Inst, preservers: &[Preserver]) -> Vec<Option<Result<u64, Unreadable>>> {
    join_all(preservers.iter().map(|p| async move {
        let table = p.table.as_str();
        if USER_TABLES.contains(&table) {
            Some(inst.count(table, query::strip_eq(&p.condition)).await)
        } else {
            None
        }
    }))
    .await
}

/// The sys_ids of the rows of `p`'s table its condition matches among those whose `field` is
/// in `values`: the condition restricted in every `^NQ` group to one `IN` chunk per request.
/// No request when `values` is empty.
async fn matched_rows(
    inst: &Inst,
    p: &Preserver,
    field: &str,
    values: &BTreeSet<String>,
) -> Result<Vec<String>, Unreadable> {
    let values: Vec<String> = values.iter().cloned().collect();
    let budget = MAX_QUERY_BYTES
        .saturating_sub(query::encoded_len(&p.condition))
        .max(200);
    let chunks = query::in_chunks(field, &values, budget);
    let results = join_all(chunks.iter().map(|term| {
        let q = query::restrict(&p.condition, term);
        inst.read(&p.table, q, &["sys_id"])
    }))
    .await;
    results.into_iter().try_fold(Vec::new(), |mut acc, r| {
        acc.extend(r?.iter().map(|row| get(row, "sys_id").to_string()));
        Ok(acc)
    })
}

/// Sorted, without duplicates.
fn sorted(mut ids: Vec<String>) -> Vec<String> {
    ids.sort();
    ids.dedup();
    ids
}

/// Whole-table matches of preserver `i`: from wave 2's [`count_all`], or asked now.
async fn total(
    inst: &Inst,
    p: &Preserver,
    counts: &[Option<Result<u64, Unreadable>>],
    i: usize,
) -> Result<u64, Unreadable> {
    match counts.get(i).cloned().flatten() {
        Some(total) => total,
        None => inst.count(&p.table, query::strip_eq(&p.condition)).await,
    }
}

/// Evaluates the preservers on `tables` on this target, restricted to the MID-related rows;
/// `counts` are their whole-table matches from [`count_all`].
async fn evaluate(
    inst: &Inst,
    preservers: &[Preserver],
    counts: &[Option<Result<u64, Unreadable>>],
    tables: &[&str],
    related: &BTreeMap<&str, Related>,
) -> Vec<PreserverEval> {
    let jobs = preservers
        .iter()
        .enumerate()
        .filter(|(_, p)| tables.contains(&p.table.as_str()))
        .filter_map(|(i, p)| related.get(p.table.as_str()).map(|r| (i, p, r)))
        .map(|(i, p, rel)| async move {
            let (matched, total) = futures::join!(
                matched_rows(inst, p, rel.field, &rel.values),
                total(inst, p, counts, i)
            );
            let matched = matched
                .map(|ids| sorted(ids.into_iter().filter(|id| rel.rows.contains(id)).collect()));
            PreserverEval {
                preserver: p.sys_id.clone(),
                table: p.table.clone(),
                matched: fact(matched),
                table_matches: fact(total),
                mid_related_rows: rel.rows.len() as u64,
            }
        });
    join_all(jobs).await
}

/// The user-level preservers' matches among the rows of `users` (`sys_idIN` on sys_user,
/// `userIN` on the other two), by position in `preservers` (`None` for other tables).
async fn match_users(
    inst: &Inst,
    preservers: &[Preserver],
    users: &BTreeSet<String>,
) -> Vec<Option<Result<Vec<String>, Unreadable>>> {
    join_all(preservers.iter().map(|p| async move {
        match p.table.as_str() {
            "sys_user" => Some(matched_rows(inst, p, "sys_id", users).await),
            "sys_user_has_role" | "sys_user_grmember" => {
                Some(matched_rows(inst, p, "user", users).await)
            }
            _ => None,
        }
    }))
    .await
}

/// The evaluations of the user-level preservers on a target, from their matches among the
/// holders of `mid_server` (asked in wave 2, before the users were read) and among the other
/// MID users (wave 3): the same as restricting each condition to every MID user at once, as
/// only rows of the MID users read in wave 2 count.
fn user_level_evals(
    preservers: &[Preserver],
    counts: &[Option<Result<u64, Unreadable>>],
    early: Vec<Option<Result<Vec<String>, Unreadable>>>,
    late: Vec<Option<Result<Vec<String>, Unreadable>>>,
    p2: &Phase2,
    user_ids: &BTreeSet<String>,
) -> Vec<PreserverEval> {
    // Each MID-related row of the two tables keyed by user, with the user it belongs to.
    let owners = |rows: &Result<Vec<Row>, Unreadable>| -> BTreeMap<String, String> {
        rows.as_ref()
            .map(|rows| {
                rows.iter()
                    .map(|r| (get(r, "sys_id").to_string(), get(r, "user").to_string()))
                    .filter(|(id, _)| query::is_sys_id(id))
                    .collect()
            })
            .unwrap_or_default()
    };
    let role_rows = owners(&p2.user_roles);
    let member_rows = owners(&p2.memberships);
    preservers
        .iter()
        .zip(counts.iter().cloned())
        .zip(early.into_iter().zip(late))
        .filter_map(|((p, total), (early, late))| {
            let (early, late) = (early?, late?);
            let table = p.table.as_str();
            let mid_related_rows = match table {
                "sys_user" => user_ids.len(),
                "sys_user_has_role" => role_rows.len(),
                _ => member_rows.len(),
            } as u64;
            let keep = |id: &String| match table {
                "sys_user" => user_ids.contains(id),
                "sys_user_has_role" => role_rows.get(id).is_some_and(|u| user_ids.contains(u)),
                _ => member_rows.get(id).is_some_and(|u| user_ids.contains(u)),
            };
            let matched = early.and_then(|mut ids| {
                ids.extend(late?);
                Ok(sorted(ids.into_iter().filter(|id| keep(id)).collect()))
            });
            Some(PreserverEval {
                preserver: p.sys_id.clone(),
                table: p.table.clone(),
                matched: fact(matched),
                table_matches: fact(total.unwrap_or_else(|| {
                    Err(Unreadable {
                        table: p.table.clone(),
                        reason: "the whole table's matches were not counted".to_string(),
                    })
                })),
                mid_related_rows,
            })
        })
        .collect()
}

/// Everything gathered on one instance across the waves.
struct Gathered {
    p1: Phase1,
    p2: Phase2,
    groups: Result<Vec<Group>, Unreadable>,
    group_roles: Result<Vec<Row>, Unreadable>,
    contains: Result<Vec<Row>, Unreadable>,
    evals: Vec<PreserverEval>,
}

/// The groups of the memberships and their ancestors as far as the membership rows walk up
/// (`group.parent...`), so that parents cost no wave of their own unless the tree is deeper.
fn group_ids(p2: &Phase2) -> BTreeSet<String> {
    p2.memberships
        .as_ref()
        .map(|rows| {
            rows.iter()
                .flat_map(|r| {
                    std::iter::once("group")
                        .chain(GROUP_ANCESTORS.iter().copied())
                        .map(move |f| get(r, f).to_string())
                })
                .filter(|g| query::is_sys_id(g))
                .collect()
        })
        .unwrap_or_default()
}

fn group_names(p2: &Phase2) -> BTreeSet<String> {
    p2.memberships
        .as_ref()
        .map(|rows| {
            rows.iter()
                .map(|r| get(r, "group.name").to_string())
                .filter(|g| query::safe_equals(g))
                .collect()
        })
        .unwrap_or_default()
}

fn rows_ids(rows: &Result<Vec<Row>, Unreadable>, field: &str) -> BTreeSet<String> {
    rows.as_ref()
        .map(|rows| {
            rows.iter()
                .map(|r| get(r, field).to_string())
                .filter(|g| query::is_sys_id(g))
                .collect()
        })
        .unwrap_or_default()
}

fn merge_rows(
    a: Result<Vec<Row>, Unreadable>,
    b: Result<Vec<Row>, Unreadable>,
) -> Result<Vec<Row>, Unreadable> {
    let mut a = a?;
    let mut seen: BTreeSet<String> = a.iter().map(|r| get(r, "sys_id").to_string()).collect();
    for r in b? {
        if seen.insert(get(&r, "sys_id").to_string()) {
            a.push(r);
        }
    }
    Ok(a)
}

/// The roles containing `mid_server`, followed up the hierarchy one level per request to a
/// fixpoint, starting from wave 1's direct containers. Runs beside waves 2 and 3.
async fn contains_chain(
    inst: &Inst,
    start: Result<Vec<Row>, Unreadable>,
) -> Result<Vec<Row>, Unreadable> {
    let mut contains = start;
    let mut asked: BTreeSet<String> = BTreeSet::new();
    for _ in 0..11 {
        let Ok(rows) = &contains else { break };
        let known: BTreeSet<String> = rows
            .iter()
            .map(|r| get(r, "contains").to_string())
            .collect();
        let frontier: BTreeSet<String> = rows
            .iter()
            .map(|r| get(r, "role").to_string())
            .filter(|r| query::is_sys_id(r) && !known.contains(r) && !asked.contains(r))
            .collect();
        if frontier.is_empty() {
            break;
        }
        asked.extend(frontier.iter().cloned());
        let more = inst
            .read_in(
                "sys_user_role_contains",
                "contains",
                &frontier,
                SYS_USER_ROLE_CONTAINS.fields,
            )
            .await;
        let before = rows.len();
        contains = merge_rows(contains, more);
        if contains.as_ref().map(|c| c.len()).unwrap_or(before) == before {
            break;
        }
    }
    contains
}

/// The group ids (with the ancestors their rows walk to) and names a target's memberships
/// refer to, which the source reads as well.
type TargetGroups = (BTreeSet<String>, BTreeSet<String>);

/// What one instance needs from, and owes to, the others after wave 1.
enum Side<'a> {
    /// The source also looks up every target's MID logins (the copies the clone will bring)
    /// and, once each target has read its memberships, every group they refer to.
    Source {
        target_logins: &'a BTreeSet<String>,
        from_targets: Vec<oneshot::Receiver<TargetGroups>>,
    },
    /// A target evaluates the source's preservers and tells the source its groups.
    Target {
        preservers: &'a [Preserver],
        to_source: oneshot::Sender<TargetGroups>,
    },
}

/// Waves 2 to 4 of one instance (see the module documentation), each as soon as what it needs
/// has arrived. Parent groups deeper than the membership rows walk, and roles containing
/// `mid_server` more than two levels up, add a wave each only when the data has them.
async fn later_waves(inst: &Inst, mut p1: Phase1, side: Side<'_>) -> (Gathered, Extras) {
    let (target_logins, from_targets, preservers, to_source) = match side {
        Side::Source {
            target_logins,
            from_targets,
        } => (Some(target_logins), from_targets, &[][..], None),
        Side::Target {
            preservers,
            to_source,
        } => (None, Vec::new(), preservers, Some(to_source)),
    };
    let is_target = to_source.is_some();
    let early_extras = p1.extras.take();
    let mut names = p1.logins();
    if let Some(t) = target_logins {
        names.extend(t.iter().cloned());
    }
    let chain = contains_chain(inst, p1.contains.clone());
    // Also in wave 2, on a target, beside what wave 3 waits for: the preservers' whole-table
    // counts, and the user-level preservers evaluated for the holders of `mid_server` (known
    // since wave 1); wave 3 adds the other MID users, if any.
    let holders = p1.holder_ids();
    let counts = count_all(inst, preservers);
    let early = match_users(inst, preservers, &holders);
    let main = async {
        // Wave 2.
        let p2 = phase2(inst, &p1, &names).await;
        let mut gids = group_ids(&p2);
        let mut gnames = BTreeSet::new();
        if let Some(tx) = to_source {
            // The source may have stopped waiting; nothing to do then.
            let _ = tx.send((gids.clone(), group_names(&p2)));
        }
        for rx in from_targets {
            // A target that could not send simply adds nothing.
            if let Ok((ids, names)) = rx.await {
                gids.extend(ids);
                gnames.extend(names);
            }
        }
        // Wave 3.
        let user_ids: BTreeSet<String> = p2
            .users
            .as_ref()
            .map(|us| {
                us.iter()
                    .map(|u| u.sys_id.clone())
                    .filter(|s| query::is_sys_id(s))
                    .collect()
            })
            .unwrap_or_default();
        let others: BTreeSet<String> = user_ids.difference(&holders).cloned().collect();
        let (groups, mut group_roles, late) = futures::join!(
            // Names holding a comma are looked up one by one with `name=`.
            inst.read_by_users(
                "sys_user_group",
                "sys_id",
                "name",
                &gids,
                &gnames,
                SYS_USER_GROUP.fields
            ),
            inst.read_in(
                "sys_group_has_role",
                "group",
                &gids,
                SYS_GROUP_HAS_ROLE.fields
            ),
            match_users(inst, preservers, &others),
        );
        let mut groups = groups.map(|rows| rows.iter().map(to_group).collect::<Vec<_>>());
        // Parents the membership rows did not reach, to a fixpoint.
        for _ in 0..10 {
            let Ok(gs) = &groups else { break };
            let have: BTreeSet<&str> = gs.iter().map(|g| g.sys_id.as_str()).collect();
            let missing: BTreeSet<String> = gs
                .iter()
                .map(|g| g.parent.clone())
                .filter(|p| query::is_sys_id(p) && !have.contains(p.as_str()))
                .collect();
            if missing.is_empty() {
                break;
            }
            let (more, more_roles) = futures::join!(
                inst.read_in("sys_user_group", "sys_id", &missing, SYS_USER_GROUP.fields),
                inst.read_in(
                    "sys_group_has_role",
                    "group",
                    &missing,
                    SYS_GROUP_HAS_ROLE.fields
                ),
            );
            groups = groups.and_then(|mut g| {
                g.extend(more?.iter().map(to_group));
                Ok(g)
            });
            group_roles = merge_rows(group_roles, more_roles);
            if none_found(&groups, &missing) {
                break;
            }
        }
        (p2, user_ids, late, groups, group_roles)
    };
    // The source's reads nothing depends on are polled last, so they queue behind wave 2's.
    let x = async {
        match early_extras {
            Some(x) => x,
            None => extras(inst, true).await,
        }
    };
    let (contains, (p2, user_ids, late, groups, group_roles), counts, early, x) =
        futures::join!(chain, main, counts, early, x);
    let mut evals = user_level_evals(preservers, &counts, early, late, &p2, &user_ids);
    // Wave 4.
    if is_target {
        let gids: BTreeSet<String> = groups
            .as_ref()
            .map(|g| g.iter().map(|g| g.sys_id.clone()).collect())
            .unwrap_or_default();
        let mut role_ids = rows_ids(&p2.user_roles, "role");
        role_ids.extend(rows_ids(&group_roles, "role"));
        role_ids.extend(rows_ids(&contains, "role"));
        role_ids.extend(rows_ids(&contains, "contains"));
        if let Some(r) = p1.mid_role.get() {
            role_ids.extend(r.iter().map(|r| r.sys_id.clone()));
        }
        let mut related: BTreeMap<&str, Related> = BTreeMap::new();
        related.insert(
            "sys_user_group",
            Related::new("sys_id", gids.clone(), gids.clone()),
        );
        related.insert(
            "sys_group_has_role",
            Related::new("group", gids, rows_ids(&group_roles, "sys_id")),
        );
        related.insert(
            "sys_user_role",
            Related::new("sys_id", role_ids.clone(), role_ids.clone()),
        );
        related.insert(
            "sys_user_role_contains",
            Related::new("role", role_ids, rows_ids(&contains, "sys_id")),
        );
        let group_level: Vec<&str> = GROUP_LEVEL.iter().map(|t| t.name).collect();
        evals.extend(evaluate(inst, preservers, &counts, &group_level, &related).await);
    }
    (
        Gathered {
            p1,
            p2,
            groups,
            group_roles,
            contains,
            evals,
        },
        x,
    )
}

/// Collects the evidence of one run: `source` and every target, concurrently.
pub async fn collect(
    source: &ResolvedInstance,
    targets: &[ResolvedInstance],
    settings: &ClientSettings,
    meta: RunMeta,
) -> Result<Evidence, CollectError> {
    let mut all: Vec<(&ResolvedInstance, InstanceRole)> = vec![(source, InstanceRole::Source)];
    all.extend(targets.iter().map(|t| (t, InstanceRole::Target)));
    let mut insts = Vec::new();
    for (ri, _) in &all {
        let client = Client::new(ri, settings)
            .map_err(|error| CollectError::Setup {
                instance: ri.name.clone(),
                error,
            })?
            .with_page_size(PAGE_SIZE);
        insts.push(Inst {
            client,
            name: ri.name.clone(),
            coverage: Mutex::new(BTreeMap::new()),
        });
    }

    // Wave 0: every instance answers, or the run stops before anything else is sent.
    let gates = join_all(insts.iter().map(gate)).await;
    if let Some(i) = gates.iter().position(Result::is_err) {
        let reasons: Vec<String> = gates
            .iter()
            .zip(&insts)
            .map(|(g, inst)| match g {
                Err(e) => format!("{} could not be read: {}", inst.name, e.short()),
                Ok(_) => format!(
                    "not read: the run stopped because {} could not be read",
                    insts[i].name
                ),
            })
            .collect();
        let mut instances = BTreeMap::new();
        let mut error = None;
        for (((ri, role), inst), (g, why)) in
            all.iter().zip(&insts).zip(gates.into_iter().zip(reasons))
        {
            let mid_role = match g {
                Ok(f) => f,
                Err(e) => {
                    error.get_or_insert(e);
                    Fact::error("sys_user_role", why.clone())
                }
            };
            instances.insert(ri.name.clone(), unread(ri, *role, inst, mid_role, &why));
        }
        let partial = evidence(meta, source, targets, &insts, instances);
        return Err(CollectError::Access {
            instance: insts[i].name.clone(),
            error: error.expect("a gate failed"),
            partial: Box::new(partial),
        });
    }
    let mid_roles: Vec<Fact<Vec<Role>>> = gates.into_iter().flatten().collect();

    let waves = async {
        // Wave 1, on every instance: the source's MID logins need every target's.
        let phase1s = join_all(
            insts
                .iter()
                .zip(mid_roles)
                .enumerate()
                .map(|(i, (inst, mid_role))| phase1(inst, mid_role, i == 0)),
        )
        .await;
        let target_logins: BTreeSet<String> = phase1s[1..]
            .iter()
            .flat_map(|p| p.logins().into_iter().chain(p.holder_names()))
            .collect();
        let preservers: Vec<Preserver> = phase1s[0]
            .preservers
            .as_ref()
            .and_then(|f| f.get().cloned())
            .unwrap_or_default();
        let (to_source, from_targets): (Vec<_>, Vec<_>) = phase1s[1..]
            .iter()
            .map(|_| oneshot::channel::<TargetGroups>())
            .unzip();
        let mut sides = vec![Side::Source {
            target_logins: &target_logins,
            from_targets,
        }];
        sides.extend(to_source.into_iter().map(|to_source| Side::Target {
            preservers: &preservers,
            to_source,
        }));
        join_all(
            insts
                .iter()
                .zip(phase1s)
                .zip(sides)
                .map(|((inst, p1), side)| later_waves(inst, p1, side)),
        )
        .await
    };
    let gathered = waves.await;

    let mut instances = BTreeMap::new();
    for (((ri, role), inst), (g, x)) in all.iter().zip(insts.iter()).zip(gathered) {
        instances.insert(ri.name.clone(), assemble(ri, *role, inst, g, x));
    }
    Ok(evidence(meta, source, targets, &insts, instances))
}

/// Whether the last parent lookup found none of the missing groups (they do not exist or are
/// hidden), so looping again would ask the same.
fn none_found(groups: &Result<Vec<Group>, Unreadable>, missing: &BTreeSet<String>) -> bool {
    groups
        .as_ref()
        .map(|g| !g.iter().any(|g| missing.contains(&g.sys_id)))
        .unwrap_or(true)
}

/// The evidence document of a run that ends now, with every request the clients sent.
fn evidence(
    meta: RunMeta,
    source: &ResolvedInstance,
    targets: &[ResolvedInstance],
    insts: &[Inst],
    instances: BTreeMap<String, InstanceEvidence>,
) -> Evidence {
    Evidence {
        schema_version: EVIDENCE_SCHEMA_VERSION,
        tool_version: meta.tool_version,
        run_id: meta.run_id,
        started_at: meta.started_at,
        finished_at: Utc::now().max(meta.started_at),
        source: source.name.clone(),
        targets: targets.iter().map(|t| t.name.clone()).collect(),
        instances,
        requests: insts.iter().map(|i| i.client.requests_sent()).sum(),
    }
}

/// An instance the run did not read (it, or another instance, could not be reached): every fact
/// unreadable for `why`, the first request's answer kept.
fn unread(
    ri: &ResolvedInstance,
    role: InstanceRole,
    inst: &Inst,
    mid_role: Fact<Vec<Role>>,
    why: &str,
) -> InstanceEvidence {
    let mut coverage = inst.tables_read();
    if coverage.is_empty() {
        coverage.push(TableRead {
            table: SYS_USER_ROLE.name.into(),
            requests: 1,
            rows: 0,
            hidden_rows: 0,
            error: Some(why.to_string()),
        });
    }
    InstanceEvidence {
        audit_user: ri.auth.audit_user(),
        production: Production {
            config: ri.production,
            property: Fact::error(SYS_PROPERTIES.name, why),
        },
        mid_role,
        coverage,
        ..InstanceEvidence::unread(&ri.name, &ri.url, role, why)
    }
}

fn assemble(
    ri: &ResolvedInstance,
    role: InstanceRole,
    inst: &Inst,
    g: Gathered,
    x: Extras,
) -> InstanceEvidence {
    let Gathered {
        p1,
        p2,
        groups,
        group_roles,
        contains,
        evals,
    } = g;
    let prop = |name: &str| {
        x.props.as_ref().map_err(Clone::clone).map(|rows| {
            rows.iter()
                .find(|r| get(r, "name") == name)
                .map(|r| get(r, "value").to_string())
        })
    };
    // Roles with their names, from every row that refers to one.
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    // (By reference: the holders' and the MID users' role rows are the bulk of what was read.)
    for r in [&p1.holder_rows, &p2.user_roles, &group_roles]
        .into_iter()
        .flatten()
        .flatten()
    {
        if let Some(role) = referenced_role(r, "role") {
            roles.insert(role.sys_id.clone(), role);
        }
    }
    if let Ok(rows) = &contains {
        for r in rows {
            for f in ["role", "contains"] {
                if let Some(role) = referenced_role(r, f) {
                    roles.entry(role.sys_id.clone()).or_insert(role);
                }
            }
        }
    }
    let unreadable = [&p1.holder_rows, &p2.user_roles, &group_roles, &contains]
        .into_iter()
        .find_map(|r| r.as_ref().err());
    let roles_fact = match unreadable {
        None => Fact::ok(roles.into_values().collect()),
        Some(e) => Fact::error(&e.table, e.reason.clone()),
    };
    let coverage = inst.tables_read();
    InstanceEvidence {
        name: ri.name.clone(),
        url: ri.url.clone(),
        role,
        audit_user: ri.auth.audit_user(),
        production: Production {
            config: ri.production,
            property: fact(prop("glide.installation.production")),
        },
        build_tag: fact(prop("glide.buildtag")),
        mid_role: p1.mid_role,
        role_contains: fact(contains.map(|rows| rows.iter().map(to_contains).collect())),
        roles: roles_fact,
        users: fact(p2.users),
        unsafe_logins: p2.unsafe_logins,
        user_roles: fact(
            p2.user_roles
                .map(|rows| rows.iter().map(to_user_role).collect()),
        ),
        memberships: fact(
            p2.memberships
                .map(|rows| rows.iter().map(to_membership).collect()),
        ),
        groups: fact(groups),
        group_roles: fact(group_roles.map(|rows| rows.iter().map(to_group_role).collect())),
        mid_servers: p1.agents,
        mid_configs: p1.configs,
        clone: match (p1.preservers, x.clone) {
            (Some(preservers), Some(c)) => Some(CloneSetup {
                preservers,
                profiles: c.profiles,
                profile_preservers: c.profile_preservers,
                excludes: c.excludes,
                clone_requests: c.clone_requests,
            }),
            _ => None,
        },
        preserver_evals: evals,
        coverage,
    }
}
