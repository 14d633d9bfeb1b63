//! Facts about an instance that several checks and the inventory read: which users its MID
//! Servers log in as. Logins compare case-insensitively ([`login_key`]).

use crate::evidence::{Fact, InstanceEvidence, MidServer};
use crate::simulate::login_key;
use std::collections::BTreeMap;

/// The logins a MID Server uses: its configured user and the user it logged in as, each once
/// whatever its case (the first spelling met, in that order, names it).
pub(crate) fn mid_server_logins(inst: &InstanceEvidence, m: &MidServer) -> Vec<String> {
    let mut logins: BTreeMap<String, String> = BTreeMap::new();
    if let Fact::Ok { value: configs } = &inst.mid_configs {
        // A row that names no MID Server applies to all of them.
        for c in configs
            .iter()
            .filter(|c| c.ecc_agent == m.sys_id || c.ecc_agent.is_empty())
        {
            if !c.value.trim().is_empty() {
                logins
                    .entry(login_key(&c.value))
                    .or_insert_with(|| c.value.trim().to_string());
            }
        }
    }
    if !m.user_name.trim().is_empty() {
        logins
            .entry(login_key(&m.user_name))
            .or_insert_with(|| m.user_name.trim().to_string());
    }
    logins.into_values().collect()
}

/// The logins used by the MID Servers of an instance, and by which: looked up
/// case-insensitively.
#[derive(Debug, Default)]
pub struct UsedBy {
    /// [`login_key`] → (the login as first met, the MID Server names).
    by_key: BTreeMap<String, (String, Vec<String>)>,
}

impl UsedBy {
    pub(crate) const fn new() -> Self {
        UsedBy {
            by_key: BTreeMap::new(),
        }
    }

    /// The names of the MID Servers that log in as `login` (in any case).
    pub(crate) fn get(&self, login: &str) -> Option<&Vec<String>> {
        self.by_key.get(&login_key(login)).map(|(_, s)| s)
    }

    pub(crate) fn contains_key(&self, login: &str) -> bool {
        self.by_key.contains_key(&login_key(login))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

impl<'a> IntoIterator for &'a UsedBy {
    type Item = (&'a String, &'a Vec<String>);
    type IntoIter = Box<dyn Iterator<Item = Self::Item> + 'a>;

    /// Each login (as first met) with its MID Servers.
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.by_key.values().map(|(l, s)| (l, s)))
    }
}

/// Logins used by the MID Servers of an instance.
pub(crate) fn used_by(inst: &InstanceEvidence) -> UsedBy {
    let mut used = UsedBy::new();
    if let Fact::Ok { value: servers } = &inst.mid_servers {
        for m in servers {
            for l in mid_server_logins(inst, m) {
                used.by_key
                    .entry(login_key(&l))
                    .or_insert_with(|| (l.clone(), Vec::new()))
                    .1
                    .push(m.name.clone());
            }
        }
    }
    used
}
