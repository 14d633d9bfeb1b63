//! The rows of each table as the collector reads them: one `#[derive(Deserialize)]` struct per
//! table of [`crate::tables`], deserialised by the client as it parses each page
//! ([`crate::client::Typed`]: no map of the row in between), or from a [`Row`] map ([`parse`])
//! for the reads a fleet shares. A struct names only fields its table asks for; the client
//! keeps nothing else, and serde skips anything else.
//!
//! The Table API's conventions, applied field by field ([`de`]): strings are trimmed, and a
//! field that did not come back is empty; booleans are `true`/`false` in any case (or `1`/`0`),
//! anything else unknown (`None`); a role row's `inherited` that is not a clear `false` counts as
//! inherited.

use crate::client::Row;
use crate::evidence::*;
use crate::shared_text::shared;
use serde::de::value::{Error, MapDeserializer};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// One client row as the typed row of its table (a shared read's: the others are typed as they
/// are parsed).
pub(super) fn parse<T: DeserializeOwned>(row: Row) -> Result<T, Error> {
    T::deserialize(MapDeserializer::<_, Error>::new(row.into_iter()))
}

/// A row with a sys_id, by which reads split over several requests drop duplicates.
pub(super) trait Keyed {
    fn sys_id(&self) -> &str;
}

macro_rules! keyed {
    ($($row:ty),* $(,)?) => {
        $(impl Keyed for $row {
            fn sys_id(&self) -> &str {
                &self.sys_id
            }
        })*
    };
}

keyed!(
    UserRow,
    UserRoleRow,
    MembershipRow,
    GroupRow,
    GroupRoleRow,
    ContainsRow,
);

/// ServiceNow's value conventions, for `#[serde(deserialize_with = "…")]`.
pub(super) mod de {
    use crate::evidence::parse_bool;
    use serde::{Deserialize, Deserializer};

    /// The text without surrounding blanks.
    pub fn text<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        let s = String::deserialize(d)?;
        Ok(match s.trim() {
            t if t.len() == s.len() => s,
            t => t.to_string(),
        })
    }

    /// The value as it came, for a field whose absence must stay visible (`None`).
    pub fn kept<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        String::deserialize(d).map(Some)
    }

    /// `true`/`false` in any case (or `1`/`0`); anything else is unknown.
    pub fn opt_bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(parse_bool(&String::deserialize(d)?))
    }

    /// A role row's `inherited`: a row whose flag is not a clear `false` proves nothing, like an
    /// inherited one.
    pub fn inherited<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        Ok(opt_bool(d)?.unwrap_or(true))
    }

    /// `inherited` when the field did not come back.
    pub fn yes() -> bool {
        true
    }
}

/// The role a row refers to, from its dot-walked name (and elevated flag), when both the
/// reference and the name came back.
fn referenced(sys_id: &str, name: &str, elevated_privilege: Option<bool>) -> Option<Role> {
    (!sys_id.is_empty() && !name.is_empty()).then(|| Role {
        sys_id: sys_id.to_string(),
        name: name.to_string(),
        elevated_privilege,
    })
}

/// Only the sys_id: a preserver condition's matches.
#[derive(Deserialize)]
pub(super) struct IdRow {
    #[serde(default, deserialize_with = "de::text")]
    pub(super) sys_id: String,
}

/// `sys_user_role`.
#[derive(Deserialize)]
pub(super) struct RoleRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    elevated_privilege: Option<bool>,
}

impl From<RoleRow> for Role {
    fn from(r: RoleRow) -> Self {
        Role {
            sys_id: r.sys_id,
            name: r.name,
            elevated_privilege: r.elevated_privilege,
        }
    }
}

/// `sys_user`.
#[derive(Deserialize)]
pub(super) struct UserRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    user_name: String,
    #[serde(default, deserialize_with = "de::text")]
    sys_class_name: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    active: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    locked_out: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    web_service_access_only: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    internal_integration_user: Option<bool>,
    #[serde(default, deserialize_with = "de::text")]
    last_login_time: String,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            sys_id: r.sys_id,
            user_name: r.user_name,
            sys_class_name: r.sys_class_name,
            active: r.active,
            locked_out: r.locked_out,
            web_service_access_only: r.web_service_access_only,
            internal_integration_user: r.internal_integration_user,
            last_login_time: r.last_login_time,
        }
    }
}

/// `sys_user_has_role`, with the user's login and the role's name and elevated flag.
#[derive(Clone, Deserialize)]
pub(super) struct UserRoleRow {
    #[serde(default, deserialize_with = "de::text")]
    pub(super) sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub(super) user: String,
    #[serde(rename = "user.user_name", default, deserialize_with = "de::text")]
    pub(super) user_name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub(super) role: String,
    #[serde(rename = "role.name", default, deserialize_with = "de::text")]
    role_name: String,
    #[serde(
        rename = "role.elevated_privilege",
        default,
        deserialize_with = "de::opt_bool"
    )]
    role_elevated: Option<bool>,
    #[serde(default = "de::yes", deserialize_with = "de::inherited")]
    inherited: bool,
    #[serde(default, deserialize_with = "de::text")]
    state: String,
}

impl UserRoleRow {
    pub(super) fn role_ref(&self) -> Option<Role> {
        referenced(&self.role, &self.role_name, self.role_elevated)
    }
}

impl From<UserRoleRow> for UserRole {
    fn from(r: UserRoleRow) -> Self {
        UserRole {
            sys_id: r.sys_id,
            user: shared(&r.user),
            role: shared(&r.role),
            inherited: r.inherited,
            state: shared(&r.state),
        }
    }
}

/// `sys_user_grmember`, with its group's name and the ancestors the row walks to.
#[derive(Clone, Deserialize)]
pub(super) struct MembershipRow {
    #[serde(default, deserialize_with = "de::text")]
    pub(super) sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub(super) user: String,
    #[serde(rename = "user.user_name", default, deserialize_with = "de::text")]
    pub(super) user_name: String,
    #[serde(default, deserialize_with = "de::text")]
    group: String,
    #[serde(rename = "group.name", default, deserialize_with = "de::text")]
    pub(super) group_name: String,
    #[serde(rename = "group.parent", default, deserialize_with = "de::text")]
    parent: String,
    #[serde(rename = "group.parent.parent", default, deserialize_with = "de::text")]
    grandparent: String,
    #[serde(
        rename = "group.parent.parent.parent",
        default,
        deserialize_with = "de::text"
    )]
    great_grandparent: String,
    #[serde(
        rename = "group.parent.parent.parent.parent",
        default,
        deserialize_with = "de::text"
    )]
    great_great_grandparent: String,
}

impl MembershipRow {
    /// The group and the [`crate::tables::GROUP_WALK`] ancestors the row walks to (empty where
    /// there is none).
    pub(super) fn groups(&self) -> [&str; 1 + crate::tables::GROUP_WALK] {
        [
            &self.group,
            &self.parent,
            &self.grandparent,
            &self.great_grandparent,
            &self.great_great_grandparent,
        ]
    }
}

impl From<MembershipRow> for Membership {
    fn from(r: MembershipRow) -> Self {
        Membership {
            sys_id: r.sys_id,
            user: shared(&r.user),
            group: shared(&r.group),
        }
    }
}

/// `sys_user_group`.
#[derive(Deserialize)]
pub(super) struct GroupRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(default, deserialize_with = "de::text")]
    parent: String,
}

impl From<GroupRow> for Group {
    fn from(r: GroupRow) -> Self {
        Group {
            sys_id: r.sys_id,
            name: r.name,
            parent: r.parent,
        }
    }
}

/// `sys_group_has_role`, with the role's name and elevated flag.
#[derive(Clone, Deserialize)]
pub(super) struct GroupRoleRow {
    #[serde(default, deserialize_with = "de::text")]
    pub(super) sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    group: String,
    #[serde(default, deserialize_with = "de::text")]
    pub(super) role: String,
    #[serde(rename = "role.name", default, deserialize_with = "de::text")]
    role_name: String,
    #[serde(
        rename = "role.elevated_privilege",
        default,
        deserialize_with = "de::opt_bool"
    )]
    role_elevated: Option<bool>,
    /// Missing or not a boolean: unknown.
    #[serde(default, deserialize_with = "de::opt_bool")]
    inherits: Option<bool>,
}

impl GroupRoleRow {
    pub(super) fn role_ref(&self) -> Option<Role> {
        referenced(&self.role, &self.role_name, self.role_elevated)
    }
}

impl From<GroupRoleRow> for GroupRole {
    fn from(r: GroupRoleRow) -> Self {
        GroupRole {
            sys_id: r.sys_id,
            group: r.group,
            role: r.role,
            inherits: r.inherits,
        }
    }
}

/// `sys_user_role_contains`, with both roles' names.
#[derive(Clone, Deserialize)]
pub(super) struct ContainsRow {
    #[serde(default, deserialize_with = "de::text")]
    pub(super) sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    pub(super) role: String,
    #[serde(rename = "role.name", default, deserialize_with = "de::text")]
    role_name: String,
    #[serde(
        rename = "role.elevated_privilege",
        default,
        deserialize_with = "de::opt_bool"
    )]
    role_elevated: Option<bool>,
    #[serde(default, deserialize_with = "de::text")]
    pub(super) contains: String,
    #[serde(rename = "contains.name", default, deserialize_with = "de::text")]
    pub(super) contains_name: String,
    #[serde(
        rename = "contains.elevated_privilege",
        default,
        deserialize_with = "de::opt_bool"
    )]
    pub(super) contains_elevated: Option<bool>,
}

impl ContainsRow {
    /// The containing role and the contained one, with their elevated flags.
    pub(super) fn role_refs(&self) -> [Option<Role>; 2] {
        [
            referenced(&self.role, &self.role_name, self.role_elevated),
            referenced(&self.contains, &self.contains_name, self.contains_elevated),
        ]
    }
}

impl From<ContainsRow> for RoleContains {
    fn from(r: ContainsRow) -> Self {
        RoleContains {
            sys_id: r.sys_id,
            role: r.role,
            contains: r.contains,
        }
    }
}

/// `ecc_agent`.
#[derive(Deserialize)]
pub(super) struct AgentRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(default, deserialize_with = "de::text")]
    status: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    validated: Option<bool>,
    #[serde(default, deserialize_with = "de::text")]
    user_name: String,
    #[serde(default, deserialize_with = "de::text")]
    host_name: String,
    #[serde(default, deserialize_with = "de::text")]
    version: String,
    #[serde(default, deserialize_with = "de::text")]
    last_refreshed: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    is_using_mutual_auth: Option<bool>,
}

impl From<AgentRow> for MidServer {
    fn from(r: AgentRow) -> Self {
        MidServer {
            sys_id: r.sys_id,
            name: r.name,
            status: r.status,
            validated: r.validated,
            user_name: r.user_name,
            host_name: r.host_name,
            version: r.version,
            last_refreshed: r.last_refreshed,
            is_using_mutual_auth: r.is_using_mutual_auth,
        }
    }
}

/// `ecc_agent_config` (`mid.instance.username` and `mid.pinned.version`).
#[derive(Deserialize)]
pub(super) struct MidConfigRow {
    #[serde(default, deserialize_with = "de::text")]
    pub(super) sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    ecc_agent: String,
    #[serde(default, deserialize_with = "de::text")]
    pub(super) param_name: String,
    #[serde(default, deserialize_with = "de::text")]
    value: String,
}

impl From<MidConfigRow> for MidPin {
    fn from(r: MidConfigRow) -> Self {
        MidPin {
            sys_id: r.sys_id,
            ecc_agent: r.ecc_agent,
            value: r.value,
        }
    }
}

impl From<MidConfigRow> for MidConfig {
    fn from(r: MidConfigRow) -> Self {
        MidConfig {
            sys_id: r.sys_id,
            ecc_agent: r.ecc_agent,
            value: r.value,
        }
    }
}

/// `sys_properties`.
#[derive(Deserialize)]
pub(super) struct PropertyRow {
    #[serde(default, deserialize_with = "de::text")]
    pub(super) name: String,
    #[serde(default, deserialize_with = "de::text")]
    pub(super) value: String,
}

/// `clone_data_preserver`. The condition is kept as it came, blanks and all.
#[derive(Deserialize)]
pub(super) struct PreserverRow {
    #[serde(default, deserialize_with = "de::text")]
    sys_id: String,
    #[serde(default, deserialize_with = "de::text")]
    name: String,
    #[serde(default, deserialize_with = "de::text")]
    table: String,
    #[serde(default)]
    condition: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    include_in_system_clone: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_bool")]
    theme: Option<bool>,
    #[serde(default, deserialize_with = "de::text")]
    sys_created_on: String,
    #[serde(default, deserialize_with = "de::opt_bool")]
    default: Option<bool>,
    // The sys_metadata fields, kept as they came (absent when not returned).
    #[serde(default, deserialize_with = "de::kept")]
    sys_class_name: Option<String>,
    #[serde(default, deserialize_with = "de::kept")]
    sys_name: Option<String>,
    #[serde(default, deserialize_with = "de::kept")]
    sys_package: Option<String>,
    #[serde(default, deserialize_with = "de::kept")]
    sys_policy: Option<String>,
    #[serde(default, deserialize_with = "de::kept")]
    sys_scope: Option<String>,
    #[serde(default, deserialize_with = "de::kept")]
    sys_update_name: Option<String>,
}

impl From<PreserverRow> for Preserver {
    fn from(r: PreserverRow) -> Self {
        let metadata = [
            ("sys_class_name", r.sys_class_name),
            ("sys_name", r.sys_name),
            ("sys_package", r.sys_package),
            ("sys_policy", r.sys_policy),
            ("sys_scope", r.sys_scope),
            ("sys_update_name", r.sys_update_name),
        ]
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_string(), v?)))
        .collect();
        Preserver {
            sys_id: r.sys_id,
            name: r.name,
            table: r.table,
            condition: r.condition,
            include_in_system_clone: r.include_in_system_clone,
            theme: r.theme,
            created_on: r.sys_created_on,
            default: r.default,
            metadata,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(fields: &[(&str, &str)]) -> Row {
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn strings_are_trimmed_and_missing_fields_empty() {
        let r: UserRoleRow = parse(row(&[
            ("sys_id", " a1 "),
            ("user.user_name", "\tmid.dev\n"),
            ("role.name", "mid_server"),
        ]))
        .expect("parses");
        assert_eq!((r.sys_id.as_str(), r.user_name.as_str()), ("a1", "mid.dev"));
        assert_eq!(r.user, "");
        // No role reference: no role, whatever the name.
        assert!(r.role_ref().is_none());
    }

    #[test]
    fn booleans_are_tri_state_and_inherited_is_true_unless_false() {
        for (value, inherited) in [
            (Some("false"), false),
            (Some("False"), false),
            (Some("0"), false),
            (Some("true"), true),
            (Some(""), true),
            (Some("maybe"), true),
            (None, true),
        ] {
            let mut fields = vec![("sys_id", "a1"), ("role", "r1"), ("role.name", "admin")];
            if let Some(v) = value {
                fields.push(("inherited", v));
            }
            let r: UserRoleRow = parse(row(&fields)).expect("parses");
            assert_eq!(r.inherited, inherited, "{value:?}");
            assert_eq!(r.role_ref().map(|r| r.elevated_privilege), Some(None));
        }
        let u: User = parse::<UserRow>(row(&[
            ("active", " true "),
            ("locked_out", "x"),
            ("web_service_access_only", "TRUE"),
            ("internal_integration_user", "False"),
        ]))
        .expect("parses")
        .into();
        assert_eq!(
            (u.active, u.locked_out, u.web_service_access_only),
            (Some(true), None, Some(true))
        );
        assert_eq!(u.internal_integration_user, Some(false));
    }

    #[test]
    fn dot_walked_fields_fill_their_own_members_and_others_are_skipped() {
        let m: MembershipRow = parse(row(&[
            ("sys_id", "m1"),
            ("group", "g1"),
            ("group.name", "MID Servers"),
            ("group.parent.parent", "g3"),
            ("user_password", "never kept"),
        ]))
        .expect("parses");
        assert_eq!(m.groups(), ["g1", "", "g3", "", ""]);
        assert_eq!(m.group_name, "MID Servers");
        let p: Preserver = parse::<PreserverRow>(row(&[("condition", " roles=mid_server^EQ ")]))
            .expect("parses")
            .into();
        assert_eq!(p.condition, " roles=mid_server^EQ ");
        assert!(p.metadata.is_empty() && p.default.is_none());
    }

    #[test]
    fn a_preserver_keeps_the_metadata_fields_that_came_back_as_they_came() {
        let p: Preserver = parse::<PreserverRow>(row(&[
            ("sys_id", "p1"),
            ("default", "false"),
            ("sys_scope", "global"),
            ("sys_policy", ""),
            ("sys_name", " MID users "),
        ]))
        .expect("parses")
        .into();
        assert_eq!(p.default, Some(false));
        let kept: Vec<(&str, &str)> = p
            .metadata
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        // Empty is a value; a field that did not come back is not in the map.
        assert_eq!(
            kept,
            [
                ("sys_name", " MID users "),
                ("sys_policy", ""),
                ("sys_scope", "global")
            ]
        );
    }
}
