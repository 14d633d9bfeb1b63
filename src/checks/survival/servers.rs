//! The MID Servers of a target: will each still log in after the clone, is its login known,
//! do several share one user, and do source and target run the same build.

use super::certs::CertFate;
use super::clusters::ServerFate;
use super::health::{clusters_of, pinned};
use super::{server_subject, Outcome};
use crate::checks::facts::mid_server_logins;
use crate::checks::{table_subject, CheckId, Ctx, Ev, Judge, ServerImpact};
use crate::evidence::{Fact, InstanceEvidence, MidServer, Unreadable};
use crate::finding::{CheckResult, Subject};
use crate::simulate::login_key;
use std::collections::BTreeMap;

/// How the impact line begins when a MID Server's certificate is what goes.
const CERT_LOST: &str = "certificate not kept: ";

/// mid-server-will-go-down (which also records the [`ServerImpact`]) and
/// mid-server-login-unknown, from the fate of each login and (mutual authentication) of each
/// MID Server's certificates; returns the fate of each MID Server, by sys_id.
pub(super) fn judge_servers(
    target: &InstanceEvidence,
    servers: &[MidServer],
    outcomes: &BTreeMap<String, Result<Outcome, Unreadable>>,
    certs: &BTreeMap<String, CertFate>,
    out: &mut Vec<CheckResult>,
    impact: &mut Vec<ServerImpact>,
) -> BTreeMap<String, ServerFate> {
    let t = target.name.as_str();
    let down = Judge::new(CheckId::MidServerWillGoDown, t);
    let unknown = Judge::new(CheckId::MidServerLoginUnknown, t);
    let mut fates = BTreeMap::new();
    // Without the configured users, a MID Server's next login is not known.
    if let Err(e) = target.mid_configs.as_result() {
        for m in servers {
            out.push(down.error(server_subject(m), &e));
            out.push(unknown.error(server_subject(m), &e));
            fates.insert(m.sys_id.clone(), ServerFate::Undecided(e.clone()));
        }
        return fates;
    }
    for m in servers {
        let logins = mid_server_logins(target, m);
        let subject = server_subject(m);
        let cluster = clusters_of(target, m);
        let mut ev = Ev::new()
            .with("status", &m.status)
            .with("host_name", &m.host_name)
            .with("logins", logins.join(", "));
        if let Some(c) = &cluster {
            ev = ev.with("cluster", c);
        }
        if logins.is_empty() {
            out.push(unknown.fail(
                subject,
                format!(
                    "MID Server {} has no known login (no logged-in or configured user)",
                    m.name
                ),
                "",
                ev.with("status", &m.status),
            ));
            fates.insert(
                m.sys_id.clone(),
                ServerFate::Undecided(Unreadable {
                    table: "ecc_agent".into(),
                    reason: format!("no login of MID Server {} is known", m.name),
                }),
            );
            continue;
        }
        out.push(unknown.pass(
            subject.clone(),
            format!("logs in as {}", logins.join(", ")),
            Ev::new(),
        ));
        let mut verdict: Option<(String, String)> = None;
        let mut undecided: Option<Unreadable> = None;
        for l in &logins {
            match outcomes.get(&login_key(l)) {
                Some(Ok(o)) => {
                    if let Some(why) = &o.user_lost {
                        verdict.get_or_insert((l.clone(), format!("user not kept: {why}")));
                    } else if let Some(why) = &o.role_lost {
                        verdict.get_or_insert((l.clone(), format!("role lost: {why}")));
                    } else if let Some(e) = &o.undecided {
                        undecided = Some(e.clone());
                    }
                }
                Some(Err(e)) => undecided = Some(e.clone()),
                None => {}
            }
        }
        // A certificate login goes down when no certificate row of its user survives.
        match certs.get(&m.sys_id) {
            Some(CertFate::Lost(why)) => {
                let login = logins.join(", ");
                verdict.get_or_insert((login, format!("{CERT_LOST}{why}")));
            }
            Some(CertFate::Undecided(e)) => undecided = Some(e.clone()),
            Some(CertFate::Kept) | None => {}
        }
        let fate = match (&verdict, &undecided) {
            (Some(_), _) => ServerFate::Down,
            (None, Some(e)) => ServerFate::Undecided(e.clone()),
            (None, None) => ServerFate::Up,
        };
        fates.insert(m.sys_id.clone(), fate);
        match (verdict, undecided) {
            (Some((login, because)), _) => {
                out.push(down.fail(
                        subject.clone(),
                        format!("{} ({}) will go Down after the clone: it logs in as {login}, and {because}", m.name, m.status),
                        if because.starts_with(CERT_LOST) {
                            format!("fix the findings of the certificate of {login} (mid-certificate-not-preserved), or plan to import {}'s certificate again after the clone", m.name)
                        } else {
                            format!("fix the findings of {login} (mid-user-not-preserved / mid-role-not-preserved), or plan to re-key {} after the clone", m.name)
                        },
                        ev.with("user_name", &login).with("because", &because),
                    ));
                impact.push(ServerImpact {
                    instance: t.to_string(),
                    mid_server: subject,
                    status: m.status.clone(),
                    user_name: login,
                    because,
                    cluster,
                });
            }
            (None, Some(e)) => out.push(down.error(subject, &e)),
            (None, None) => out.push(down.pass(
                subject,
                format!("{} will still log in as {}", m.name, logins.join(", ")),
                ev,
            )),
        }
    }
    fates
}

pub(super) fn build_mismatch(
    source: &InstanceEvidence,
    target: &InstanceEvidence,
    out: &mut Vec<CheckResult>,
) {
    let j = Judge::new(CheckId::BuildMismatch, &target.name);
    let subject = Subject::new("instance", "", &target.name);
    let read = |i: &InstanceEvidence| match &i.build_tag {
        Fact::Ok { value: Some(v) } if !v.trim().is_empty() => Ok(v.trim().to_string()),
        Fact::Ok { .. } => Err(Unreadable {
            table: "sys_properties".into(),
            reason: format!("glide.war is not set on {}", i.name),
        }),
        Fact::Error { table, reason } => Err(Unreadable {
            table: table.clone(),
            reason: reason.clone(),
        }),
    };
    // The MID Servers pinned with mid.pinned.version do not follow the build: named, never
    // deciding the verdict (an unreadable pin list is said, not an error).
    let (pins, pinned_ev) = match pinned(target) {
        Ok(p) if p.is_empty() => (String::new(), "none".to_string()),
        Ok(p) => (
            format!(
                "; pinned with mid.pinned.version, {} will not follow the build",
                p.join(", ")
            ),
            p.join(", "),
        ),
        Err(e) => (
            String::new(),
            format!("unknown: {} unreadable ({})", e.table, e.reason),
        ),
    };
    match (read(source), read(target)) {
        (Ok(a), Ok(b)) if a == b => out.push(j.pass(
            subject,
            format!("both run {a}"),
            Ev::new()
                .with("build", &a)
                .with("pinned_mid_servers", &pinned_ev),
        )),
        (Ok(a), Ok(b)) => out.push(j.fail(
            subject,
            format!("{} runs {b} but {} runs {a}: after the clone the MID Servers of {} upgrade or downgrade{pins}", target.name, source.name, target.name),
            if pins.is_empty() {
                String::new()
            } else {
                format!("upgrade the lower instance first, or plan the MID Servers' upgrade after the clone; on {}, remove or update mid.pinned.version of the pinned MID Servers", target.name)
            },
            Ev::new()
                .with("source_build", &a)
                .with("target_build", &b)
                .with("pinned_mid_servers", &pinned_ev),
        )),
        (Err(e), _) | (_, Err(e)) => out.push(j.error(subject, &e)),
    }
}

pub(super) fn shared_by_mid_servers(
    ctx: &Ctx,
    inst: &InstanceEvidence,
    out: &mut Vec<CheckResult>,
) {
    let j = Judge::new(CheckId::MidUserSharedByMidServers, &inst.name);
    if let Err(e) = inst
        .mid_servers
        .as_result()
        .and_then(|_| inst.mid_configs.as_result())
    {
        out.push(j.error(table_subject("ecc_agent"), &e));
        return;
    }
    for (login, servers) in ctx.used_by(inst) {
        let subject = Subject::new("sys_user", "", login);
        if servers.len() > 1 {
            out.push(j.fail(
                subject,
                format!(
                    "{} MID Servers log in as {login}: {}",
                    servers.len(),
                    servers.join(", ")
                ),
                "",
                Ev::new().with("mid_servers", servers.join(", ")),
            ));
        } else {
            out.push(j.pass(
                subject,
                format!("only {} logs in as {login}", servers[0]),
                Ev::new(),
            ));
        }
    }
}
