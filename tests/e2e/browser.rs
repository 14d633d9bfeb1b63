//! The HTML report in a real browser: headless Chromium (Debian's `chromium`) loads the demo's
//! report from disk, and the tests assert that the page made no network request and that the
//! verdict is painted at the top of the page.
//!
//! How "no network request" is decided: Chromium writes its network log (`--log-net-log`), and
//! every `URL_REQUEST_START_JOB` event made for a document (an initiator other than
//! `not an origin`, or a network isolation key of the `file://` site) counts as a request of the
//! page; any whose URL is not `file:` or `data:` fails the test. Chromium's own background
//! requests (component updates, network time, account checks), which the launch flags do not all
//! silence, carry no initiator and are ignored. Resources blocked by the Content-Security-Policy
//! never reach the network stack, so they do not appear, which is the point. The detector is
//! proven on a probe page whose `<img>` points at a local listener: the request is both seen by
//! the listener and found in the log. A net log that cannot be read fails the test (fail closed).
//!
//! Without Chromium the tests print why they skip, except under CI (`CI` set), where they fail:
//! `.ci/run` installs it.

use crate::support::run::in_ci;
use assert_cmd::Command as BinCommand;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const FROZEN_TIME: &str = "2026-11-24T09:12:00Z";
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 2000;
const CHROMIUM_TIMEOUT: Duration = Duration::from_secs(60);

/// Headless Chromium's flags, here and for the sample screenshot: no first-run setup, and as
/// little of its own background networking as the flags can silence.
pub(crate) const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--hide-scrollbars",
];

/// Debian's `chromium`, when it is installed.
pub(crate) fn installed_chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/local/bin/chromium"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Chromium, or `None` (after saying why) when the test should skip. Panics under CI.
fn chromium() -> Option<PathBuf> {
    let found = installed_chromium();
    if found.is_none() {
        assert!(
            !in_ci(),
            "chromium is not installed, and CI must run the browser test: .ci/run installs it \
             with `apt-get install chromium`"
        );
        eprintln!(
            "SKIPPED: chromium is not installed (apt-get install chromium); the browser test did \
             not run"
        );
    }
    found
}

/// What one Chromium run left behind.
struct Run {
    stdout: String,
    stderr: String,
    net_log: PathBuf,
}

/// Runs headless Chromium on `url` with the test's flags plus `extra`, in a fresh profile under
/// `work`, killing its whole process group after [`CHROMIUM_TIMEOUT`].
fn run_chromium(chromium: &Path, work: &Path, tag: &str, extra: &[String], url: &str) -> Run {
    use std::os::unix::process::CommandExt;
    let profile = work.join(format!("profile-{tag}"));
    let net_log = work.join(format!("netlog-{tag}.json"));
    let out_path = work.join(format!("stdout-{tag}.txt"));
    let err_path = work.join(format!("stderr-{tag}.txt"));
    let mut child = Command::new(chromium)
        .args(CHROMIUM_FLAGS)
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--log-net-log={}", net_log.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        // Its own process group, so a timeout ends the renderer and helpers too.
        .process_group(0)
        .spawn()
        .expect("start chromium");
    let deadline = Instant::now() + CHROMIUM_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for chromium") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = Command::new("kill")
                .args(["-KILL", "--", &format!("-{}", child.id())])
                .status();
            let _ = child.wait();
            panic!(
                "chromium ({tag}) did not finish within {} s",
                CHROMIUM_TIMEOUT.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let stdout = std::fs::read_to_string(&out_path).unwrap_or_default();
    let stderr = std::fs::read_to_string(&err_path).unwrap_or_default();
    assert!(
        status.success(),
        "chromium ({tag}) exited with {status}; stderr:\n{stderr}"
    );
    Run {
        stdout,
        stderr,
        net_log,
    }
}

/// URL requests from Chromium's net log, split into those made for a page and the browser's own.
#[derive(Debug, Default)]
struct Requests {
    page: Vec<String>,
    background: Vec<String>,
}

impl Requests {
    /// Requests of the page that left the disk: anything but `file:` and `data:`.
    fn network(&self) -> Vec<&str> {
        self.page
            .iter()
            .map(String::as_str)
            .filter(|u| !u.starts_with("file:") && !u.starts_with("data:"))
            .collect()
    }
}

fn requests(net_log: &Path) -> Requests {
    let text = std::fs::read_to_string(net_log)
        .unwrap_or_else(|e| panic!("no net log at {}: {e}", net_log.display()));
    let log: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "the net log {} is not complete JSON ({e}); without it no request can be ruled out",
            net_log.display()
        )
    });
    let start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
        .as_u64()
        .expect("the net log names URL_REQUEST_START_JOB; without it no request can be ruled out");
    let mut out = Requests::default();
    for event in log["events"].as_array().expect("net log events") {
        if event["type"].as_u64() != Some(start_job) {
            continue;
        }
        let params = &event["params"];
        let Some(url) = params["url"].as_str() else {
            continue;
        };
        let initiator = params["initiator"].as_str().unwrap_or("");
        let isolation = params["network_isolation_key"].as_str().unwrap_or("");
        if initiator == "not an origin" && !isolation.contains("file://") {
            out.background.push(url.to_string());
        } else {
            out.page.push(url.to_string());
        }
    }
    out
}

/// Renders the demo's HTML report with the frozen clock into `dir`.
fn demo_report(dir: &Path) -> PathBuf {
    let path = dir.join("report.html");
    let out = BinCommand::cargo_bin("preclone")
        .expect("the preclone binary is built")
        .env("PRECLONE_FROZEN_TIME", FROZEN_TIME)
        .args(["demo", "--quiet", "--no-progress", "-o"])
        .arg(&path)
        .output()
        .expect("preclone demo runs");
    assert!(
        out.status.success(),
        "preclone demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn file_url(path: &Path) -> String {
    let abs = path.canonicalize().expect("absolute path");
    url::Url::from_file_path(&abs)
        .expect("file URL")
        .to_string()
}

/// An 8-bit RGB(A) image decoded from a PNG.
struct Image {
    width: u32,
    height: u32,
    channels: usize,
    pixels: Vec<u8>,
}

impl Image {
    fn decode(path: &Path) -> Image {
        let file = std::fs::File::open(path)
            .unwrap_or_else(|e| panic!("no screenshot at {}: {e}", path.display()));
        let mut decoder = png::Decoder::new(BufReader::new(file));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().expect("the screenshot is a valid PNG");
        let size = reader.output_buffer_size().expect("a PNG of sane size");
        let mut pixels = vec![0; size];
        let frame = reader.next_frame(&mut pixels).expect("PNG image data");
        let channels = match frame.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("unexpected screenshot colour type {other:?}"),
        };
        pixels.truncate(frame.buffer_size());
        Image {
            width: frame.width,
            height: frame.height,
            channels,
            pixels,
        }
    }

    fn rgb(&self, x: u32, y: u32) -> (u8, u8, u8) {
        let i = (y as usize * self.width as usize + x as usize) * self.channels;
        (self.pixels[i], self.pixels[i + 1], self.pixels[i + 2])
    }

    /// The first row holding at least `min` pixels of `colour` (a tinted box spans many).
    fn first_row_with(&self, colour: (u8, u8, u8), min: usize) -> Option<u32> {
        (0..self.height).find(|&y| self.count(colour, y..y + 1).0 >= min)
    }

    /// The top of the first vertical bar at least `height` pixels tall in one of `colours`: the
    /// left border of a finding's card (no badge or text is that tall).
    fn first_bar(&self, colours: &[(u8, u8, u8)], height: u32) -> Option<u32> {
        let near = |a: u8, b: u8| a.abs_diff(b) <= 12;
        let mut best: Option<u32> = None;
        for x in 0..self.width {
            let mut run = 0;
            for y in 0..self.height {
                let (r, g, b) = self.rgb(x, y);
                if colours
                    .iter()
                    .any(|c| near(r, c.0) && near(g, c.1) && near(b, c.2))
                {
                    run += 1;
                    if run == height {
                        let top = y + 1 - height;
                        best = Some(best.map_or(top, |b| b.min(top)));
                        break;
                    }
                } else {
                    run = 0;
                }
            }
        }
        best
    }

    /// Pixels within `tolerance` of `colour` in rows `rows`, and the leftmost column they reach.
    fn count(&self, colour: (u8, u8, u8), rows: std::ops::Range<u32>) -> (usize, u32) {
        let near = |a: u8, b: u8| a.abs_diff(b) <= 12;
        let mut n = 0;
        let mut leftmost = u32::MAX;
        for y in rows {
            for x in 0..self.width {
                let (r, g, b) = self.rgb(x, y);
                if near(r, colour.0) && near(g, colour.1) && near(b, colour.2) {
                    n += 1;
                    leftmost = leftmost.min(x);
                }
            }
        }
        (n, leftmost)
    }
}

/// The demo's verdict, `FAIL`, on its red badge (`--fail: #c62828` in templates/report.html).
const FAIL_RED: (u8, u8, u8) = (0xc6, 0x28, 0x28);

/// The verdict of an incomplete run (`--incomplete`), and the tints of the impact line when MID
/// Servers go down or could not be decided (templates/report.html).
const INCOMPLETE_AMBER: (u8, u8, u8) = (0xb2, 0x6a, 0x00);
const IMPACT_DOWN: (u8, u8, u8) = (0xfd, 0xe3, 0xe1);
const IMPACT_UNDECIDED: (u8, u8, u8) = (0xff, 0xf0, 0xd4);
/// The left borders of the findings' cards: every severity, and a cause left undecided.
const CARD_BORDERS: [(u8, u8, u8); 5] = [
    (0x8b, 0x00, 0x00),
    (0xc6, 0x28, 0x28),
    (0xb2, 0x6a, 0x00),
    (0x15, 0x65, 0xc0),
    (0x54, 0x6e, 0x7a),
];

/// The screens a reviewer reads a report on: a desktop browser 1280 px wide (its first screen
/// 800 px), and an A4 page at 96 dpi (794 x 1123 px). Screenshots are taller than the screen so
/// the first finding is in them.
const SCREENS: [(u32, u32); 2] = [(1280, 800), (794, 1123)];

/// At each of [`SCREENS`], the verdict badge (`verdict`) and the impact line (tinted `impact`)
/// are painted on the first screen, and above the first finding.
fn assert_verdict_and_impact_above_the_findings(
    chromium: &Path,
    work: &Path,
    report: &Path,
    verdict: (u8, u8, u8),
    impact: (u8, u8, u8),
) {
    let url = file_url(report);
    let name = report.file_stem().and_then(|s| s.to_str()).unwrap_or("r");
    for (width, screen) in SCREENS {
        let shot = work.join(format!("{name}-{width}.png"));
        run_chromium(
            chromium,
            work,
            &format!("{name}-{width}"),
            &[
                format!("--screenshot={}", shot.display()),
                format!("--window-size={width},{}", 3 * screen),
            ],
            &url,
        );
        let image = Image::decode(&shot);
        let (badge, _) = image.count(verdict, 0..110);
        assert!(
            badge > 1_000,
            "{name} at {width} px: the verdict badge is not painted at the top ({badge} pixels)"
        );
        let line = image
            .first_row_with(impact, width as usize / 3)
            .unwrap_or_else(|| panic!("{name} at {width} px: no impact line painted"));
        assert!(
            line < screen,
            "{name} at {width} px: the impact line starts at {line} px, below the first screen ({screen} px)"
        );
        let card = image
            .first_bar(&CARD_BORDERS, 60)
            .unwrap_or_else(|| panic!("{name} at {width} px: no finding painted"));
        eprintln!("{name} at {width} px: impact line at {line} px, first finding at {card} px");
        assert!(
            line < card && 110 < card,
            "{name} at {width} px: a finding ({card} px) is painted above the verdict or the impact line ({line} px)"
        );
    }
}

#[test]
fn the_verdict_and_the_impact_line_are_painted_above_the_findings() {
    let Some(chromium) = chromium() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    // The demo: two MID Servers will go down.
    let demo = demo_report(work.path());
    assert_verdict_and_impact_above_the_findings(
        &chromium,
        work.path(),
        &demo,
        FAIL_RED,
        IMPACT_DOWN,
    );
    // A run whose preservers could not be read: not decided, and it says so first.
    let (_fakes, r) = crate::honesty::acl_denied();
    let acl = work.path().join("acl-denied.html");
    std::fs::write(&acl, &r.html).expect("write the report");
    assert_verdict_and_impact_above_the_findings(
        &chromium,
        work.path(),
        &acl,
        INCOMPLETE_AMBER,
        IMPACT_UNDECIDED,
    );
}

#[test]
fn demo_report_loads_from_disk_without_network_and_paints_its_verdict_first() {
    let Some(chromium) = chromium() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let report = demo_report(work.path());
    let url = file_url(&report);

    // 1. Screenshot, with the net log on.
    let shot = work.path().join("report.png");
    let run = run_chromium(
        &chromium,
        work.path(),
        "screenshot",
        &[
            format!("--screenshot={}", shot.display()),
            format!("--window-size={WIDTH},{HEIGHT}"),
        ],
        &url,
    );
    let seen = requests(&run.net_log);
    assert!(
        seen.network().is_empty(),
        "the report made network requests: {:?}",
        seen.network()
    );
    eprintln!(
        "page requests: {:?}; browser background requests ignored: {}",
        seen.page,
        seen.background.len()
    );

    let image = Image::decode(&shot);
    assert_eq!(
        (image.width, image.height),
        (WIDTH, HEIGHT),
        "screenshot size"
    );
    let png_bytes = std::fs::metadata(&shot).expect("screenshot").len();
    assert!(png_bytes > 20_000, "a {png_bytes}-byte screenshot is blank");
    let (white, _) = image.count((255, 255, 255), 0..HEIGHT);
    let total = (WIDTH * HEIGHT) as usize;
    assert!(
        white < total * 97 / 100,
        "the screenshot is {white} of {total} white pixels: nothing rendered"
    );
    // The verdict badge is painted in the first 110 px, in the left part of the page.
    let (red, leftmost) = image.count(FAIL_RED, 0..110);
    assert!(
        red > 1_000,
        "the red FAIL verdict badge is not visible at the top of the page ({red} red pixels)"
    );
    assert!(leftmost < WIDTH / 2, "the verdict badge is not on the left");

    // 2. The DOM as the browser built it: the verdict heading is the first heading.
    let run = run_chromium(
        &chromium,
        work.path(),
        "dump-dom",
        &["--dump-dom".to_string()],
        &url,
    );
    let dom = &run.stdout;
    let h1 = dom
        .find("<h1>")
        .unwrap_or_else(|| panic!("no <h1> in the DOM; stderr:\n{}", run.stderr));
    assert!(
        dom[h1..].starts_with(
            "<h1>Pre-clone audit <span class=\"verdict fail\">FAIL</span> <span class=\"demo\">embedded sample estate, not a live instance</span></h1>"
        ),
        "the first heading is not the verdict, saying it is the demo: {:?}",
        &dom[h1..(h1 + 200).min(dom.len())]
    );
    assert!(
        dom.find("id=\"coverage\"").is_some_and(|c| c > h1),
        "coverage does not follow the verdict"
    );
    let seen = requests(&run.net_log);
    assert!(
        seen.network().is_empty(),
        "the report made network requests: {:?}",
        seen.network()
    );
}

/// Serves one HTTP request on 127.0.0.1 with a 1x1 PNG and reports its request line.
fn listener() -> (u16, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local addr").port();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok((mut stream, _)) = listener.accept() {
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
            let _ = reader.read_line(&mut line);
            // Drain the headers.
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 2) {
                header.clear();
            }
            let _ = tx.send(line.trim_end().to_string());
            let body = tiny_png();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(&body);
            let _ = stream.flush();
            let mut rest = Vec::new();
            let _ = stream.set_read_timeout(Some(Duration::from_millis(200)));
            let _ = stream.read_to_end(&mut rest);
        }
    });
    (port, rx)
}

/// A 1x1 red PNG.
fn tiny_png() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, 1, 1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().expect("png header");
        writer.write_image_data(&[255, 0, 0]).expect("png data");
    }
    out
}

/// The report's own Content-Security-Policy meta tag, as rendered.
fn report_csp(report: &Path) -> String {
    let html = std::fs::read_to_string(report).expect("report");
    let start = html
        .find("<meta http-equiv=\"Content-Security-Policy\"")
        .expect("the report has a CSP meta tag");
    let end = start + html[start..].find('>').expect("end of the meta tag") + 1;
    html[start..end].to_string()
}

#[test]
fn net_log_detector_sees_a_request_the_page_makes() {
    let Some(chromium) = chromium() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let (port, hits) = listener();
    let target = format!("http://127.0.0.1:{port}/x.png");
    let probe = work.path().join("probe.html");
    std::fs::write(
        &probe,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>probe</title></head>\
             <body><p>probe</p><img src=\"{target}\" alt=\"\"></body></html>"
        ),
    )
    .expect("write probe");
    let run = run_chromium(
        &chromium,
        work.path(),
        "probe",
        &[
            format!("--screenshot={}", work.path().join("probe.png").display()),
            "--window-size=400,300".to_string(),
        ],
        &file_url(&probe),
    );
    let line = hits
        .recv_timeout(Duration::from_secs(5))
        .expect("the local listener saw the probe's image request");
    assert_eq!(line, "GET /x.png HTTP/1.1");
    let seen = requests(&run.net_log);
    assert_eq!(
        seen.network(),
        [target.as_str()],
        "the detector missed the page's request; page requests: {:?}",
        seen.page
    );
}

#[test]
fn the_reports_csp_keeps_an_injected_external_image_off_the_network() {
    let Some(chromium) = chromium() else { return };
    let work = tempfile::tempdir().expect("temp dir");
    let csp = report_csp(&demo_report(work.path()));
    let (port, hits) = listener();
    let probe = work.path().join("csp-probe.html");
    std::fs::write(
        &probe,
        format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\">{csp}<title>probe</title></head>\
             <body><p>probe</p><img src=\"http://127.0.0.1:{port}/x.png\" alt=\"\"></body></html>"
        ),
    )
    .expect("write probe");
    let run = run_chromium(
        &chromium,
        work.path(),
        "csp-probe",
        &[
            format!("--screenshot={}", work.path().join("csp.png").display()),
            "--window-size=400,300".to_string(),
        ],
        &file_url(&probe),
    );
    let seen = requests(&run.net_log);
    assert!(
        seen.network().is_empty(),
        "the CSP let a request through: {:?}",
        seen.network()
    );
    assert!(
        hits.recv_timeout(Duration::from_millis(500)).is_err(),
        "the listener was contacted despite the CSP"
    );
}
