//! Every table the audit reads, defined once: its fields, where it is read, the read `preclone
//! doctor` probes, and how a release that lacks it or an ACL that hides it is taken. The
//! collector asks for exactly these fields, and doctor probes exactly these tables, so the two
//! cannot drift apart.

/// On which instances a table is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Every instance: the source and every target.
    Every,
    /// The source only (its clone setup).
    Source,
}

impl Scope {
    /// The `needed on` column of the doctor matrix.
    pub fn needed_on(self) -> &'static str {
        match self {
            Scope::Every => "every instance",
            Scope::Source => "source",
        }
    }
}

/// One table the audit reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Table {
    pub name: &'static str,
    /// `sysparm_fields` of every read of its rows (dot-walks included); nothing else is kept.
    pub fields: &'static [&'static str],
    pub scope: Scope,
    /// The encoded query of the rows the audit reads first (empty for the whole table): the
    /// audit's own first read where it has one, and what doctor probes.
    pub probe: &'static str,
    /// A release may lack the table: a 400 "Invalid table" answer means absent (no rows), not
    /// unreadable.
    pub may_be_absent: bool,
    /// The audit is complete without it: its being unreadable is never an `error` (the fact
    /// still says why it could not be read) and never fails doctor.
    pub optional: bool,
}

/// A table read on every instance, present on every release and needed for a complete audit.
const fn every(name: &'static str, fields: &'static [&'static str], probe: &'static str) -> Table {
    Table {
        name,
        fields,
        scope: Scope::Every,
        probe,
        may_be_absent: false,
        optional: false,
    }
}

/// A table read on the source only, present on every release and needed for a complete audit.
const fn source(name: &'static str, fields: &'static [&'static str]) -> Table {
    Table {
        scope: Scope::Source,
        ..every(name, fields, "")
    }
}

/// Roles: the `mid_server` role record (the first read of all: it tells whether the instance can
/// be read), and the roles preserver conditions are evaluated on.
pub const SYS_USER_ROLE: Table = every(
    "sys_user_role",
    &["sys_id", "name", "elevated_privilege"],
    "name=mid_server",
);

/// Role rows: the holders of `mid_server`, then every role row of the MID users.
pub const SYS_USER_HAS_ROLE: Table = every(
    "sys_user_has_role",
    &[
        "sys_id",
        "user",
        "user.user_name",
        "role",
        "role.name",
        "role.elevated_privilege",
        "inherited",
        "state",
        "sys_created_on",
        "sys_updated_on",
    ],
    "role.name=mid_server",
);

/// The MID users (by sys_id and by login). Every user table's rows come with `sys_created_on`
/// and `sys_updated_on`: on the source, a row created or changed within 36 hours of a clone may
/// not be in the backup the clone copies (`source-copy-in-backup-window`).
pub const SYS_USER: Table = every(
    "sys_user",
    &[
        "sys_id",
        "user_name",
        "sys_class_name",
        "active",
        "locked_out",
        "web_service_access_only",
        "internal_integration_user",
        "last_login_time",
        "sys_created_on",
        "sys_updated_on",
    ],
    "roles=mid_server",
);

/// The MID users' memberships, with their user's login, their group's name and [`GROUP_WALK`]
/// levels of its ancestors (dot-walked), so a group tree that deep costs no read of its own.
pub const SYS_USER_GRMEMBER: Table = every(
    "sys_user_grmember",
    &[
        "sys_id",
        "user",
        "user.user_name",
        "group",
        "group.name",
        "group.parent",
        "group.parent.parent",
        "group.parent.parent.parent",
        "group.parent.parent.parent.parent",
        "sys_created_on",
        "sys_updated_on",
    ],
    "user.roles=mid_server",
);

/// The levels of ancestors a membership row walks up to (`group.parent` four times): a group
/// nested deeper has the parents beyond read by a further request per level.
pub const GROUP_WALK: usize = 4;

/// The groups of those memberships and their parents.
pub const SYS_USER_GROUP: Table = every(
    "sys_user_group",
    &[
        "sys_id",
        "name",
        "parent",
        "sys_created_on",
        "sys_updated_on",
    ],
    "",
);

/// Those groups' roles, with `inherits` (whether the group passes the role to its members).
pub const SYS_GROUP_HAS_ROLE: Table = every(
    "sys_group_has_role",
    &[
        "sys_id",
        "group",
        "role",
        "role.name",
        "role.elevated_privilege",
        "inherits",
        "sys_created_on",
        "sys_updated_on",
    ],
    "",
);

/// Role containment, read whole (one paged read right after the login check): the roles
/// containing `mid_server` are followed up it and the roles the MID users' roles contain down
/// it without a request per level. It holds a row per role a role contains: the role
/// catalogue's size, not the users'.
pub const SYS_USER_ROLE_CONTAINS: Table = every(
    "sys_user_role_contains",
    &[
        "sys_id",
        "role",
        "role.name",
        "role.elevated_privilege",
        "contains",
        "contains.name",
        "contains.elevated_privilege",
        "sys_created_on",
        "sys_updated_on",
    ],
    "",
);

/// The class table of MID users whose `sys_class_name` is a child of `sys_user` (e.g.
/// `u_mid_service_account`): a preserver on it, not one on `sys_user`, keeps them. Its name
/// comes from the users read, so each class gets its table from [`class_table`]; only the
/// preserver conditions on it are evaluated (matching sys_ids and a count), on the targets.
/// `doctor` cannot probe it in advance.
pub const USER_CLASS: Table = every("sys_user", &["sys_id"], "");

/// The table of a MID user's class: `None` for `sys_user` itself (or no class), and for a name
/// that is not a plain table name (letters, digits and `_`), which is never put into a URL.
pub fn class_table(class: &str) -> Option<Table> {
    use std::collections::BTreeSet;
    use std::sync::{Mutex, OnceLock};
    static NAMES: OnceLock<Mutex<BTreeSet<&'static str>>> = OnceLock::new();
    let plain = !class.is_empty()
        && class.len() <= 80
        && class
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !plain || class == SYS_USER.name {
        return None;
    }
    // A few class names per run: each is kept for the run's life, as table names are.
    let mut names = NAMES
        .get_or_init(|| Mutex::new(BTreeSet::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let name = match names.get(class) {
        Some(n) => *n,
        None => {
            let n: &'static str = Box::leak(class.to_string().into_boxed_str());
            names.insert(n);
            n
        }
    };
    Some(Table { name, ..USER_CLASS })
}

/// MID Servers.
pub const ECC_AGENT: Table = every(
    "ecc_agent",
    &[
        "sys_id",
        "name",
        "status",
        "validated",
        "user_name",
        "host_name",
        "version",
        "last_refreshed",
        "is_using_mutual_auth",
    ],
    "",
);

/// The users MID Servers are configured to log in as (`mid.instance.username`) and the versions
/// some are pinned to (`mid.pinned.version`), in one read. No other parameter is asked for:
/// others may hold secrets (`mid.proxy.password`).
pub const ECC_AGENT_CONFIG: Table = every(
    "ecc_agent_config",
    &["sys_id", "ecc_agent", "param_name", "value"],
    "param_nameINmid.instance.username,mid.pinned.version",
);

/// The production flag, the build (`glide.war`, the build file name: `glide.buildtag` is
/// not a property row) and whether every MID Server counts as validated
/// (`glide.ecc_agent.validated.override`, judged on production).
pub const SYS_PROPERTIES: Table = every(
    "sys_properties",
    &["sys_id", "name", "value"],
    "nameINglide.installation.production,glide.war,glide.ecc_agent.validated.override",
);

/// The preservers, with every field of the record (`preclone fix` writes an update of a
/// switched-off one carrying them all): the dictionary's own fields and those of
/// `sys_metadata`.
pub const CLONE_DATA_PRESERVER: Table = source(
    "clone_data_preserver",
    &[
        "sys_id",
        "name",
        "table",
        "condition",
        "include_in_system_clone",
        "theme",
        "sys_created_on",
        "default",
        "sys_class_name",
        "sys_name",
        "sys_package",
        "sys_policy",
        "sys_scope",
        "sys_update_name",
    ],
);

/// Clone profiles, with the options a clone requested today takes from the default profile.
pub const CLONE_PROFILE: Table = source(
    "clone_profile",
    &[
        "sys_id",
        "name",
        "default_profile",
        "preserve_theme",
        "exclude_all_from_exclusion_list",
        "exclude_large_data",
    ],
);

/// The preservers each profile lists, with when each was linked (a locked request's profile
/// does not take a preserver linked after it).
pub const CLONE_PROFILE_PRESERVERS: Table = source(
    "clone_profile_preservers",
    &["sys_id", "profile", "preserver", "sys_created_on"],
);

/// Exclusions: `default` ones always apply, the custom list as the request's options say.
pub const CLONE_DATA_EXCLUDE: Table = source(
    "clone_data_exclude",
    &["sys_id", "name", "table", "default"],
);

/// Legacy clone requests (`clone_instance`), scheduled or past. `target_instance` is a
/// reference to the source's `instance` table, read on its own ([`INSTANCE`]).
pub const CLONE_INSTANCE: Table = source(
    "clone_instance",
    &[
        "sys_id",
        "clone_id",
        "target_instance",
        "state",
        "scheduled",
        "profile",
        "lock_profile_settings",
        "preserve_theme",
        "exclude_all_from_exclusion_list",
        "exclude_large_data",
        "sys_created_on",
    ],
);

/// Clone Admin Console requests (Washington DC on). A release without the table has no
/// console requests: absent, not unreadable.
pub const SN_INSTANCE_CLONE_REQUEST: Table = Table {
    may_be_absent: true,
    ..source(
        "sn_instance_clone_request",
        &[
            "sys_id",
            "request_id",
            "target_instance",
            "state",
            "scheduled",
            "profile",
            "lock_profile_settings",
            "preserve_theme",
            "exclude_all_from_exclusion_list",
            "exclude_large_data",
            "on_demand_backup",
            "sys_created_on",
        ],
    )
};

/// The clone targets registered on the source, read by the sys_ids the requests point to
/// (never a password field).
pub const INSTANCE: Table = source(
    "instance",
    &["sys_id", "instance_name", "instance_url", "production"],
);

/// Production's credentials whose MID Server list names a production MID Server that looks like
/// a target's (`mid_listLIKE<sys_id>`, ORed into as few requests as fit): the credentials such a
/// MID Server receives once validated. Never a secret field (`password`, `ssh_private_key`,
/// `ssh_passphrase`, `authentication_key`, `privacy_key`...). Optional evidence: the audit is
/// complete without it.
pub const DISCOVERY_CREDENTIALS: Table = Table {
    optional: true,
    ..source(
        "discovery_credentials",
        &["sys_id", "name", "type", "active", "mid_list"],
    )
};

/// Every table the audit reads, in the order of the doctor matrix. The first is read alone
/// first: it tells whether the instance can be read at all.
pub const ALL: &[&Table] = &[
    &SYS_USER_ROLE,
    &SYS_USER_HAS_ROLE,
    &SYS_USER,
    &SYS_USER_GRMEMBER,
    &SYS_USER_GROUP,
    &SYS_GROUP_HAS_ROLE,
    &SYS_USER_ROLE_CONTAINS,
    &ECC_AGENT,
    &ECC_AGENT_CONFIG,
    &SYS_PROPERTIES,
    &CLONE_DATA_PRESERVER,
    &CLONE_PROFILE,
    &CLONE_PROFILE_PRESERVERS,
    &CLONE_DATA_EXCLUDE,
    &CLONE_INSTANCE,
    &SN_INSTANCE_CLONE_REQUEST,
    &INSTANCE,
    &DISCOVERY_CREDENTIALS,
    &ECC_AGENT_CLUSTER,
    &ECC_AGENT_CLUSTER_MEMBER,
    &ECC_AGENT_ISSUE,
    &SYS_USER_CERTIFICATE,
];

/// MID Server clusters. Every cluster is MID-related, so the table is read whole.
pub const ECC_AGENT_CLUSTER: Table = every("ecc_agent_cluster", &["sys_id", "name", "type"], "");

/// Which MID Server is a member of which cluster.
pub const ECC_AGENT_CLUSTER_MEMBER: Table = every(
    "ecc_agent_cluster_member_m2m",
    &["sys_id", "cluster", "agent"],
    "",
);

/// The MID Servers' open issues: every state but `resolved` (an empty state is open too).
pub const ECC_AGENT_ISSUE: Table = every(
    "ecc_agent_issue",
    &[
        "sys_id",
        "mid_server",
        "source",
        "state",
        "last_detected",
        "message",
    ],
    "state!=resolved^ORstateISEMPTY",
);

/// The certificate rows that map a client certificate to a MID user (mutual authentication),
/// read by the logins of the MID Servers that use it (`user.user_nameIN`). Never the
/// certificate itself: no `pem_certificate`, no fingerprint, only its name and validity.
pub const SYS_USER_CERTIFICATE: Table = every(
    "sys_user_certificate",
    &[
        "sys_id",
        "user",
        "user.user_name",
        "name",
        "active",
        "expires",
    ],
    "user.roles=mid_server",
);

/// The tables besides the user tables whose rows a clone replaces and whose preservers a target
/// evaluates, restricted to their MID-related rows (`sys_idIN`): the MID Server clusters and
/// the MID users' certificate rows.
pub const MID_LEVEL: &[&Table] = &[&ECC_AGENT_CLUSTER, &SYS_USER_CERTIFICATE];

/// Whether `table` is one of the [`MID_LEVEL`] tables.
pub fn is_mid_level(table: &str) -> bool {
    MID_LEVEL.iter().any(|t| t.name == table)
}

/// The user tables whose preservers a target evaluates in the wave that has the MID users'
/// rows.
pub const USER_LEVEL: &[&Table] = &[&SYS_USER, &SYS_USER_HAS_ROLE, &SYS_USER_GRMEMBER];

/// The user tables whose preservers a target evaluates once the groups and roles are known.
pub const GROUP_LEVEL: &[&Table] = &[
    &SYS_USER_GROUP,
    &SYS_GROUP_HAS_ROLE,
    &SYS_USER_ROLE,
    &SYS_USER_ROLE_CONTAINS,
];

/// The user tables a clone replaces (PRODUCT.md 2.1): [`USER_LEVEL`] and [`GROUP_LEVEL`].
pub const USER_TABLES: [&str; 7] = [
    SYS_USER.name,
    SYS_USER_HAS_ROLE.name,
    SYS_USER_GRMEMBER.name,
    SYS_USER_GROUP.name,
    SYS_GROUP_HAS_ROLE.name,
    SYS_USER_ROLE.name,
    SYS_USER_ROLE_CONTAINS.name,
];

/// The table of `set` named `name`.
pub fn named(set: &[&'static Table], name: &str) -> Option<&'static Table> {
    set.iter().copied().find(|t| t.name == name)
}

/// The user table named `name` ([`USER_LEVEL`] or [`GROUP_LEVEL`]).
pub fn user_table(name: &str) -> Option<&'static Table> {
    named(USER_LEVEL, name).or_else(|| named(GROUP_LEVEL, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn every_table_is_defined_once_and_reads_its_sys_id() {
        let names: BTreeSet<&str> = ALL.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), ALL.len());
        for t in ALL {
            assert_eq!(t.fields.first(), Some(&"sys_id"), "{}", t.name);
            let fields: BTreeSet<&str> = t.fields.iter().copied().collect();
            assert_eq!(
                fields.len(),
                t.fields.len(),
                "{} names a field twice",
                t.name
            );
        }
        assert_eq!(ALL[0].name, "sys_user_role");
    }

    #[test]
    fn no_table_asks_for_a_secret_field() {
        for t in ALL {
            for f in t.fields {
                let last = f.rsplit('.').next().unwrap_or(f);
                assert!(
                    ![
                        "password",
                        "secret",
                        "key",
                        "token",
                        "pem_certificate",
                        "passphrase",
                        "private",
                        "fingerprint",
                        "certificate_chain",
                    ]
                    .iter()
                    .any(|s| last.contains(s)),
                    "{}.{f}",
                    t.name
                );
            }
        }
    }

    #[test]
    fn the_user_tables_are_the_user_and_group_levels() {
        let levels: BTreeSet<&str> = USER_LEVEL
            .iter()
            .chain(GROUP_LEVEL)
            .map(|t| t.name)
            .collect();
        assert_eq!(levels, USER_TABLES.into_iter().collect());
        for t in USER_LEVEL.iter().chain(GROUP_LEVEL) {
            assert!(named(ALL, t.name).is_some(), "{}", t.name);
            assert_eq!(t.scope, Scope::Every);
        }
        assert_eq!(named(USER_LEVEL, "sys_user_group"), None);
        assert_eq!(user_table("sys_user_group"), Some(&SYS_USER_GROUP));
        assert_eq!(user_table("ecc_agent"), None);
    }

    #[test]
    fn a_class_table_is_a_plain_child_class_name() {
        let t = class_table("u_mid_service_account").expect("a child class");
        assert_eq!(
            (t.name, t.fields),
            ("u_mid_service_account", &["sys_id"][..])
        );
        assert_eq!(class_table("u_mid_service_account"), Some(t));
        for bad in [
            "",
            "sys_user",
            "u_x^NQsys_id!=",
            "u_x/../y",
            "U_Upper",
            "a b",
        ] {
            assert_eq!(class_table(bad), None, "{bad}");
        }
    }
}
