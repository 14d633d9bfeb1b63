//! A TCP proxy in front of a fake instance, for faults below HTTP that the fake cannot make by
//! itself: bodies cut off mid-stream, hangs on chosen requests, an endpoint that stops answering.
//! One request per connection.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the proxy saw it.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub target: String,
    /// 1-based arrival number.
    pub n: u64,
}

/// What the proxy does with one request.
pub enum Act {
    Forward,
    /// Forward, then send the headers and half the body, and close.
    Cut,
    /// Answer nothing for this long, then close.
    Hang(Duration),
    /// Answer this status and JSON body without asking the fake.
    Reply(u16, &'static str),
}

/// Decides the [`Act`] for each request.
pub type Rule = Arc<dyn Fn(&Seen) -> Act + Send + Sync>;

/// The proxy: it listens on its own port until dropped.
pub struct Proxy {
    pub url: String,
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<Seen>>>,
    /// Bodies of the answers to `POST /oauth_token.do` that were passed on.
    pub token_answers: Arc<Mutex<Vec<Vec<u8>>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    pub fn start(upstream: &str, rule: Rule) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let addr = listener.local_addr().expect("proxy address");
        let upstream = upstream
            .strip_prefix("http://")
            .unwrap_or(upstream)
            .to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let token_answers: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let count = Arc::new(AtomicU64::new(0));
        let thread = {
            let (stop, seen, token_answers) = (stop.clone(), seen.clone(), token_answers.clone());
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (upstream, rule, seen, tokens, count) = (
                        upstream.clone(),
                        rule.clone(),
                        seen.clone(),
                        token_answers.clone(),
                        count.clone(),
                    );
                    std::thread::spawn(move || {
                        let _ = serve(stream, &upstream, &rule, &seen, &tokens, &count);
                    });
                }
            })
        };
        Proxy {
            url: format!("http://{addr}"),
            addr,
            stop,
            seen,
            token_answers,
            thread: Some(thread),
        }
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    rule: &Rule,
    seen: &Mutex<Vec<Seen>>,
    tokens: &Mutex<Vec<Vec<u8>>>,
    count: &AtomicU64,
) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut headers = Vec::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let trimmed = line.trim_end();
        if trimmed.is_empty() {
            break;
        }
        if let Some((k, v)) = trimmed.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().unwrap_or(0);
            }
            if k.eq_ignore_ascii_case("connection") {
                continue;
            }
        }
        headers.push(trimmed.to_string());
    }
    let mut body = vec![0u8; length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let req = Seen {
        method: parts.next().unwrap_or("").to_string(),
        target: parts.next().unwrap_or("").to_string(),
        n: count.fetch_add(1, Ordering::SeqCst) + 1,
    };
    seen.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(req.clone());
    let act = rule(&req);
    if let Act::Hang(d) = act {
        std::thread::sleep(d);
        return Ok(());
    }
    if let Act::Reply(status, text) = act {
        let answer = format!(
            "HTTP/1.1 {status} Refused\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
            text.len()
        );
        return client.write_all(answer.as_bytes());
    }
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut head = request_line.clone();
    for h in &headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)
        .unwrap_or(answer.len());
    // The answer's head, with `Connection: close` so the client never reuses the connection.
    let head_text = String::from_utf8_lossy(&answer[..split]).to_string();
    let mut out_head: String = head_text
        .split("\r\n")
        .filter(|l| !l.is_empty() && !l.to_ascii_lowercase().starts_with("connection:"))
        .map(|l| format!("{l}\r\n"))
        .collect();
    out_head.push_str("Connection: close\r\n\r\n");
    let answer_body = &answer[split..];
    if req.target.starts_with("/oauth_token.do") {
        tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(answer_body.to_vec());
    }
    client.write_all(out_head.as_bytes())?;
    match act {
        Act::Cut => {
            client.write_all(&answer_body[..answer_body.len() / 2])?;
            client.flush()?;
            client.shutdown(std::net::Shutdown::Both)
        }
        _ => client.write_all(answer_body),
    }
}

/// Whether `req` reads `table`.
pub fn is_table(req: &Seen, table: &str) -> bool {
    let path = req.target.split('?').next().unwrap_or("");
    path.ends_with(&format!("/table/{table}"))
}
