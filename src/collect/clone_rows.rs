//! The rows of the source's clone set-up besides the preservers: profiles and their links,
//! exclusions, the clone requests of both request tables, and the `instance` records the
//! requests point to. The conventions are those of [`super::rows`].

use super::rows::{de, Keyed};
use crate::evidence::*;
use serde::Deserialize;

/// `clone_profile`, with its clone options.
#[derive(Deserialize)]
pub(super) struct CloneProfileRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    default_profile: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    preserve_theme: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    exclude_all_from_exclusion_list: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    exclude_large_data: Option<bool>,
}

impl From<CloneProfileRow> for CloneProfile {
    fn from(r: CloneProfileRow) -> Self {
        CloneProfile {
            sys_id: r.sys_id,
            name: r.name,
            default_profile: r.default_profile,
            preserve_theme: r.preserve_theme,
            exclude_all_from_exclusion_list: r.exclude_all_from_exclusion_list,
            exclude_large_data: r.exclude_large_data,
        }
    }
}

/// `clone_profile_preservers`, with when the link was made.
#[derive(Deserialize)]
pub(super) struct ProfilePreserverRow {
    #[serde(default, deserialize_with = "de::text")]
    profile: String,
    #[serde(default, deserialize_with = "de::text")]
    preserver: String,
    #[serde(default, deserialize_with = "de::text")]
    sys_created_on: String,
}

impl From<ProfilePreserverRow> for ProfilePreserver {
    fn from(r: ProfilePreserverRow) -> Self {
        ProfilePreserver {
            profile: r.profile,
            preserver: r.preserver,
            created_on: r.sys_created_on,
        }
    }
}

/// `clone_data_exclude`: a table name or a wildcard, and whether it is a default exclusion.
#[derive(Deserialize)]
pub(super) struct ExcludeRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(default, deserialize_with = "de::text")]
    table: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    default: Option<bool>,
}

impl From<ExcludeRow> for Exclusion {
    fn from(r: ExcludeRow) -> Self {
        Exclusion {
            sys_id: r.sys_id,
            name: r.name,
            table: r.table,
            default: r.default,
        }
    }
}

/// `clone_instance` or `sn_instance_clone_request` (each names only the fields its table has).
#[derive(Deserialize)]
pub(super) struct CloneRequestRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    clone_id: String,
    #[serde(default, deserialize_with = "de::text")]
    request_id: String,
    #[serde(default, deserialize_with = "de::text")]
    target_instance: String,
    #[serde(default, deserialize_with = "de::text")]
    state: String,
    #[serde(default, deserialize_with = "de::text")]
    scheduled: String,
    #[serde(default, deserialize_with = "de::text")]
    profile: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    lock_profile_settings: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    preserve_theme: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    exclude_all_from_exclusion_list: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    exclude_large_data: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    on_demand_backup: Option<bool>,
    #[serde(default, deserialize_with = "de::text")]
    sys_created_on: String,
}

impl CloneRequestRow {
    /// The request, as read from `table`.
    pub(super) fn into_request(self, table: RequestTable) -> CloneRequest {
        let (number, on_demand_backup) = match table {
            RequestTable::CloneInstance => (self.clone_id, None),
            RequestTable::SnInstanceCloneRequest => (self.request_id, self.on_demand_backup),
        };
        CloneRequest {
            table,
            sys_id: self.sys_id,
            number,
            target_instance: self.target_instance,
            state: self.state,
            scheduled: self.scheduled,
            profile: self.profile,
            lock_profile_settings: self.lock_profile_settings,
            preserve_theme: self.preserve_theme,
            exclude_all_from_exclusion_list: self.exclude_all_from_exclusion_list,
            exclude_large_data: self.exclude_large_data,
            on_demand_backup,
            created_on: self.sys_created_on,
        }
    }
}

/// `instance`: a registered clone target (no password field is ever asked for).
#[derive(Deserialize)]
pub(super) struct InstanceRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    instance_name: String,
    #[serde(default, deserialize_with = "de::text")]
    instance_url: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    production: Option<bool>,
}

impl Keyed for InstanceRow {
    fn sys_id(&self) -> &str {
        &self.sys_id
    }
}

impl From<InstanceRow> for InstanceRecord {
    fn from(r: InstanceRow) -> Self {
        InstanceRecord {
            sys_id: r.sys_id,
            instance_name: r.instance_name,
            instance_url: r.instance_url,
            production: r.production,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::rows::parse;
    use super::*;
    use crate::client::Row;

    fn row(fields: &[(&str, &str)]) -> Row {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_request_keeps_its_table_number_and_target_reference() {
        let fields = [
            ("sys_id", "r1"),
            ("clone_id", "CLN001"),
            ("request_id", "REQ001"),
            ("target_instance", " i1 "),
            ("lock_profile_settings", "true"),
            ("on_demand_backup", "true"),
        ];
        let legacy = parse::<CloneRequestRow>(row(&fields))
            .expect("parses")
            .into_request(RequestTable::CloneInstance);
        assert_eq!(
            (legacy.number.as_str(), legacy.target_instance.as_str()),
            ("CLN001", "i1")
        );
        assert_eq!(legacy.on_demand_backup, None);
        assert_eq!(legacy.lock_profile_settings, Some(true));
        let console = parse::<CloneRequestRow>(row(&fields))
            .expect("parses")
            .into_request(RequestTable::SnInstanceCloneRequest);
        assert_eq!(console.number, "REQ001");
        assert_eq!(console.on_demand_backup, Some(true));
        // Fields that did not come back are unknown.
        let bare = parse::<CloneRequestRow>(row(&[("sys_id", "r2")]))
            .expect("parses")
            .into_request(RequestTable::CloneInstance);
        assert_eq!(
            (bare.lock_profile_settings, bare.exclude_large_data),
            (None, None)
        );
    }
}
