//! The stage that turns evidence into a verdict (`preclone::verdict`), as the commands use it.

use assert_cmd::Command;

fn preclone(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("preclone").expect("the preclone binary");
    cmd.current_dir(dir)
        .env_remove("PRECLONE_FROZEN_TIME")
        .env("NO_COLOR", "1");
    cmd
}

/// `audit --evidence` gates with `fail_on` from the config file, as an online audit does; the
/// flag still wins.
#[test]
fn audit_of_saved_evidence_reads_fail_on_from_the_config() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The sample estate fails at critical, so the default gate (high) exits 1.
    preclone(dir.path())
        .args(["demo", "-q", "--save-evidence", "evidence.json"])
        .assert()
        .code(0);
    preclone(dir.path())
        .args(["audit", "-q", "--evidence", "evidence.json"])
        .assert()
        .code(1);

    std::fs::write(dir.path().join("preclone.toml"), "fail_on = \"never\"\n").expect("config");
    preclone(dir.path())
        .args(["audit", "-q", "--evidence", "evidence.json"])
        .assert()
        .code(0);
    preclone(dir.path())
        .args([
            "audit",
            "-q",
            "--evidence",
            "evidence.json",
            "--fail-on",
            "high",
        ])
        .assert()
        .code(1);

    std::fs::write(dir.path().join("other.toml"), "fail_on = \"never\"\n").expect("config");
    std::fs::remove_file(dir.path().join("preclone.toml")).expect("remove");
    preclone(dir.path())
        .args([
            "audit",
            "-q",
            "--evidence",
            "evidence.json",
            "--config",
            "other.toml",
        ])
        .assert()
        .code(0);
}
