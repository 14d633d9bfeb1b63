//! Production's credentials, as far as the audit may see them: which MID Servers may use each
//! (`discovery_credentials.mid_list`), never the secret itself.

use serde::{Deserialize, Serialize};

/// A `discovery_credentials` record of production: its name, type, whether it is active and
/// which MID Servers may use it. No secret field is ever read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credential {
    pub sys_id: String,
    pub name: String,
    /// `type` (`SSH`, `Windows`, `SNMP` ...), as the record says.
    #[serde(rename = "type")]
    pub kind: String,
    /// `None` when the field was not returned or is not a boolean.
    pub active: Option<bool>,
    /// `mid_list`: the sys_ids of the `ecc_agent` records that may use it.
    pub mid_list: Vec<String>,
}

impl Credential {
    /// Whether its MID Server list names the MID Server with this sys_id.
    pub fn lists(&self, mid_server: &str) -> bool {
        self.mid_list.iter().any(|m| m == mid_server)
    }

    /// How reports name it: `"Linux SSH" (SSH)`, with `, inactive` when it is not active.
    pub fn describe(&self) -> String {
        let state = match self.active {
            Some(true) => "",
            Some(false) => ", inactive",
            None => ", active unknown",
        };
        let kind = if self.kind.is_empty() {
            "type unknown"
        } else {
            &self.kind
        };
        format!("\"{}\" ({kind}{state})", self.name)
    }
}

/// A glide list (`mid_list`): the sys_ids it holds, in order, without blanks.
pub fn list_values(s: &str) -> Vec<String> {
    s.split(',')
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_lists_mid_servers_by_sys_id_and_says_what_it_is() {
        let c = Credential {
            sys_id: "c1".into(),
            name: "Linux SSH".into(),
            kind: "SSH".into(),
            active: Some(false),
            mid_list: list_values(" a1 ,, b2,"),
        };
        assert_eq!(c.mid_list, ["a1", "b2"]);
        assert!(c.lists("b2") && !c.lists("b"));
        assert_eq!(c.describe(), "\"Linux SSH\" (SSH, inactive)");
    }
}
