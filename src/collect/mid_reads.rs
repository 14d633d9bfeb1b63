//! The reads about MID Servers beyond their logins: their clusters and open issues (beside
//! wave 1 on a target, queued behind wave 2 on the source, as nothing waits for them), the
//! versions some are pinned to (split from the configured users' read), the certificate rows of
//! the users of MID Servers that log in with a client certificate (wave 2, by login, beside the
//! users), and on a target the preservers on the cluster and certificate tables evaluated for
//! those rows (beside wave 2 and wave 3).

use super::preserver_eval::by_sys_id;
use super::reader::{Got, Reader};
use super::rows::{de, Keyed, MidConfigRow};
use super::trace::Step;
use super::{fact, fact_of, Read};
use crate::evidence::*;
use crate::query;
use crate::simulate::login_key;
use crate::tables::*;
use futures::future::join_all;
use serde::Deserialize;
use std::collections::BTreeSet;

/// `ecc_agent_cluster`.
#[derive(Deserialize)]
struct ClusterRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(rename = "type", default, deserialize_with = "de::text")]
    cluster_type: String,
}

impl From<ClusterRow> for Cluster {
    fn from(r: ClusterRow) -> Self {
        Cluster {
            sys_id: r.sys_id,
            name: r.name,
            cluster_type: r.cluster_type,
        }
    }
}

/// `ecc_agent_cluster_member_m2m`.
#[derive(Deserialize)]
struct MemberRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    cluster: String,
    #[serde(default, deserialize_with = "de::text")]
    agent: String,
}

impl From<MemberRow> for ClusterMember {
    fn from(r: MemberRow) -> Self {
        ClusterMember {
            sys_id: r.sys_id,
            cluster: r.cluster,
            agent: r.agent,
        }
    }
}

/// `ecc_agent_issue`.
#[derive(Deserialize)]
struct IssueRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    mid_server: String,
    #[serde(default, deserialize_with = "de::text")]
    source: String,
    #[serde(default, deserialize_with = "de::text")]
    state: String,
    #[serde(default, deserialize_with = "de::text")]
    last_detected: String,
    #[serde(default, deserialize_with = "de::text")]
    message: String,
}

impl From<IssueRow> for AgentIssue {
    fn from(r: IssueRow) -> Self {
        AgentIssue {
            sys_id: r.sys_id,
            mid_server: r.mid_server,
            source: r.source,
            state: r.state,
            last_detected: r.last_detected,
            message: r.message,
        }
    }
}

/// `sys_user_certificate`, with its user's login.
#[derive(Clone, Deserialize)]
pub(super) struct CertRow {
    #[serde(default, deserialize_with = "de::text")]
    pub(super) sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    user: String,
    #[serde(rename = "user.user_name", default, deserialize_with = "de::text")]
    user_name: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "de::text")]
    expires: String,
}

impl Keyed for CertRow {
    fn sys_id(&self) -> &str {
        &self.sys_id
    }
}

impl From<CertRow> for UserCertificate {
    fn from(r: CertRow) -> Self {
        UserCertificate {
            sys_id: r.sys_id,
            user: r.user,
            user_name: r.user_name,
            name: r.name,
            active: r.active,
            expires: r.expires,
        }
    }
}

/// Clusters, their members and the open issues of one instance.
pub(super) struct MidExtras {
    pub(super) clusters: Fact<Vec<Cluster>>,
    pub(super) members: Fact<Vec<ClusterMember>>,
    pub(super) issues: Fact<Vec<AgentIssue>>,
}

/// The sys_ids of the clusters read (none when they could not be read).
pub(super) fn cluster_ids(clusters: &Fact<Vec<Cluster>>) -> BTreeSet<String> {
    clusters
        .get()
        .map(|c| {
            c.iter()
                .map(|c| c.sys_id.clone())
                .filter(|id| query::is_sys_id(id))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads the clusters (a target evaluates the cluster preservers on them as soon as they are
/// in): one request.
pub(super) async fn clusters(inst: &Reader, after: Step) -> Got<Fact<Vec<Cluster>>> {
    let Got(clusters, step) = inst.initial::<ClusterRow>(&ECC_AGENT_CLUSTER, after).await;
    Got(fact_of(clusters), step)
}

/// Reads the clusters' members and the open issues: one request each; with `clusters`, the
/// MID Servers' extras.
pub(super) async fn mid_extras(
    inst: &Reader,
    clusters: impl std::future::Future<Output = Fact<Vec<Cluster>>>,
    after: Step,
) -> MidExtras {
    let (clusters, Got(members, _), Got(issues, _)) = futures::join!(
        clusters,
        inst.initial::<MemberRow>(&ECC_AGENT_CLUSTER_MEMBER, after),
        inst.initial::<IssueRow>(&ECC_AGENT_ISSUE, after),
    );
    MidExtras {
        clusters,
        members: fact_of(members),
        issues: fact_of(issues),
    }
}

/// The one `ecc_agent_config` read split into the configured users (`mid.instance.username`)
/// and the pinned versions (`mid.pinned.version`). A row whose `param_name` did not come back
/// could be either: both are then unreadable, never a login guessed from a version.
pub(super) fn split_configs(rows: Read<MidConfigRow>) -> (Fact<Vec<MidConfig>>, Fact<Vec<MidPin>>) {
    let rows = match rows {
        Ok(rows) => rows,
        Err(e) => return (fact(Err(e.clone())), fact(Err(e))),
    };
    if let Some(r) = rows.iter().find(|r| r.param_name.is_empty()) {
        let why = format!(
            "param_name of the row {} was not returned, so whether it is a configured user or a pinned version is unknown",
            r.sys_id
        );
        return (
            Fact::error(ECC_AGENT_CONFIG.name, why.clone()),
            Fact::error(ECC_AGENT_CONFIG.name, why),
        );
    }
    let (pins, users): (Vec<MidConfigRow>, Vec<MidConfigRow>) = rows
        .into_iter()
        .partition(|r| r.param_name == "mid.pinned.version");
    let users = users
        .into_iter()
        .filter(|r| r.param_name == "mid.instance.username");
    (
        Fact::ok(users.map(MidConfig::from).collect()),
        Fact::ok(pins.into_iter().map(MidPin::from).collect()),
    )
}

/// The logins of the MID Servers that log in, or may log in, with a client certificate
/// (`is_using_mutual_auth` true or not returned): their logged-in users and the users
/// configured for them (or for every MID Server).
pub(super) fn cert_logins(
    agents: &Fact<Vec<MidServer>>,
    configs: &Fact<Vec<MidConfig>>,
) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let Some(agents) = agents.get() else {
        return out;
    };
    let configs = configs.get().map(Vec::as_slice).unwrap_or_default();
    for m in agents
        .iter()
        .filter(|m| m.is_using_mutual_auth != Some(false))
    {
        out.insert(m.user_name.clone());
        out.extend(
            configs
                .iter()
                .filter(|c| c.ecc_agent == m.sys_id || c.ecc_agent.is_empty())
                .map(|c| c.value.clone()),
        );
    }
    out.retain(|n| !n.trim().is_empty());
    // One spelling per login: the instance matches user_name whatever its case.
    let mut seen = BTreeSet::new();
    out.retain(|n| seen.insert(login_key(n)));
    out
}

/// The certificate rows of the users with these logins (`user.user_nameIN`, chunked), none
/// asked when there are none.
pub(super) async fn certificates(
    inst: &Reader,
    logins: &BTreeSet<String>,
    after: Step,
) -> Got<Read<CertRow>> {
    let none = BTreeSet::new();
    inst.read_by_users(
        &SYS_USER_CERTIFICATE,
        "user",
        "user.user_name",
        &none,
        logins,
        after,
    )
    .await
}

/// On a target: the preservers on `t` (one of [`MID_LEVEL`]) evaluated for its MID-related rows
/// `ids` (see [`by_sys_id`]), with the whole table's matches. Nothing is asked when the target
/// has no such rows: no preserver on the table can keep anything it needs. Nor when `ids` are
/// every row of the table (`read_whole`, the clusters) and a preserver's condition is empty:
/// "an empty condition keeps every target row of the table" (SERVICENOW.md, "Clone data
/// preservers and exclusions", KB0717012), so it matches them all.
pub(super) async fn mid_level_evals(
    inst: &Reader,
    preservers: &[Preserver],
    t: &Table,
    ids: &BTreeSet<String>,
    read_whole: bool,
    after: Step,
) -> Vec<PreserverEval> {
    if ids.is_empty() {
        return Vec::new();
    }
    let jobs = preservers
        .iter()
        .filter(|p| p.table == t.name)
        .map(|p| async move {
            if read_whole && query::strip_eq(&p.condition).is_empty() {
                return PreserverEval {
                    preserver: p.sys_id.clone(),
                    table: p.table.clone(),
                    matched: Fact::ok(ids.iter().cloned().collect()),
                    table_matches: Fact::ok(ids.len() as u64),
                    mid_related_rows: ids.len() as u64,
                };
            }
            by_sys_id(inst, t, p, ids, after).await
        });
    join_all(jobs).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::Row;
    use crate::collect::rows::parse;

    fn config(fields: &[(&str, &str)]) -> MidConfigRow {
        let row: Row = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        parse(row).expect("parses")
    }

    #[test]
    fn the_config_read_splits_into_logins_and_pins_and_never_guesses() {
        let rows = vec![
            config(&[
                ("sys_id", "c1"),
                ("ecc_agent", "a1"),
                ("param_name", "mid.instance.username"),
                ("value", "mid.dev"),
            ]),
            config(&[
                ("sys_id", "c2"),
                ("ecc_agent", "a1"),
                ("param_name", "mid.pinned.version"),
                ("value", "xanadu"),
            ]),
        ];
        let (users, pins) = split_configs(Ok(rows));
        let users = users.get().cloned().unwrap_or_default();
        assert_eq!(
            users.iter().map(|c| c.value.as_str()).collect::<Vec<_>>(),
            ["mid.dev"]
        );
        let pins = pins.get().cloned().unwrap_or_default();
        assert_eq!(
            pins.iter().map(|p| p.value.as_str()).collect::<Vec<_>>(),
            ["xanadu"]
        );
        // A row whose param_name did not come back: neither a login nor a pin.
        let rows = vec![config(&[("sys_id", "c3"), ("value", "xanadu")])];
        let (users, pins) = split_configs(Ok(rows));
        assert!(users
            .err()
            .is_some_and(|(t, r)| t == "ecc_agent_config" && r.contains("c3")));
        assert!(pins.err().is_some());
    }

    #[test]
    fn certificate_logins_are_those_of_mid_servers_that_may_use_mutual_auth() {
        let server = |id: &str, user: &str, mutual: Option<bool>| MidServer {
            sys_id: id.into(),
            name: id.into(),
            status: "Up".into(),
            validated: Some(true),
            user_name: user.into(),
            host_name: String::new(),
            version: String::new(),
            last_refreshed: String::new(),
            is_using_mutual_auth: mutual,
        };
        let agents = Fact::ok(vec![
            server("a1", "mid.cert", Some(true)),
            server("a2", "mid.pw", Some(false)),
            server("a3", "MID.Maybe", None),
            server("a4", "mid.maybe", None),
        ]);
        let configs = Fact::ok(vec![MidConfig {
            sys_id: "c1".into(),
            ecc_agent: "a1".into(),
            value: "mid.configured".into(),
        }]);
        let logins: Vec<String> = cert_logins(&agents, &configs).into_iter().collect();
        assert_eq!(logins, ["MID.Maybe", "mid.cert", "mid.configured"]);
        assert!(cert_logins(&Fact::error("ecc_agent", "403"), &configs).is_empty());
    }
}
