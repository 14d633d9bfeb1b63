//! The collector's schedule on the benchmark's large estate scaled down (100 MID users instead
//! of 2,000, the same shapes: the group granting `mid_server` nested four levels deep,
//! `mid_server` contained three levels deep, holders through both): no chain of reads, each
//! waiting for the one before, counted across instances, is longer than the login check and
//! three waves. Not timed: the chain comes from the collector's own record of which read waited
//! for which.

use crate::support::big_estate::{build_instance, Estate, NAMES};
use crate::support::fake::{FakeInstance, AUDIT_PASSWORD, AUDIT_USER};
use preclone::collect::{self, describe, RunMeta, Trace};
use preclone::config::{Auth, ClientSettings, ResolvedInstance, Secret};
use std::sync::Arc;

/// The login check, then the MID role holders and MID Servers, their users (and the preserver
/// evaluations), the groups.
const FLOOR: u32 = 1 + 3;

fn instance(name: &str, url: String) -> ResolvedInstance {
    ResolvedInstance {
        name: name.to_string(),
        url,
        production: Some(name == NAMES[0]),
        auth: Auth::Basic {
            username: AUDIT_USER.to_string(),
            password: Secret::new(AUDIT_PASSWORD.to_string()),
        },
    }
}

#[test]
fn no_chain_of_reads_is_longer_than_the_login_check_and_three_waves() {
    let estate = Estate {
        name: "large, scaled down",
        mid_users: 100,
        users: 1_000,
        roles_per_user: 3,
    };
    let fakes: Vec<FakeInstance> = (0..NAMES.len())
        .map(|k| FakeInstance::start(build_instance(&estate, k)))
        .collect();
    let all: Vec<ResolvedInstance> = NAMES
        .iter()
        .zip(&fakes)
        .map(|(n, f)| instance(n, f.url()))
        .collect();
    let meta = RunMeta {
        run_id: "chain".into(),
        started_at: chrono::Utc::now(),
        tool_version: "test".into(),
    };
    let trace = Arc::new(Trace::default());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let evidence = runtime
        .block_on(collect::collect_traced(
            &all[0],
            &all[1..],
            &ClientSettings::default(),
            meta,
            trace.clone(),
        ))
        .expect("the audit collects");

    // The shapes were read: every instance's MID users, the root four levels above the MID
    // group, the three roles containing mid_server; and nothing was unreadable.
    for name in NAMES {
        let e = &evidence.instances[name];
        let users = e.users.get().expect("users read");
        assert!(users.len() >= 100, "{name}: {} MID users", users.len());
        let groups = e.groups.get().expect("groups read");
        assert!(
            groups.iter().any(|g| g.name == "Organisation"),
            "{name}: the MID group's root was not read"
        );
        let contains = e.role_contains.get().expect("containment read");
        assert_eq!(contains.len(), 3, "{name}: {contains:?}");
        let gaps: Vec<_> = e.coverage.iter().filter(|t| t.error.is_some()).collect();
        assert!(gaps.is_empty(), "{name}: {gaps:?}");
    }

    let chain = trace.deepest();
    assert!(
        trace.depth() <= FLOOR,
        "a chain of {} round trips: {}",
        trace.depth(),
        describe(&chain)
    );
    // The record is whole: every request the instances answered is a read of the record (a
    // read of several pages counts each).
    let recorded: u64 = trace.reads().iter().map(|r| r.requests).sum();
    let served: usize = fakes.iter().map(|f| f.requests().len()).sum();
    assert_eq!(recorded, served as u64);
    assert_eq!(evidence.requests, recorded);
}

/// Collects `prod` and `dev` with the library, as the chain test does.
fn collect_pair(prod: &FakeInstance, dev: &FakeInstance) -> preclone::evidence::Evidence {
    let all = [instance("prod", prod.url()), instance("dev", dev.url())];
    let meta = RunMeta {
        run_id: "namesakes".into(),
        started_at: chrono::Utc::now(),
        tool_version: "test".into(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    runtime
        .block_on(collect::collect_traced(
            &all[0],
            &all[1..],
            &ClientSettings::default(),
            meta,
            Arc::default(),
        ))
        .expect("the audit collects")
}

#[test]
fn a_holder_asked_for_by_its_shorter_login_brings_in_no_namesake() {
    use crate::support::estate::{instance as estate_instance, mid_user, sid, source_prod};
    // dev's mid.spare holds mid_server and no MID Server logs in as it: it is asked for by its
    // login, shorter than its sys_id. Another user of that name, holding nothing, is no MID
    // user (as when it was asked for by sys_id), and neither are its rows.
    let mut dev = estate_instance(false);
    mid_user(&mut dev, 200, "mid.dev", "mid-dev-01");
    let spare = mid_user(&mut dev, 230, "mid.spare", "");
    let namesake = dev.add_user("mid.spare");
    dev.grant_role(&namesake, crate::support::estate::ITIL_ROLE);
    let (prod, dev) = (FakeInstance::start(source_prod()), FakeInstance::start(dev));
    let evidence = collect_pair(&prod, &dev);
    let e = &evidence.instances["dev"];
    let users: Vec<&str> = e
        .users
        .get()
        .expect("users read")
        .iter()
        .map(|u| u.sys_id.as_str())
        .collect();
    assert!(users.contains(&spare.as_str()), "{users:?}");
    assert!(!users.contains(&namesake.as_str()), "{users:?}");
    let role_users: Vec<&str> = e
        .user_roles
        .get()
        .expect("role rows read")
        .iter()
        .map(|r| r.user.as_str())
        .collect();
    assert!(!role_users.contains(&namesake.as_str()), "{role_users:?}");
    // It was asked for by login, not by sys_id.
    let queries: Vec<String> = dev
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/sys_user"))
        .filter_map(|r| r.query.get("sysparm_query").cloned())
        .collect();
    assert!(
        queries.iter().any(|q| q.contains("mid.spare"))
            && !queries.iter().any(|q| q.contains(&sid(230))),
        "{queries:?}"
    );
}
