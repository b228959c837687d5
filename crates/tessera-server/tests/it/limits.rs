//! The limits of `tessera serve`, over real sockets against the real binary: a client that never
//! finishes its headers is cut off, a request over its time budget and a request beyond the
//! concurrency limit get typed `503`s, and a stop signal lets in-flight requests finish but exits
//! by the shutdown deadline even when one is stuck.
//!
//! Stuck requests are POSTs whose body never arrives in full; the limits are set small through
//! their `TESSERA_*` variables. Bounds are generous; nothing asserts a duration.

use std::time::{Duration, Instant};

use tokio::{io::AsyncWriteExt, net::TcpStream};

use crate::{
    process::{
        RawResponse, ServeProcess, closed_within, finish_stuck_post, read_response, stuck_post,
    },
    server::fresh_dir,
};

/// What a limit of a second or two may take, at most, on a loaded machine.
const BOUND: Duration = Duration::from_secs(30);

fn serve(env: &[(&str, &str)]) -> ServeProcess {
    let dir = fresh_dir("tessera-limits-it");
    let dir = dir.to_str().unwrap();
    ServeProcess::start(&["--data-dir", dir, "serve", "--listen", "127.0.0.1:0"], env)
}

/// `GET /healthz` on a new connection.
async fn health(server: &ServeProcess) -> RawResponse {
    let mut stream = tokio::net::TcpStream::connect(server.address).await.unwrap();
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.address);
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::timeout(BOUND, read_response(&mut stream))
        .await
        .expect("healthz answers")
        .expect("a response")
}

/// Opens `count` stuck POSTs and returns them once they hold every request slot (the server's
/// `TESSERA_MAX_CONCURRENT_REQUESTS` is `count`), with the answer to a probe that found no slot
/// free: only in-flight requests hold slots, so that refusal proves every returned POST is in.
///
/// Sending the POSTs before the probe is not enough: the server accepts the connections in order
/// but may read their heads in any order, so a probe can take a slot before a POST does; that
/// POST is then refused at once and is opened again here.
async fn hold_every_slot(server: &ServeProcess, count: usize) -> (Vec<TcpStream>, RawResponse) {
    let auth = server.basic_auth();
    let deadline = Instant::now() + BOUND;
    let mut held: Vec<TcpStream> = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "{count} stuck requests never held every slot; the server said:\n{}",
            server.stderr()
        );
        let mut unanswered = Vec::with_capacity(count);
        for mut stream in held {
            if !answered(&mut stream).await {
                unanswered.push(stream);
            }
        }
        held = unanswered;
        while held.len() < count {
            held.push(stuck_post(server.address, "/v1/b2b/organizations", &auth).await);
        }
        let probe = health(server).await;
        if probe.status != 200 {
            return (held, probe);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Whether the server has answered (or closed) `stream`, a stuck POST it should still be reading.
async fn answered(stream: &mut TcpStream) -> bool {
    let mut byte = [0u8; 1];
    tokio::time::timeout(Duration::from_millis(20), stream.peek(&mut byte)).await.is_ok()
}

#[track_caller]
fn assert_typed_503(response: &RawResponse, error_type: &str) {
    let body = &response.body;
    assert_eq!(response.status, 503, "{body}");
    assert_eq!(response.header("retry-after"), Some("1"), "{}", response.head);
    let request_id = response.header("request-id");
    assert_eq!(request_id, body["request_id"].as_str(), "{}", response.head);
    assert_eq!(body["error_type"], error_type, "{body}");
    assert_eq!(body["status_code"], 503, "{body}");
    assert!(body["request_id"].as_str().is_some_and(|id| id.starts_with("request-id-")), "{body}");
    assert!(body["error_message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let server = serve(&[("TESSERA_HEADER_READ_TIMEOUT_SECONDS", "1")]);
    let mut slow = tokio::net::TcpStream::connect(server.address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Drip: 1\r\n").await.unwrap();
    assert!(
        closed_within(&mut slow, BOUND).await,
        "a client that never finished its headers still holds its connection after {BOUND:?}"
    );
    // Others are served meanwhile and after.
    assert_eq!(health(&server).await.status, 200);
}

#[tokio::test]
async fn a_request_over_its_time_budget_gets_a_typed_503() {
    let server = serve(&[("TESSERA_REQUEST_TIMEOUT_SECONDS", "1")]);
    let mut stuck = stuck_post(server.address, "/v1/b2b/organizations", &server.basic_auth()).await;
    let answer = tokio::time::timeout(BOUND, read_response(&mut stuck))
        .await
        .expect("the request is answered within its budget (and a generous margin)");
    let response = answer.expect("a response, not a closed connection");
    assert_typed_503(&response, "request_timeout");
    assert_eq!(health(&server).await.status, 200);
}

#[tokio::test]
async fn a_request_beyond_the_concurrency_limit_gets_a_typed_503() {
    let server = serve(&[
        ("TESSERA_MAX_CONCURRENT_REQUESTS", "2"),
        ("TESSERA_REQUEST_TIMEOUT_SECONDS", "600"),
    ]);
    let (held, refused) = hold_every_slot(&server, 2).await;
    assert_typed_503(&refused, "too_many_concurrent_requests");
    // Freed slots serve again.
    drop(held);
    let deadline = Instant::now() + BOUND;
    while health(&server).await.status != 200 {
        assert!(Instant::now() < deadline, "the slots of closed requests were never freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn shutdown_finishes_in_flight_requests_and_exits_by_its_deadline() {
    let mut server = serve(&[
        ("TESSERA_MAX_CONCURRENT_REQUESTS", "2"),
        ("TESSERA_REQUEST_TIMEOUT_SECONDS", "600"),
        ("TESSERA_SHUTDOWN_TIMEOUT_SECONDS", "3"),
    ]);
    let (held, _) = hold_every_slot(&server, 2).await;
    let [mut finishing, _stuck] = <[TcpStream; 2]>::try_from(held).unwrap();

    server.terminate();
    // An in-flight request that completes during the grace period is answered.
    finish_stuck_post(&mut finishing).await;
    let answer = tokio::time::timeout(BOUND, read_response(&mut finishing)).await.unwrap();
    let response = answer.expect("the in-flight request is answered during shutdown");
    assert_eq!(response.status, 200, "{}", response.body);
    assert_eq!(response.body["organization"]["organization_slug"], "stuck", "{}", response.body);
    // The stuck one does not keep the process alive past the deadline.
    let status = server.wait_exit(BOUND);
    let stderr = server.stderr();
    let status = status.unwrap_or_else(|| {
        panic!("tessera serve still runs {BOUND:?} after SIGTERM with a stuck request\n{stderr}")
    });
    assert!(status.success(), "{status}: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
