//! The source's read for production exposure: which of its MID Servers look like a target's,
//! and the credentials whose MID Server list names them (optional evidence). It goes out beside
//! the source's other reads nothing depends on, once every target's wave 1 has named its MID
//! Servers.

use super::reader::{Got, Reader};
use super::rows::de;
use super::trace::Step;
use super::waves::Wave1;
use crate::evidence::{list_values, Credential, Fact, MidConfig, MidServer};
use crate::query::{self, MAX_QUERY_BYTES};
use crate::tables::DISCOVERY_CREDENTIALS;
use futures::future::join_all;
use serde::Deserialize;
use std::collections::BTreeSet;

/// Names, hosts and logins of a MID Server, compared case-insensitively: its name, host, the
/// user it logged in as, and the users configured for it (a config row naming no MID Server
/// applies to all).
fn marks<'a>(m: &'a MidServer, configs: &'a [MidConfig]) -> impl Iterator<Item = String> + 'a {
    let configured = configs
        .iter()
        .filter(|c| c.ecc_agent == m.sys_id || c.ecc_agent.is_empty())
        .map(|c| c.value.as_str());
    [m.name.as_str(), &m.host_name, &m.user_name]
        .into_iter()
        .chain(configured)
        .map(|s| s.trim().to_lowercase())
        .filter(|s| !s.is_empty())
}

pub(super) fn servers(w: &Wave1) -> (&[MidServer], &[MidConfig]) {
    let agents = w.agents.get().map(Vec::as_slice).unwrap_or_default();
    let configs = w.configs.get().map(Vec::as_slice).unwrap_or_default();
    (agents, configs)
}

/// The source's MID Servers one of whose names, hosts or logins is a name, host or login of a
/// target's MID Server: a superset of those `prod-nonprod-mid-server` names (it compares like
/// with like, on non-production targets), so the credentials read cover each of them.
pub(super) fn suspects<'a>(
    source: &Wave1,
    targets: impl IntoIterator<Item = (&'a [MidServer], &'a [MidConfig])>,
) -> BTreeSet<String> {
    let theirs: BTreeSet<String> = targets
        .into_iter()
        .flat_map(|(agents, configs)| agents.iter().flat_map(move |m| marks(m, configs)))
        .collect();
    let (agents, configs) = servers(source);
    agents
        .iter()
        .filter(|m| query::is_sys_id(&m.sys_id))
        .filter(|m| marks(m, configs).any(|k| theirs.contains(&k)))
        .map(|m| m.sys_id.clone())
        .collect()
}

/// `discovery_credentials`: never a secret field.
#[derive(Deserialize)]
struct CredentialRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(rename = "type", default, deserialize_with = "de::text")]
    kind: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "de::text")]
    mid_list: String,
}

impl From<CredentialRow> for Credential {
    fn from(r: CredentialRow) -> Self {
        Credential {
            sys_id: r.sys_id,
            name: r.name,
            kind: r.kind,
            active: r.active,
            mid_list: list_values(&r.mid_list),
        }
    }
}

/// `<field>LIKE<value>` for each value, joined with `^OR` into as few queries as `budget`
/// bytes (URL-encoded) allow: a glide list field holds a value when it is LIKE it.
fn like_chunks(field: &str, values: &BTreeSet<String>, budget: usize) -> Vec<String> {
    let term = |v: &str| format!("{field}LIKE{v}");
    let or_len = query::encoded_len("^OR");
    let mut out = Vec::new();
    let (mut current, mut len) = (String::new(), 0);
    for v in values {
        let t = term(v);
        let t_len = query::encoded_len(&t);
        if !current.is_empty() && len + or_len + t_len > budget {
            out.push(std::mem::take(&mut current));
            len = 0;
        }
        if !current.is_empty() {
            current.push_str("^OR");
            len += or_len;
        }
        current.push_str(&t);
        len += t_len;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Production's credentials whose `mid_list` names one of `suspects`; `None` (nothing read)
/// when there is none.
pub(super) async fn credentials(
    inst: &Reader,
    suspects: &BTreeSet<String>,
    after: Step,
) -> Option<Fact<Vec<Credential>>> {
    if suspects.is_empty() {
        return None;
    }
    let chunks = like_chunks("mid_list", suspects, MAX_QUERY_BYTES);
    let reads = join_all(
        chunks
            .into_iter()
            .map(|q| inst.read::<CredentialRow>(&DISCOVERY_CREDENTIALS, q, after)),
    )
    .await;
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for Got(read, _) in reads {
        match read {
            Ok(rows) => out.extend(
                rows.into_iter()
                    .filter(|r| r.sys_id.is_empty() || seen.insert(r.sys_id.clone()))
                    .map(Credential::from),
            ),
            Err(e) => return Some(Fact::error(&e.table, e.reason)),
        }
    }
    Some(Fact::ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_terms_are_ored_into_chunks_within_the_budget() {
        let values: BTreeSet<String> = (0..300).map(|n| format!("{n:032x}")).collect();
        let chunks = like_chunks("mid_list", &values, 2000);
        assert!(chunks.len() > 1);
        let mut found = 0;
        for c in &chunks {
            assert!(query::encoded_len(c) <= 2000, "{c}");
            for t in c.split("^OR") {
                assert!(t.starts_with("mid_listLIKE"), "{t}");
                found += 1;
            }
        }
        assert_eq!(found, values.len());
        assert!(like_chunks("mid_list", &BTreeSet::new(), 2000).is_empty());
    }
}
