//! A stateful fake ServiceNow instance served over real HTTP on 127.0.0.1, for integration tests
//! and benchmarks.
//!
//! It holds tables of rows, answers the REST Table API (`/api/now/table/{t}` and
//! `/api/now/v2/table/{t}`) with `sysparm_query` evaluated as the platform does (`^NQ`, `^OR`,
//! `^`, dot-walks through the reference fields of the user tables, the virtual `roles` field of
//! `sys_user`, unknown fields silently dropped), `sysparm_fields` (dot-walks included),
//! `sysparm_limit`, `sysparm_offset`, `X-Total-Count` (counted before ACL trimming) and `Link`
//! headers, child classes (a `u_mid_service_account` table whose rows are the `sys_user` rows of
//! that class), the platform's default `inherits=true` on a group role row inserted without one,
//! fields a field ACL leaves out of one row's answers, authenticates with basic credentials, bearer tokens or its own OAuth endpoint
//! (`POST /oauth_token.do`), and injects faults on demand ([`Faults`]: latency, 403, rows hidden
//! by ACL, 429, 503, HTML, truncated JSON, hangs, looping `Link`, redirects, token expiry).
//! Every request is recorded, so tests can assert what was (and was not) sent, and the rows and
//! body bytes it answered are counted (for the benchmark's figures).
//!
//! It runs on its own thread with its own tokio runtime, so synchronous tests (running the real
//! binary) can use it as well as async ones; it stops when the [`FakeInstance`] is dropped. It
//! depends only on axum, tokio, serde_json, url, chrono and quick-xml (which loads unload
//! documents, as Import XML does: [`FakeState::import_unload`]), so another test binary or a
//! benchmark can include this file with `#[path = "../tests/e2e/support/fake.rs"] mod fake;`.
#![allow(dead_code)]

use axum::body::{Body, Bytes, HttpBody};
use axum::extract::State;
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::Response;
use axum::Router;
use serde_json::{json, Map, Value};
use std::borrow::Cow;
use std::cmp::Ordering as CmpOrdering;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The basic-auth user a new [`FakeState`] accepts.
pub const AUDIT_USER: &str = "preclone.audit";
/// Its password.
pub const AUDIT_PASSWORD: &str = "fake-audit-password-0451";
/// The OAuth client a new [`FakeState`] accepts.
pub const OAUTH_CLIENT_ID: &str = "fake-oauth-client-id";
/// Its secret.
pub const OAUTH_CLIENT_SECRET: &str = "fake-oauth-client-secret-7f3e";

/// A row as tests see it: field name to string value (references as plain sys_ids).
pub type FakeRow = BTreeMap<String, String>;
/// A row predicate, e.g. for rows hidden by an ACL.
pub type RowPredicate = Arc<dyn Fn(&FakeRow) -> bool + Send + Sync>;

/// One request the fake received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Decoded query parameters (the last value wins when one repeats).
    pub query: BTreeMap<String, String>,
    pub authorization_present: bool,
}

/// Fields each table has even when no row sets them (more appear as rows set them).
const SCHEMA: &[(&str, &[&str])] = &[
    (
        "sys_user",
        &[
            "sys_id",
            "user_name",
            "name",
            "first_name",
            "last_name",
            "email",
            "active",
            "locked_out",
            "web_service_access_only",
            "internal_integration_user",
            "last_login_time",
            "password_needs_reset",
            "failed_attempts",
            "source",
            "sys_domain",
            "sys_class_name",
            "sys_created_on",
            "sys_updated_on",
        ],
    ),
    (
        "sys_user_has_role",
        &[
            "sys_id",
            "user",
            "role",
            "inherited",
            "granted_by",
            "included_in_role",
            "inh_count",
            "state",
            "sys_created_on",
            "sys_updated_on",
        ],
    ),
    (
        "sys_user_grmember",
        &[
            "sys_id",
            "user",
            "group",
            "sys_created_on",
            "sys_updated_on",
        ],
    ),
    (
        "sys_user_group",
        &[
            "sys_id",
            "name",
            "parent",
            "active",
            "description",
            "sys_created_on",
            "sys_updated_on",
        ],
    ),
    (
        "sys_group_has_role",
        &[
            "sys_id",
            "group",
            "role",
            "inherits",
            "sys_created_on",
            "sys_updated_on",
        ],
    ),
    ("sys_user_role", &["sys_id", "name", "description"]),
    (
        "sys_user_role_contains",
        &[
            "sys_id",
            "role",
            "contains",
            "sys_created_on",
            "sys_updated_on",
        ],
    ),
    (
        "ecc_agent",
        &[
            "sys_id",
            "name",
            "status",
            "validated",
            "user_name",
            "host_name",
            "ip_address",
            "version",
            "last_refreshed",
            "is_using_mutual_auth",
        ],
    ),
    (
        "ecc_agent_config",
        &["sys_id", "ecc_agent", "param_name", "value"],
    ),
    ("sys_properties", &["sys_id", "name", "value", "type"]),
    (
        "clone_data_preserver",
        &[
            "sys_id",
            "name",
            "table",
            "condition",
            "theme",
            "default",
            "include_in_system_clone",
            "sys_created_on",
            "sys_class_name",
            "sys_name",
            "sys_package",
            "sys_policy",
            "sys_scope",
            "sys_update_name",
        ],
    ),
    (
        "clone_profile",
        &[
            "sys_id",
            "name",
            "default_profile",
            "preserve_theme",
            "exclude_all_from_exclusion_list",
            "exclude_large_data",
            "target_instance",
        ],
    ),
    (
        "clone_profile_preservers",
        &["sys_id", "profile", "preserver", "sys_created_on"],
    ),
    (
        "clone_data_exclude",
        &[
            "sys_id",
            "name",
            "table",
            "condition",
            "default",
            "include_in_system_clone",
        ],
    ),
    (
        "clone_instance",
        &[
            "sys_id",
            "clone_id",
            "target_instance",
            "state",
            "scheduled",
            "profile",
            "lock_profile_settings",
            "preserve_theme",
            "exclude_all_from_exclusion_list",
            "exclude_large_data",
            "recurring",
            "sys_created_on",
        ],
    ),
    // The Clone Admin Console's requests (Washington DC on; `drop_table` for older releases).
    (
        "sn_instance_clone_request",
        &[
            "sys_id",
            "request_id",
            "source_instance",
            "target_instance",
            "state",
            "stage",
            "scheduled",
            "profile",
            "profile_name",
            "lock_profile_settings",
            "preserve_theme",
            "exclude_all_from_exclusion_list",
            "exclude_large_data",
            "on_demand_backup",
            "sys_created_on",
        ],
    ),
    // Production's credentials; the secret fields exist, and must never be asked for.
    (
        "discovery_credentials",
        &[
            "sys_id",
            "name",
            "type",
            "active",
            "order",
            "applies_to",
            "mid_list",
            "tag",
            "user_name",
            "password",
            "ssh_private_key",
            "ssh_passphrase",
            "authentication_key",
            "privacy_key",
        ],
    ),
    // MID Server clusters, their members and issues.
    ("ecc_agent_cluster", &["sys_id", "name", "type"]),
    (
        "ecc_agent_cluster_member_m2m",
        &["sys_id", "cluster", "agent", "order"],
    ),
    (
        "ecc_agent_issue",
        &[
            "sys_id",
            "mid_server",
            "source",
            "message",
            "last_detected",
            "count",
            "state",
        ],
    ),
    // Certificates mapped to users; the certificate and its fingerprint exist, and must never
    // be asked for.
    (
        "sys_user_certificate",
        &[
            "sys_id",
            "user",
            "name",
            "active",
            "expires",
            "format",
            "type",
            "sha256_fingerprint",
            "pem_certificate",
        ],
    ),
    // Registered clone targets; the password fields exist, and must never be asked for.
    (
        "instance",
        &[
            "sys_id",
            "instance_name",
            "instance_url",
            "instance_id",
            "production",
            "admin_user",
            "admin_password",
            "database_password",
        ],
    ),
];

/// The tables whose rows get `sys_created_on` and `sys_updated_on` ([`LONG_AGO`]) when inserted
/// without them.
const STAMPED: &[&str] = &[
    "sys_user",
    "sys_user_has_role",
    "sys_user_grmember",
    "sys_user_group",
    "sys_group_has_role",
    "sys_user_role_contains",
];

/// When rows the tests do not date were created and last changed.
pub const LONG_AGO: &str = "2025-01-01 00:00:00";

/// Fields looked up through a hash index (equality and `IN` terms on them avoid a scan).
const INDEXED: &[&str] = &[
    "sys_id",
    "user",
    "group",
    "role",
    "contains",
    "parent",
    "user_name",
    "name",
    "profile",
    "preserver",
    "ecc_agent",
    "param_name",
    "table",
];

/// The table a reference field points to, for rendering links and dot-walking.
pub fn reference_target(table: &str, field: &str) -> Option<&'static str> {
    match (table, field) {
        ("sys_user_has_role", "user") | ("sys_user_grmember", "user") => Some("sys_user"),
        ("sys_user_has_role", "role")
        | ("sys_group_has_role", "role")
        | ("sys_user_role_contains", "role")
        | ("sys_user_role_contains", "contains") => Some("sys_user_role"),
        ("sys_user_grmember", "group")
        | ("sys_group_has_role", "group")
        | ("sys_user_group", "parent") => Some("sys_user_group"),
        ("ecc_agent_config", "ecc_agent")
        | ("ecc_agent_cluster_member_m2m", "agent")
        | ("ecc_agent_issue", "mid_server") => Some("ecc_agent"),
        ("ecc_agent_cluster_member_m2m", "cluster") => Some("ecc_agent_cluster"),
        ("sys_user_certificate", "user") => Some("sys_user"),
        ("clone_profile_preservers", "profile")
        | ("clone_instance", "profile")
        | ("sn_instance_clone_request", "profile") => Some("clone_profile"),
        ("clone_instance", "target_instance")
        | ("sn_instance_clone_request", "target_instance")
        | ("sn_instance_clone_request", "source_instance")
        | ("clone_profile", "target_instance") => Some("instance"),
        ("clone_profile_preservers", "preserver") => Some("clone_data_preserver"),
        _ => None,
    }
}

/// Faults to inject; all off by default. Request numbers count the authenticated Table API
/// requests from 1 (token requests and 401s are not counted).
#[derive(Clone)]
pub struct Faults {
    /// Added to every request before it is answered.
    pub latency: Duration,
    /// Tables that answer 403 "Insufficient rights to query records".
    pub forbidden_tables: BTreeSet<String>,
    /// Rows (by sys_id) counted in `X-Total-Count` but never returned, per table.
    pub hidden_ids: BTreeMap<String, BTreeSet<String>>,
    /// Rows matching a predicate counted but never returned, per table.
    pub hidden_when: BTreeMap<String, RowPredicate>,
    /// The first N table requests answer 429.
    pub rate_limit_first: u64,
    /// `Retry-After` seconds sent with a 429 (`None`: no header).
    pub retry_after: Option<u64>,
    /// Every k-th table request answers 503.
    pub fail_every: Option<u64>,
    /// Tables that answer 200 with an HTML page.
    pub html_tables: BTreeSet<String>,
    /// Every table request answers 200 with an HTML page (a hibernating instance), before auth.
    pub html_everything: bool,
    /// Tables whose JSON is cut in half.
    pub truncate_tables: BTreeSet<String>,
    /// The first N table requests get their JSON cut in half.
    pub truncate_first: u64,
    /// The first N table requests hang for `hang_for` before they are answered.
    pub hang_first: u64,
    pub hang_for: Duration,
    /// Tables whose `Link` next loops: from offset 0 it points to `limit`, from any other offset
    /// back to 0.
    pub looping_link_tables: BTreeSet<String>,
    /// Every table request answers 302 to this base URL (e.g. `https://sso.example.invalid`).
    pub redirect_to: Option<String>,
    /// An issued OAuth token is refused (401) after this many uses.
    pub token_max_uses: Option<u64>,
    /// The token endpoint answers this status, whatever the credentials.
    pub token_status: Option<u16>,
    /// Ignore `sysparm_fields` and send every field (as an instance does for a misspelt one).
    pub send_all_fields: bool,
    /// Fields left out of the answer for one row (as a field ACL does), by table and sys_id.
    pub omitted_fields: BTreeMap<String, BTreeMap<String, BTreeSet<String>>>,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            latency: Duration::ZERO,
            forbidden_tables: BTreeSet::new(),
            hidden_ids: BTreeMap::new(),
            hidden_when: BTreeMap::new(),
            rate_limit_first: 0,
            retry_after: Some(1),
            fail_every: None,
            html_tables: BTreeSet::new(),
            html_everything: false,
            truncate_tables: BTreeSet::new(),
            truncate_first: 0,
            hang_first: 0,
            hang_for: Duration::ZERO,
            looping_link_tables: BTreeSet::new(),
            redirect_to: None,
            token_max_uses: None,
            token_status: None,
            send_all_fields: false,
            omitted_fields: BTreeMap::new(),
        }
    }
}

/// The fake's own hasher for its column names and index values (its own sys_ids and names,
/// never hostile input): FxHash's multiply-rotate over 8-byte words with a final mix, far
/// cheaper than SipHash on the many lookups an answer makes.
#[derive(Default, Clone, Copy)]
struct FastHasher(u64);

impl std::hash::Hasher for FastHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word));
        }
    }
    fn write_u8(&mut self, b: u8) {
        self.add(u64::from(b));
    }
    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }
    fn finish(&self) -> u64 {
        // MurmurHash3's finaliser: every input bit reaches the low and the high bits.
        let mut h = self.0;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

impl FastHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x517c_c1b7_2722_0a95);
    }
}

type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<FastHasher>>;

/// The column of `sys_id`: every table makes it first.
const SYS_ID_COL: usize = 0;

struct Table {
    columns: Vec<String>,
    col: FastMap<String, usize>,
    /// One cell per column; a row shorter than `columns` has "" for the missing cells.
    rows: Vec<Vec<Arc<str>>>,
    /// The hash index of each indexed column (by column number), from value to rows.
    index: Vec<Option<FastMap<Arc<str>, Vec<u32>>>>,
}

impl Table {
    fn new() -> Self {
        let mut t = Table {
            columns: Vec::new(),
            col: FastMap::default(),
            rows: Vec::new(),
            index: Vec::new(),
        };
        t.column("sys_id");
        t
    }

    fn column(&mut self, name: &str) -> usize {
        if let Some(&c) = self.col.get(name) {
            return c;
        }
        let c = self.columns.len();
        self.columns.push(name.to_string());
        self.col.insert(name.to_string(), c);
        self.index
            .push(INDEXED.contains(&name).then(FastMap::default));
        c
    }

    /// The column of a field, when the table has it.
    fn col_of(&self, field: &str) -> Option<usize> {
        self.col.get(field).copied()
    }

    fn get(&self, row: usize, field: &str) -> &str {
        match self.col_of(field) {
            Some(c) => self.cell(row, c),
            None => "",
        }
    }

    /// The value of column `c` of `row` ("" when the row is shorter).
    fn cell(&self, row: usize, c: usize) -> &str {
        self.rows[row].get(c).map(|s| &**s).unwrap_or("")
    }

    fn is_indexed(&self, field: &str) -> bool {
        self.col_of(field)
            .is_some_and(|c| self.index.get(c).is_some_and(Option::is_some))
    }

    fn lookup(&self, field: &str, value: &str) -> &[u32] {
        match self.col_of(field) {
            Some(c) => self.lookup_col(c, value),
            None => &[],
        }
    }

    /// The rows whose indexed column `c` is `value` (none when `c` is not indexed).
    fn lookup_col(&self, c: usize, value: &str) -> &[u32] {
        self.index
            .get(c)
            .and_then(Option::as_ref)
            .and_then(|idx| idx.get(value))
            .map(|v| v.as_slice())
            .unwrap_or(&[])
    }

    /// The row with this sys_id.
    fn by_id(&self, id: &str) -> Option<usize> {
        self.lookup_col(SYS_ID_COL, id).first().map(|&r| r as usize)
    }

    fn push(&mut self, cells: Vec<(usize, Arc<str>)>, empty: &Arc<str>) -> usize {
        let n = self.rows.len();
        let mut row = vec![empty.clone(); self.columns.len()];
        for (c, v) in cells {
            row[c] = v;
        }
        for (c, idx) in self.index.iter_mut().enumerate() {
            let (Some(idx), Some(v)) = (idx, row.get(c)) else {
                continue;
            };
            if !v.is_empty() {
                idx.entry(v.clone()).or_default().push(n as u32);
            }
        }
        self.rows.push(row);
        n
    }

    fn set(&mut self, row: usize, c: usize, value: Arc<str>, empty: &Arc<str>) {
        let cells = &mut self.rows[row];
        if cells.len() <= c {
            cells.resize(c + 1, empty.clone());
        }
        let old = std::mem::replace(&mut cells[c], value.clone());
        if let Some(Some(idx)) = self.index.get_mut(c) {
            if let Some(list) = idx.get_mut(&old) {
                list.retain(|&r| r as usize != row);
            }
            if !value.is_empty() {
                let list = idx.entry(value).or_default();
                list.push(row as u32);
                list.sort_unstable();
            }
        }
    }

    fn to_row(&self, row: usize) -> FakeRow {
        self.columns
            .iter()
            .enumerate()
            .map(|(c, name)| (name.clone(), self.cell(row, c).to_string()))
            .collect()
    }
}

struct Issued {
    expires_at: Instant,
    uses: u64,
}

/// Everything the fake instance holds: tables, accepted credentials, faults.
pub struct FakeState {
    tables: BTreeMap<String, Table>,
    interner: HashSet<Arc<str>>,
    empty: Arc<str>,
    next_id: u64,
    issued: HashMap<String, Issued>,
    refresh_tokens: HashSet<String>,
    /// Child classes of a table (`u_mid_service_account` → `sys_user`): their rows are the
    /// parent's rows whose `sys_class_name` is the child (or one of its own children), and a
    /// query on the child reads only those.
    child_classes: BTreeMap<String, String>,
    /// Accept requests without credentials.
    pub anonymous: bool,
    /// Accepted basic credentials (user name, password); also the users of the password grant.
    pub basic_credentials: Vec<(String, String)>,
    /// Accepted static bearer tokens.
    pub bearer_tokens: Vec<String>,
    /// Accepted OAuth clients (client_id, client_secret).
    pub oauth_clients: Vec<(String, String)>,
    /// Whether the client_credentials grant is enabled.
    pub client_credentials_grant: bool,
    /// `expires_in` of issued tokens, in seconds.
    pub token_expires_in: u64,
    pub faults: Faults,
}

impl Default for FakeState {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeState {
    /// An instance with the standard tables (empty), accepting [`AUDIT_USER`] /
    /// [`AUDIT_PASSWORD`] and the OAuth client [`OAUTH_CLIENT_ID`] / [`OAUTH_CLIENT_SECRET`].
    pub fn new() -> Self {
        let mut s = FakeState {
            tables: BTreeMap::new(),
            interner: HashSet::new(),
            empty: Arc::from(""),
            next_id: 0,
            issued: HashMap::new(),
            refresh_tokens: HashSet::new(),
            child_classes: BTreeMap::new(),
            anonymous: false,
            basic_credentials: vec![(AUDIT_USER.to_string(), AUDIT_PASSWORD.to_string())],
            bearer_tokens: Vec::new(),
            oauth_clients: vec![(OAUTH_CLIENT_ID.to_string(), OAUTH_CLIENT_SECRET.to_string())],
            client_credentials_grant: true,
            token_expires_in: 1799,
            faults: Faults::default(),
        };
        for (table, fields) in SCHEMA {
            s.create_table(table, fields);
        }
        s
    }

    /// Replaces the accepted basic credentials.
    pub fn with_basic(mut self, user: &str, password: &str) -> Self {
        self.basic_credentials = vec![(user.to_string(), password.to_string())];
        self
    }

    /// Adds an accepted static bearer token.
    pub fn with_bearer(mut self, token: &str) -> Self {
        self.bearer_tokens.push(token.to_string());
        self
    }

    pub fn with_faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// A new 32-hex-digit sys_id, deterministic for a given sequence of calls.
    pub fn new_sys_id(&mut self) -> String {
        self.next_id += 1;
        let a = splitmix(self.next_id);
        let b = splitmix(a ^ 0x5851_f42d_4c95_7f2d);
        format!("{a:016x}{b:016x}")
    }

    fn intern(&mut self, s: &str) -> Arc<str> {
        if let Some(a) = self.interner.get(s) {
            return a.clone();
        }
        let a: Arc<str> = Arc::from(s);
        self.interner.insert(a.clone());
        a
    }

    /// Creates a table (or adds fields to it) without rows.
    pub fn create_table(&mut self, table: &str, fields: &[&str]) {
        let t = self
            .tables
            .entry(table.to_string())
            .or_insert_with(Table::new);
        t.column("sys_id");
        for f in fields {
            t.column(f);
        }
    }

    /// Removes a table: requests for it then answer 400 "Invalid table".
    pub fn drop_table(&mut self, table: &str) {
        self.tables.remove(table);
    }

    pub fn has_table(&self, table: &str) -> bool {
        self.tables.contains_key(table) || self.child_classes.contains_key(table)
    }

    /// Makes `child` a class table extending `parent` (e.g. `u_mid_service_account` of
    /// `sys_user`): rows of `parent` whose `sys_class_name` is `child` are its rows.
    pub fn add_child_class(&mut self, child: &str, parent: &str) {
        self.child_classes
            .insert(child.to_string(), parent.to_string());
    }

    /// Leaves `field` out of every answer that carries the row `sys_id` of `table`, as a field
    /// ACL does (the field is not "", it is absent).
    pub fn omit_field(&mut self, table: &str, sys_id: &str, field: &str) {
        self.faults
            .omitted_fields
            .entry(table.to_string())
            .or_default()
            .entry(sys_id.to_string())
            .or_default()
            .insert(field.to_string());
    }

    /// The table whose rows a query on `table` reads, and the classes a row must have (`None`:
    /// every row): a child class reads its base table's rows of its class or below.
    fn storage(&self, table: &str) -> (String, Option<BTreeSet<String>>) {
        let mut base = table.to_string();
        while let Some(parent) = self.child_classes.get(&base) {
            base = parent.clone();
        }
        if base == table {
            return (base, None);
        }
        let mut classes: BTreeSet<String> = [table.to_string()].into();
        loop {
            let more: Vec<String> = self
                .child_classes
                .iter()
                .filter(|(c, p)| classes.contains(*p) && !classes.contains(*c))
                .map(|(c, _)| c.clone())
                .collect();
            if more.is_empty() {
                break;
            }
            classes.extend(more);
        }
        (base, Some(classes))
    }

    /// Inserts a row (an object of string values; references as plain sys_ids; other JSON
    /// values are stored as their text). Gives it a sys_id when it has none; returns the sys_id.
    pub fn insert(&mut self, table: &str, row: Value) -> String {
        let mut fields: Vec<(String, String)> = match row {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        Value::Null => String::new(),
                        Value::Object(o) => match o.get("value") {
                            Some(Value::String(s)) => s.clone(),
                            _ => Value::Object(o).to_string(),
                        },
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            other => panic!("a fake row must be a JSON object, not {other}"),
        };
        // The platform fills a group role's `inherits` with its default, true.
        if table == "sys_group_has_role" && !fields.iter().any(|(k, _)| k == "inherits") {
            fields.push(("inherits".to_string(), "true".to_string()));
        }
        // The platform stamps every row; the user tables' rows here were made long ago unless
        // a test says otherwise.
        if STAMPED.contains(&table) {
            for f in ["sys_created_on", "sys_updated_on"] {
                if !fields.iter().any(|(k, _)| k == f) {
                    fields.push((f.to_string(), LONG_AGO.to_string()));
                }
            }
        }
        let sys_id = match fields.iter().find(|(k, _)| k == "sys_id") {
            Some((_, v)) if !v.is_empty() => v.clone(),
            _ => {
                let id = self.new_sys_id();
                fields.retain(|(k, _)| k != "sys_id");
                fields.push(("sys_id".to_string(), id.clone()));
                id
            }
        };
        let interned: Vec<(String, Arc<str>)> = fields
            .into_iter()
            .map(|(k, v)| {
                let v = self.intern(&v);
                (k, v)
            })
            .collect();
        let empty = self.empty.clone();
        let t = self
            .tables
            .entry(table.to_string())
            .or_insert_with(Table::new);
        t.column("sys_id");
        let cells: Vec<(usize, Arc<str>)> = interned
            .into_iter()
            .map(|(k, v)| (t.column(&k), v))
            .collect();
        t.push(cells, &empty);
        sys_id
    }

    /// Sets one field of a row; false when the row does not exist.
    pub fn set_field(&mut self, table: &str, sys_id: &str, field: &str, value: &str) -> bool {
        let value = self.intern(value);
        let empty = self.empty.clone();
        let Some(t) = self.tables.get_mut(table) else {
            return false;
        };
        let Some(&row) = t.lookup("sys_id", sys_id).first() else {
            return false;
        };
        let c = t.column(field);
        t.set(row as usize, c, value, &empty);
        true
    }

    /// Every row of a table, in insertion order.
    pub fn rows(&self, table: &str) -> Vec<FakeRow> {
        match self.tables.get(table) {
            Some(t) => (0..t.rows.len()).map(|r| t.to_row(r)).collect(),
            None => Vec::new(),
        }
    }

    /// One row by sys_id.
    pub fn row(&self, table: &str, sys_id: &str) -> Option<FakeRow> {
        let t = self.tables.get(table)?;
        let r = *t.lookup("sys_id", sys_id).first()?;
        Some(t.to_row(r as usize))
    }

    /// Rows whose `field` equals `value`.
    pub fn find(&self, table: &str, field: &str, value: &str) -> Vec<FakeRow> {
        let Some(t) = self.tables.get(table) else {
            return Vec::new();
        };
        (0..t.rows.len())
            .filter(|&r| t.get(r, field) == value)
            .map(|r| t.to_row(r))
            .collect()
    }

    /// The sys_id of the role with this name.
    pub fn role_id(&self, name: &str) -> Option<String> {
        self.find("sys_user_role", "name", name)
            .into_iter()
            .next()
            .and_then(|r| r.get("sys_id").cloned())
    }

    /// The sys_ids of the rows an encoded query matches (no ACL trimming), in insertion order.
    pub fn matching(&self, table: &str, query: &str) -> Vec<String> {
        let Some(t) = self.tables.get(table) else {
            return Vec::new();
        };
        self.evaluate(table, query)
            .into_iter()
            .map(|r| t.get(r as usize, "sys_id").to_string())
            .collect()
    }

    // --- Builders for the usual records.

    /// An active, unlocked `sys_user` with the usual fields; returns its sys_id.
    pub fn add_user(&mut self, user_name: &str) -> String {
        self.add_user_with(user_name, json!({}))
    }

    /// A user with the usual fields, overridden or extended by `extra` (an object).
    pub fn add_user_with(&mut self, user_name: &str, extra: Value) -> String {
        let mut row = json!({
            "user_name": user_name,
            "name": user_name,
            "active": "true",
            "locked_out": "false",
            "web_service_access_only": "false",
            "internal_integration_user": "false",
            "last_login_time": "",
            "password_needs_reset": "false",
            "failed_attempts": "0",
            "source": "",
            "sys_domain": "global",
            "sys_class_name": "sys_user",
        });
        merge(&mut row, extra);
        self.insert("sys_user", row)
    }

    /// A role; returns its sys_id.
    pub fn add_role(&mut self, name: &str) -> String {
        self.insert("sys_user_role", json!({ "name": name, "description": "" }))
    }

    /// A group, optionally with a parent group's sys_id; returns its sys_id.
    pub fn add_group(&mut self, name: &str, parent: Option<&str>) -> String {
        self.insert(
            "sys_user_group",
            json!({ "name": name, "parent": parent.unwrap_or(""), "active": "true" }),
        )
    }

    /// A direct role grant (`inherited=false`); returns the sys_user_has_role sys_id.
    pub fn grant_role(&mut self, user_id: &str, role_id: &str) -> String {
        self.grant_role_with(user_id, role_id, json!({}))
    }

    /// A role row with extra fields (e.g. `{"inherited":"true","granted_by":<group>}`).
    pub fn grant_role_with(&mut self, user_id: &str, role_id: &str, extra: Value) -> String {
        let mut row = json!({
            "user": user_id,
            "role": role_id,
            "inherited": "false",
            "granted_by": "",
            "included_in_role": "",
            "inh_count": "0",
            "state": "active",
        });
        merge(&mut row, extra);
        self.insert("sys_user_has_role", row)
    }

    /// A group membership; returns the sys_user_grmember sys_id.
    pub fn add_member(&mut self, user_id: &str, group_id: &str) -> String {
        self.insert(
            "sys_user_grmember",
            json!({ "user": user_id, "group": group_id }),
        )
    }

    /// A role granted to a group; returns the sys_group_has_role sys_id.
    pub fn grant_group_role(&mut self, group_id: &str, role_id: &str) -> String {
        self.insert(
            "sys_group_has_role",
            json!({ "group": group_id, "role": role_id, "inherits": "true" }),
        )
    }

    /// `role` contains `contains`; returns the sys_user_role_contains sys_id.
    pub fn add_role_contains(&mut self, role_id: &str, contains_id: &str) -> String {
        self.insert(
            "sys_user_role_contains",
            json!({ "role": role_id, "contains": contains_id }),
        )
    }

    /// A MID Server (`ecc_agent`) logged in as `user_name`; returns its sys_id.
    pub fn add_mid_server(&mut self, name: &str, user_name: &str, status: &str) -> String {
        self.insert(
            "ecc_agent",
            json!({
                "name": name,
                "status": status,
                "validated": "true",
                "user_name": user_name,
                "host_name": format!("{name}.example.invalid"),
                "ip_address": "10.0.0.1",
                "version": "xanadu-07-02-2024__patch1",
                "last_refreshed": "2026-01-01 00:00:00",
                "is_using_mutual_auth": "false",
            }),
        )
    }

    /// An `ecc_agent_config` parameter of a MID Server; returns its sys_id.
    pub fn add_mid_config(&mut self, agent_id: &str, param_name: &str, value: &str) -> String {
        self.insert(
            "ecc_agent_config",
            json!({ "ecc_agent": agent_id, "param_name": param_name, "value": value }),
        )
    }

    /// A `sys_properties` row; returns its sys_id.
    pub fn set_property(&mut self, name: &str, value: &str) -> String {
        self.insert(
            "sys_properties",
            json!({ "name": name, "value": value, "type": "string" }),
        )
    }

    /// A clone data preserver, switched on, made long ago in the global scope; returns its
    /// sys_id.
    pub fn add_preserver(&mut self, name: &str, table: &str, condition: &str) -> String {
        let id = self.insert(
            "clone_data_preserver",
            json!({
                "name": name,
                "table": table,
                "condition": condition,
                "theme": "false",
                "default": "false",
                "include_in_system_clone": "true",
                "sys_created_on": "2025-01-01 00:00:00",
                "sys_class_name": "clone_data_preserver",
                "sys_name": name,
                "sys_package": "global",
                "sys_policy": "",
                "sys_scope": "global",
            }),
        );
        let update_name = format!("clone_data_preserver_{id}");
        self.set_field("clone_data_preserver", &id, "sys_update_name", &update_name);
        id
    }

    /// A clone profile (`default_profile` as given, every option at its platform default)
    /// listing `preservers`, each linked long ago; returns its sys_id.
    pub fn add_clone_profile(&mut self, name: &str, default: bool, preservers: &[&str]) -> String {
        let profile = self.insert(
            "clone_profile",
            json!({
                "name": name,
                "default_profile": default.to_string(),
                "preserve_theme": "false",
                "exclude_all_from_exclusion_list": "true",
                "exclude_large_data": "true",
            }),
        );
        for p in preservers {
            self.link_preserver(&profile, p, "2025-01-01 00:00:00");
        }
        profile
    }

    /// Links a preserver into a profile at `created_on`; returns the link's sys_id.
    pub fn link_preserver(&mut self, profile: &str, preserver: &str, created_on: &str) -> String {
        self.insert(
            "clone_profile_preservers",
            json!({ "profile": profile, "preserver": preserver, "sys_created_on": created_on }),
        )
    }

    /// A clone data exclusion of `name` (`default` as given); returns its sys_id.
    pub fn add_exclusion(&mut self, name: &str, default: bool) -> String {
        self.insert(
            "clone_data_exclude",
            json!({
                "name": name,
                "table": "",
                "default": default.to_string(),
                "include_in_system_clone": "true",
            }),
        )
    }

    /// A credential of `kind` (`type`) that the MID Servers `mid_list` (sys_ids) may use, with
    /// every secret field set to a value that must never leave the instance; returns its sys_id.
    pub fn add_credential(&mut self, name: &str, kind: &str, mid_list: &[&str]) -> String {
        self.insert(
            "discovery_credentials",
            json!({
                "name": name,
                "type": kind,
                "active": "true",
                "order": "100",
                "applies_to": "all",
                "mid_list": mid_list.join(","),
                "tag": "",
                "user_name": "svc.discovery.fake-cred-user",
                "password": "fake-cred-password-5b1e",
                "ssh_private_key": "-----BEGIN FAKE PRIVATE KEY-----fake-cred-key-77c0",
                "ssh_passphrase": "fake-cred-passphrase-3a9d",
                "authentication_key": "fake-cred-authkey-c4f2",
                "privacy_key": "fake-cred-privkey-90be",
            }),
        )
    }

    /// A registered clone target (`instance`); returns its sys_id.
    pub fn add_instance_record(&mut self, name: &str, url: &str) -> String {
        self.insert(
            "instance",
            json!({
                "instance_name": name,
                "instance_url": url,
                "instance_id": "",
                "production": "false",
                "admin_user": "admin",
                "admin_password": "fake-instance-admin-password-9d2c",
                "database_password": "fake-instance-db-password-41aa",
            }),
        )
    }

    /// A clone request in `table` (`clone_instance` or `sn_instance_clone_request`) to the
    /// `instance` record `target`: Scheduled, no profile, unlocked, every option at its platform
    /// default, overridden or extended by `extra`; returns its sys_id.
    pub fn add_clone_request(&mut self, table: &str, target: &str, extra: Value) -> String {
        let mut row = json!({
            "target_instance": target,
            "state": "Scheduled",
            "scheduled": "2026-12-01 22:00:00",
            "profile": "",
            "lock_profile_settings": "false",
            "preserve_theme": "false",
            "exclude_all_from_exclusion_list": "true",
            "exclude_large_data": "true",
            "sys_created_on": "2026-11-01 09:00:00",
        });
        if table == "sn_instance_clone_request" {
            merge(
                &mut row,
                json!({ "on_demand_backup": "false", "stage": "" }),
            );
        }
        merge(&mut row, extra);
        self.insert(table, row)
    }

    /// Loads an unload document (the platform's XML list export, as Import XML reads it, see
    /// [`parse_unload`]): each record with `action="INSERT_OR_UPDATE"` inserts a row or updates
    /// the row with its sys_id, setting the fields it carries and keeping the others. A new row
    /// without `sys_created_on` gets the current time, as the platform stamps it. Returns how
    /// many records were loaded; an ill-formed document or another action is an error.
    pub fn import_unload(&mut self, xml: &str) -> Result<usize, String> {
        let records = parse_unload(xml)?.records;
        if let Some(r) = records.iter().find(|r| r.action != "INSERT_OR_UPDATE") {
            return Err(format!("unsupported action {:?} on {}", r.action, r.table));
        }
        for r @ UnloadRecord { table, fields, .. } in &records {
            let id = r.get("sys_id").to_string();
            if id.is_empty() {
                return Err(format!("a {table} record without a sys_id"));
            }
            if self.row(table, &id).is_some() {
                for (k, v) in fields {
                    self.set_field(table, &id, k, v);
                }
            } else {
                let mut row: Map<String, Value> = fields
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                if !row.contains_key("sys_created_on") {
                    row.insert("sys_created_on".into(), Value::String(utc_now_text()));
                }
                self.insert(table, Value::Object(row));
            }
        }
        Ok(records.len())
    }

    // --- The encoded-query evaluator.

    fn known(&self, table: &str, path: &str) -> bool {
        let Some(t) = self.tables.get(table) else {
            return false;
        };
        if let Some((head, rest)) = path.split_once('.') {
            return t.col.contains_key(head)
                && reference_target(table, head).is_some_and(|target| self.known(target, rest));
        }
        (table == "sys_user" && path == "roles") || t.col.contains_key(path)
    }

    fn parse_query(&self, table: &str, query: &str) -> Vec<Vec<Vec<Term>>> {
        let mut groups = Vec::new();
        for group in query.split("^NQ") {
            let mut chains: Vec<Vec<Term>> = Vec::new();
            for (i, token) in group.split('^').enumerate() {
                if token.is_empty()
                    || token == "EQ"
                    || token.starts_with("ORDERBY")
                    || token.starts_with("GROUPBY")
                {
                    continue;
                }
                let (or, body) = match token.strip_prefix("OR") {
                    Some(rest) if i > 0 => (true, rest),
                    _ => (false, token),
                };
                let Some(term) = parse_term(body) else {
                    continue;
                };
                if !self.known(table, &term.field) {
                    continue;
                }
                match chains.last_mut() {
                    Some(last) if or => last.push(term),
                    _ => chains.push(vec![term]),
                }
            }
            groups.push(chains);
        }
        groups
    }

    /// Row numbers matching `query`, ascending.
    fn evaluate(&self, table: &str, query: &str) -> Vec<u32> {
        let Some(t) = self.tables.get(table) else {
            return Vec::new();
        };
        let groups = self.parse_query(table, query);
        let mut narrowed: Option<Vec<u32>> = Some(Vec::new());
        for group in &groups {
            // A single term narrows the group; so does an `^OR` chain whose every term narrows
            // (the union of their candidates).
            let c = group
                .iter()
                .filter(|chain| chain.len() == 1)
                .find_map(|chain| self.candidates(table, &chain[0].field, &chain[0]))
                .or_else(|| {
                    group.iter().find_map(|chain| {
                        let mut all = Vec::new();
                        for term in chain {
                            all.extend(self.candidates(table, &term.field, term)?);
                        }
                        Some(all)
                    })
                });
            match (c, narrowed.as_mut()) {
                (Some(c), Some(all)) => all.extend(c),
                _ => narrowed = None,
            }
        }
        let rows: Vec<u32> = match narrowed {
            Some(mut c) => {
                c.sort_unstable();
                c.dedup();
                c
            }
            None => (0..t.rows.len() as u32).collect(),
        };
        let mut scratch = Vec::new();
        rows.into_iter()
            .filter(|&r| {
                groups.iter().any(|g| {
                    g.iter().all(|chain| {
                        chain
                            .iter()
                            .any(|term| self.term_matches(table, t, r as usize, term, &mut scratch))
                    })
                })
            })
            .collect()
    }

    /// A superset of the rows a `=`/`IN` term matches, through the indexes; `None` when the
    /// term cannot be narrowed that way.
    fn candidates(&self, table: &str, field: &str, term: &Term) -> Option<Vec<u32>> {
        let values: Vec<&str> = match term.op {
            Op::Eq => vec![term.value.as_str()],
            Op::In => term.list.iter().map(String::as_str).collect(),
            _ => return None,
        };
        if values.iter().any(|v| v.is_empty()) {
            return None;
        }
        let t = self.tables.get(table)?;
        if let Some((head, rest)) = field.split_once('.') {
            let target = reference_target(table, head)?;
            if !t.is_indexed(head) {
                return None;
            }
            let target_rows = self.candidates(target, rest, term)?;
            let tt = self.tables.get(target)?;
            let mut out = Vec::new();
            for r in target_rows {
                out.extend_from_slice(t.lookup(head, tt.cell(r as usize, SYS_ID_COL)));
            }
            return Some(out);
        }
        if table == "sys_user" && field == "roles" {
            let roles = self.tables.get("sys_user_role")?;
            let has = self.tables.get("sys_user_has_role")?;
            let mut out = Vec::new();
            for v in values {
                for &r in roles.lookup("name", v) {
                    for &h in has.lookup("role", roles.get(r as usize, "sys_id")) {
                        out.extend_from_slice(t.lookup("sys_id", has.get(h as usize, "user")));
                    }
                }
            }
            return Some(out);
        }
        if !t.is_indexed(field) {
            return None;
        }
        let mut out = Vec::new();
        for v in values {
            out.extend_from_slice(t.lookup(field, v));
        }
        Some(out)
    }

    fn term_matches<'a>(
        &'a self,
        table: &str,
        t: &'a Table,
        row: usize,
        term: &Term,
        scratch: &mut Vec<&'a str>,
    ) -> bool {
        scratch.clear();
        self.values(table, t, row, &term.field, scratch);
        op_matches(term, scratch)
    }

    /// The values of a field path for one row: one value, or a user's role names for the
    /// virtual `roles` field of `sys_user`.
    fn values<'a>(
        &'a self,
        table: &str,
        t: &'a Table,
        row: usize,
        path: &str,
        out: &mut Vec<&'a str>,
    ) {
        if let Some((head, rest)) = path.split_once('.') {
            let id = t.get(row, head);
            let target = reference_target(table, head).and_then(|target| {
                let tt = self.tables.get(target)?;
                Some((target, tt, tt.by_id(id)?))
            });
            match target {
                Some((target, tt, r)) if !id.is_empty() => self.values(target, tt, r, rest, out),
                _ => out.push(""),
            }
            return;
        }
        if table == "sys_user" && path == "roles" {
            self.role_names(t.get(row, "sys_id"), out);
            return;
        }
        out.push(t.get(row, path));
    }

    fn role_names<'a>(&'a self, user_id: &str, out: &mut Vec<&'a str>) {
        let (Some(has), Some(roles)) = (
            self.tables.get("sys_user_has_role"),
            self.tables.get("sys_user_role"),
        ) else {
            return;
        };
        for &h in has.lookup("user", user_id) {
            let role_id = has.get(h as usize, "role");
            if let Some(r) = roles.by_id(role_id) {
                out.push(roles.get(r, "name"));
            }
        }
    }

    /// The plan of a requested field on `table` (`t`): `None` when the platform drops it (an
    /// unknown field or dot-walk, as [`FakeState::known`] says).
    fn plan<'a>(&'a self, table: &'a str, t: &'a Table, name: &'a str) -> Option<FieldPlan<'a>> {
        let (mut table, mut t, mut path) = (table, t, name);
        let mut hops = Vec::new();
        while let Some((head, rest)) = path.split_once('.') {
            let c = t.col_of(head)?;
            let target = reference_target(table, head)?;
            let tt = self.tables.get(target)?;
            hops.push((c, tt));
            (table, t, path) = (target, tt, rest);
        }
        let leaf = match t.col_of(path) {
            Some(c) => Leaf::Col(c),
            None if table == "sys_user" && path == "roles" => Leaf::Roles,
            None => return None,
        };
        Some(FieldPlan {
            name,
            hops,
            leaf,
            target: reference_target(table, path),
        })
    }

    /// The value a plan reaches from `row` of `t`: "" when a reference on the way is empty or
    /// points to no row.
    fn walk<'a>(&'a self, plan: &FieldPlan<'a>, t: &'a Table, row: usize) -> Cow<'a, str> {
        let (mut t, mut row) = (t, row);
        for &(c, tt) in &plan.hops {
            let id = t.cell(row, c);
            match tt.by_id(id) {
                Some(r) if !id.is_empty() => (t, row) = (tt, r),
                _ => return Cow::Borrowed(""),
            }
        }
        match plan.leaf {
            Leaf::Col(c) => Cow::Borrowed(t.cell(row, c)),
            Leaf::Roles => {
                let mut names = Vec::new();
                self.role_names(t.cell(row, SYS_ID_COL), &mut names);
                Cow::Owned(names.join(","))
            }
        }
    }

    /// Writes one row as the Table API sends it: the known fields asked for (every column when
    /// none were), in name order (a JSON object's keys as serde_json orders them), each a string
    /// or, for a reference with links asked for, `{"link", "value"}`.
    fn render(
        &self,
        table: &str,
        t: &Table,
        row: usize,
        plans: &[FieldPlan<'_>],
        links: Option<&str>,
        out: &mut Vec<u8>,
    ) {
        let omitted = self
            .faults
            .omitted_fields
            .get(table)
            .and_then(|rows| rows.get(t.cell(row, SYS_ID_COL)));
        out.push(b'{');
        let mut first = true;
        for plan in plans {
            if omitted.is_some_and(|o| o.contains(plan.name)) {
                continue;
            }
            if !first {
                out.push(b',');
            }
            first = false;
            json_str(out, plan.name);
            out.push(b':');
            let value = self.walk(plan, t, row);
            match (plan.target, links) {
                (Some(target), Some(base)) if !value.is_empty() => {
                    out.extend_from_slice(b"{\"link\":");
                    json_str(out, &format!("{base}/api/now/table/{target}/{value}"));
                    out.extend_from_slice(b",\"value\":");
                    json_str(out, &value);
                    out.push(b'}');
                }
                _ => json_str(out, &value),
            }
        }
        out.push(b'}');
    }

    fn is_hidden(&self, table: &str, t: &Table, row: usize) -> bool {
        let id = t.get(row, "sys_id");
        if self
            .faults
            .hidden_ids
            .get(table)
            .is_some_and(|ids| ids.contains(id))
        {
            return true;
        }
        match self.faults.hidden_when.get(table) {
            Some(pred) => pred(&t.to_row(row)),
            None => false,
        }
    }

    // --- HTTP answers (called under the lock, never across an await).

    fn authorized(&mut self, headers: &HeaderMap) -> bool {
        if self.anonymous {
            return true;
        }
        let Some(value) = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
        else {
            return false;
        };
        let (scheme, credential) = value.split_once(' ').unwrap_or((value, ""));
        let credential = credential.trim();
        if scheme.eq_ignore_ascii_case("basic") {
            return self
                .basic_credentials
                .iter()
                .any(|(u, p)| base64(format!("{u}:{p}").as_bytes()) == credential);
        }
        if scheme.eq_ignore_ascii_case("bearer") {
            if self.bearer_tokens.iter().any(|t| t == credential) {
                return true;
            }
            let max_uses = self.faults.token_max_uses;
            if let Some(issued) = self.issued.get_mut(credential) {
                if Instant::now() >= issued.expires_at {
                    return false;
                }
                if max_uses.is_some_and(|max| issued.uses >= max) {
                    return false;
                }
                issued.uses += 1;
                return true;
            }
        }
        false
    }

    fn token(&mut self, body: &[u8]) -> Response {
        if let Some(status) = self.faults.token_status {
            return json_response(
                status,
                &[],
                json!({"error": "server_error", "error_description": "access_denied"}),
            );
        }
        let form: HashMap<String, String> = parse_form(&String::from_utf8_lossy(body))
            .into_iter()
            .collect();
        let field = |k: &str| form.get(k).map(String::as_str).unwrap_or("");
        let client_ok = self
            .oauth_clients
            .iter()
            .any(|(id, secret)| id == field("client_id") && secret == field("client_secret"));
        let ok = client_ok
            && match field("grant_type") {
                "password" => self
                    .basic_credentials
                    .iter()
                    .any(|(u, p)| u == field("username") && p == field("password")),
                "client_credentials" => self.client_credentials_grant,
                "refresh_token" => self.refresh_tokens.contains(field("refresh_token")),
                _ => false,
            };
        if !ok {
            return json_response(
                401,
                &[],
                json!({"error_description": "access_denied", "error": "server_error"}),
            );
        }
        let access = format!("fake-access-{}", self.new_sys_id());
        let refresh = format!("fake-refresh-{}", self.new_sys_id());
        self.issued.insert(
            access.clone(),
            Issued {
                expires_at: Instant::now() + Duration::from_secs(self.token_expires_in),
                uses: 0,
            },
        );
        self.refresh_tokens.insert(refresh.clone());
        json_response(
            200,
            &[],
            json!({
                "access_token": access,
                "refresh_token": refresh,
                "scope": "useraccount",
                "token_type": "Bearer",
                "expires_in": self.token_expires_in,
            }),
        )
    }

    /// The answer to one authenticated table request, and how many rows it carries.
    fn answer_table(
        &self,
        table: &str,
        path: &str,
        params: &[(String, String)],
        n: u64,
        base_url: &str,
    ) -> (Response, u64) {
        let mut rows = 0;
        let response = self.answer_table_rows(table, path, params, n, base_url, &mut rows);
        (response, rows)
    }

    fn answer_table_rows(
        &self,
        table: &str,
        path: &str,
        params: &[(String, String)],
        n: u64,
        base_url: &str,
        rows: &mut u64,
    ) -> Response {
        let faults = &self.faults;
        if n <= faults.rate_limit_first {
            let mut headers = vec![
                ("X-RateLimit-Limit", "100".to_string()),
                ("X-RateLimit-Rule", "fake-rate-limit-rule".to_string()),
            ];
            let wait = faults.retry_after.unwrap_or(1);
            headers.push(("X-RateLimit-Reset", (unix_now() + wait).to_string()));
            if let Some(after) = faults.retry_after {
                headers.push(("Retry-After", after.to_string()));
            }
            return error_response(
                429,
                &headers,
                "Rate limit exceeded",
                Some("Too many requests for the rate limit rule"),
            );
        }
        if faults.fail_every.is_some_and(|k| k > 0 && n % k == 0) {
            return error_response(503, &[], "Service Unavailable", None);
        }
        let requested = table;
        let (base, classes) = self.storage(requested);
        let table = base.as_str();
        let Some(t) = self.tables.get(table) else {
            return error_response(400, &[], &format!("Invalid table {requested}"), None);
        };
        if faults.forbidden_tables.contains(requested) {
            return error_response(
                403,
                &[],
                "Insufficient rights to query records",
                Some("Field(s) present in the query do not have permission to be read"),
            );
        }
        if faults.html_tables.contains(requested) {
            return html_response();
        }
        let param = |k: &str| {
            params
                .iter()
                .rev()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.as_str())
        };
        let query = param("sysparm_query").unwrap_or("");
        let limit = param("sysparm_limit")
            .and_then(|v| v.trim().parse::<usize>().ok())
            .filter(|&l| l > 0)
            .unwrap_or(10_000);
        let offset = param("sysparm_offset")
            .and_then(|v| v.trim().parse::<i64>().ok())
            .unwrap_or(0)
            .max(0) as usize;
        let fields: Option<Vec<String>> = match param("sysparm_fields") {
            Some(f) if !f.trim().is_empty() && !faults.send_all_fields => Some(
                f.split(',')
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty())
                    .collect(),
            ),
            _ => None,
        };
        let links = match param("sysparm_exclude_reference_link") {
            Some("true") => None,
            _ => Some(base_url),
        };
        let mut matched = self.evaluate(table, query);
        if let Some(classes) = &classes {
            matched.retain(|&r| classes.contains(t.get(r as usize, "sys_class_name")));
        }
        let total = matched.len();
        let names: Vec<&str> = match &fields {
            Some(f) => f.iter().map(String::as_str).collect(),
            None => t.columns.iter().map(String::as_str).collect(),
        };
        // Resolved once for the whole page; in key order, each key once, as a JSON object
        // (a map) would hold them.
        let mut plans: Vec<FieldPlan<'_>> = names
            .into_iter()
            .filter_map(|name| self.plan(table, t, name))
            .collect();
        plans.sort_by(|a, b| a.name.cmp(b.name));
        plans.dedup_by(|a, b| a.name == b.name);
        let (mut out, mut sent) = (Vec::with_capacity(64 * 1024), 0u64);
        out.extend_from_slice(b"{\"result\":[");
        for r in matched.iter().skip(offset).take(limit).map(|&r| r as usize) {
            if self.is_hidden(table, t, r) {
                continue;
            }
            if sent > 0 {
                out.push(b',');
            }
            self.render(table, t, r, &plans, links, &mut out);
            sent += 1;
        }
        out.extend_from_slice(b"]}");
        *rows = sent;
        let mut headers = vec![("X-Total-Count", total.to_string())];
        if total > 0 || faults.looping_link_tables.contains(requested) {
            let looping = faults.looping_link_tables.contains(requested);
            headers.push((
                "Link",
                link_header(base_url, path, params, limit, offset, total, looping),
            ));
        }
        let mut body = String::from_utf8(out).expect("rows of strings render as UTF-8");
        if n <= faults.truncate_first || faults.truncate_tables.contains(requested) {
            let mut cut = body.len() / 2;
            while !body.is_char_boundary(cut) {
                cut -= 1;
            }
            body.truncate(cut);
        }
        respond(200, &headers, "application/json;charset=UTF-8", body)
    }
}

/// A requested field resolved once per answer ([`FakeState::plan`]).
struct FieldPlan<'a> {
    /// The field as asked for (the key in the answer).
    name: &'a str,
    /// The references walked: a column of the table reached so far, and the table it points to.
    hops: Vec<(usize, &'a Table)>,
    leaf: Leaf,
    /// The table the value at the end points to, when it is a reference (for its link).
    target: Option<&'static str>,
}

/// The value at the end of a field path.
enum Leaf {
    Col(usize),
    /// `sys_user`'s virtual `roles`: the user's role names.
    Roles,
}

/// A JSON string, escaped exactly as serde_json escapes it.
fn json_str(out: &mut Vec<u8>, s: &str) {
    serde_json::to_writer(&mut *out, s).expect("writing to memory does not fail");
}

// --- Query terms.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    In,
    NotIn,
    Like,
    NotLike,
    StartsWith,
    EndsWith,
    IsEmpty,
    IsNotEmpty,
    Lt,
    Le,
    Gt,
    Ge,
    /// `MATCH_RGX`: the whole value matches a pattern (literals, `.`, `.*`, `\\.`).
    MatchRgx,
}

/// Longest names first, so `NOT IN` wins over `IN` and `<=` over `<`.
const OPERATORS: &[(&str, Op)] = &[
    ("ISNOTEMPTY", Op::IsNotEmpty),
    ("MATCH_RGX", Op::MatchRgx),
    ("STARTSWITH", Op::StartsWith),
    ("NOT LIKE", Op::NotLike),
    ("ENDSWITH", Op::EndsWith),
    ("ISEMPTY", Op::IsEmpty),
    ("NOT IN", Op::NotIn),
    ("LIKE", Op::Like),
    ("!=", Op::Ne),
    ("<=", Op::Le),
    (">=", Op::Ge),
    ("IN", Op::In),
    ("=", Op::Eq),
    ("<", Op::Lt),
    (">", Op::Gt),
];

struct Term {
    field: String,
    op: Op,
    value: String,
    /// The values of an `IN` / `NOT IN` list.
    list: HashSet<String>,
}

fn is_field_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'.'
}

/// `field OP value`, the operator being the first one found after a field name.
fn parse_term(s: &str) -> Option<Term> {
    let bytes = s.as_bytes();
    for i in 1..=bytes.len() {
        if !is_field_char(bytes[i - 1]) {
            return None;
        }
        let rest = &s[i..];
        for (name, op) in OPERATORS {
            if let Some(value) = rest.strip_prefix(name) {
                let list = match op {
                    Op::In | Op::NotIn => value.split(',').map(str::to_string).collect(),
                    _ => HashSet::new(),
                };
                return Some(Term {
                    field: s[..i].to_string(),
                    op: *op,
                    value: value.to_string(),
                    list,
                });
            }
        }
    }
    None
}

fn compare(a: &str, b: &str) -> CmpOrdering {
    match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(CmpOrdering::Equal),
        _ => a.cmp(b),
    }
}

fn op_matches(term: &Term, values: &[&str]) -> bool {
    let v = term.value.as_str();
    let cmp =
        |ok: fn(CmpOrdering) -> bool| values.iter().any(|x| !x.is_empty() && ok(compare(x, v)));
    match term.op {
        Op::Eq => values.contains(&v),
        Op::Ne => values.iter().all(|x| *x != v),
        Op::In => values.iter().any(|x| term.list.contains(*x)),
        Op::NotIn => values.iter().all(|x| !term.list.contains(*x)),
        Op::Like => values.iter().any(|x| x.contains(v)),
        Op::NotLike => values.iter().all(|x| !x.contains(v)),
        Op::StartsWith => values.iter().any(|x| x.starts_with(v)),
        Op::EndsWith => values.iter().any(|x| x.ends_with(v)),
        Op::IsEmpty => values.iter().all(|x| x.is_empty()),
        Op::IsNotEmpty => values.iter().any(|x| !x.is_empty()),
        Op::Lt => cmp(|o| o == CmpOrdering::Less),
        Op::Le => cmp(|o| o != CmpOrdering::Greater),
        Op::Gt => cmp(|o| o == CmpOrdering::Greater),
        Op::Ge => cmp(|o| o != CmpOrdering::Less),
        Op::MatchRgx => values
            .iter()
            .any(|x| regex_matches(v.as_bytes(), x.as_bytes())),
    }
}

/// A whole-value match of the small pattern language `MATCH_RGX` terms use here: literal
/// characters, `.` (any one), `X*` (any number of X) and `\\` escapes.
fn regex_matches(pattern: &[u8], text: &[u8]) -> bool {
    let (atom, rest): (Option<u8>, &[u8]) = match pattern {
        [] => return text.is_empty(),
        [b'\\', c, rest @ ..] => (Some(*c), rest),
        [b'.', rest @ ..] => (None, rest),
        [c, rest @ ..] => (Some(*c), rest),
    };
    let one = |t: &[u8]| t.first().is_some_and(|c| atom.is_none_or(|a| a == *c));
    if let [b'*', rest @ ..] = rest {
        let mut t = text;
        loop {
            if regex_matches(rest, t) {
                return true;
            }
            if !one(t) {
                return false;
            }
            t = &t[1..];
        }
    }
    one(text) && regex_matches(rest, &text[1..])
}

/// An unload document: its `unload_date` and its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unload {
    pub date: String,
    pub records: Vec<UnloadRecord>,
}

/// One record of an unload document: its table (the element name), its `action`, and its
/// fields in document order (an empty element is an empty value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnloadRecord {
    pub table: String,
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl UnloadRecord {
    /// The value of `field` ("" when the record does not carry it).
    pub fn get(&self, field: &str) -> &str {
        self.fields
            .iter()
            .find(|(k, _)| k == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }
}

/// Parses an unload document (`<unload unload_date="…">` holding record elements, each holding
/// one element per field) with quick-xml, unescaping every value; an ill-formed document, or
/// one shaped otherwise, is an error.
pub fn parse_unload(xml: &str) -> Result<Unload, String> {
    use quick_xml::events::{BytesStart, Event};
    let mut reader = quick_xml::Reader::from_str(xml);
    let name = |e: &BytesStart| String::from_utf8_lossy(e.name().as_ref()).to_string();
    let attr = |e: &BytesStart, key: &str| -> Result<String, String> {
        match e.try_get_attribute(key).map_err(|e| e.to_string())? {
            Some(a) => Ok(a.unescape_value().map_err(|e| e.to_string())?.to_string()),
            None => Ok(String::new()),
        }
    };
    let mut doc = Unload {
        date: String::new(),
        records: Vec::new(),
    };
    let (mut depth, mut root) = (0, false);
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("ill-formed XML: {e}"))?;
        let record = doc.records.last_mut();
        match (event, depth, record) {
            (Event::Start(e), 0, _) if e.name().as_ref() == b"unload" => {
                doc.date = attr(&e, "unload_date")?;
                (depth, root) = (1, true);
            }
            (Event::Start(e), 1, _) => {
                doc.records.push(UnloadRecord {
                    table: name(&e),
                    action: attr(&e, "action")?,
                    fields: Vec::new(),
                });
                depth = 2;
            }
            (Event::Start(e), 2, Some(r)) => {
                r.fields.push((name(&e), String::new()));
                depth = 3;
            }
            (Event::Empty(e), 2, Some(r)) => r.fields.push((name(&e), String::new())),
            (Event::Text(t), 3, Some(r)) => {
                let text = t.unescape().map_err(|e| e.to_string())?;
                if let Some((_, v)) = r.fields.last_mut() {
                    v.push_str(&text);
                }
            }
            (Event::End(_), d, _) if d > 0 => depth -= 1,
            (Event::Eof, 0, _) if root => break,
            (Event::Eof, _, _) => return Err("the document ends before </unload>".into()),
            (Event::Start(e) | Event::Empty(e), _, _) => {
                return Err(format!("unexpected element <{}>", name(&e)))
            }
            _ => {}
        }
    }
    Ok(doc)
}

// --- Small helpers: no dependency beyond axum, tokio and serde_json.

fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

fn merge(base: &mut Value, extra: Value) {
    if let (Value::Object(b), Value::Object(e)) = (base, extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

/// Now as the Table API writes times: `YYYY-MM-DD HH:MM:SS`, UTC.
fn utc_now_text() -> String {
    chrono::Utc::now().format("%Y-%m-%d %H:%M:%S").to_string()
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn base64(input: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(input.len().div_ceil(3) * 4);
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// `application/x-www-form-urlencoded` pairs, in order.
fn parse_form(s: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s.as_bytes())
        .into_owned()
        .collect()
}

fn link_header(
    base_url: &str,
    path: &str,
    params: &[(String, String)],
    limit: usize,
    offset: usize,
    total: usize,
    looping: bool,
) -> String {
    let url = |off: usize| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.extend_pairs(
            params
                .iter()
                .filter(|(k, _)| k != "sysparm_offset" && k != "sysparm_limit"),
        );
        q.append_pair("sysparm_limit", &limit.to_string());
        q.append_pair("sysparm_offset", &off.to_string());
        format!("<{base_url}{path}?{}>", q.finish())
    };
    let mut parts = vec![format!("{};rel=\"first\"", url(0))];
    if offset > 0 {
        parts.push(format!(
            "{};rel=\"prev\"",
            url(offset.saturating_sub(limit))
        ));
    }
    let next = if looping {
        Some(if offset == 0 { limit } else { 0 })
    } else {
        (offset + limit < total).then_some(offset + limit)
    };
    if let Some(next) = next {
        parts.push(format!("{};rel=\"next\"", url(next)));
    }
    let last = if total == 0 {
        0
    } else {
        (total - 1) / limit * limit
    };
    parts.push(format!("{};rel=\"last\"", url(last)));
    parts.join(",")
}

fn respond(status: u16, headers: &[(&str, String)], content_type: &str, body: String) -> Response {
    let mut builder = Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, content_type);
    for (k, v) in headers {
        builder = builder.header(*k, v.as_str());
    }
    builder
        .body(Body::from(body))
        .expect("a fake response with valid headers")
}

fn json_response(status: u16, headers: &[(&str, String)], body: Value) -> Response {
    respond(
        status,
        headers,
        "application/json;charset=UTF-8",
        body.to_string(),
    )
}

/// The ServiceNow error body.
fn error_response(
    status: u16,
    headers: &[(&str, String)],
    message: &str,
    detail: Option<&str>,
) -> Response {
    json_response(
        status,
        headers,
        json!({"error": {"message": message, "detail": detail}, "status": "failure"}),
    )
}

fn unauthorized() -> Response {
    error_response(
        401,
        &[(
            "WWW-Authenticate",
            "Basic realm=\"Service-now\"".to_string(),
        )],
        "User Not Authenticated",
        Some("Required to provide Auth information"),
    )
}

fn html_response() -> Response {
    respond(
        200,
        &[],
        "text/html;charset=UTF-8",
        "<!DOCTYPE html><html><head><title>Instance Hibernating page</title></head><body>\
         <p>Your instance is hibernating. Sign in to the developer portal to wake it up.</p>\
         </body></html>"
            .to_string(),
    )
}

// --- The server.

struct Shared {
    url: String,
    state: Mutex<FakeState>,
    log: Mutex<Vec<RecordedRequest>>,
    table_requests: AtomicU64,
    /// Rows sent in table answers, since the start or the last [`FakeInstance::clear_requests`].
    rows_sent: AtomicU64,
    /// Response body bytes sent (every answer), likewise.
    bytes_sent: AtomicU64,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
    fn log(&self) -> MutexGuard<'_, Vec<RecordedRequest>> {
        self.log.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What happens to a table request before the table is read.
enum Gate {
    Respond(Response),
    Go { n: u64, hang: Option<Duration> },
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let response = answer(&shared, method, uri, headers, body).await;
    let bytes = response.body().size_hint().exact().unwrap_or(0);
    shared.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
    response
}

async fn answer(
    shared: &Arc<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_string();
    let params = parse_form(uri.query().unwrap_or(""));
    shared.log().push(RecordedRequest {
        method: method.to_string(),
        path: path.clone(),
        query: params.iter().cloned().collect(),
        authorization_present: headers.contains_key(header::AUTHORIZATION),
    });
    let latency = shared.state().faults.latency;
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    if path == "/oauth_token.do" {
        if method != Method::POST {
            return error_response(405, &[], "Method not Supported", None);
        }
        return shared.state().token(&body);
    }
    let table = path
        .strip_prefix("/api/now/v2/table/")
        .or_else(|| path.strip_prefix("/api/now/table/"))
        .filter(|t| !t.is_empty() && !t.contains('/'))
        .map(str::to_string);
    let Some(table) = table else {
        return error_response(
            404,
            &[],
            "Requested URI does not represent any resource",
            None,
        );
    };
    if method != Method::GET {
        return error_response(405, &[], "Method not Supported", None);
    }
    let gate = {
        let mut state = shared.state();
        if let Some(target) = &state.faults.redirect_to {
            let location = match uri.query() {
                Some(q) => format!("{target}{path}?{q}"),
                None => format!("{target}{path}"),
            };
            Gate::Respond(respond(
                302,
                &[("Location", location)],
                "text/html;charset=UTF-8",
                String::new(),
            ))
        } else if state.faults.html_everything {
            Gate::Respond(html_response())
        } else if !state.authorized(&headers) {
            Gate::Respond(unauthorized())
        } else {
            let n = shared.table_requests.fetch_add(1, Ordering::SeqCst) + 1;
            let hang = (n <= state.faults.hang_first).then_some(state.faults.hang_for);
            Gate::Go { n, hang }
        }
    };
    match gate {
        Gate::Respond(r) => r,
        Gate::Go { n, hang } => {
            if let Some(d) = hang {
                tokio::time::sleep(d).await;
            }
            let (response, rows) =
                shared
                    .state()
                    .answer_table(&table, &path, &params, n, &shared.url);
            shared.rows_sent.fetch_add(rows, Ordering::Relaxed);
            response
        }
    }
}

/// A running fake instance; stops when dropped.
pub struct FakeInstance {
    shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl FakeInstance {
    /// Serves `state` on 127.0.0.1 (a free port) from a thread of its own.
    pub fn start(state: FakeState) -> FakeInstance {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("fake-servicenow".to_string())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("the fake instance's runtime");
                rt.block_on(async move {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                        .await
                        .expect("a free port on 127.0.0.1");
                    let addr = listener.local_addr().expect("the bound address");
                    let shared = Arc::new(Shared {
                        url: format!("http://{addr}"),
                        state: Mutex::new(state),
                        log: Mutex::new(Vec::new()),
                        table_requests: AtomicU64::new(0),
                        rows_sent: AtomicU64::new(0),
                        bytes_sent: AtomicU64::new(0),
                    });
                    let app = Router::new().fallback(handle).with_state(shared.clone());
                    if tx.send(shared).is_err() {
                        return;
                    }
                    tokio::select! {
                        _ = axum::serve(listener, app) => {}
                        _ = stop_rx => {}
                    }
                });
                rt.shutdown_background();
            })
            .expect("the fake instance's thread");
        let shared = rx.recv().expect("the fake instance started");
        FakeInstance {
            shared,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub fn url(&self) -> String {
        self.shared.url.clone()
    }

    /// Every request received so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.log().clone()
    }

    /// Forgets the recorded requests and zeroes the rows and bytes sent (the fault counters
    /// keep counting).
    pub fn clear_requests(&self) {
        self.shared.log().clear();
        self.shared.rows_sent.store(0, Ordering::Relaxed);
        self.shared.bytes_sent.store(0, Ordering::Relaxed);
    }

    /// Rows sent in table answers so far (since the last [`FakeInstance::clear_requests`]).
    pub fn rows_sent(&self) -> u64 {
        self.shared.rows_sent.load(Ordering::Relaxed)
    }

    /// Response body bytes sent so far, every answer included (since the last
    /// [`FakeInstance::clear_requests`]).
    pub fn bytes_sent(&self) -> u64 {
        self.shared.bytes_sent.load(Ordering::Relaxed)
    }

    /// Changes the state (rows, credentials, faults) of the running instance.
    pub fn update<R>(&self, f: impl FnOnce(&mut FakeState) -> R) -> R {
        f(&mut self.shared.state())
    }

    /// Reads the state of the running instance.
    pub fn inspect<R>(&self, f: impl FnOnce(&FakeState) -> R) -> R {
        f(&self.shared.state())
    }
}

impl Drop for FakeInstance {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The MID Server tables beyond logins: clusters, issues and certificate rows.
impl FakeState {
    /// A MID Server cluster (`type` `Failover` or `Load Balance`) of `members` (ecc_agent
    /// sys_ids); returns its sys_id.
    pub fn add_cluster(&mut self, name: &str, kind: &str, members: &[&str]) -> String {
        let cluster = self.insert("ecc_agent_cluster", json!({ "name": name, "type": kind }));
        for (i, agent) in members.iter().enumerate() {
            self.insert(
                "ecc_agent_cluster_member_m2m",
                json!({ "cluster": cluster, "agent": agent, "order": (i * 100).to_string() }),
            );
        }
        cluster
    }

    /// An `ecc_agent_issue` of a MID Server in `state` (`new`, `acknowledged`, `resolved`);
    /// returns its sys_id.
    pub fn add_agent_issue(&mut self, agent: &str, source: &str, state: &str) -> String {
        self.insert(
            "ecc_agent_issue",
            json!({
                "mid_server": agent,
                "source": source,
                "message": format!("{source} reported a problem"),
                "last_detected": "2026-11-20 08:00:00",
                "count": "1",
                "state": state,
            }),
        )
    }

    /// A `sys_user_certificate` row mapping a client certificate to `user` (a sys_id), with a
    /// certificate body and fingerprint that must never be read; returns its sys_id.
    pub fn add_user_certificate(
        &mut self,
        user: &str,
        name: &str,
        active: bool,
        expires: &str,
    ) -> String {
        self.insert(
            "sys_user_certificate",
            json!({
                "user": user,
                "name": name,
                "active": active.to_string(),
                "expires": expires,
                "format": "pem",
                "type": "client",
                "sha256_fingerprint": FAKE_CERT_FINGERPRINT,
                "pem_certificate": FAKE_CERT_PEM,
            }),
        )
    }
}

/// The fingerprint every certificate row of the fake carries: it must reach no output.
pub const FAKE_CERT_FINGERPRINT: &str = "5e:c2:e7:f1:9a:0b:fa:ce:fe:ed:ca:fe:d0:0d:be:ef";
/// The certificate body every certificate row of the fake carries: it must reach no output.
pub const FAKE_CERT_PEM: &str =
    "-----BEGIN CERTIFICATE-----MIIFAKEcertBODYneverREAD0451-----END CERTIFICATE-----";
