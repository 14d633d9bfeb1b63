//! The client's one send loop over real HTTP, for what the fake instance cannot stage: the OAuth
//! token `POST` answering 429 with `Retry-After` or a cut-off body, and a TLS handshake that
//! fails. A scripted server answers each connection with the next canned response, byte for
//! byte, and closes it.

// Tests may print (skips, regenerated files); the library may not (clippy.toml).
#![allow(clippy::disallowed_macros)]

use preclone::client::{Client, ClientError, TableQuery};
use preclone::config::{Auth, ClientSettings, ResolvedInstance, Secret};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const CLIENT_SECRET: &str = "client-secret-7f3a";

/// A server that answers connection `i` with `script[i]` (the last one once the script runs
/// out) and logs each request line.
fn scripted(script: Vec<String>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&log);
    std::thread::spawn(move || {
        for (i, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            seen.lock().expect("log").push(line.trim().to_string());
            let mut length = 0usize;
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 || header.trim().is_empty() {
                    break;
                }
                let lower = header.to_ascii_lowercase();
                if let Some(v) = lower.strip_prefix("content-length:") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let answer = &script[i.min(script.len() - 1)];
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (format!("http://{addr}"), log)
}

fn response(status: &str, headers: &[&str], body: &str) -> String {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for h in headers {
        out.push_str(h);
        out.push_str("\r\n");
    }
    out.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    out
}

fn rate_limited(retry_after: u64) -> String {
    response(
        "429 Too Many Requests",
        &[
            "Content-Type: application/json",
            &format!("Retry-After: {retry_after}"),
        ],
        r#"{"error":"too_many_requests"}"#,
    )
}

fn token() -> String {
    response(
        "200 OK",
        &["Content-Type: application/json"],
        r#"{"access_token":"tok-123456","token_type":"Bearer","expires_in":1800}"#,
    )
}

/// Headers promising a whole token answer, half of it sent, then the connection closed.
fn cut_off_token() -> String {
    let body = r#"{"access_token":"tok-123456","expires_in":1800}"#;
    format!(
        "HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
        body.len(),
        &body[..body.len() / 2]
    )
}

fn users() -> String {
    response(
        "200 OK",
        &["Content-Type: application/json", "X-Total-Count: 1"],
        r#"{"result":[{"sys_id":"u1","user_name":"abel.tuter"}]}"#,
    )
}

fn client(url: &str, max_backoff: Duration) -> Client {
    let instance = ResolvedInstance {
        name: "scripted".to_string(),
        url: url.to_string(),
        production: None,
        auth: Auth::OAuthClientCredentials {
            client_id: "preclone".to_string(),
            client_secret: Secret::new(CLIENT_SECRET.to_string()),
        },
    };
    let settings = ClientSettings {
        timeout: Duration::from_secs(5),
        concurrency: 4,
        retries: 2,
        max_backoff,
    };
    Client::new(&instance, &settings).expect("a client for a loopback URL")
}

fn query() -> TableQuery {
    TableQuery::new("sys_user", "", &["sys_id", "user_name"])
}

fn lines(log: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    log.lock()
        .expect("log")
        .iter()
        .map(|l| l.split('?').next().unwrap_or("").replace(" HTTP/1.1", ""))
        .collect()
}

#[tokio::test]
async fn the_token_post_waits_out_retry_after_on_a_429() {
    let (url, log) = scripted(vec![rate_limited(1), token(), users()]);
    let c = client(&url, Duration::from_secs(3));
    let start = Instant::now();
    let rows = c.fetch(&query()).await.expect("a token after one 429");
    let waited = start.elapsed();
    assert_eq!(rows.rows.len(), 1);
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert_eq!(
        lines(&log),
        [
            "POST /oauth_token.do",
            "POST /oauth_token.do",
            "GET /api/now/v2/table/sys_user"
        ]
    );
    assert_eq!(c.requests_sent(), 3);
    assert_eq!(rows.requests, 3);

    // A Retry-After beyond max_backoff is capped.
    let (url, _log) = scripted(vec![rate_limited(600), token(), users()]);
    let c = client(&url, Duration::from_millis(50));
    let start = Instant::now();
    c.fetch(&query()).await.expect("a token after one 429");
    assert!(
        start.elapsed() < Duration::from_secs(3),
        "{:?}",
        start.elapsed()
    );
}

#[tokio::test]
async fn a_token_post_rate_limited_every_time_is_an_access_failure() {
    let (url, log) = scripted(vec![rate_limited(0)]);
    let c = client(&url, Duration::from_millis(50));
    let err = c.fetch(&query()).await.expect_err("429 on every attempt");
    assert!(matches!(err, ClientError::Token { .. }), "{err:?}");
    assert!(err.is_access_failure());
    assert!(
        err.short().contains("still rate limited after 3 attempts"),
        "{}",
        err.short()
    );
    assert_eq!(lines(&log), ["POST /oauth_token.do"; 3]);
    let shown = format!("{err} {err:?} {c:?}");
    assert!(!shown.contains(CLIENT_SECRET), "{shown}");
}

#[tokio::test]
async fn a_cut_off_token_answer_is_retried_like_any_other_request() {
    let (url, log) = scripted(vec![cut_off_token(), token(), users()]);
    let c = client(&url, Duration::from_millis(50));
    let rows = c
        .fetch(&query())
        .await
        .expect("the second token answer is whole");
    assert_eq!(rows.rows.len(), 1);
    assert_eq!(
        lines(&log),
        [
            "POST /oauth_token.do",
            "POST /oauth_token.do",
            "GET /api/now/v2/table/sys_user"
        ]
    );

    let (url, log) = scripted(vec![cut_off_token()]);
    let c = client(&url, Duration::from_millis(50));
    let err = c.fetch(&query()).await.expect_err("always cut off");
    assert!(matches!(err, ClientError::Token { .. }), "{err:?}");
    assert!(err.short().contains("3 attempts"), "{}", err.short());
    assert_eq!(lines(&log).len(), 3);
    assert!(!format!("{err} {err:?}").contains("tok-123456"), "{err:?}");
}

/// A peer that reads what the client sends first (a TLS ClientHello), answers `reply` and
/// closes the connection.
fn not_tls(reply: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut hello = [0u8; 4096];
            let _ = stream.read(&mut hello);
            let _ = stream.write_all(reply);
        }
    });
    format!("https://{addr}")
}

#[tokio::test]
async fn a_failed_tls_handshake_is_reported_as_tls() {
    // A plain HTTP answer to the ClientHello (rustls reads a corrupt record), and a peer that
    // hangs up in the middle of the handshake.
    for reply in [&b"HTTP/1.1 400 Bad Request\r\n\r\n"[..], b""] {
        let c = client(&not_tls(reply), Duration::from_millis(50));
        let err = c
            .count("sys_user", "")
            .await
            .expect_err("no TLS on the other side");
        assert!(
            matches!(err, ClientError::Connect { tls: true, .. }),
            "{err:?}"
        );
        assert!(err.is_access_failure());
        assert!(err.short().starts_with("TLS failure"), "{}", err.short());
        assert!(err.to_string().contains("TLS handshake failed"), "{err}");
        assert_eq!(
            c.requests_sent(),
            1,
            "the token POST fails and is not retried"
        );
    }
}

#[tokio::test]
async fn a_bearer_token_from_the_config_refused_with_401_is_not_sent_again() {
    let refused = response(
        "401 Unauthorized",
        &["Content-Type: application/json"],
        r#"{"error":{"message":"User Not Authenticated","detail":"Required to provide Auth information"},"status":"failure"}"#,
    );
    let (url, log) = scripted(vec![refused]);
    let instance = ResolvedInstance {
        name: "scripted".to_string(),
        url,
        production: None,
        auth: Auth::Bearer {
            token: Secret::new("static-token-99".to_string()),
        },
    };
    let c = Client::new(&instance, &ClientSettings::default()).expect("client");
    let err = c.fetch(&query()).await.expect_err("401");
    assert!(
        matches!(err, ClientError::Unauthorized { oauth: false, .. }),
        "{err:?}"
    );
    assert_eq!(lines(&log), ["GET /api/now/v2/table/sys_user"]);
    assert!(!format!("{err} {err:?}").contains("static-token-99"));
}
