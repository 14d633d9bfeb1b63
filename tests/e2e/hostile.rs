//! Hostile data through a full audit against local fake instances: MID user names, group names,
//! MID Server names and preserver names and conditions holding quotes, `^`, `,`, line breaks,
//! HTML, formula prefixes, control characters, 10 KB values, non-Latin text and empty strings.
//!
//! Asserted from the fakes' recorded queries: a name with `,` is looked up on its own with
//! `user_name=` (never inside an `IN` list); a name with `^` or a line break never reaches a
//! query and gives `error` results for that login, never a pass; every `IN` list of sys_ids
//! holds only 32-hex sys_ids. Asserted from the outputs: every report format is written and
//! valid (JSON parses, JUnit XML parses to the end, CSV parses back with one row per result and
//! no formula cell, HTML and Markdown carry no live markup from the instance).

use crate::support::estate::*;
use crate::support::fake::*;
use crate::support::run::{audit, pair, Run};
use serde_json::{json, Value};
use std::path::Path;

const QUOTES: &str = "mid.o'brien\"q";
const COMMA: &str = "mid,comma";
const CARET: &str = "mid^NQactive=true";
const NEWLINE: &str = "mid.line\nbreak";
const HTML: &str = "<script>alert(1)</script>";
const FORMULA: &str = "=cmd|' /C calc'!A0";
const PLUS: &str = "+SUM(1;2)";
const AT: &str = "@SUM(A1)";
const CYRILLIC: &str = "мид.сервер";
const JAPANESE: &str = "ミッド・サーバー";
const CONTROL: &str = "mid\u{7}bell\ttab";
/// A group name holding a comma, on both instances with different sys_ids.
const GROUP_COMMA: &str = "MID, Discovery";
const GROUP_HOSTILE: &str = "<b>MID</b> ^ \"ops\"\n=1+1";
/// References that are not sys_ids, planted in rows: they must never reach a query.
const NOT_A_SYS_ID: &str = "zz^NQsys_idISNOTEMPTY";
const NOT_A_GROUP_ID: &str = "g1,g2";

fn long_name() -> String {
    "m".repeat(10 * 1024)
}

/// The hostile logins on the target, with the MID Server of each.
fn logins() -> Vec<(u32, String, String)> {
    let names = [
        QUOTES.to_string(),
        COMMA.to_string(),
        CARET.to_string(),
        NEWLINE.to_string(),
        HTML.to_string(),
        FORMULA.to_string(),
        PLUS.to_string(),
        AT.to_string(),
        CYRILLIC.to_string(),
        JAPANESE.to_string(),
        CONTROL.to_string(),
        long_name(),
    ];
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let server = match i {
                4 => format!("<img src=x onerror=alert(2)> mid-{i}"),
                5 => format!("=HYPERLINK(\"http://evil.invalid\",\"{i}\")"),
                8 => "мид-сервер-01".to_string(),
                _ => format!("mid-server-{i}"),
            };
            (1000 + 10 * i as u32, n, server)
        })
        .collect()
}

fn estate() -> (FakeState, FakeState) {
    let mut prod = source_prod();
    seed_preservers(&mut prod);
    // Hostile preservers: names and conditions.
    prod.add_preserver(
        "<b>Keep</b> \"quoted\" =1+1",
        "sys_user",
        &format!("user_name={QUOTES}^ORuser_nameSTARTSWITH<script>^EQ"),
    );
    prod.add_preserver("", "sys_user_has_role", "");
    prod.add_preserver(
        FORMULA,
        "sys_user_grmember",
        "user.roles=mid_server\n^ORgroup.name=x",
    );
    // A long non-Latin condition (4.8 KB once percent-encoded), evaluated within 8 KB URLs.
    prod.add_preserver(
        "мид сервер ミッド",
        "sys_user",
        &format!("user_name={}^NQname={}", CYRILLIC, "ж".repeat(800)),
    );
    // The source's copy of the comma login (another sys_id): found only by `user_name=`.
    mid_user(&mut prod, 150, COMMA, "");
    // The source's group of the same name as the target's, with another sys_id.
    prod.insert(
        "sys_user_group",
        json!({"sys_id": sid(950), "name": GROUP_COMMA, "parent": ""}),
    );
    prod.insert(
        "sys_group_has_role",
        json!({"sys_id": sid(951), "group": sid(950), "role": MID_ROLE}),
    );

    let mut dev = instance(false);
    for (id, name, server) in logins() {
        mid_user(&mut dev, id, &name, &server);
    }
    // An empty user_name holding mid_server, with a MID Server logging in as nobody, and a
    // MID Server with an empty name.
    mid_user(&mut dev, 2000, "", "mid-no-login");
    dev.add_mid_server("", QUOTES, "Up");
    // mid.group holds mid_server through groups whose names are hostile.
    let u = sid(3000);
    dev.add_user_with(
        "mid.group",
        json!({"sys_id": u, "web_service_access_only": "true"}),
    );
    for (gid, name) in [(sid(3010), GROUP_COMMA), (sid(3020), GROUP_HOSTILE)] {
        dev.insert(
            "sys_user_group",
            json!({"sys_id": gid, "name": name, "parent": ""}),
        );
        dev.insert(
            "sys_group_has_role",
            json!({"group": gid, "role": MID_ROLE}),
        );
        dev.insert("sys_user_grmember", json!({"user": u, "group": gid}));
    }
    dev.insert(
        "sys_user_has_role",
        json!({"user": u, "role": MID_ROLE, "inherited": "true", "state": "active"}),
    );
    dev.add_mid_server("mid-group-01", "mid.group", "Up");
    // Rows whose references are not sys_ids.
    dev.insert(
        "sys_user_has_role",
        json!({"user": NOT_A_SYS_ID, "role": MID_ROLE, "inherited": "false"}),
    );
    dev.insert(
        "sys_user_grmember",
        json!({"user": u, "group": NOT_A_GROUP_ID}),
    );
    (prod, dev)
}

const REPORTS: [&str; 5] = ["r.json", "r.csv", "r.html", "r.xml", "r.md"];

/// The audit of prod and dev, writing every report format and the evidence into its folder.
fn audit_all(prod: &FakeInstance, dev: &FakeInstance) -> Run {
    let mut extra = vec!["--save-evidence", "evidence.json"];
    for r in REPORTS {
        extra.extend(["-o", r]);
    }
    audit(&pair(prod, dev), &extra)
}

/// Every `sysparm_query` a fake received, with the table.
fn queries(fake: &FakeInstance) -> Vec<(String, String)> {
    fake.requests()
        .iter()
        .filter_map(|r| {
            let table = r.path.rsplit('/').next().unwrap_or("").to_string();
            r.query.get("sysparm_query").map(|q| (table, q.clone()))
        })
        .collect()
}

fn is_sys_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn start() -> (FakeInstance, FakeInstance, Run) {
    let (prod, dev) = estate();
    let (prod, dev) = (FakeInstance::start(prod), FakeInstance::start(dev));
    let run = audit_all(&prod, &dev);
    (prod, dev, run)
}

#[test]
fn hostile_logins_are_judged_and_unsafe_ones_end_in_error_never_pass() {
    let (_prod, _dev, run) = start();
    // The comma login collides with the source's copy (high): the gate fails, nothing crashed.
    run.assert_code(1);
    assert!(!run.all().is_empty(), "{}", run.stderr);

    // Logins safe in a query are read and judged: kept by `roles=mid_server`.
    let long = long_name();
    for name in [
        QUOTES, COMMA, HTML, FORMULA, PLUS, AT, CYRILLIC, JAPANESE, CONTROL, &long,
    ] {
        run.expect("mid-user-not-preserved", "dev", name, "pass");
        run.expect("mid-role-not-preserved", "dev", name, "pass");
    }
    // The source's copy of the comma login was found by `user_name=`: a collision.
    run.expect("mid-user-name-collision", "dev", COMMA, "fail");
    // Logins that cannot be put into a query are errors, never passes.
    for name in [CARET, NEWLINE] {
        for check in ["mid-user-not-preserved", "mid-role-not-preserved"] {
            run.expect(check, "dev", name, "error");
        }
    }
    for server in ["mid-server-2", "mid-server-3"] {
        let st = run.status("mid-server-will-go-down", "dev", server);
        assert_ne!(st, "pass", "{server} passed on a login that was never read");
    }
    // A group whose name holds a comma is looked up by name on the source one by one, and its
    // different sys_id there is reported.
    run.expect("mid-role-id-differs", "dev", GROUP_COMMA, "fail");
    // The empty login and the MID Server without one.
    run.expect("mid-server-login-unknown", "dev", "mid-no-login", "fail");
}

#[test]
fn names_with_commas_are_looked_up_alone_and_unsafe_values_never_reach_a_query() {
    let (prod, dev, run) = start();
    run.assert_code(1);
    let sent: Vec<(String, String)> = queries(&prod).into_iter().chain(queries(&dev)).collect();
    assert!(!sent.is_empty());
    for (table, q) in &sent {
        assert!(
            !q.contains(CARET) && !q.contains(NEWLINE),
            "an unsafe login reached a query on {table}: {q:?}"
        );
        assert!(
            !q.contains(NOT_A_SYS_ID) && !q.contains(NOT_A_GROUP_ID),
            "a reference that is not a sys_id reached a query on {table}: {q:?}"
        );
        if q.contains(COMMA) {
            assert!(
                q == &format!("user_name={COMMA}") || q == &format!("user.user_name={COMMA}"),
                "the comma login was not looked up on its own on {table}: {q:?}"
            );
        }
        if q.contains(GROUP_COMMA) {
            assert_eq!(q, &format!("name={GROUP_COMMA}"), "on {table}");
        }
        // Every IN list of a sys_id field holds sys_ids only.
        for group in q.split("^NQ") {
            for term in group.split('^') {
                for field in ["sys_id", "user", "group", "role", "contains"] {
                    if let Some(list) = term.strip_prefix(&format!("{field}IN")) {
                        for v in list.split(',') {
                            assert!(is_sys_id(v), "{v:?} in {field}IN on {table}: {q:?}");
                        }
                    }
                }
            }
        }
    }
    for fake in [&prod, &dev] {
        assert!(
            queries(fake)
                .iter()
                .any(|(t, q)| t == "sys_user" && q == &format!("user_name={COMMA}")),
            "the comma login was never looked up with user_name="
        );
    }
    assert!(
        queries(&prod)
            .iter()
            .any(|(t, q)| t == "sys_user_group" && q == &format!("name={GROUP_COMMA}")),
        "the comma group was never looked up with name="
    );
    // Hostile preserver conditions were evaluated: asked on their own (one page of matches,
    // which held them all), sent as they are.
    let condition = format!("user_name={}^NQname={}", CYRILLIC, "ж".repeat(800));
    let dev_queries = queries(&dev);
    let evaluations: Vec<&String> = dev_queries
        .iter()
        .filter(|(t, q)| t == "sys_user" && q.starts_with(&format!("user_name={CYRILLIC}^")))
        .map(|(_, q)| q)
        .collect();
    assert_eq!(
        evaluations,
        [&condition],
        "the non-Latin preserver was not evaluated as written"
    );
}

#[test]
fn every_report_format_stays_valid_whatever_the_instance_data_holds() {
    let (_prod, _dev, run) = start();
    run.assert_code(1);
    check_reports(&run);
}

/// Every report is written and valid, whatever the instance data held.
fn check_reports(run: &Run) {
    let results = run.all().len();
    for f in REPORTS.iter().chain(&["evidence.json"]) {
        let meta = std::fs::metadata(run.file(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert!(meta.len() > 100, "{f} is nearly empty");
    }
    // JSON: parses, the same results as stdout.
    let json: Value = serde_json::from_str(&read(&run.file("r.json"))).expect("r.json parses");
    assert_eq!(json["results"].as_array().map(Vec::len), Some(results));
    let evidence: Value =
        serde_json::from_str(&read(&run.file("evidence.json"))).expect("evidence parses");
    assert!(evidence["instances"]["dev"].is_object());

    // JUnit XML: parses to the end.
    let xml = read(&run.file("r.xml"));
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut testcases = 0;
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Eof) => break,
            Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e))
                if e.name().as_ref() == b"testcase" =>
            {
                testcases += 1;
            }
            Ok(_) => {}
            Err(e) => panic!(
                "r.xml is not valid XML at {}: {e}",
                reader.buffer_position()
            ),
        }
    }
    assert!(testcases > 0);
    assert!(!xml.contains('\u{7}'), "a control character in XML");

    // CSV: parses back, one row per result, no cell a spreadsheet would run as a formula.
    let mut csv = csv::Reader::from_path(run.file("r.csv")).expect("r.csv");
    let mut rows = 0;
    for record in csv.records() {
        let record = record.expect("a CSV record");
        rows += 1;
        for cell in record.iter() {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a formula cell: {cell:?}"
            );
        }
    }
    assert_eq!(rows, results);

    // HTML and Markdown: the instance's markup is text, not markup.
    let html = read(&run.file("r.html"));
    let md = read(&run.file("r.md"));
    for (what, text) in [("r.html", &html), ("r.md", &md)] {
        assert!(!text.contains("<script>alert"), "{what} holds live markup");
        assert!(!text.contains("<img src=x"), "{what} holds live markup");
        assert!(!text.contains("<b>MID</b>"), "{what} holds live markup");
    }
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;&#x2F;script&gt;")
    );
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}
