//! The real `tessera serve` as a child process, as tessera-server's `tests/it/process.rs`
//! starts it: the banner gives the address, the project id and the secret.

use std::{
    io::{BufRead, BufReader},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    sync::{OnceLock, mpsc},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use serde_json::{Value, json};
use tessera_client::{ClientConfig, CreateSessionRequest, MemberLookup, TesseraClient};
use tessera_core::FactorInput;

/// The `tessera` binary of package tessera-server, next to this test binary's directory
/// (`target/debug/deps/it-…` → `target/debug/tessera`); built once if missing.
fn binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_owned();
        let binary = profile_dir.join("tessera");
        if !binary.exists() {
            let target_dir = profile_dir.parent().unwrap();
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "tessera-server", "--bin", "tessera", "--target-dir"])
                .arg(target_dir)
                .status()
                .unwrap();
            assert!(status.success(), "could not build the tessera binary");
        }
        binary
    })
}

/// A running `tessera serve`; killed (and its store removed) when dropped.
pub(crate) struct Serve {
    child: Child,
    pub(crate) base_url: String,
    pub(crate) project_id: String,
    pub(crate) secret: String,
    pub(crate) data_dir: PathBuf,
    http: reqwest::Client,
}

impl Serve {
    /// Starts a server on a fresh store, with these extra global flags.
    pub(crate) fn start(flags: &[&str]) -> Self {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let data_dir =
            std::env::temp_dir().join(format!("tessera-client-it-{}-{nanos}", std::process::id()));
        let mut child = Command::new(binary())
            .arg("--data-dir")
            .arg(&data_dir)
            .args(flags)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("TESSERA_DATABASE")
            .env("TESSERA_LOG", "warn")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let (lines_tx, lines) = mpsc::channel::<String>();
        let out = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = lines_tx.send(line);
            }
        });
        let (mut address, mut project_id) = (None, None);
        let secret = loop {
            let line = lines.recv_timeout(Duration::from_secs(60)).expect("no banner");
            if let Some(rest) = line.strip_prefix("Tessera listening on http://") {
                address = rest.split_whitespace().next().map(str::to_owned);
            } else if let Some(rest) = line.strip_prefix("Project id: ") {
                project_id = Some(rest.trim().to_owned());
            } else if let Some(rest) = line.strip_prefix("API secret (shown once, store it now): ")
            {
                break rest.trim().to_owned();
            }
        };
        Self {
            child,
            base_url: format!("http://{}", address.unwrap()),
            project_id: project_id.unwrap(),
            secret,
            data_dir,
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn config(&self) -> ClientConfig {
        ClientConfig::new(&self.base_url, &self.project_id, &self.secret)
    }

    pub(crate) fn client(&self) -> TesseraClient {
        TesseraClient::new(self.config()).unwrap()
    }

    /// `tessera <args>` on this server's store (an operator command).
    pub(crate) fn command(&self, args: &[&str]) -> Value {
        let output = Command::new(binary())
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(args)
            .env_remove("TESSERA_DATABASE")
            .env("TESSERA_LOG", "warn")
            .output()
            .unwrap();
        assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
        serde_json::from_slice(&output.stdout).unwrap()
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        let response = self
            .http
            .post(format!("{}{path}", self.base_url))
            .basic_auth(&self.project_id, Some(&self.secret))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{path}: {}", response.status());
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
    }

    /// An organization `slug` with one member `ada@example.com` (an admin): their ids.
    pub(crate) async fn organization_with_member(&self, slug: &str) -> (String, String) {
        let org = self
            .post(
                "/v1/b2b/organizations",
                json!({"organization_name": slug, "organization_slug": slug}),
            )
            .await;
        let org_id = org["organization"]["organization_id"].as_str().unwrap().to_owned();
        let member = self
            .post(
                &format!("/v1/b2b/organizations/{org_id}/members"),
                json!({"email_address": "ada@example.com", "roles": ["tessera_admin"]}),
            )
            .await;
        (org_id, member["member_id"].as_str().unwrap().to_owned())
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}

/// A magic-link factor proving `email`.
pub(crate) fn email_factor(email: &str) -> FactorInput {
    serde_json::from_value(json!({
        "type": "magic_link",
        "delivery_method": "email",
        "email_factor": {"email_id": "email-1", "email_address": email}
    }))
    .unwrap()
}

/// A session for the organization's member, through the client: (token, JWT).
pub(crate) async fn sign_in(client: &TesseraClient, org: &str) -> (String, String) {
    let request = CreateSessionRequest::new(
        org,
        MemberLookup::Email("ada@example.com".into()),
        vec![email_factor("ada@example.com")],
    );
    let created = client.create_session(&request).await.unwrap();
    assert!(created.member_authenticated);
    (created.session_token.expose().to_owned(), created.session_jwt.expose().to_owned())
}
