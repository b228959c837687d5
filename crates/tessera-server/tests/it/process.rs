//! The real `tessera serve` binary as a child process on an ephemeral port, for what only a
//! process shows: its banner, its logs, signals and the shutdown deadline, and the limits of its
//! connections, driven over raw TCP.

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex, mpsc},
    time::{Duration, Instant},
};

use base64::{Engine, engine::general_purpose::STANDARD};
use serde_json::Value;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// How long the binary may take to print its banner (it migrates a fresh store first).
const START_BOUND: Duration = Duration::from_secs(60);

/// A running `tessera serve`; killed when dropped.
pub(crate) struct ServeProcess {
    child: Child,
    pub(crate) address: SocketAddr,
    pub(crate) project_id: String,
    /// The API secret, when this start created the deployment and printed it.
    pub(crate) secret: Option<String>,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
}

impl ServeProcess {
    /// Runs `tessera <args>` (the args include `serve` and `--listen 127.0.0.1:0`) with these
    /// extra environment variables, and waits for its banner.
    pub(crate) fn start(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args(args)
            .envs(env.iter().copied())
            .env_remove("TESSERA_DATABASE")
            .env("TESSERA_LOG", env_value(env, "TESSERA_LOG").unwrap_or("info"))
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let (lines_tx, lines) = mpsc::channel::<String>();
        let out = child.stdout.take().unwrap();
        let collected = stdout.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                collected.lock().unwrap().push_str(&format!("{line}\n"));
                let _ = lines_tx.send(line);
            }
        });
        let mut err = child.stderr.take().unwrap();
        let collected = stderr.clone();
        std::thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(n @ 1..) = err.read(&mut buffer) {
                collected.lock().unwrap().push_str(&String::from_utf8_lossy(&buffer[..n]));
            }
        });

        let deadline = Instant::now() + START_BOUND;
        let (mut address, mut project_id, mut secret) = (None, None, None);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = lines.recv_timeout(left) else {
                let _ = child.kill();
                panic!(
                    "tessera serve printed no complete banner within {START_BOUND:?}\n\
                     stdout:\n{}\nstderr:\n{}",
                    stdout.lock().unwrap(),
                    stderr.lock().unwrap()
                );
            };
            if let Some(rest) = line.strip_prefix("Tessera listening on http://") {
                address = rest.split_whitespace().next().map(|a| a.parse().unwrap());
            } else if let Some(rest) = line.strip_prefix("Project id: ") {
                project_id = Some(rest.trim().to_owned());
            } else if let Some(rest) = line.strip_prefix("API secret (shown once, store it now): ")
            {
                secret = Some(rest.trim().to_owned());
                break;
            } else if line.starts_with("API secret: ") {
                break;
            }
        }
        Self {
            child,
            address: address.expect("the banner names the address"),
            project_id: project_id.expect("the banner names the project id"),
            secret,
            stdout,
            stderr,
        }
    }

    /// `Authorization: Basic …` with the printed credentials.
    pub(crate) fn basic_auth(&self) -> String {
        let secret = self.secret.as_deref().expect("this start printed the secret");
        format!("Basic {}", STANDARD.encode(format!("{}:{secret}", self.project_id)))
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    /// Everything the process printed on standard output so far.
    pub(crate) fn stdout(&self) -> String {
        self.stdout.lock().unwrap().clone()
    }

    /// Everything the process logged on standard error so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Sends SIGTERM, what an orchestrator sends to stop a server.
    pub(crate) fn terminate(&self) {
        let status =
            Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        assert!(status.success(), "kill -TERM failed");
    }

    /// The exit status, if the process exits within `bound`.
    pub(crate) fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn env_value<'a>(env: &[(&str, &'a str)], name: &str) -> Option<&'a str> {
    env.iter().find(|(key, _)| *key == name).map(|(_, value)| *value)
}

/// A POST whose body never arrives in full: the server has the headers and 10 of the 100 body
/// bytes announced, so its handler waits for the rest. The request stays in flight until the
/// stream is dropped or [`finish_stuck_post`] sends the rest.
pub(crate) async fn stuck_post(address: SocketAddr, path: &str, authorization: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: {authorization}\r\n\
         Content-Type: application/json\r\nContent-Length: {STUCK_BODY_LENGTH}\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&STUCK_BODY.as_bytes()[..10]).await.unwrap();
    stream.flush().await.unwrap();
    stream
}

/// A JSON body of [`STUCK_BODY_LENGTH`] bytes.
const STUCK_BODY: &str = "{\"organization_name\": \"Stuck\", \"organization_slug\": \"stuck\", \
                          \"organization_external_id\": \"stuck-0000000\"}";
const STUCK_BODY_LENGTH: usize = STUCK_BODY.len();

/// Sends the rest of a [`stuck_post`]'s body.
pub(crate) async fn finish_stuck_post(stream: &mut TcpStream) {
    stream.write_all(&STUCK_BODY.as_bytes()[10..]).await.unwrap();
    stream.flush().await.unwrap();
}

/// One HTTP/1.1 response, read by [`read_response`].
pub(crate) struct RawResponse {
    pub(crate) status: u16,
    /// The status line and headers, as sent.
    pub(crate) head: String,
    /// The body as JSON (a string if it is not JSON).
    pub(crate) body: Value,
}

impl RawResponse {
    /// The value of header `name`, if sent.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// Reads one HTTP/1.1 response (status line, headers, a `Content-Length` body) from `stream`.
/// `None` if the connection ends first.
pub(crate) async fn read_response(stream: &mut TcpStream) -> Option<RawResponse> {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    let head_end = loop {
        if let Some(at) = received.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    };
    let head = String::from_utf8_lossy(&received[..head_end]).into_owned();
    let status: u16 = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut response = RawResponse { status, head, body: Value::Null };
    let length = response.header("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    while received.len() < head_end + length {
        match stream.read(&mut buffer).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
    let body = String::from_utf8_lossy(&received[head_end..head_end + length]).into_owned();
    response.body = serde_json::from_str(&body).unwrap_or(Value::String(body));
    Some(response)
}

/// Whether the server closes `stream` (end of stream or reset) within `bound`, whatever it
/// sends first.
pub(crate) async fn closed_within(stream: &mut TcpStream, bound: Duration) -> bool {
    let mut buffer = [0u8; 1024];
    tokio::time::timeout(bound, async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .is_ok()
}
