//! Is production exposed through its MID Servers? A MID Server registered in production that is
//! a non-production target's (its login, name or host), and the property that counts every MID
//! Server as validated. Instance = the source, when it is production.

use super::exposure::is_production;
use super::facts::mid_server_logins;
use super::{instance_subject, table_subject, CheckId, Ctx, Ev, Judge};
use crate::evidence::{parse_bool, Credential, Fact, InstanceEvidence, MidServer, Unreadable};
use crate::finding::{CheckResult, Subject};
use crate::simulate::login_key;
use std::collections::{BTreeMap, BTreeSet};

const OVERRIDE: &str = "glide.ecc_agent.validated.override";

pub(super) fn judge(ctx: &Ctx, out: &mut Vec<CheckResult>) {
    let Some(source) = ctx.evidence.source() else {
        return;
    };
    let checks = [
        CheckId::ProdNonprodMidServer,
        CheckId::ProdValidationOverride,
    ];
    if !is_production(source, &checks, out) {
        return;
    }
    let override_on = validation_override(source, out);
    nonprod_servers(ctx, source, override_on, out);
}

/// prod-validation-override; whether the override is on (`None`: unknown).
fn validation_override(source: &InstanceEvidence, out: &mut Vec<CheckResult>) -> Option<bool> {
    let j = Judge::new(CheckId::ProdValidationOverride, &source.name);
    let subject = instance_subject(source);
    let value = match source.validation_override.as_result() {
        Ok(v) => v,
        Err(e) => {
            out.push(j.error(subject, &e));
            return None;
        }
    };
    let s = &source.name;
    match value.as_deref().map(|v| (v, parse_bool(v))) {
        None => out.push(j.pass(
            subject,
            format!("{OVERRIDE} is not set on {s}: the platform's default, false"),
            Ev::new().with(OVERRIDE, "not set"),
        )),
        Some((v, Some(false))) => out.push(j.pass(
            subject,
            format!("{OVERRIDE} is false on {s}: only validated MID Servers receive credentials"),
            Ev::new().with(OVERRIDE, v),
        )),
        Some((v, Some(true))) => {
            out.push(j.fail(
                subject,
                format!("{OVERRIDE} is true on production {s}: every MID Server that logs in counts as validated and receives credentials, non-production ones included"),
                format!("set {OVERRIDE} to false on {s}, and validate the MID Servers you own one by one"),
                Ev::new().with(OVERRIDE, v),
            ));
            return Some(true);
        }
        Some((v, None)) => {
            out.push(j.undecided(
                subject,
                format!("could not be decided: {OVERRIDE} on {s} is {v:?}, neither true nor false"),
                format!("set {OVERRIDE} on {s} to true or false (false, unless you mean every MID Server to count as validated), then run the audit again"),
            ));
            return None;
        }
    }
    Some(false)
}

/// What a production MID Server shares with a target's: `"login mid.dev"` etc., with the
/// target's MID Server.
fn shared(
    source: &InstanceEvidence,
    p: &MidServer,
    target: &InstanceEvidence,
    m: &MidServer,
) -> Vec<String> {
    let same = |a: &str, b: &str| !a.trim().is_empty() && a.trim().eq_ignore_ascii_case(b.trim());
    let theirs: Vec<String> = mid_server_logins(target, m);
    let mut found: Vec<String> = mid_server_logins(source, p)
        .into_iter()
        .filter(|l| theirs.iter().any(|t| login_key(t) == login_key(l)))
        .map(|l| format!("logs in as {l}"))
        .collect();
    if same(&p.name, &m.name) {
        found.push(format!("is named {}", m.name.trim()));
    }
    if same(&p.host_name, &m.host_name) {
        found.push(format!("runs on host {}", m.host_name.trim()));
    }
    found
}

/// The non-production targets' MID Servers by what a production MID Server may share with them
/// (a login, a name, a host; case-insensitively), so each production MID Server is compared
/// only with those that share something rather than with every one.
struct Lookalikes<'a> {
    servers: Vec<(&'a InstanceEvidence, &'a MidServer)>,
    /// Positions in `servers` by login key, and by name or host in lower case.
    by_login: BTreeMap<String, Vec<usize>>,
    by_name: BTreeMap<String, Vec<usize>>,
    by_host: BTreeMap<String, Vec<usize>>,
}

impl<'a> Lookalikes<'a> {
    fn new(list: &[(&'a InstanceEvidence, &'a [MidServer])]) -> Self {
        let mut ix = Lookalikes {
            servers: Vec::new(),
            by_login: BTreeMap::new(),
            by_name: BTreeMap::new(),
            by_host: BTreeMap::new(),
        };
        for (t, ms) in list {
            let logins = logins_by_server(t);
            for m in ms.iter() {
                let i = ix.servers.len();
                ix.servers.push((t, m));
                for l in logins.get(m.sys_id.as_str()).into_iter().flatten() {
                    ix.by_login.entry(l.clone()).or_default().push(i);
                }
                for (map, v) in [(&mut ix.by_name, &m.name), (&mut ix.by_host, &m.host_name)] {
                    if !v.trim().is_empty() {
                        map.entry(v.trim().to_lowercase()).or_default().push(i);
                    }
                }
            }
        }
        ix
    }

    /// The target MID Servers that share a login, name or host with `p`, in the order of the
    /// targets and their MID Servers.
    fn candidates(
        &self,
        source: &InstanceEvidence,
        p: &MidServer,
    ) -> Vec<(&'a InstanceEvidence, &'a MidServer)> {
        let mut hits: BTreeSet<usize> = BTreeSet::new();
        for l in mid_server_logins(source, p) {
            hits.extend(self.by_login.get(&login_key(&l)).into_iter().flatten());
        }
        for (map, v) in [(&self.by_name, &p.name), (&self.by_host, &p.host_name)] {
            hits.extend(map.get(&v.trim().to_lowercase()).into_iter().flatten());
        }
        hits.into_iter().map(|i| self.servers[i]).collect()
    }
}

/// The login keys of every MID Server of `inst` ([`mid_server_logins`]), by sys_id, reading the
/// configured users once.
fn logins_by_server(inst: &InstanceEvidence) -> BTreeMap<&str, Vec<String>> {
    let mut out: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let configs = inst
        .mid_configs
        .get()
        .map(Vec::as_slice)
        .unwrap_or_default();
    let shared: Vec<String> = (configs.iter())
        .filter(|c| c.ecc_agent.is_empty() && !c.value.trim().is_empty())
        .map(|c| login_key(&c.value))
        .collect();
    for m in inst.mid_servers.get().into_iter().flatten() {
        let e = out.entry(m.sys_id.as_str()).or_default();
        e.extend(shared.iter().cloned());
        if !m.user_name.trim().is_empty() {
            e.push(login_key(&m.user_name));
        }
    }
    for c in configs {
        if !c.ecc_agent.is_empty() && !c.value.trim().is_empty() {
            if let Some(e) = out.get_mut(c.ecc_agent.as_str()) {
                e.push(login_key(&c.value));
            }
        }
    }
    out
}

/// The non-production targets' MID Servers, or why one target's could not be read (its MID
/// Servers, or their configured users).
type TheirServers<'a> = Result<Vec<(&'a InstanceEvidence, &'a [MidServer])>, Unreadable>;

fn their_servers<'e>(ctx: &Ctx<'e>) -> TheirServers<'e> {
    let mut all = Vec::new();
    for t in ctx.evidence.target_instances() {
        if t.production.resolve().0 == Some(true) {
            continue;
        }
        let servers = t.mid_servers.as_result()?;
        t.mid_configs.as_result()?;
        all.push((t, servers.as_slice()));
    }
    Ok(all)
}

/// The credentials of production whose MID Server list holds `p`, for the message and the
/// evidence: named, or why they could not be read (never an error).
fn credentials_of(source: &InstanceEvidence, p: &MidServer) -> String {
    if !crate::query::is_sys_id(&p.sys_id) {
        return format!(
            "not read (its sys_id {:?} cannot be put into a query)",
            p.sys_id
        );
    }
    match &source.credentials {
        Some(Fact::Ok { value }) => {
            let named: Vec<String> = value
                .iter()
                .filter(|c| c.lists(&p.sys_id))
                .map(Credential::describe)
                .collect();
            if named.is_empty() {
                "none".into()
            } else {
                named.join(", ")
            }
        }
        Some(Fact::Error { reason, .. }) => {
            format!("not read (discovery_credentials: {reason})")
        }
        None => "not read".into(),
    }
}

fn nonprod_servers(
    ctx: &Ctx,
    source: &InstanceEvidence,
    override_on: Option<bool>,
    out: &mut Vec<CheckResult>,
) {
    let s = source.name.as_str();
    let j = Judge::new(CheckId::ProdNonprodMidServer, s);
    let servers = match source
        .mid_servers
        .as_result()
        .and_then(|m| source.mid_configs.as_result().map(|_| m))
    {
        Ok(m) => m,
        Err(e) => {
            out.push(j.error(table_subject(&e.table), &e));
            return;
        }
    };
    let theirs = their_servers(ctx);
    let (list, unread) = match &theirs {
        Ok(list) => (list.as_slice(), None),
        Err(e) => (&[][..], Some(e)),
    };
    let index = Lookalikes::new(list);
    for p in servers {
        let subject = Subject::new("ecc_agent", &p.sys_id, &p.name);
        let matches: Vec<String> = index
            .candidates(source, p)
            .into_iter()
            .filter_map(|(t, m)| {
                let what = shared(source, p, t, m);
                (!what.is_empty()).then(|| {
                    format!(
                        "{} like {}'s MID Server {}",
                        what.join(" and "),
                        t.name,
                        m.name
                    )
                })
            })
            .collect();
        if matches.is_empty() {
            match unread {
                Some(e) => out.push(j.error(subject, e)),
                None => out.push(j.pass(
                    subject,
                    format!("{} shares no login, name or host with a non-production target's MID Server", p.name),
                    Ev::new(),
                )),
            }
            continue;
        }
        let validated = match (p.validated, override_on) {
            (Some(true), _) => "it is validated, so it receives production's credentials".to_string(),
            (_, Some(true)) => format!("it is not validated, but {OVERRIDE} is true, so it receives production's credentials"),
            (_, None) => format!("it is not validated, and whether {OVERRIDE} counts it as validated is not known"),
            (_, Some(false)) => "it is not validated (validated is not true), so it receives no credentials until someone validates it".to_string(),
        };
        let credentials = credentials_of(source, p);
        out.push(j.fail(
            subject,
            format!(
                "production MID Server {} ({}) is a non-production host talking to {s}: it {}; {validated}; production credentials naming it: {credentials}",
                p.name,
                if p.host_name.is_empty() { "host unknown" } else { &p.host_name },
                matches.join("; ")
            ),
            "",
            Ev::new()
                .with("matches", matches.join("; "))
                .with("host_name", &p.host_name)
                .with(
                    "validated",
                    p.validated
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "neither true nor false".into()),
                )
                .with("credentials", &credentials),
        ));
    }
}
