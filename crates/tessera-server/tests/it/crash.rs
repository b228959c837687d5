//! Crash consistency: `kill -9` of the real `tessera serve` during concurrent creates,
//! authenticates that extend and patch claims, and revokes, on SQLite and on PostgreSQL. After
//! each restart, every acknowledged write must be there, every acknowledged revoke must hold,
//! and no authenticate may be half-applied.
//!
//! How an authenticate is recognized afterwards: step `k` of a session sends
//! `session_duration_minutes = 60 + 1000·k` together with the claims patch `{"step": k}`. A
//! session whose claims say `step = k` must then expire in `[start + D(k), now + D(k)]`; the
//! windows of two steps are 1000 minutes apart and a run lasts minutes, so an extension without
//! its patch (or a patch without its extension) falls outside and fails the test.
//!
//! Per session, operations are sequential (one worker owns it), so after a restart the session's
//! state must be that of its last acknowledged step, or of the one step sent after it whose
//! answer the kill swallowed, never anything in between.
//!
//! Short form (in `cargo xtask test`): 5 cycles per backend. Long form:
//! `cargo xtask crash --cycles N` (`TESSERA_CRASH_CYCLES`).

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use chrono::{DateTime, TimeDelta, Utc};
use rand::Rng;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::processes::{Api, Credentials, Database, Serve, TempDir, env_number};

/// The extension of step `k`, in minutes (the create is step 0 with the default 60).
fn duration_of_step(k: u64) -> i64 {
    60 + 1000 * i64::try_from(k).unwrap()
}

/// Steps per session stay below this so that `D(k)` stays within Stytch's 527 040 minutes.
const MAX_STEP: u64 = 500;

const WORKERS: usize = 8;

/// What the test knows about one session it created.
#[derive(Debug, Clone)]
struct Tracked {
    token: String,
    session_id: String,
    /// The last step whose answer arrived.
    acked_step: u64,
    /// The last step sent (`acked_step`, or one more whose answer was lost to the kill).
    sent_step: u64,
    revoke: Revoke,
    /// A violation was recorded for it: counted once, then left alone.
    broken: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Revoke {
    No,
    /// Sent; the kill swallowed the answer.
    Sent,
    /// Answered `200`, or found revoked after a restart.
    Done,
}

/// Counts of what the verification checked. A session with a violation is counted once, in
/// `violations`, and not checked again.
#[derive(Debug, Default)]
struct Checked {
    cycles: u64,
    /// Acknowledged operations whose effect was verified after a restart (a create, an
    /// authenticate step, a revoke; each counted at every restart that re-checks it).
    acknowledged: u64,
    /// Operations whose answer the kill swallowed, resolved to "applied" or "not applied".
    unacknowledged: u64,
    /// Requests answered before a kill.
    answered: u64,
    /// What broke, by kind (`lost write`, `revoke undone`, `half-applied authenticate`): every
    /// restart is checked whole before the test fails, so that one run shows every kind.
    violations: Vec<(&'static str, String)>,
}

pub(crate) async fn run_cycles(database: Database, name: &str) {
    let cycles = env_number("TESSERA_CRASH_CYCLES", 5);
    let started_at = Utc::now();
    let first = Serve::start(&database, &[], true);
    let credentials =
        Credentials { project_id: first.project_id.clone(), secret: first.secret.clone().unwrap() };
    let api = Api::new(credentials, Duration::from_secs(30));
    let organization = expect_ok(
        api.post(
            &first.base,
            "/v1/b2b/organizations",
            &json!({"organization_name": "Crash", "organization_slug": "crash"}),
        )
        .await,
        "create the organization",
    );
    let organization_id = organization["organization"]["organization_id"].as_str().unwrap();
    let mut members = Vec::new();
    for i in 0..WORKERS {
        let member = expect_ok(
            api.post(
                &first.base,
                &format!("/v1/b2b/organizations/{organization_id}/members"),
                &json!({"email_address": format!("worker{i}@example.com")}),
            )
            .await,
            "create a member",
        );
        members.push(member["member"]["member_id"].as_str().unwrap().to_owned());
    }

    let sessions: Arc<Mutex<Vec<Vec<Tracked>>>> = Arc::new(Mutex::new(vec![Vec::new(); WORKERS]));
    let mut checked = Checked::default();
    let mut server = Some(first);
    for cycle in 0..cycles {
        let serve = match server.take() {
            Some(serve) => serve,
            None => Serve::start(&database, &[], false),
        };
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut workers = Vec::new();
        for (w, member_id) in members.iter().enumerate() {
            let (api, base, stop, sessions, answered) =
                (api.clone(), serve.base.clone(), stop.clone(), sessions.clone(), answered.clone());
            let (organization_id, member_id) = (organization_id.to_owned(), member_id.clone());
            workers.push(tokio::spawn(async move {
                work(w, &api, &base, &organization_id, &member_id, &sessions, &stop, &answered)
                    .await;
            }));
        }
        // Let traffic build up, then kill the server in the middle of it.
        let delay = rand::rng().random_range(200..900);
        tokio::time::sleep(Duration::from_millis(delay)).await;
        serve.kill();
        stop.store(true, Ordering::SeqCst);
        for worker in workers {
            worker.await.unwrap();
        }
        checked.answered += answered.load(Ordering::SeqCst);

        let restarted = Serve::start(&database, &[], false);
        verify(&api, &restarted.base, &sessions, started_at, &mut checked).await;
        checked.cycles = cycle + 1;
        server = Some(restarted);
    }
    let total: usize = sessions.lock().unwrap().iter().map(Vec::len).sum();
    eprintln!(
        "crash consistency on {name}: {} kill -9 cycles, {} requests answered before the kills, \
         {} acknowledged operations verified after restarts, {} unacknowledged ones resolved, \
         {total} sessions tracked",
        checked.cycles, checked.answered, checked.acknowledged, checked.unacknowledged
    );
    assert!(checked.acknowledged > 0, "no acknowledged operation was ever checked");
    if !checked.violations.is_empty() {
        let mut kinds: Vec<&str> = checked.violations.iter().map(|(kind, _)| *kind).collect();
        kinds.sort_unstable();
        kinds.dedup();
        let counts: Vec<String> = kinds
            .iter()
            .map(|k| format!("{} {k}", checked.violations.iter().filter(|(v, _)| v == k).count()))
            .collect();
        panic!(
            "crash consistency on {name} failed: {}; the first of each:\n{}",
            counts.join(", "),
            kinds
                .iter()
                .filter_map(|k| checked.violations.iter().find(|(v, _)| v == k))
                .map(|(k, detail)| format!("- {k}: {detail}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[track_caller]
fn expect_ok(reply: Option<(StatusCode, Value)>, doing: &str) -> Value {
    match reply {
        Some((StatusCode::OK, body)) => body,
        other => panic!("{doing}: {other:?}"),
    }
}

/// One worker: creates sessions of its member, moves them through steps and revokes some, until
/// the server dies under it.
#[allow(clippy::too_many_arguments)]
async fn work(
    worker: usize,
    api: &Api,
    base: &str,
    organization_id: &str,
    member_id: &str,
    sessions: &Mutex<Vec<Vec<Tracked>>>,
    stop: &AtomicBool,
    answered: &std::sync::atomic::AtomicU64,
) {
    while !stop.load(Ordering::SeqCst) {
        let live: Vec<usize> = {
            let all = sessions.lock().unwrap();
            all[worker]
                .iter()
                .enumerate()
                .filter(|(_, t)| t.revoke == Revoke::No && !t.broken && t.sent_step < MAX_STEP)
                .map(|(i, _)| i)
                .collect()
        };
        let roll: u32 = rand::rng().random_range(0..100);
        if live.len() < 3 || roll < 20 {
            let reply = api
                .post(
                    base,
                    "/v1/b2b/sessions",
                    &json!({
                        "organization_id": organization_id,
                        "member_id": member_id,
                        "authentication_factors": [{"type": "magic_link", "delivery_method": "email"}],
                    }),
                )
                .await;
            let Some((status, body)) = reply else { return };
            assert_eq!(status, StatusCode::OK, "create: {body}");
            answered.fetch_add(1, Ordering::SeqCst);
            let token = body["session_token"].as_str().unwrap().to_owned();
            let session_id =
                body["member_session"]["member_session_id"].as_str().unwrap().to_owned();
            sessions.lock().unwrap()[worker].push(Tracked {
                token,
                session_id,
                acked_step: 0,
                sent_step: 0,
                revoke: Revoke::No,
                broken: false,
            });
            continue;
        }
        let index = live[rand::rng().random_range(0..live.len())];
        let session = sessions.lock().unwrap()[worker][index].clone();
        if roll < 30 {
            sessions.lock().unwrap()[worker][index].revoke = Revoke::Sent;
            let reply = api
                .post(base, "/v1/b2b/sessions/revoke", &json!({"session_token": session.token}))
                .await;
            let Some((status, body)) = reply else { return };
            assert_eq!(status, StatusCode::OK, "revoke: {body}");
            answered.fetch_add(1, Ordering::SeqCst);
            sessions.lock().unwrap()[worker][index].revoke = Revoke::Done;
        } else {
            let step = session.acked_step + 1;
            sessions.lock().unwrap()[worker][index].sent_step = step;
            let reply = api
                .post(
                    base,
                    "/v1/b2b/sessions/authenticate",
                    &json!({
                        "session_token": session.token,
                        "session_duration_minutes": duration_of_step(step),
                        "session_custom_claims": {"step": step},
                    }),
                )
                .await;
            let Some((status, body)) = reply else { return };
            assert_eq!(status, StatusCode::OK, "authenticate step {step}: {body}");
            answered.fetch_add(1, Ordering::SeqCst);
            assert_eq!(body["member_session"]["custom_claims"]["step"], step, "{body}");
            sessions.lock().unwrap()[worker][index].acked_step = step;
        }
    }
}

/// After a restart: every session the test knows of is in a state its history allows.
async fn verify(
    api: &Api,
    base: &str,
    sessions: &Mutex<Vec<Vec<Tracked>>>,
    started_at: DateTime<Utc>,
    checked: &mut Checked,
) {
    let snapshot = sessions.lock().unwrap().clone();
    // The audit log commits with the change: every acknowledged create and revoke has its event
    // after the kill (checked before the loop below resolves what was unacknowledged).
    let logged = logged_session_events(api, base).await;
    for session in snapshot.iter().flatten().filter(|s| !s.broken) {
        checked.acknowledged += 1;
        if !logged.contains(&("session.created".to_owned(), session.session_id.clone())) {
            checked
                .violations
                .push(("lost event", format!("no session.created of {}", session.session_id)));
        }
        if session.revoke == Revoke::Done
            && !logged.contains(&("session.revoked".to_owned(), session.session_id.clone()))
        {
            checked
                .violations
                .push(("lost event", format!("no session.revoked of {}", session.session_id)));
        }
    }
    for (worker, tracked) in snapshot.iter().enumerate() {
        for (index, session) in tracked.iter().enumerate().filter(|(_, s)| !s.broken) {
            let (status, body) = api
                .post(
                    base,
                    "/v1/b2b/sessions/authenticate",
                    &json!({"session_token": session.token}),
                )
                .await
                .unwrap_or_else(|| panic!("the restarted server did not answer"));
            let now = Utc::now();
            let mut resolved = session.clone();
            let not_found = status == StatusCode::NOT_FOUND
                && body["error_type"].as_str() == Some("session_not_found");
            match session.revoke {
                Revoke::Done => {
                    checked.acknowledged += 1;
                    if !not_found {
                        checked.violations.push(("revoke undone", format!("{status}: {body}")));
                        resolved.broken = true;
                    }
                }
                Revoke::Sent if not_found => {
                    resolved.revoke = Revoke::Done;
                    checked.unacknowledged += 1;
                }
                Revoke::Sent | Revoke::No => {
                    // The create, and every acknowledged step.
                    checked.acknowledged += 1 + session.acked_step;
                    if status != StatusCode::OK {
                        let detail = format!("revoke {:?}; {status}: {body}", session.revoke);
                        checked.violations.push(("lost write", detail));
                        resolved.broken = true;
                        sessions.lock().unwrap()[worker][index] = resolved;
                        continue;
                    }
                    if session.revoke == Revoke::Sent {
                        resolved.revoke = Revoke::No;
                        checked.unacknowledged += 1;
                    }
                    if session.sent_step > session.acked_step {
                        checked.unacknowledged += 1;
                    }
                    match check_steps(session, &body, started_at, now) {
                        Ok(step) => {
                            resolved.acked_step = step;
                            resolved.sent_step = step;
                        }
                        Err(violation) => {
                            checked.violations.push(violation);
                            resolved.broken = true;
                        }
                    }
                }
            }
            sessions.lock().unwrap()[worker][index] = resolved;
        }
    }
}

/// Every `(type, session id)` of the log's `session.created` and `session.revoked` events.
async fn logged_session_events(
    api: &Api,
    base: &str,
) -> std::collections::HashSet<(String, String)> {
    let mut logged = std::collections::HashSet::new();
    let mut after = 0;
    loop {
        let path =
            format!("/v1/events?type=session.created,session.revoked&limit=1000&after={after}");
        let (status, body) = api
            .get(base, &path)
            .await
            .unwrap_or_else(|| panic!("the restarted server did not answer"));
        assert_eq!(status, StatusCode::OK, "events: {body}");
        let events = body["events"].as_array().cloned().unwrap_or_default();
        for event in &events {
            if let (Some(t), Some(id)) =
                (event["type"].as_str(), event["member_session_id"].as_str())
            {
                logged.insert((t.to_owned(), id.to_owned()));
            }
        }
        match body["next_cursor"].as_u64() {
            Some(next) => after = next,
            None => return logged,
        }
    }
}

/// The step a live session is at, after checking that its extension and its claims agree and
/// that it is the last acknowledged step or the one sent after it; or what is wrong.
fn check_steps(
    session: &Tracked,
    body: &Value,
    started_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<u64, (&'static str, String)> {
    let claims = &body["member_session"]["custom_claims"];
    let step = match claims.get("step") {
        None => 0,
        Some(value) => value.as_u64().unwrap_or_else(|| panic!("claims {claims}")),
    };
    let expires_at: DateTime<Utc> = body["member_session"]["expires_at"]
        .as_str()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("expires_at in {body}"));
    let session_id = &body["member_session"]["member_session_id"];
    if !(session.acked_step..=session.sent_step).contains(&step) {
        return Err((
            "lost write",
            format!(
                "session {session_id} is at step {step}, but step {} was acknowledged and {} the \
                 last sent (an acknowledged claims patch was lost, or an unsent one appeared)",
                session.acked_step, session.sent_step
            ),
        ));
    }
    let duration = TimeDelta::minutes(duration_of_step(step));
    // Whole-second precision on the wire (Stytch's format): a second of slack on each side.
    let earliest = started_at + duration - TimeDelta::seconds(1);
    let latest = now + duration + TimeDelta::seconds(1);
    if !(earliest..=latest).contains(&expires_at) {
        let minutes = (expires_at - started_at).num_minutes();
        return Err((
            "half-applied authenticate",
            format!(
                "session {session_id}: the claims say step {step} but expires_at {expires_at} \
                 is outside [{earliest}, {latest}], that step's extension window (it is \
                 {minutes} min after the run started, so the extension of step {} applied); \
                 steps acknowledged {}, sent {}",
                (minutes - 60).max(0) / 1000,
                session.acked_step,
                session.sent_step
            ),
        ));
    }
    Ok(step)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_kill_9_loses_no_acknowledged_write() {
    let dir = TempDir::new("tessera-crash-sqlite");
    let database = Database(dir.path().join("tessera.db").display().to_string());
    run_cycles(database, "SQLite").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_kill_9_loses_no_acknowledged_write() {
    let Some(scratch) = crate::pg_cluster::ScratchDatabase::create("crash").await else { return };
    run_cycles(Database(scratch.url()), "PostgreSQL").await;
    scratch.drop_now().await;
}
