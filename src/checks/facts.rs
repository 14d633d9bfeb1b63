//! Facts about an instance that several checks and the inventory read: which users its MID
//! Servers log in as.

use crate::evidence::{Fact, InstanceEvidence, MidServer};
use std::collections::{BTreeMap, BTreeSet};

/// The logins a MID Server uses: its configured user and the user it logged in as.
pub(crate) fn mid_server_logins(inst: &InstanceEvidence, m: &MidServer) -> Vec<String> {
    let mut logins = BTreeSet::new();
    if let Fact::Ok { value: configs } = &inst.mid_configs {
        // A row that names no MID Server applies to all of them.
        for c in configs
            .iter()
            .filter(|c| c.ecc_agent == m.sys_id || c.ecc_agent.is_empty())
        {
            if !c.value.trim().is_empty() {
                logins.insert(c.value.trim().to_string());
            }
        }
    }
    if !m.user_name.trim().is_empty() {
        logins.insert(m.user_name.trim().to_string());
    }
    logins.into_iter().collect()
}

/// Logins used by the MID Servers of an instance: user_name → MID Server names.
pub(crate) fn used_by(inst: &InstanceEvidence) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Fact::Ok { value: servers } = &inst.mid_servers {
        for m in servers {
            for l in mid_server_logins(inst, m) {
                map.entry(l).or_default().push(m.name.clone());
            }
        }
    }
    map
}
