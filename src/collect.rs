//! What to ask each instance, concurrently, in four phases; builds the [`Evidence`].
//!
//! Every instance is collected at once; within an instance the client bounds concurrency. The
//! phases are the waves of PRODUCT.md section 7:
//!
//! 1. the `mid_server` role, its holders' role rows, MID Servers and their configured users,
//!    properties, the roles containing `mid_server`, and (source) preservers, profiles,
//!    exclusions and clone requests;
//! 2. the MID users (by sys_id and by login), all their role rows and memberships (on the source
//!    also the users named like every target's MID logins: the copies the clone will bring);
//! 3. the groups of those memberships and the groups' roles (on the source also every group a
//!    target row refers to), and the preserver conditions on sys_user, sys_user_has_role and
//!    sys_user_grmember evaluated by each target;
//! 4. parent groups, and the preserver conditions on the group and role tables.
//!
//! Unreadable tables and rows hidden by ACLs become facts ([`Fact::Error`]), never a crash and
//! never an empty list that looks like "none".

use crate::client::{Client, ClientError, Row, TableQuery};
use crate::config::{ClientSettings, ResolvedInstance};
use crate::evidence::*;
use crate::query::{self, MAX_QUERY_BYTES};
use chrono::{DateTime, Utc};
use futures::future::join_all;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// Why a run could not collect at all (exit code 4).
#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("{instance}: {error}")]
    Access {
        instance: String,
        error: ClientError,
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

const USER_FIELDS: &[&str] = &[
    "sys_id",
    "user_name",
    "sys_class_name",
    "active",
    "locked_out",
    "web_service_access_only",
    "internal_integration_user",
    "last_login_time",
];
const USER_ROLE_FIELDS: &[&str] = &[
    "sys_id",
    "user",
    "user.user_name",
    "role",
    "role.name",
    "role.elevated_privilege",
    "inherited",
    "state",
];
const MEMBER_FIELDS: &[&str] = &["sys_id", "user", "group", "group.name"];
const GROUP_FIELDS: &[&str] = &["sys_id", "name", "parent"];
const GROUP_ROLE_FIELDS: &[&str] = &[
    "sys_id",
    "group",
    "role",
    "role.name",
    "role.elevated_privilege",
];
const CONTAINS_FIELDS: &[&str] = &["sys_id", "role", "role.name", "contains", "contains.name"];
const ROLE_FIELDS: &[&str] = &["sys_id", "name", "elevated_privilege"];
const AGENT_FIELDS: &[&str] = &[
    "sys_id",
    "name",
    "status",
    "validated",
    "user_name",
    "host_name",
    "version",
    "last_refreshed",
];
const PRESERVER_FIELDS: &[&str] = &[
    "sys_id",
    "name",
    "table",
    "condition",
    "include_in_system_clone",
    "theme",
    "sys_created_on",
];
const CLONE_REQUEST_FIELDS: &[&str] = &[
    "sys_id",
    "target_instance",
    "target_instance.instance_url",
    "target_instance.instance_name",
    "state",
    "scheduled",
    "profile",
    "lock_settings",
    "preserve_theme",
    "sys_created_on",
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

    /// Rows whose `field` is in `values`, in as many requests as 8 KB URLs need, each also
    /// restricted by `extra` (ANDed into the query). No request when `values` is empty.
    async fn read_in(
        &self,
        table: &str,
        field: &str,
        values: &BTreeSet<String>,
        fields: &[&str],
    ) -> Result<Vec<Row>, Unreadable> {
        let values: Vec<String> = values.iter().cloned().collect();
        let chunks = query::in_chunks(field, &values, MAX_QUERY_BYTES);
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

    /// Rows of users given by sys_id and by login name: `userIN` for ids, `user.user_nameIN` for
    /// names safe in a list, `user.user_name=` one by one for names holding a comma. Groups by
    /// name are read the same way.
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
        let (a, b, c) = futures::join!(
            self.read_in(table, id_field, ids, fields),
            self.read_in(table, name_field, &listable, fields),
            join_all(
                single
                    .iter()
                    .map(|n| self.read(table, format!("{name_field}={n}"), fields))
            ),
        );
        let mut out = a?;
        let mut seen: BTreeSet<String> = out.iter().map(|r| get(r, "sys_id").to_string()).collect();
        for row in b?.into_iter().chain(
            c.into_iter()
                .collect::<Result<Vec<_>, _>>()?
                .into_iter()
                .flatten(),
        ) {
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
        inherited: opt_bool(r, "inherited").unwrap_or(false),
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

/// What phase 1 found on one instance.
struct Phase1 {
    mid_role: Fact<Vec<Role>>,
    holder_rows: Result<Vec<Row>, Unreadable>,
    agents: Fact<Vec<MidServer>>,
    configs: Fact<Vec<MidConfig>>,
    props: Result<Vec<Row>, Unreadable>,
    contains: Result<Vec<Row>, Unreadable>,
    clone: Option<CloneSetup>,
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
}

async fn phase1(inst: &Inst, is_source: bool) -> Result<Phase1, ClientError> {
    let source_reads = async {
        if !is_source {
            return None;
        }
        let (p, pr, pp, ex, req) = futures::join!(
            inst.read("clone_data_preserver", "", PRESERVER_FIELDS),
            inst.read("clone_profile", "", &["sys_id", "name", "default_profile"]),
            inst.read(
                "clone_profile_preservers",
                "",
                &["sys_id", "profile", "preserver"]
            ),
            inst.read("clone_data_exclude", "", &["sys_id", "name"]),
            inst.read("clone_instance", "", CLONE_REQUEST_FIELDS),
        );
        Some(CloneSetup {
            preservers: fact(p.map(|rows| rows.iter().map(to_preserver).collect())),
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
    // The first request tells whether we can reach and log in at all.
    let first = inst
        .client
        .fetch(&TableQuery::new(
            "sys_user_role",
            "name=mid_server",
            ROLE_FIELDS,
        ))
        .await;
    let mid_role = match first {
        Ok(rows) => {
            inst.record(
                "sys_user_role",
                rows.requests,
                rows.rows.len() as u64,
                rows.hidden(),
                None,
            );
            Fact::ok(rows.rows.iter().map(to_role).collect())
        }
        Err(e) if e.is_fatal_on_first_request() => return Err(e),
        Err(e) => {
            inst.record("sys_user_role", 1, 0, 0, Some(e.short()));
            Fact::error("sys_user_role", e.short())
        }
    };
    let (holder_rows, agents, configs, props, contains, clone) = futures::join!(
        inst.read(
            "sys_user_has_role",
            "role.name=mid_server",
            USER_ROLE_FIELDS
        ),
        inst.read("ecc_agent", "", AGENT_FIELDS),
        inst.read(
            "ecc_agent_config",
            "param_name=mid.instance.username",
            &["sys_id", "ecc_agent", "value"]
        ),
        inst.read(
            "sys_properties",
            "nameINglide.installation.production,glide.buildtag",
            &["sys_id", "name", "value"]
        ),
        inst.read(
            "sys_user_role_contains",
            "contains.name=mid_server",
            CONTAINS_FIELDS
        ),
        source_reads,
    );
    Ok(Phase1 {
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
        props,
        contains,
        clone,
    })
}

/// What phase 2 found: users, their role rows and memberships.
struct Phase2 {
    users: Result<Vec<User>, Unreadable>,
    unsafe_logins: Vec<UnsafeLogin>,
    user_roles: Result<Vec<Row>, Unreadable>,
    memberships: Result<Vec<Row>, Unreadable>,
    contains_more: Result<Vec<Row>, Unreadable>,
}

async fn phase2(
    inst: &Inst,
    ids: &BTreeSet<String>,
    names: &BTreeSet<String>,
    contains_frontier: &BTreeSet<String>,
) -> Phase2 {
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
    let (users, roles, members, contains_more) = futures::join!(
        inst.read_by_users(
            "sys_user",
            "sys_id",
            "user_name",
            ids,
            &queryable,
            USER_FIELDS
        ),
        inst.read_by_users(
            "sys_user_has_role",
            "user",
            "user.user_name",
            ids,
            &queryable,
            USER_ROLE_FIELDS
        ),
        inst.read_by_users(
            "sys_user_grmember",
            "user",
            "user.user_name",
            ids,
            &queryable,
            MEMBER_FIELDS
        ),
        inst.read_in(
            "sys_user_role_contains",
            "contains",
            contains_frontier,
            CONTAINS_FIELDS
        ),
    );
    Phase2 {
        users: users.map(|rows| rows.iter().map(to_user).collect()),
        unsafe_logins,
        user_roles: roles,
        memberships: members,
        contains_more,
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

/// Evaluates the preservers on `tables` on this target, restricted to the MID-related rows.
async fn evaluate(
    inst: &Inst,
    preservers: &[Preserver],
    tables: &[&str],
    related: &BTreeMap<&str, Related>,
) -> Vec<PreserverEval> {
    let jobs = preservers
        .iter()
        .filter(|p| tables.contains(&p.table.as_str()))
        .filter_map(|p| related.get(p.table.as_str()).map(|r| (p, r)))
        .map(|(p, rel)| async move {
            let values: Vec<String> = rel.values.iter().cloned().collect();
            let budget = MAX_QUERY_BYTES
                .saturating_sub(query::encoded_len(&p.condition))
                .max(200);
            let chunks = query::in_chunks(rel.field, &values, budget);
            let matched = join_all(chunks.iter().map(|term| {
                let q = query::restrict(&p.condition, term);
                inst.read(&p.table, q, &["sys_id"])
            }));
            let total = inst.count(&p.table, query::strip_eq(&p.condition));
            let (matched, total) = futures::join!(matched, total);
            let matched: Result<Vec<String>, Unreadable> =
                matched.into_iter().try_fold(Vec::new(), |mut acc, r| {
                    let rows = r?;
                    acc.extend(
                        rows.iter()
                            .map(|row| get(row, "sys_id").to_string())
                            .filter(|id| rel.rows.contains(id)),
                    );
                    Ok(acc)
                });
            let matched = matched.map(|mut v| {
                v.sort();
                v.dedup();
                v
            });
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

/// Everything gathered on one instance across the phases.
struct Gathered {
    p1: Phase1,
    p2: Phase2,
    groups: Result<Vec<Group>, Unreadable>,
    group_roles: Result<Vec<Row>, Unreadable>,
    contains: Result<Vec<Row>, Unreadable>,
    evals: Vec<PreserverEval>,
}

fn group_ids(p2: &Phase2) -> BTreeSet<String> {
    p2.memberships
        .as_ref()
        .map(|rows| {
            rows.iter()
                .map(|r| get(r, "group").to_string())
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
        let client = Client::new(ri, settings).map_err(|error| CollectError::Setup {
            instance: ri.name.clone(),
            error,
        })?;
        insts.push(Inst {
            client,
            name: ri.name.clone(),
            coverage: Mutex::new(BTreeMap::new()),
        });
    }

    // Phase 1.
    let p1s = join_all(
        insts
            .iter()
            .zip(&all)
            .map(|(inst, (_, role))| phase1(inst, *role == InstanceRole::Source)),
    )
    .await;
    let mut phase1s = Vec::new();
    for (inst, r) in insts.iter().zip(p1s) {
        match r {
            Ok(p) => phase1s.push(p),
            Err(error) => {
                return Err(CollectError::Access {
                    instance: inst.name.clone(),
                    error,
                })
            }
        }
    }

    // Phase 2: users. The source also looks up every target's MID logins (the copies).
    let target_logins: BTreeSet<String> = phase1s[1..]
        .iter()
        .flat_map(|p| p.logins().into_iter().chain(p.holder_names()))
        .collect();
    let p2s = join_all(
        insts
            .iter()
            .zip(&phase1s)
            .enumerate()
            .map(|(i, (inst, p1))| {
                let ids = p1.holder_ids();
                let mut names = p1.logins();
                if i == 0 {
                    names.extend(target_logins.iter().cloned());
                }
                let frontier = rows_ids(&p1.contains, "role");
                async move { phase2(inst, &ids, &names, &frontier).await }
            }),
    )
    .await;

    // Phase 3: groups and group roles; evaluations of the user-level preservers.
    let target_groups: BTreeSet<String> = p2s[1..].iter().flat_map(group_ids).collect();
    let target_group_names: BTreeSet<String> = p2s[1..].iter().flat_map(group_names).collect();
    let preservers: Vec<Preserver> = phase1s[0]
        .clone
        .as_ref()
        .and_then(|c| c.preservers.get().cloned())
        .unwrap_or_default();
    let p3 = join_all(
        insts
            .iter()
            .zip(p2s.iter())
            .enumerate()
            .map(|(i, (inst, p2))| {
                let mut gids = group_ids(p2);
                let mut gnames = BTreeSet::new();
                if i == 0 {
                    gids.extend(target_groups.iter().cloned());
                    gnames.extend(target_group_names.iter().cloned());
                }
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
                let preservers = &preservers;
                async move {
                    let mut related: BTreeMap<&str, Related> = BTreeMap::new();
                    if i > 0 {
                        related.insert(
                            "sys_user",
                            Related::new("sys_id", user_ids.clone(), user_ids.clone()),
                        );
                        related.insert(
                            "sys_user_has_role",
                            Related::new(
                                "user",
                                user_ids.clone(),
                                rows_ids(&p2.user_roles, "sys_id"),
                            ),
                        );
                        related.insert(
                            "sys_user_grmember",
                            Related::new(
                                "user",
                                user_ids.clone(),
                                rows_ids(&p2.memberships, "sys_id"),
                            ),
                        );
                    }
                    let no_ids = BTreeSet::new();
                    let (by_id, by_name, group_roles, evals) = futures::join!(
                        inst.read_in("sys_user_group", "sys_id", &gids, GROUP_FIELDS),
                        // Names holding a comma are looked up one by one with `name=`.
                        inst.read_by_users(
                            "sys_user_group",
                            "sys_id",
                            "name",
                            &no_ids,
                            &gnames,
                            GROUP_FIELDS
                        ),
                        inst.read_in("sys_group_has_role", "group", &gids, GROUP_ROLE_FIELDS),
                        evaluate(
                            inst,
                            preservers,
                            &["sys_user", "sys_user_has_role", "sys_user_grmember"],
                            &related
                        ),
                    );
                    (
                        merge_rows(by_id, by_name)
                            .map(|rows| rows.iter().map(to_group).collect::<Vec<_>>()),
                        group_roles,
                        evals,
                    )
                }
            }),
    )
    .await;

    // Phase 4: parent groups (to a fixpoint), the rest of the role hierarchy, and the
    // evaluations of the group- and role-level preservers.
    let mut gathered: Vec<Gathered> = Vec::new();
    let p4 = join_all(
        insts
            .iter()
            .zip(phase1s.into_iter().zip(p2s.into_iter().zip(p3)))
            .enumerate()
            .map(|(i, (inst, (p1, (p2, (groups, group_roles, evals)))))| {
                let preservers = &preservers;
                async move {
                    let mut groups = groups;
                    let mut group_roles = group_roles;
                    // Parents not yet read.
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
                            inst.read_in("sys_user_group", "sys_id", &missing, GROUP_FIELDS),
                            inst.read_in(
                                "sys_group_has_role",
                                "group",
                                &missing,
                                GROUP_ROLE_FIELDS
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
                    // Roles containing mid_server, to a fixpoint.
                    let mut contains = merge_rows(p1.contains.clone(), p2.contains_more.clone());
                    for _ in 0..10 {
                        let Ok(rows) = &contains else { break };
                        let known: BTreeSet<String> = rows
                            .iter()
                            .map(|r| get(r, "contains").to_string())
                            .collect();
                        let frontier: BTreeSet<String> = rows
                            .iter()
                            .map(|r| get(r, "role").to_string())
                            .filter(|r| query::is_sys_id(r) && !known.contains(r))
                            .collect();
                        if frontier.is_empty() {
                            break;
                        }
                        let more = inst
                            .read_in(
                                "sys_user_role_contains",
                                "contains",
                                &frontier,
                                CONTAINS_FIELDS,
                            )
                            .await;
                        let before = rows.len();
                        contains = merge_rows(contains, more);
                        if contains.as_ref().map(|c| c.len()).unwrap_or(before) == before {
                            break;
                        }
                    }
                    let mut evals = evals;
                    if i > 0 {
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
                        evals.extend(
                            evaluate(
                                inst,
                                preservers,
                                &[
                                    "sys_user_group",
                                    "sys_group_has_role",
                                    "sys_user_role",
                                    "sys_user_role_contains",
                                ],
                                &related,
                            )
                            .await,
                        );
                    }
                    Gathered {
                        p1,
                        p2,
                        groups,
                        group_roles,
                        contains,
                        evals,
                    }
                }
            }),
    )
    .await;
    gathered.extend(p4);

    let mut instances = BTreeMap::new();
    for ((ri, role), (inst, g)) in all.iter().zip(insts.iter().zip(gathered)) {
        instances.insert(ri.name.clone(), assemble(ri, *role, inst, g));
    }
    let requests = insts.iter().map(|i| i.client.requests_sent()).sum();
    Ok(Evidence {
        schema_version: EVIDENCE_SCHEMA_VERSION,
        tool_version: meta.tool_version,
        run_id: meta.run_id,
        started_at: meta.started_at,
        finished_at: Utc::now().max(meta.started_at),
        source: source.name.clone(),
        targets: targets.iter().map(|t| t.name.clone()).collect(),
        instances,
        requests,
    })
}

/// Whether the last parent lookup found none of the missing groups (they do not exist or are
/// hidden), so looping again would ask the same.
fn none_found(groups: &Result<Vec<Group>, Unreadable>, missing: &BTreeSet<String>) -> bool {
    groups
        .as_ref()
        .map(|g| !g.iter().any(|g| missing.contains(&g.sys_id)))
        .unwrap_or(true)
}

fn assemble(
    ri: &ResolvedInstance,
    role: InstanceRole,
    inst: &Inst,
    g: Gathered,
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
        p1.props.as_ref().map_err(Clone::clone).map(|rows| {
            rows.iter()
                .find(|r| get(r, "name") == name)
                .map(|r| get(r, "value").to_string())
        })
    };
    // Roles with their names, from every row that refers to one.
    let mut roles: BTreeMap<String, Role> = BTreeMap::new();
    let user_role_rows = merge_rows(p1.holder_rows.clone(), p2.user_roles.clone());
    for r in [&user_role_rows, &group_roles]
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
    let roles_fact = match (&user_role_rows, &group_roles, &contains) {
        (Ok(_), Ok(_), Ok(_)) => Fact::ok(roles.into_values().collect()),
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => Fact::error(&e.table, e.reason.clone()),
    };
    let mut coverage: Vec<TableRead> = inst
        .coverage
        .lock()
        .map(|c| c.values().cloned().collect())
        .unwrap_or_default();
    coverage.sort_by(|a, b| a.table.cmp(&b.table));
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
        clone: p1.clone,
        preserver_evals: evals,
        coverage,
    }
}
