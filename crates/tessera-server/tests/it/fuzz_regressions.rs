//! Inputs the fuzz targets of `fuzz/` found, kept as ordinary tests (docs/PROOF.md).

use reqwest::StatusCode;

use crate::server::TestServer;

/// `http_bodies`: serde's error names the path to the bad value, and the path holds the body's
/// keys; a malformed body with a long key came back whole in `error_message`.
#[tokio::test]
async fn a_long_key_in_a_malformed_body_is_not_echoed_whole() {
    let server = TestServer::start().await;
    let key = "k".repeat(20_000);
    for body in [format!("{{\"{key}\":[z}}"), format!("{{\"organization_name\":{{\"{key}\":1}}}}")]
    {
        let response = server
            .client()
            .post(server.url("/v1/b2b/organizations"))
            .basic_auth(&server.project_id, Some(&server.secret))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        let answer = crate::server::Answer::from(response).await;
        answer.expect_error(StatusCode::BAD_REQUEST, "invalid_request");
        let message = answer.body["error_message"].as_str().unwrap();
        assert!(message.len() <= 1024, "a {}-byte error message", message.len());
    }
}
