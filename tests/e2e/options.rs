//! The common options of PRODUCT.md section 3: `PRECLONE_CONFIG`, `-o -`, `--only-failed`,
//! `--color`, `completions`, `--version`, `doctor --format json` and the man page.

use assert_cmd::Command;
use predicates::prelude::*;

fn preclone() -> Command {
    let mut c = Command::cargo_bin("preclone").expect("binary");
    c.env_remove("PRECLONE_FROZEN_TIME")
        .env_remove("PRECLONE_CONFIG")
        .env_remove("CLICOLOR_FORCE")
        .env("NO_COLOR", "1");
    c
}

#[test]
fn preclone_config_names_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    preclone()
        .current_dir(dir.path())
        .env("PRECLONE_CONFIG", "from-env.toml")
        .args(["audit", "--source", "prod", "--target", "dev"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("from-env.toml"));
    preclone()
        .current_dir(dir.path())
        .env("PRECLONE_CONFIG", "from-env.toml")
        .args(["doctor"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("from-env.toml"));
}

#[test]
fn the_config_option_wins_over_preclone_config() {
    let dir = tempfile::tempdir().unwrap();
    preclone()
        .current_dir(dir.path())
        .env("PRECLONE_CONFIG", "from-env.toml")
        .args([
            "audit",
            "--config",
            "from-flag.toml",
            "--source",
            "prod",
            "--target",
            "dev",
        ])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("from-flag.toml")
                .and(predicate::str::contains("from-env").not()),
        );
}

#[test]
fn dash_output_writes_the_format_to_stdout_even_when_quiet() {
    let dir = tempfile::tempdir().unwrap();
    let out = preclone()
        .current_dir(dir.path())
        .args(["demo", "-q", "-o", "-", "--format", "json", "-o", "r.md"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let json: serde_json::Value = serde_json::from_slice(&out).expect("stdout is the JSON report");
    assert!(json.get("results").is_some(), "{json}");
    assert!(dir.path().join("r.md").is_file());
    assert!(!dir.path().join("-").exists(), "no file named -");
    preclone()
        .current_dir(dir.path())
        .args(["demo", "-q", "-o", "-"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("preclone"));
}

#[test]
fn dash_output_twice_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    preclone()
        .current_dir(dir.path())
        .args(["demo", "-o", "-", "-o", "-"])
        .assert()
        .code(3)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("-o - is given more than once"));
}

#[test]
fn only_failed_is_a_view_of_the_console_and_markdown() {
    let dir = tempfile::tempdir().unwrap();
    // One clock for both runs: the demo's estate is dated from it, so two runs a second apart
    // on a loaded machine would differ.
    let preclone = || {
        let mut cmd = preclone();
        cmd.env("PRECLONE_FROZEN_TIME", "2026-11-24T09:12:00Z");
        cmd
    };
    let whole = preclone()
        .current_dir(dir.path())
        .args(["demo", "-o", "whole.md", "-o", "whole.json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let whole = String::from_utf8(whole).unwrap();
    assert!(whole.contains("Waived ("), "{whole}");
    let view = preclone()
        .current_dir(dir.path())
        .args(["demo", "--only-failed", "-o", "view.md", "-o", "view.json"])
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let view = String::from_utf8(view).unwrap();
    assert!(!view.contains("Waived ("), "{view}");
    assert!(view.contains("Findings"), "{view}");
    let md = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap();
    assert!(md("whole.md").contains("results waived"));
    assert!(
        !md("view.md").contains("results waived"),
        "{}",
        md("view.md")
    );
    assert!(md("view.md").contains("| severity |"));
    let json = |name: &str| -> serde_json::Value { serde_json::from_str(&md(name)).unwrap() };
    assert_eq!(
        json("view.json")["results"],
        json("whole.json")["results"],
        "the JSON stays whole"
    );
}

#[test]
fn color_honours_the_option_no_color_and_clicolor_force() {
    let painted = |args: &[&str], vars: &[(&str, &str)]| -> bool {
        let mut c = preclone();
        c.env_remove("NO_COLOR");
        for (k, v) in vars {
            c.env(k, v);
        }
        let out = c
            .arg("demo")
            .args(args)
            .assert()
            .code(0)
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).unwrap().contains("\x1b[")
    };
    assert!(!painted(&[], &[]), "not a terminal");
    assert!(painted(&["--color", "always"], &[("NO_COLOR", "1")]));
    assert!(painted(&[], &[("CLICOLOR_FORCE", "1")]));
    assert!(!painted(&[], &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]));
    assert!(!painted(&["--color", "never"], &[("CLICOLOR_FORCE", "1")]));
}

#[test]
fn completions_are_printed_for_every_shell() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef preclone"),
        ("fish", "complete -c preclone"),
        ("powershell", "Register-ArgumentCompleter"),
        ("elvish", "edit:completion"),
    ] {
        preclone()
            .args(["completions", shell])
            .assert()
            .code(0)
            .stdout(predicate::str::contains(marker).and(predicate::str::contains("only-failed")));
    }
    preclone().args(["completions", "tcsh"]).assert().code(3);
}

#[test]
fn version_shows_the_commit_and_date_of_the_build_or_says_there_was_none() {
    let out = preclone()
        .arg("--version")
        .assert()
        .code(0)
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    let line = out.trim_end();
    let prefix = concat!("preclone ", env!("CARGO_PKG_VERSION"), " (");
    let info = line
        .strip_prefix(prefix)
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or_else(|| panic!("{line:?}"));
    let known = info.split_once(' ').is_some_and(|(commit, date)| {
        commit.len() >= 7
            && commit.chars().all(|c| c.is_ascii_hexdigit())
            && date.len() == 10
            && date.chars().filter(|c| *c == '-').count() == 2
    });
    assert!(
        known || info == "built from a source tarball: no commit",
        "{line:?}"
    );
}

/// The man page: the command, its global options, then one section per command with its
/// synopsis and options, so that one page holds the whole command line.
fn man_page() -> std::io::Result<Vec<u8>> {
    use clap_mangen::Man;
    // The crate version alone, so that the page does not go stale with every commit.
    let mut command = preclone::cli::command().version(env!("CARGO_PKG_VERSION"));
    command.build();
    let mut out = Vec::new();
    let man = Man::new(command.clone());
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    man.render_options_section(&mut out)?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let name = format!("preclone {}", sub.get_name());
        let about = sub.get_about().map(|a| a.to_string()).unwrap_or_default();
        out.extend(
            format!(
                ".SH \"{}\"\n{}\n",
                name.to_uppercase(),
                about.replace('-', "\\-")
            )
            .bytes(),
        );
        let sub = sub.clone().version(None::<&str>);
        let mut part = Vec::new();
        let man = Man::new(sub);
        man.render_synopsis_section(&mut part)?;
        man.render_options_section(&mut part)?;
        let part = String::from_utf8(part).expect("roff is text");
        // Within the command's section, its synopsis and options are subsections.
        out.extend(part.replace(".SH ", ".SS ").bytes());
    }
    man.render_extra_section(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

/// `docs/preclone.1` is the man page generated from the command line. After a change of the
/// options: `PRECLONE_UPDATE_SAMPLES=1 cargo test --test e2e options::the_man_page`.
#[test]
fn the_man_page_is_generated_from_the_command_line() {
    // The crate version alone, so that the page does not go stale with every commit.
    let generated = man_page().expect("render the man page");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/preclone.1");
    if std::env::var_os("PRECLONE_UPDATE_SAMPLES").is_some() {
        std::fs::write(&path, &generated).expect("write docs/preclone.1");
    }
    let file = std::fs::read(&path).unwrap_or_default();
    assert!(
        file == generated,
        "docs/preclone.1 is stale: run `PRECLONE_UPDATE_SAMPLES=1 cargo test --test e2e options::the_man_page` and review the diff"
    );
    let text = String::from_utf8(generated).unwrap();
    for word in ["audit", "doctor", "completions"] {
        assert!(text.contains(word), "{word} missing from the man page");
    }
}
