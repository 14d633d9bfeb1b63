//! When each read goes out: as soon as what it needs is known, with no barrier between reads
//! that do not need each other, within an instance or across instances (see [`super`] for the
//! waves this gives). Each instance runs one flow ([`source`], [`target`]); what one instance's
//! reads hand to another's goes through a [`Slot`]:
//!
//! - the source's preservers, to every target (their evaluations wait for them);
//! - each target's MID logins and MID Servers, to the source (its lookups of the users the clone
//!   will bring, and its credentials, wait for every target's);
//! - each target's groups and roles, to the source (its group reads wait for every target's).

use super::mid_reads::{self, cert_logins, cluster_ids, mid_level_evals};
use super::preserver_eval::{
    class_level_evals, first_page_limit, group_level_evals, match_others, match_users,
    user_level_evals, wholes, GroupLevel,
};
use super::reader::{Got, Reader};
use super::roles;
use super::rows::{ContainsRow, PreserverRow};
use super::trace::Step;
use super::waves::*;
use super::{fact_of, prod_reads};
use crate::evidence::*;
use crate::tables::*;
use futures::future::join_all;
use futures::FutureExt;
use std::collections::BTreeSet;
use std::sync::Arc;
use tokio::sync::watch;

/// A value one flow hands to others once it is known; any number may wait for it.
pub(super) struct Slot<T>(watch::Sender<Option<T>>);

impl<T: Clone> Slot<T> {
    fn new() -> Self {
        Slot(watch::Sender::new(None))
    }

    fn set(&self, value: T) {
        self.0.send_replace(Some(value));
    }

    /// The value, once set (`None` only if it never will be: the run is ending).
    async fn get(&self) -> Option<T> {
        let mut rx = self.0.subscribe();
        let got = rx.wait_for(Option::is_some).await.ok()?;
        got.clone()
    }
}

/// What a target tells the source once its first wave is in.
pub(super) struct TargetNames {
    /// Its MID Servers' logins and the logins of its holders of `mid_server`: the source looks
    /// up its own users of those names (the copies the clone will bring).
    logins: BTreeSet<String>,
    /// The logins of its MID Servers using mutual authentication (their certificate rows).
    cert_logins: BTreeSet<String>,
    /// Its MID Servers and their configured users (which production MID Servers look like one).
    agents: Vec<MidServer>,
    configs: Vec<MidConfig>,
    step: Step,
}

/// What a target tells the source once its memberships are in: the groups (with the ancestors
/// the rows walk to) and group names they refer to, which the source reads as well.
#[derive(Default)]
pub(super) struct TargetGroups {
    ids: BTreeSet<String>,
    names: BTreeSet<String>,
    step: Step,
}

/// The slots of one target. Besides its names and groups, the roles its users' rows grant,
/// whose containment the source follows as well (after the clone it is the source's).
struct TargetSlots {
    names: Slot<Arc<TargetNames>>,
    groups: Slot<Arc<TargetGroups>>,
    roles: Slot<Arc<BTreeSet<String>>>,
}

/// Every slot of one run.
pub(super) struct Links {
    preservers: Slot<Arc<(Vec<Preserver>, Step)>>,
    targets: Vec<TargetSlots>,
}

impl Links {
    pub(super) fn new(targets: usize) -> Links {
        Links {
            preservers: Slot::new(),
            targets: (0..targets)
                .map(|_| TargetSlots {
                    names: Slot::new(),
                    groups: Slot::new(),
                    roles: Slot::new(),
                })
                .collect(),
        }
    }
}

/// The value of an answer shared between reads, taken back once they are all done.
fn owned<T: Clone>(shared: Arc<T>) -> T {
    Arc::try_unwrap(shared).unwrap_or_else(|a| (*a).clone())
}

/// The roles the rows read grant (whose containment is followed down).
fn held_roles(w2: &Wave2, groups: &Groups) -> BTreeSet<String> {
    let mut roles = sys_ids(&w2.user_roles, |r| &r.role);
    roles.extend(sys_ids(&groups.group_roles, |r| &r.role));
    roles
}

/// One target's reads, each as soon as its inputs are in:
///
/// 1. after the login check: the holders of `mid_server`, MID Servers and configured users,
///    role containment (whole), clusters, members, issues and properties;
/// 2. once the holders and MID Servers are in, the MID users, their rows and certificate rows,
///    and (once the source's preservers are in too) the user-level preservers evaluated for the
///    same users (holders by sys_id, logins by name) and the preservers' whole-table counts;
///    the cluster preservers once the clusters are in;
/// 3. once the memberships are in, the groups and their roles; once the users and certificate
///    rows are in, the class-table and certificate preservers;
/// 4. once the groups are in, the group- and role-table preservers.
pub(super) async fn target(
    inst: &Reader,
    mid_role: Fact<Vec<Role>>,
    login: Step,
    links: &Links,
    me: usize,
) -> (Gathered, Extras) {
    let slots = &links.targets[me];
    let w1 = async {
        let w1 = wave1(inst, mid_role, login).await;
        let mut logins = w1.logins();
        logins.extend(w1.holder_names());
        slots.names.set(Arc::new(TargetNames {
            logins,
            cert_logins: cert_logins(&w1.agents, &w1.configs),
            agents: w1.agents.get().cloned().unwrap_or_default(),
            configs: w1.configs.get().cloned().unwrap_or_default(),
            step: w1.step,
        }));
        Arc::new(w1)
    }
    .shared();
    let preservers = async {
        let p = links.preservers.get().await;
        p.unwrap_or_else(|| Arc::new((Vec::new(), login)))
    }
    .shared();
    let clusters = mid_reads::clusters(inst, login).map(Arc::new).shared();
    let who = {
        let w1 = w1.clone();
        async move {
            let w1 = w1.await;
            Arc::new(w1.mid_users(&w1.logins()))
        }
    }
    .shared();
    // The memberships first and on their own: the groups wait for them alone.
    let memberships = {
        let (w1, who) = (w1.clone(), who.clone());
        async move {
            let (w1, who) = futures::join!(w1, who);
            Arc::new(memberships(inst, &who, w1.step).await)
        }
    }
    .shared();
    let w2 = {
        let (w1, who, memberships) = (w1.clone(), who.clone(), memberships.clone());
        async move {
            let (w1, who) = futures::join!(w1, who);
            let certs = cert_logins(&w1.agents, &w1.configs);
            let memberships = memberships.map(owned);
            let w2 = wave2(inst, &who, &certs, w1.step, memberships).await;
            slots
                .roles
                .set(Arc::new(sys_ids(&w2.user_roles, |r| &r.role)));
            Arc::new(w2)
        }
    }
    .shared();
    let groups = {
        let memberships = memberships.clone();
        async move {
            let Got(rows, step) = &*memberships.await;
            let ids = group_ids(rows);
            slots.groups.set(Arc::new(TargetGroups {
                ids: ids.clone(),
                names: group_names(rows),
                step: *step,
            }));
            Arc::new(wave3(inst, &ids, &BTreeSet::new(), *step).await)
        }
    }
    .shared();
    let contains = inst
        .initial::<ContainsRow>(&SYS_USER_ROLE_CONTAINS, login)
        .map(Arc::new)
        .shared();
    // Each preserver on a user table on its own, one page of matches with their count, as
    // soon as the preservers are in (the page sized by the MID users the first wave names).
    let wholes = {
        let (w1, preservers) = (w1.clone(), preservers.clone());
        async move {
            let (w1, p) = futures::join!(w1, preservers);
            let mid_users = w1.holder_ids().len() + w1.logins().len();
            let limit = first_page_limit(mid_users);
            Arc::new(wholes(inst, &p.0, limit, w1.step.and(p.1)).await)
        }
    }
    .shared();
    let user_matches = {
        let (w1, w2, preservers, wholes) =
            (w1.clone(), w2.clone(), preservers.clone(), wholes.clone());
        async move {
            let (w1, p, wholes) = futures::join!(w1, preservers, wholes);
            let holders = w1.holder_ids();
            let mut logins = w1.logins();
            for name in w1.holder_names() {
                logins.remove(&name);
            }
            let after = w1.step.and(p.1);
            let early = match_users(inst, &p.0, &wholes, &holders, &logins, after).await;
            let w2 = w2.await;
            match_others(inst, &p.0, early, &holders, &w2, w2.step.and(p.1)).await
        }
    };
    let cluster_evals = {
        let (clusters, preservers) = (clusters.clone(), preservers.clone());
        async move {
            let (clusters, p) = futures::join!(clusters, preservers);
            let Got(clusters, step) = &*clusters;
            let ids = cluster_ids(clusters);
            // The clusters are read whole: every one is MID-related.
            let whole = clusters.get().is_some_and(|c| c.len() == ids.len());
            mid_level_evals(inst, &p.0, &ECC_AGENT_CLUSTER, &ids, whole, step.and(p.1)).await
        }
    };
    let user_evals = {
        let (w2, preservers) = (w2.clone(), preservers.clone());
        async move {
            let (w2, p) = futures::join!(w2, preservers);
            let after = w2.step.and(p.1);
            let cert_ids = sys_ids(&w2.certificates, |c| &c.sys_id);
            let (mut class, certs) = futures::join!(
                class_level_evals(inst, &p.0, &w2.users, after),
                mid_level_evals(inst, &p.0, &SYS_USER_CERTIFICATE, &cert_ids, false, after),
            );
            class.extend(certs);
            class
        }
    };
    let group_evals = {
        let (w1, w2, groups, contains, wholes, preservers) = (
            w1.clone(),
            w2.clone(),
            groups.clone(),
            contains.clone(),
            wholes.clone(),
            preservers.clone(),
        );
        async move {
            let (w1, w2, groups, all, wholes, p) =
                futures::join!(w1, w2, groups, contains, wholes, preservers);
            let Got(all, s) = &*all;
            let contains = roles::containing_mid_server(all);
            let level = GroupLevel {
                mid_role: &w1.mid_role,
                user_roles: &w2.user_roles,
                groups: &groups,
                contains: &contains,
            };
            let after = Step::all([groups.step, w2.step, *s, p.1]);
            group_level_evals(inst, &p.0, &wholes, &level, after).await
        }
    };
    let extras = async {
        let clusters = clusters.clone().map(|c| c.0.clone());
        let (Got(props, _), mid) = futures::join!(
            inst.initial(&SYS_PROPERTIES, login),
            mid_reads::mid_extras(inst, clusters, login),
        );
        Extras {
            props,
            mid,
            clone: None,
        }
    };
    let (
        w1,
        w2,
        groups,
        all,
        wholes,
        preservers,
        user_matches,
        cluster_evals,
        user_evals,
        group_evals,
        extras,
    ) = futures::join!(
        w1,
        w2,
        groups,
        contains,
        wholes,
        preservers,
        user_matches,
        cluster_evals,
        user_evals,
        group_evals,
        extras,
    );
    let mut evals = user_level_evals(&preservers.0, &wholes, user_matches, &w2);
    evals.extend(user_evals);
    evals.extend(cluster_evals);
    evals.extend(group_evals);
    let (w2, groups) = (owned(w2), owned(groups));
    let all = &all.0;
    let held = roles::held(all, &held_roles(&w2, &groups));
    let gathered = Gathered {
        w1: owned(w1),
        groups: groups.groups,
        group_roles: groups.group_roles,
        contains: roles::containing_mid_server(all),
        held,
        w2,
        evals,
    };
    (gathered, extras)
}

/// The source's reads, each as soon as its inputs are in: its preservers, clone setup, holders,
/// MID Servers and role containment after the login check (the preservers handed to the
/// targets at once); its users named like every target's MID users once each target's first
/// wave is in, with its own; its credentials then too; and the groups every target's
/// memberships refer to, with its own, once those are in.
pub(super) async fn source(
    inst: &Reader,
    mid_role: Fact<Vec<Role>>,
    login: Step,
    links: &Links,
    production: Option<bool>,
) -> (Gathered, Extras) {
    let w1 = wave1(inst, mid_role, login).map(Arc::new).shared();
    let preservers = async {
        let Got(rows, step) = inst
            .initial::<PreserverRow>(&CLONE_DATA_PRESERVER, login)
            .await;
        let fact: Fact<Vec<Preserver>> = fact_of(rows);
        let list = fact.get().cloned().unwrap_or_default();
        links.preservers.set(Arc::new((list, step)));
        fact
    };
    let targets = async {
        let names = join_all(links.targets.iter().map(|t| t.names.get())).await;
        Arc::new(names.into_iter().flatten().collect::<Vec<_>>())
    }
    .shared();
    // Its MID users and those named like every target's, with the certificate logins.
    let who = {
        let (w1, targets) = (w1.clone(), targets.clone());
        async move {
            let (w1, targets) = futures::join!(w1, targets);
            let mut names = w1.logins();
            let mut certs = cert_logins(&w1.agents, &w1.configs);
            for t in targets.iter() {
                names.extend(t.logins.iter().cloned());
                certs.extend(t.cert_logins.iter().cloned());
            }
            let after = Step::all(targets.iter().map(|t| t.step).chain([w1.step]));
            Arc::new((w1.mid_users(&names), certs, after))
        }
    }
    .shared();
    let memberships = {
        let who = who.clone();
        async move {
            let who = who.await;
            Arc::new(memberships(inst, &who.0, who.2).await)
        }
    }
    .shared();
    let w2 = {
        let (who, memberships) = (who.clone(), memberships.clone());
        async move {
            let who = who.await;
            let memberships = memberships.map(owned);
            Arc::new(wave2(inst, &who.0, &who.1, who.2, memberships).await)
        }
    }
    .shared();
    // Production's MID Servers that look like a target's, whose credentials it reads (not when
    // the config says the source is not production).
    let credentials = {
        let (w1, targets) = (w1.clone(), targets.clone());
        async move {
            let (w1, targets) = futures::join!(w1, targets);
            let suspects = match production {
                Some(false) => BTreeSet::new(),
                _ => prod_reads::suspects(
                    &w1,
                    targets
                        .iter()
                        .map(|t| (t.agents.as_slice(), t.configs.as_slice())),
                ),
            };
            let after = Step::all(targets.iter().map(|t| t.step).chain([w1.step]));
            prod_reads::credentials(inst, &suspects, after).await
        }
    };
    let groups = {
        let memberships = memberships.clone();
        async move {
            let (mine, theirs) = futures::join!(
                memberships,
                join_all(links.targets.iter().map(|t| t.groups.get()))
            );
            let Got(rows, step) = &*mine;
            let (mut ids, mut names) = (group_ids(rows), BTreeSet::new());
            let mut after = *step;
            for t in theirs.iter().flatten() {
                ids.extend(t.ids.iter().cloned());
                names.extend(t.names.iter().cloned());
                after = after.and(t.step);
            }
            let groups = wave3(inst, &ids, &names, after).await;
            // The targets' roles, for the containment followed at the end.
            let theirs = join_all(links.targets.iter().map(|t| t.roles.get())).await;
            let roles: BTreeSet<String> = theirs
                .iter()
                .flatten()
                .flat_map(|r| r.iter().cloned())
                .collect();
            (groups, roles)
        }
    };
    let contains = inst.initial::<ContainsRow>(&SYS_USER_ROLE_CONTAINS, login);
    let extras = async {
        let clusters = mid_reads::clusters(inst, login).map(|c| c.0);
        let (Got(props, _), mid, clone) = futures::join!(
            inst.initial(&SYS_PROPERTIES, login),
            mid_reads::mid_extras(inst, clusters, login),
            clone_setup(inst, login),
        );
        Extras {
            props,
            mid,
            clone: Some(clone),
        }
    };
    // The preservers first: every target's evaluations wait for them.
    let (preservers, w1, w2, (groups, their_roles), Got(all, _), credentials, mut extras) =
        futures::join!(preservers, w1, w2, groups, contains, credentials, extras);
    if let Some(clone) = extras.clone.as_mut() {
        clone.credentials = credentials;
    }
    let w2 = owned(w2);
    let mut held = held_roles(&w2, &groups);
    held.extend(their_roles);
    let gathered = Gathered {
        w1: Wave1 {
            preservers: Some(preservers),
            ..owned(w1)
        },
        held: roles::held(&all, &held),
        contains: roles::containing_mid_server(&all),
        groups: groups.groups,
        group_roles: groups.group_roles,
        w2,
        evals: Vec::new(),
    };
    (gathered, extras)
}
