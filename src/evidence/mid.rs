//! The evidence of what surrounds a MID Server besides its login: the clusters it belongs to,
//! its open issues, the version it is pinned to, and the certificate rows that map a client
//! certificate to its user (mutual authentication).

use serde::{Deserialize, Serialize};

/// An `ecc_agent_cluster` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cluster {
    pub sys_id: String,
    pub name: String,
    /// `Failover` or `Load Balance`; empty when not returned.
    #[serde(rename = "type")]
    pub cluster_type: String,
}

/// An `ecc_agent_cluster_member_m2m` row: `agent` is a member of `cluster`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterMember {
    pub sys_id: String,
    pub cluster: String,
    /// sys_id of the `ecc_agent`.
    pub agent: String,
}

/// An open `ecc_agent_issue` row (its state is not `resolved`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentIssue {
    pub sys_id: String,
    /// sys_id of the `ecc_agent` it is about.
    pub mid_server: String,
    /// What raised it: `InstanceClone`, `MIDUserConnectivity`, ...
    pub source: String,
    pub state: String,
    pub last_detected: String,
    pub message: String,
}

/// An `ecc_agent_config` row with `param_name=mid.pinned.version`: the MID Server keeps this
/// version whatever the instance's build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MidPin {
    pub sys_id: String,
    /// sys_id of the `ecc_agent` it pins; empty when the row applies to all.
    pub ecc_agent: String,
    /// The version pinned.
    pub value: String,
}

/// A `sys_user_certificate` row: a client certificate that logs in as `user`. Only its name and
/// validity; never the certificate or its fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserCertificate {
    pub sys_id: String,
    /// sys_id of the `sys_user` it maps to.
    pub user: String,
    /// That user's login (dot-walked), to match it with MID Server logins.
    pub user_name: String,
    pub name: String,
    pub active: Option<bool>,
    /// When it expires, as the instance stores it (`YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, UTC);
    /// empty when not returned.
    pub expires: String,
}
