//! `/metrics`: its labels come from a closed set, whatever clients send.

use rand::{TryRngCore, rngs::OsRng};
use reqwest::Method;

use crate::server::TestServer;

/// A random token of lowercase letters and digits (valid as an HTTP method and a path segment).
fn random_token() -> String {
    let mut rng = OsRng.unwrap_err();
    let mut value = rng.try_next_u64().unwrap_or_default();
    let mut token = String::from("r");
    for _ in 0..12 {
        token.push(char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(value % 36) as usize]));
        value /= 36;
    }
    token
}

/// The `tessera_http_requests_total` series of a `/metrics` text.
fn series(metrics: &str) -> Vec<&str> {
    metrics.lines().filter(|line| line.starts_with("tessera_http_requests_total{")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_labels_come_from_a_closed_set() {
    let server = TestServer::start().await;
    let standard = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"];
    let mut sent = Vec::new();
    for i in 0..1000 {
        let token = random_token();
        let method = match i % 3 {
            0 => Method::from_bytes(token.to_uppercase().as_bytes()).unwrap(),
            _ => Method::from_bytes(standard[i % standard.len()].as_bytes()).unwrap(),
        };
        let path = match i % 4 {
            0 => format!("/{token}"),
            1 => format!("/v1/b2b/organizations/{token}"),
            2 => format!("/v1/b2b/sessions/jwks/{token}"),
            _ => format!("/v1/{token}/{token}?{token}={token}"),
        };
        let response = server.client().request(method, server.url(&path)).send().await.unwrap();
        assert!(!response.status().is_server_error(), "{path}: {}", response.status());
        sent.push(token);
    }
    let metrics = server.metrics().await;
    let series = series(&metrics);
    assert!(!series.is_empty(), "{metrics}");
    // 8 methods (7 and `other`) by the few routes and statuses these requests reach.
    assert!(series.len() <= 40, "{} series after 1000 random requests:\n{metrics}", series.len());
    for line in &series {
        let method = line.split("method=\"").nth(1).and_then(|rest| rest.split('"').next());
        let method = method.unwrap();
        assert!(standard.contains(&method) || method == "other", "{line}");
        let route = line.split("route=\"").nth(1).and_then(|rest| rest.split('"').next());
        let route = route.unwrap();
        assert!(route == "unmatched" || route.starts_with('/'), "{line}");
    }
    let metrics = metrics.to_lowercase();
    for token in &sent {
        assert!(!metrics.contains(token.as_str()), "{token} reached the metrics");
    }
}
