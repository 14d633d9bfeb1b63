//! The static catalogue: every check's stable id, severity, rationale, how it is decided and
//! what to do. `preclone checks` and `preclone explain` print it.

use crate::finding::Severity;
use serde::Serialize;

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
    pub id: &'static str,
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

#[allow(clippy::too_many_arguments)]
const fn def(
    id: &'static str,
    family: Family,
    severity: Severity,
    max_severity: Severity,
    title: &'static str,
    rationale: &'static str,
    decided: &'static str,
    remediation: &'static str,
) -> CheckDef {
    CheckDef {
        id,
        family,
        severity,
        max_severity,
        title,
        rationale,
        decided,
        remediation,
    }
}

use Family::*;
use Severity::*;

pub static CATALOGUE: &[CheckDef] = &[
    def("mid-user-not-preserved", Survival, Critical, Critical,
        "A MID user will not exist after the clone",
        "The clone replaces the target's sys_user with the source's. A MID Server keeps logging in with the user name and password in its config.xml; if no active, unlocked user of that name exists afterwards, the MID Server goes Down until someone with host access re-keys it.",
        "Simulates the target's sys_user after the clone: the source's users (unless sys_user is excluded) plus the target's records matched by an applicable sys_user preserver, as the target itself evaluated the condition. Preservers do not reach child classes. Fails when no active, unlocked user with the login user_name remains.",
        "On the source, add a clone data preserver on sys_user whose condition matches the MID user (e.g. roles=mid_server) and make sure the clone profile lists it; or create the user in the source (see prod-foreign-mid-user before you do)."),
    def("mid-user-survives-by-source-copy", Survival, Medium, Medium,
        "A MID user survives only as the source's copy",
        "When the target's own record is not kept but the source has a user of the same name, the clone brings the source's copy with the source's password. The MID Server's stored credential (encrypted in config.xml or in a vault) must match it, or the MID Server goes Down.",
        "Fails when the only usable user with the login user_name after the clone comes from the source.",
        "Preserve the target's own record with a sys_user preserver, or confirm the MID Server's stored password equals the source user's."),
    def("mid-user-name-collision", Survival, High, High,
        "Two users will share a MID login after the clone",
        "A kept target record and a source record with another sys_id but the same user_name both exist after the clone; logins become ambiguous and one of them usually loses its roles.",
        "Fails when more than one user with the login user_name exists in the simulated sys_user.",
        "Give the MID user the same sys_id on both instances, or remove the source's duplicate, or stop preserving the target's record."),
    def("mid-role-not-preserved", Survival, Critical, Critical,
        "A MID user will lose mid_server",
        "A MID Server whose user lacks mid_server cannot authenticate for MID work, even when the user exists.",
        "In the simulated tables, looks for a non-inherited, active sys_user_has_role row of mid_server or of a role that contains it (sys_user_role_contains, transitively), or a membership of a group that grants such a role itself or through its parents. Inherited rows are recomputed by the platform and prove nothing. Not reported for a user that will not exist.",
        "On the source, add a preserver on sys_user_has_role (e.g. user.roles=mid_server, or a condition on the role's sys_id) and list it in the clone profile, or grant mid_server to the user or its group in the source."),
    def("mid-membership-not-preserved", Survival, Low, High,
        "A kept MID user loses a group membership",
        "Memberships are replaced by the source's. When mid_server came through that group, losing the membership loses the role.",
        "For a MID user whose target record is kept, fails for each of its sys_user_grmember rows that no applicable preserver keeps: high when mid_server came through that group today, otherwise low.",
        "On the source, add a preserver on sys_user_grmember (e.g. user.roles=mid_server) and list it in the clone profile."),
    def("mid-group-missing-in-source", Survival, Medium, Critical,
        "A kept membership points to a group that will not exist",
        "A preserved sys_user_grmember row whose group is neither in the source nor preserved points nowhere after the clone; if mid_server came through it, the role is gone.",
        "For every kept membership of a kept MID user, checks that the group's sys_id exists in the simulated sys_user_group: critical when mid_server came through it, otherwise medium.",
        "Create the group in the source with the same sys_id (export/import the record), or preserve the group and its roles (sys_user_group, sys_group_has_role)."),
    def("mid-group-lacks-role-in-source", Survival, Critical, Critical,
        "A group that grants mid_server today will not grant it after the clone",
        "The group exists in the source too, but there it does not hold mid_server (or a role containing it), so the source's sys_group_has_role rows replace the grant.",
        "For every group through which a kept MID user holds mid_server today, checks whether the simulated group (and its parents) still holds a role that grants mid_server.",
        "On the source, grant mid_server to the group, or preserve the user's direct grant of mid_server."),
    def("mid-role-id-differs", Survival, High, High,
        "mid_server, or a role or group that grants it, has another sys_id in the source",
        "Preserved rows point to roles and groups by sys_id. When the source's record of the same name has another sys_id, every kept row points to a record that the clone removes.",
        "Compares the sys_id of mid_server, of each role that contains it and of each group that grants it to MID users, between the target and the source, by name.",
        "Align the sys_ids (recreate the target's record from the source's), or preserve the role or group records too."),
    def("mid-server-will-go-down", Survival, Critical, Critical,
        "A MID Server will go Down after the clone",
        "This is the impact line people read first: the MID Server logs in as a user that will not exist or will lose mid_server.",
        "For each MID Server of the target, takes its configured user (ecc_agent_config mid.instance.username) or the user it logged in as (ecc_agent.user_name) and fails when that user fails mid-user-not-preserved or mid-role-not-preserved.",
        "Fix the findings of its user (see mid-user-not-preserved and mid-role-not-preserved), or plan to re-key the MID Server after the clone (KB0752979)."),
    def("mid-server-login-unknown", Survival, Medium, Medium,
        "A MID Server's login is not known",
        "Without a logged-in or configured user (mutual certificate authentication, or a MID Server that never connected), its fate cannot be read from the user tables.",
        "Fails when neither ecc_agent.user_name nor an ecc_agent_config mid.instance.username value is known for the MID Server.",
        "Check the MID Server by hand: with mutual authentication, make sure its certificate (sys_user_certificate, sys_ca_certificate) survives the clone."),
    def("mid-user-shared-by-mid-servers", Survival, Low, Low,
        "Several MID Servers log in as one user",
        "One bad credential, a lock-out after failed logins, or a lost role takes every MID Server using it down at once.",
        "Fails when more than one MID Server of an instance logs in (or is configured to log in) as the same user_name.",
        "Give each MID Server (or each cluster) its own MID user."),
    def("build-mismatch", Survival, Medium, Medium,
        "Source and target run different builds",
        "After the clone the target runs the source's version, and its MID Servers upgrade or downgrade themselves; a failed upgrade leaves them Down.",
        "Compares glide.buildtag of the source and the target.",
        "Upgrade the lower instance first, or plan the MID Servers' upgrade after the clone."),
    def("preserver-missing", Preservers, High, High,
        "No applicable preserver on a MID user table",
        "Without a preserver on sys_user, sys_user_has_role and sys_user_grmember the clone replaces the target's MID users, their roles or their memberships.",
        "For each of those tables, fails when some target has active MID users and no applicable preserver on that table exists for the clone onto it.",
        "On the source, add the preserver (see the clone tip: sys_user roles=mid_server; sys_user_has_role and sys_user_grmember user.roles=mid_server, or a condition on sys_ids) and list it in the clone profile."),
    def("preserver-not-applied", Preservers, High, High,
        "A MID-related preserver will not run",
        "A preserver that is switched off, a theme preserver, one missing from the profile the clone uses, or one added after a request locked its settings keeps nothing.",
        "For each preserver whose condition matches a MID-related row on some target, fails when it does not apply to the clone onto some target.",
        "Set include_in_system_clone to true, add the preserver to the clone profile, or re-create a locked clone request."),
    def("preserver-overbroad", Preservers, Medium, Medium,
        "A MID-related preserver keeps rows that are not MID-related",
        "An empty condition keeps every row; a misspelt field is ignored by the platform and matches everything: target users and grants survive the clone that should not.",
        "Asks each target how many rows of the whole table the condition matches and compares with the MID-related rows it matches.",
        "Narrow the condition (e.g. roles=mid_server), and check every field name in it."),
    def("preserver-dot-walked", Preservers, Medium, Medium,
        "A preserver's condition dot-walks",
        "When clone-from-backup fails the legacy clone engine is used, which cannot apply dot-walked conditions (user.roles=mid_server).",
        "Fails for a preserver on a user table whose condition tests a field through a reference.",
        "Use a condition on sys_ids instead (e.g. roleIN<mid_server sys_id>, userIN<MID user sys_ids>), or accept the risk with a waiver."),
    def("clone-excludes-user-tables", Preservers, High, High,
        "The clone excludes a user table",
        "An excluded table ends up empty on the target unless it is also preserved.",
        "Matches clone_data_exclude names (wildcards by prefix) against sys_user, sys_user_has_role, sys_user_grmember, sys_user_group, sys_group_has_role, sys_user_role and sys_user_role_contains.",
        "Remove the exclusion, or make sure preservers keep every MID row of that table."),
    def("prod-foreign-mid-user", Exposure, High, High,
        "An active MID user in production serves no production MID Server",
        "Keeping every MID user in production (the clone tip's Solution 1) leaves non-production credentials active in production: whoever holds them can register a MID Server there.",
        "For each active MID user of the production source, fails when no MID Server of production logs in as it; the evidence names the targets whose MID Servers use it.",
        "Keep the user out of production and preserve it on the target instead, or deactivate it in production."),
    def("prod-shared-mid-credential", Exposure, Medium, Medium,
        "A MID user name is active in production and on a non-production target",
        "The same login on both sides usually means the same password, so a non-production host holds a production credential.",
        "Fails when an active MID user of production has the user_name of an active MID user of a non-production target.",
        "Use a different MID user (and password) per instance, preserved on each target."),
    def("mid-user-interactive-login", Exposure, Medium, High,
        "A MID user can log in interactively",
        "MID users need only web services; without web_service_access_only their password also opens the UI, the portal and SSO.",
        "Fails for an active MID user whose web_service_access_only is false: high in production, medium elsewhere. An absent field is unknown (error).",
        "Set Web service access only on the user."),
    def("mid-user-elevated-roles", Exposure, High, High,
        "A MID user holds admin-level roles",
        "A MID credential with admin, security_admin or an elevated role turns a host compromise into an instance compromise; mid_server itself cannot hold elevated privileges.",
        "Fails when a MID user holds admin, security_admin or a role flagged elevated_privilege, today (grants, inherited rows and groups) or after the clone.",
        "Remove the role from the MID user and its groups; give it mid_server only."),
    def("mid-user-dormant", Exposure, Low, Low,
        "An active MID user is dormant",
        "An active credential that nothing uses is attack surface.",
        "Fails for an active MID user that no MID Server uses and with no login in the 90 days before the evidence was collected.",
        "Deactivate the user, or remove its roles."),
    def("mid-server-unvalidated", Exposure, Low, Low,
        "A production MID Server is not validated",
        "An unvalidated MID Server in production may be one registered with a stolen MID credential.",
        "Fails for a MID Server of a production instance whose validated field is not true.",
        "Validate the MID Server if it is yours; otherwise invalidate it and rotate its user's password."),
    def("target-is-production", Exposure, High, Critical,
        "A clone target is production",
        "Cloning over production destroys it.",
        "Fails when a target is production: critical when the config says so, high when only glide.installation.production says so (a clone may have copied the property).",
        "Remove the instance from the targets, fix its production flag, or set glide.db.clone.allow_clone_target=false on it."),
    def("table-unreadable", Coverage, Info, Info,
        "A table could not be read",
        "Unreadable evidence is never a pass: every check that needed the table reports error.",
        "Records each table a check needs that answered 403, an ACL-shaped 404, a malformed or non-JSON body, or timed out after retries.",
        "Grant the audit user read access to the table (run `preclone doctor` for the matrix)."),
    def("rows-hidden-by-acl", Coverage, Info, Info,
        "Rows were hidden by ACLs",
        "The instance counted more rows than it sent; what is hidden could be exactly the MID user that breaks.",
        "Fails when, after every page, fewer rows arrived than X-Total-Count announced.",
        "Give the audit user a role that passes the table's read ACLs (and the global domain, where domain separation is on)."),
    def("waiver-expired", Waivers, Medium, Medium,
        "A waiver expired",
        "An accepted risk must be accepted again when its time is up.",
        "A waiver whose expiry day (UTC) has passed no longer applies.",
        "Renew the waiver with a new approver and expiry, or fix the finding."),
    def("waiver-unused", Waivers, Low, Low,
        "A waiver matches nothing",
        "A waiver that matches no failure is stale, or misspelt and not protecting what it was meant to.",
        "An unexpired waiver that turned no failing result into waived.",
        "Remove the waiver, or correct its check, instance or subject."),
];

/// The catalogue entry of a check id.
pub fn find(id: &str) -> Option<&'static CheckDef> {
    CATALOGUE.iter().find(|c| c.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn ids_are_unique_kebab_case_and_severities_consistent() {
        let mut seen = BTreeSet::new();
        for c in CATALOGUE {
            assert!(seen.insert(c.id), "duplicate id {}", c.id);
            assert!(
                c.id.chars().all(|ch| ch.is_ascii_lowercase() || ch == '-'),
                "{} is not kebab-case",
                c.id
            );
            assert!(c.max_severity >= c.severity, "{}", c.id);
            assert!(!c.remediation.is_empty() && !c.rationale.is_empty());
        }
        assert_eq!(CATALOGUE.len(), 28);
    }
}
