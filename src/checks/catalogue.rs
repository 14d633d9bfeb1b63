//! The static catalogue: every check's stable id, severity, rationale, how it is decided and
//! what to do. `preclone checks` and `preclone explain` print it.

use crate::finding::Severity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use strum::{Display, EnumCount, EnumIter, EnumString, IntoStaticStr};

// The variants are declared in catalogue order; a compile-time assertion below keeps CATALOGUE
// in step.
/// The stable id of a check, written kebab-case (`mid-user-not-preserved`) in every report,
/// waiver file and `preclone explain`. Ids are never reused.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    JsonSchema,
    IntoStaticStr,
    EnumString,
    EnumIter,
    EnumCount,
    Display,
)]
#[serde(rename_all = "kebab-case")]
#[strum(serialize_all = "kebab-case")]
pub enum CheckId {
    MidUserNotPreserved,
    MidUserSurvivesBySourceCopy,
    MidUserNameCollision,
    MidRoleNotPreserved,
    MidMembershipNotPreserved,
    MidGroupMissingInSource,
    MidGroupLacksRoleInSource,
    MidRoleIdDiffers,
    MidServerWillGoDown,
    MidServerLoginUnknown,
    MidUserSharedByMidServers,
    BuildMismatch,
    PreserverMissing,
    PreserverNotApplied,
    PreserverOverbroad,
    PreserverDotWalked,
    CloneExcludesUserTables,
    ProdForeignMidUser,
    ProdSharedMidCredential,
    MidUserInteractiveLogin,
    MidUserElevatedRoles,
    MidUserDormant,
    MidServerUnvalidated,
    TargetIsProduction,
    TableUnreadable,
    RowsHiddenByAcl,
    WaiverExpired,
    WaiverUnused,
    SourceCopyInBackupWindow,
    ProdNonprodMidServer,
    ProdValidationOverride,
    MidClusterWillGoDown,
    MidClusterNotPreserved,
    MidCertificateNotPreserved,
    MidCertificateExpiring,
    MidServerAlreadyDown,
}

impl CheckId {
    /// The kebab-case id.
    pub fn as_str(self) -> &'static str {
        self.into()
    }

    /// The catalogue entry of this check.
    pub fn def(self) -> &'static CheckDef {
        // CATALOGUE[i].id == i for every variant: asserted at compile time below.
        &CATALOGUE[self as usize]
    }

    pub fn family(self) -> Family {
        self.def().family
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// Will the target's MID Servers still log in?
    Survival,
    /// Are the preservers right?
    Preservers,
    /// Is production exposed?
    Exposure,
    /// Could we see everything?
    Coverage,
    /// Waivers that expired or match nothing.
    Waivers,
}

impl Family {
    pub fn title(self) -> &'static str {
        match self {
            Family::Survival => "Will the target's MID Servers still log in?",
            Family::Preservers => "Are the preservers right?",
            Family::Exposure => "Is production exposed?",
            Family::Coverage => "Could we see everything?",
            Family::Waivers => "Are the waivers current?",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckDef {
    pub id: CheckId,
    pub family: Family,
    /// The default severity of a failure.
    pub severity: Severity,
    /// The highest severity a result of this check can carry (some depend on the evidence).
    pub max_severity: Severity,
    pub title: &'static str,
    pub rationale: &'static str,
    pub decided: &'static str,
    pub remediation: &'static str,
}

use Family::*;
use Severity::*;

/// Every check, in [`CheckId`] order.
pub static CATALOGUE: &[CheckDef] = &DEFS;

// Entry i of the catalogue is the check whose discriminant is i, so `CheckId::def` is an index.
const _: () = {
    let mut i = 0;
    while i < DEFS.len() {
        assert!(
            DEFS[i].id as usize == i,
            "CATALOGUE is not in CheckId order"
        );
        i += 1;
    }
};

const DEFS: [CheckDef; <CheckId as strum::EnumCount>::COUNT] = [
    CheckDef {
        id: CheckId::MidUserNotPreserved,
        family: Survival,
        severity: Critical,
        max_severity: Critical,
        title: "A MID user will not exist after the clone",
        rationale: "The clone replaces the target's sys_user with the source's. A MID Server keeps logging in with the user name and password in its config.xml; if no active, unlocked user of that name exists afterwards, the MID Server goes Down until someone with host access re-keys it.",
        decided: "Simulates the target's sys_user after the clone: the source's users (unless sys_user is excluded) plus the target's records matched by an applicable sys_user preserver, as the target itself evaluated the condition. Preservers do not reach child classes. Fails when no active, unlocked user with the login user_name remains.",
        remediation: "On the source, add a clone data preserver on sys_user whose condition matches the MID user (e.g. roles=mid_server) and make sure the clone profile lists it; or create the user in the source (see prod-foreign-mid-user before you do).",
    },
    CheckDef {
        id: CheckId::MidUserSurvivesBySourceCopy,
        family: Survival,
        severity: Medium,
        max_severity: Medium,
        title: "A MID user survives only as the source's copy",
        rationale: "When the target's own record is not kept but the source has a user of the same name, the clone brings the source's copy with the source's password. The MID Server's stored credential (encrypted in config.xml or in a vault) must match it, or the MID Server goes Down.",
        decided: "Fails when the only usable user with the login user_name after the clone comes from the source.",
        remediation: "Preserve the target's own record with a sys_user preserver, or confirm the MID Server's stored password equals the source user's.",
    },
    CheckDef {
        id: CheckId::MidUserNameCollision,
        family: Survival,
        severity: High,
        max_severity: High,
        title: "Two users will share a MID login after the clone",
        rationale: "A kept target record and a source record with another sys_id but the same user_name both exist after the clone; logins become ambiguous and one of them usually loses its roles.",
        decided: "Fails when more than one user with the login user_name exists in the simulated sys_user.",
        remediation: "Give the MID user the same sys_id on both instances, or remove the source's duplicate, or stop preserving the target's record.",
    },
    CheckDef {
        id: CheckId::MidRoleNotPreserved,
        family: Survival,
        severity: Critical,
        max_severity: Critical,
        title: "A MID user will lose mid_server",
        rationale: "A MID Server whose user lacks mid_server cannot authenticate for MID work, even when the user exists.",
        decided: "In the simulated tables, looks for a non-inherited, active sys_user_has_role row of mid_server or of a role that contains it (sys_user_role_contains, transitively), or a membership of a group that grants such a role itself or through its parents. Inherited rows are recomputed by the platform and prove nothing. Not reported for a user that will not exist.",
        remediation: "On the source, add a preserver on sys_user_has_role with the condition user.roles=mid_server (the seed article's; its dot-walk costs one low preserver-dot-walked) and list it in the clone profile, or grant mid_server to the user or its group in the source.",
    },
    CheckDef {
        id: CheckId::MidMembershipNotPreserved,
        family: Survival,
        severity: Low,
        max_severity: High,
        title: "A kept MID user loses a group membership",
        rationale: "Memberships are replaced by the source's. When mid_server came through that group, losing the membership loses the role.",
        decided: "For a MID user whose target record is kept, fails for each of its sys_user_grmember rows that no applicable preserver keeps: high when mid_server came through that group today, otherwise low.",
        remediation: "On the source, add a preserver on sys_user_grmember with the condition user.roles=mid_server (the seed article's; its dot-walk costs one low preserver-dot-walked) and list it in the clone profile.",
    },
    CheckDef {
        id: CheckId::MidGroupMissingInSource,
        family: Survival,
        severity: Medium,
        max_severity: Critical,
        title: "A kept membership points to a group that will not exist",
        rationale: "A preserved sys_user_grmember row whose group is neither in the source nor preserved points nowhere after the clone; if mid_server came through it, the role is gone.",
        decided: "For every kept membership of a kept MID user, checks that the group's sys_id exists in the simulated sys_user_group: critical when the user loses mid_server because of it (it came through the group today and nothing else grants it after the clone), otherwise medium.",
        remediation: "Create the group in the source with the same sys_id (export/import the record), or preserve the group and its roles (sys_user_group, sys_group_has_role).",
    },
    CheckDef {
        id: CheckId::MidGroupLacksRoleInSource,
        family: Survival,
        severity: Medium,
        max_severity: Critical,
        title: "A group that grants mid_server today will not grant it after the clone",
        rationale: "The group exists in the source too, but there it does not hold mid_server (or a role containing it), so the source's sys_group_has_role rows replace the grant.",
        decided: "For every group through which a kept MID user holds mid_server today, checks whether the simulated group (and its parents) still holds a role that grants mid_server: critical when the user loses mid_server because of it (nothing else grants it after the clone), otherwise medium.",
        remediation: "On the source, grant mid_server to the group.",
    },
    CheckDef {
        id: CheckId::MidRoleIdDiffers,
        family: Survival,
        severity: High,
        max_severity: High,
        title: "mid_server, or a role or group that grants it, has another sys_id in the source",
        rationale: "Preserved rows point to roles and groups by sys_id. When the source's record of the same name has another sys_id, every kept row points to a record that the clone removes.",
        decided: "For mid_server, and each role or group through which a judged MID user holds it, looks for the target's sys_id on the source: passes when a source record has it (names are not unique), fails when only records of the same name with other sys_ids exist there.",
        remediation: "Align the sys_ids (recreate the target's record from the source's), or preserve the role or group records too.",
    },
    CheckDef {
        id: CheckId::MidServerWillGoDown,
        family: Survival,
        severity: Critical,
        max_severity: Critical,
        title: "A MID Server will go Down after the clone",
        rationale: "This is the impact line people read first: the MID Server logs in as a user that will not exist or will lose mid_server, or (mutual authentication) presents a certificate whose sys_user_certificate row will not survive.",
        decided: "For each MID Server of the target, takes its configured user (ecc_agent_config mid.instance.username) and the user it logged in as (ecc_agent.user_name) and fails when one of them fails mid-user-not-preserved or mid-role-not-preserved; with is_using_mutual_auth, also when no active certificate row of its user survives (mid-certificate-not-preserved). The impact table names its cluster.",
        remediation: "Fix the findings of its user (see mid-user-not-preserved and mid-role-not-preserved) or of its certificate (mid-certificate-not-preserved), or plan to re-key the MID Server after the clone (KB0752979).",
    },
    CheckDef {
        id: CheckId::MidServerLoginUnknown,
        family: Survival,
        severity: Medium,
        max_severity: Medium,
        title: "A MID Server's login is not known",
        rationale: "Without a logged-in or configured user (a MID Server that never connected), its fate cannot be read from the user tables. A MID Server using mutual authentication logs in as the user its certificate maps to, which is its logged-in user: that is a known login.",
        decided: "Fails when neither ecc_agent.user_name nor an ecc_agent_config mid.instance.username value is known for the MID Server.",
        remediation: "Check the MID Server by hand: find the user in its config.xml (mid.instance.username) and make sure that user, its mid_server role and, with mutual authentication, its sys_user_certificate row survive the clone.",
    },
    CheckDef {
        id: CheckId::MidUserSharedByMidServers,
        family: Survival,
        severity: Low,
        max_severity: Low,
        title: "Several MID Servers log in as one user",
        rationale: "One bad credential, a lock-out after failed logins, or a lost role takes every MID Server using it down at once.",
        decided: "Fails when more than one MID Server of an instance logs in (or is configured to log in) as the same user_name.",
        remediation: "Give each MID Server (or each cluster) its own MID user.",
    },
    CheckDef {
        id: CheckId::BuildMismatch,
        family: Survival,
        severity: Medium,
        max_severity: Medium,
        title: "Source and target run different builds",
        rationale: "After the clone the target runs the source's version, and its MID Servers upgrade or downgrade themselves; a failed upgrade leaves them Down. A MID Server pinned to a version (mid.pinned.version) does not follow the build at all.",
        decided: "Compares the build (the glide.war property, the build file name) of the source and the target, and names the target's MID Servers pinned with an ecc_agent_config mid.pinned.version row (one that names no MID Server pins them all).",
        remediation: "Upgrade the lower instance first, or plan the MID Servers' upgrade after the clone; remove or update the mid.pinned.version of the pinned MID Servers.",
    },
    CheckDef {
        id: CheckId::PreserverMissing,
        family: Preservers,
        severity: High,
        max_severity: High,
        title: "No applicable preserver on a MID user table",
        rationale: "Without a preserver on sys_user, sys_user_has_role and sys_user_grmember the clone replaces the target's MID users, their roles or their memberships.",
        decided: "For each of those tables, fails when some target has active MID users and no applicable preserver on that table exists for the clone onto it.",
        remediation: "On the source, add the seed article's preserver for the table and list it in the clone profile: a preserver on sys_user with the condition roles=mid_server; on sys_user_has_role and on sys_user_grmember, a preserver with the condition user.roles=mid_server (its dot-walk costs one low preserver-dot-walked).",
    },
    CheckDef {
        id: CheckId::PreserverNotApplied,
        family: Preservers,
        severity: High,
        max_severity: High,
        title: "A MID-related preserver will not run",
        rationale: "A preserver that is switched off, a theme preserver in a clone that does not preserve the theme, one missing from the profile the clone uses, one created or linked into the profile after a request locked its settings, or one whose condition uses MATCH_RGX (not supported in preserver conditions) keeps nothing.",
        decided: "For each preserver whose condition matches a MID-related row on some target (a MID user's row on a user table or its class table, a MID Server cluster, or the certificate row of a MID Server that logs in with one), fails when it does not apply to some clone onto some target: each pending request of clone_instance and sn_instance_clone_request, or the clone requested today; names the request.",
        remediation: "Set include_in_system_clone to true, add the preserver to the clone profile, or re-create a locked clone request.",
    },
    CheckDef {
        id: CheckId::PreserverOverbroad,
        family: Preservers,
        severity: Medium,
        max_severity: Medium,
        title: "A MID-related preserver keeps rows that are not MID-related",
        rationale: "An empty condition keeps every row; a misspelt field is ignored by the platform and matches everything: target users and grants survive the clone that should not.",
        decided: "For each preserver that matches a MID-related row on some target, asks every target how many rows of the whole table the condition matches and compares with the MID-related rows it matches there: over-broad when they differ on any target. Not judged on sys_user_certificate: only the certificates of MID Servers that log in with one are read, so whether the others are a MID user's is not known.",
        remediation: "Narrow the condition to the MID-related rows, and check that the table has every field it names (a field it lacks is ignored and matches every row). The seed article's conditions match only MID-related rows: roles=mid_server on sys_user, user.roles=mid_server on sys_user_has_role and sys_user_grmember (a dot-walk: one low preserver-dot-walked).",
    },
    CheckDef {
        id: CheckId::PreserverDotWalked,
        family: Preservers,
        severity: Low,
        max_severity: Low,
        title: "A preserver's condition dot-walks",
        rationale: "The legacy in-app clone engine cannot apply dot-walked conditions (user.roles=mid_server). A clone falls back to it only in rare, configured cases: after three failed scheduling attempts, when glide.db.clone.fallback_inapp is true (false by default), both instances run one version, and the database is not Oracle. The seed article's preservers dot-walk; the risk is low.",
        decided: "Fails for a preserver on a user table whose condition tests a field through a reference.",
        remediation: "Keep glide.db.clone.fallback_inapp false on the source (the platform's default), so that a clone never falls back to the legacy engine; the dot-walked condition itself can stay.",
    },
    CheckDef {
        id: CheckId::CloneExcludesUserTables,
        family: Preservers,
        severity: High,
        max_severity: High,
        title: "The clone excludes a user table",
        rationale: "An excluded table ends up empty on the target unless it is also preserved.",
        decided: "Under each clone onto each target, matches the clone_data_exclude names (wildcards by prefix) that clone applies (default exclusions always; the custom list when exclude_all_from_exclusion_list and exclude_large_data are not false) against sys_user, sys_user_has_role, sys_user_grmember, sys_user_group, sys_group_has_role, sys_user_role, sys_user_role_contains and the MID users' class tables (excluded with sys_user too).",
        remediation: "Remove the exclusion, or make sure preservers keep every MID row of that table.",
    },
    CheckDef {
        id: CheckId::ProdForeignMidUser,
        family: Exposure,
        severity: High,
        max_severity: High,
        title: "An active MID user in production serves no production MID Server",
        rationale: "Keeping every MID user in production (the clone tip's Solution 1) leaves non-production credentials active in production: whoever holds them can register a MID Server there.",
        decided: "For each active MID user of the production source, fails when no MID Server of production logs in as it; the evidence names the targets whose MID Servers use it. Undecided (error) while production's ecc_agent or ecc_agent_config cannot be read, unless a readable row shows the user in use. Error when production status is unknown (set production in the config).",
        remediation: "Keep the user out of production and preserve it on the target instead, or deactivate it in production.",
    },
    CheckDef {
        id: CheckId::ProdSharedMidCredential,
        family: Exposure,
        severity: Medium,
        max_severity: Medium,
        title: "A MID user name is active in production and on a non-production target",
        rationale: "The same login on both sides usually means the same password, so a non-production host holds a production credential.",
        decided: "Fails when an active MID user of production has the user_name of an active MID user of a non-production target.",
        remediation: "Use a different MID user (and password) per instance, preserved on each target.",
    },
    CheckDef {
        id: CheckId::MidUserInteractiveLogin,
        family: Exposure,
        severity: Medium,
        max_severity: High,
        title: "A MID user can log in interactively",
        rationale: "MID users need only web services; without web_service_access_only their password also opens the UI, the portal and SSO.",
        decided: "Fails for an active MID user whose web_service_access_only is false: high in production, medium elsewhere; error when whether the instance is production is unknown (set production in the config). An absent field is unknown (error).",
        remediation: "Set Web service access only on the user.",
    },
    CheckDef {
        id: CheckId::MidUserElevatedRoles,
        family: Exposure,
        severity: High,
        max_severity: High,
        title: "A MID user holds admin-level roles",
        rationale: "A MID credential with admin, security_admin or an elevated role turns a host compromise into an instance compromise; mid_server itself cannot hold elevated privileges.",
        decided: "Fails when a MID user holds admin, security_admin or a role flagged elevated_privilege, today (grants, inherited rows and groups) or after the clone.",
        remediation: "Remove the role from the MID user and its groups; give it mid_server only.",
    },
    CheckDef {
        id: CheckId::MidUserDormant,
        family: Exposure,
        severity: Low,
        max_severity: Low,
        title: "An active MID user is dormant",
        rationale: "An active credential that nothing uses is attack surface.",
        decided: "Fails for an active MID user that no MID Server uses and with no login in the 90 days before the evidence was collected.",
        remediation: "Deactivate the user, or remove its roles.",
    },
    CheckDef {
        id: CheckId::MidServerUnvalidated,
        family: Exposure,
        severity: Low,
        max_severity: Low,
        title: "A production MID Server is not validated",
        rationale: "An unvalidated MID Server in production may be one registered with a stolen MID credential.",
        decided: "Fails for a MID Server of a production instance whose validated field is not true.",
        remediation: "Validate the MID Server if it is yours; otherwise invalidate it and rotate its user's password.",
    },
    CheckDef {
        id: CheckId::TargetIsProduction,
        family: Exposure,
        severity: High,
        max_severity: Critical,
        title: "A clone target is production",
        rationale: "Cloning over production destroys it.",
        decided: "Fails when a target is production: critical when the config says so, high when only glide.installation.production says so (a clone may have copied the property). A missing property is not non-production (the platform falls back to true): with no production key in the config, a missing, unreadable or unparseable property is an error.",
        remediation: "Remove the instance from the targets, fix its production flag, or set glide.db.clone.allow_clone_target=false on it.",
    },
    CheckDef {
        id: CheckId::TableUnreadable,
        family: Coverage,
        severity: Info,
        max_severity: Info,
        title: "A table could not be read",
        rationale: "Unreadable evidence is never a pass: every check that needed the table reports error.",
        decided: "Records each table a check needs that answered 403, an ACL-shaped 404, a malformed or non-JSON body, or timed out after retries.",
        remediation: "Grant the audit user read access to the table (run `preclone doctor` for the matrix).",
    },
    CheckDef {
        id: CheckId::RowsHiddenByAcl,
        family: Coverage,
        severity: Info,
        max_severity: Info,
        title: "Rows were hidden by ACLs",
        rationale: "The instance counted more rows than it sent; what is hidden could be exactly the MID user that breaks.",
        decided: "Fails when, after every page, fewer rows arrived than X-Total-Count announced.",
        remediation: "Give the audit user a role that passes the table's read ACLs (and the global domain, where domain separation is on).",
    },
    CheckDef {
        id: CheckId::WaiverExpired,
        family: Waivers,
        severity: Medium,
        max_severity: Medium,
        title: "A waiver expired",
        rationale: "An accepted risk must be accepted again when its time is up.",
        decided: "A waiver whose expiry day (UTC) has passed no longer applies.",
        remediation: "Renew the waiver with a new approver and expiry, or fix the finding.",
    },
    CheckDef {
        id: CheckId::WaiverUnused,
        family: Waivers,
        severity: Low,
        max_severity: Low,
        title: "A waiver matches nothing",
        rationale: "A waiver that matches no failure is stale, or misspelt and not protecting what it was meant to.",
        decided: "An unexpired waiver that turned no failing result into waived.",
        remediation: "Remove the waiver, or correct its check, instance or subject.",
    },
    CheckDef {
        id: CheckId::SourceCopyInBackupWindow,
        family: Survival,
        severity: Medium,
        max_severity: Medium,
        title: "A MID user survives only through source rows the clone's backup may not hold",
        rationale: "A clone copies the source's latest daily backup, up to 36 hours old, unless an on-demand backup is requested. A source row created or changed within those 36 hours (a user created in production yesterday to save a clone, its role grant, its membership) may not be in that backup, and the MID user that relies on it would not survive after all.",
        decided: "Under each clone onto the target, simulates it again without the source's rows (user, role grant, membership, group, group role, role containment) whose sys_updated_on or sys_created_on is within 36 hours before the clone's scheduled time (or later), and fails when a login that survives the clone no longer does. The time is the request's scheduled time, or the evidence's collection time for the clone requested today or a request whose scheduled time is not readable; times are UTC and the 36 hours include their first second. A request asking an on-demand backup passes (clone_instance requests have none; a console request whose on_demand_backup was not returned is unknown). A source row whose times were not returned may be recent: what rests on it is an error.",
        remediation: "Request an on-demand backup with the clone, or schedule the clone at least 36 hours after the last change to those rows, or preserve the target's own rows so the login does not rest on the source's copy.",
    },
    CheckDef {
        id: CheckId::ProdNonprodMidServer,
        family: Exposure,
        severity: Critical,
        max_severity: Critical,
        title: "A non-production MID Server is registered in production",
        rationale: "A MID Server registered in production that logs in as a non-production target's MID user, or carries the name or host of a target's MID Server, is a non-production host talking to production. Once validated (or with glide.ecc_agent.validated.override true) it receives production's credentials, which then live on a non-production host.",
        decided: "For each MID Server of the production source, fails when one of its logins (logged-in or configured user) is a login of a MID Server of a target that is not production, or its name or host name equals one of theirs; all compared case-insensitively. The message says whether it is validated (validated=true only) and names production's credentials whose MID Server list holds it (optional evidence: unreadable credentials are named as unread, never an error). Error when whether the source is production is unknown, or a table it needs (ecc_agent, ecc_agent_config on either side) is unreadable.",
        remediation: "Invalidate and delete the MID Server record in production, stop its service on the non-production host, rotate the production credentials it could reach, and give each instance its own MID user and hosts.",
    },
    CheckDef {
        id: CheckId::ProdValidationOverride,
        family: Exposure,
        severity: High,
        max_severity: High,
        title: "Production counts every MID Server as validated",
        rationale: "With glide.ecc_agent.validated.override true, every MID Server that logs in to production counts as validated and receives credentials, non-production ones and ones registered with a stolen MID credential included.",
        decided: "Fails when production's glide.ecc_agent.validated.override is true (true/false in any case, or 1/0); a missing row is the platform's default, false. Any other value, or an unreadable sys_properties, is an error, as is an unknown production status.",
        remediation: "Set glide.ecc_agent.validated.override to false in production and validate the MID Servers you own one by one.",
    },
    CheckDef {
        id: CheckId::MidClusterWillGoDown,
        family: Survival,
        severity: Critical,
        max_severity: Critical,
        title: "Every member of a MID Server cluster will go Down",
        rationale: "Work moves to the members of a cluster that are Up and validated; when none is, Discovery and every job routed to the cluster stop and mid_server.cluster.down fires.",
        decided: "For each ecc_agent_cluster of the target, reads its members (ecc_agent_cluster_member_m2m) and fails when every member either fails mid-server-will-go-down or does no work today (Down, Upgrade Failed, Drained, Drain Failed), at least one of them because of the clone. A member whose fate or status is unknown leaves the cluster undecided unless another member surely keeps working.",
        remediation: "Fix the findings of the members' MID users or certificates (see mid-server-will-go-down), or keep one member of the cluster on a user that survives the clone.",
    },
    CheckDef {
        id: CheckId::MidClusterNotPreserved,
        family: Survival,
        severity: High,
        max_severity: High,
        title: "The target's MID Server clusters will not survive the clone",
        rationale: "ecc_agent_cluster is in the default clone exclusions: the table ends empty on the target unless a preserver keeps its rows; copied instead, it holds the source's clusters. The member rows then point to clusters that do not exist, and everything that names a cluster must be re-pointed.",
        decided: "For each cluster of the target, applies the source's clone_data_exclude entries as the clone does (default ones always, the custom list as the request's options say) and the applicable preservers on ecc_agent_cluster, as the target evaluated them for its clusters: fails unless a preserver keeps the cluster, or the table is copied and the source has a cluster with the same sys_id.",
        remediation: "On the source, add a clone data preserver on ecc_agent_cluster (an empty condition keeps every cluster) and list it in the clone profile; or plan to create the clusters again on the target after the clone.",
    },
    CheckDef {
        id: CheckId::MidCertificateNotPreserved,
        family: Survival,
        severity: Critical,
        max_severity: Critical,
        title: "A MID Server's client certificate will not map to its user after the clone",
        rationale: "A MID Server using mutual authentication logs in with a client certificate that sys_user_certificate maps to its user. The clone replaces that table with the source's like any user table; a preserver on sys_certificate does not reach its child table sys_user_certificate.",
        decided: "For each sys_user_certificate row of the user of a target MID Server with is_using_mutual_auth, fails unless an applicable preserver on sys_user_certificate itself keeps it (as the target evaluated the condition), or the table is copied and the source has the row with the same sys_id; also when the user it maps to (by sys_id) will not exist after the clone. Certificates are matched by sys_id; only their name is ever read, never the certificate.",
        remediation: "On the source, add a clone data preserver on sys_user_certificate with the condition user.roles=mid_server and list it in the clone profile (a dot-walk, like the seed article's preservers: the legacy clone engine cannot apply it, see preserver-dot-walked); or plan to import the MID Servers' certificates again after the clone.",
    },
    CheckDef {
        id: CheckId::MidCertificateExpiring,
        family: Survival,
        severity: Low,
        max_severity: Low,
        title: "A MID Server's client certificate is inactive or expires soon",
        rationale: "An inactive or expired certificate row no longer maps the MID Server's certificate to its user: the MID Server goes Down, and after a clone the post-clone job blames the clone.",
        decided: "Fails for a sys_user_certificate row of the user of a target MID Server using mutual authentication that is inactive or expires within 30 days of the evidence's collection time (UTC). An unknown active flag or expiry is undecided.",
        remediation: "Renew the certificate on the MID Server and in sys_user_certificate before the clone.",
    },
    CheckDef {
        id: CheckId::MidServerAlreadyDown,
        family: Survival,
        severity: Low,
        max_severity: Low,
        title: "A MID Server is already down, or has open issues, before the clone",
        rationale: "After a clone, BadMIDCredentialAfterClone logs every MID Server created before it that is Down as an issue \"possibly due to recent clone\": a MID Server that is already broken will be blamed on the clone, and its own cause looked for in the wrong place.",
        decided: "Fails for a target MID Server whose status does no work (Down, Upgrade Failed, Drained, Drain Failed) or that has an open ecc_agent_issue row (any state but resolved). Up, and the transient Paused, Upgrading and Draining, count as working; any other status is undecided.",
        remediation: "Fix the MID Server (or resolve its issues) before the clone, or note it in the clone's change so that the post-clone issues are not blamed on the clone.",
    },
];

/// The catalogue entry of a check id written kebab-case, or `None` for an unknown id.
pub fn find(id: &str) -> Option<&'static CheckDef> {
    id.parse::<CheckId>().ok().map(CheckId::def)
}

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn ids_are_kebab_case_and_severities_consistent() {
        for c in CATALOGUE {
            let id = c.id.as_str();
            assert!(
                id.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{id} is not kebab-case"
            );
            assert!(c.max_severity >= c.severity, "{id}");
            assert!(!c.remediation.is_empty() && !c.rationale.is_empty());
            assert_eq!(find(id).map(|d| d.id), Some(c.id));
            assert_eq!(serde_json::to_value(c.id).ok(), Some(id.into()));
        }
        assert_eq!(CATALOGUE.len(), 36);
    }

    #[test]
    fn the_enum_lists_the_checks_in_catalogue_order() {
        let ids: Vec<CheckId> = CATALOGUE.iter().map(|c| c.id).collect();
        assert_eq!(CheckId::iter().collect::<Vec<_>>(), ids);
        for id in CheckId::iter() {
            assert_eq!(id.def().id, id);
        }
        assert_eq!(find("no-such-check").map(|d| d.id), None);
    }

    #[test]
    fn catalogue_snapshot() {
        insta::assert_json_snapshot!(CATALOGUE);
    }
}
