//! The webhook dispatcher of `tessera serve`: every node runs one. Each round it fans new events
//! out to the endpoints that want them, claims the deliveries that are due (leased, so that no
//! two nodes send one at once: `FOR UPDATE SKIP LOCKED` on PostgreSQL), sends each once, signed
//! per the Standard Webhooks spec (`tessera-webhooks`), and records what happened: delivered,
//! retried on the schedule (honouring `Retry-After`), dead after the last attempt, or the
//! endpoint disabled (`410 Gone`, or failing for five days).
//!
//! At least once: a node that dies between sending and recording leaves a lease that runs out;
//! the delivery is then sent again, with the same `webhook-id` (the event's id). Receivers
//! dedupe by it. Ordering is not guaranteed: a retried delivery arrives after later ones.

use std::{sync::Arc, time::Duration};

use chrono::{SecondsFormat, TimeDelta, Utc};
use serde_json::json;
use tessera_api::SessionService;
use tessera_store::{AttemptRecord, ClaimedDelivery};
use tessera_webhooks::{
    AttemptOutcome, Deliverer, DeliveryConfig, RetrySchedule, TargetPolicy, WebhookSecret,
    WebhookUrl, random_fraction,
};
use tokio::{sync::watch, task::JoinSet};

use crate::http::{EventView, metrics};

/// How a dispatcher runs.
#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// Between rounds when there was nothing to send.
    pub interval: Duration,
    /// Events fanned out per endpoint, and deliveries claimed, per round.
    pub batch: u32,
    /// Deliveries sent at once.
    pub concurrency: usize,
    /// Per attempt.
    pub timeout: Duration,
    /// Whether endpoints may be private, loopback or link-local addresses (off: SSRF).
    pub allow_private_targets: bool,
    pub schedule: RetrySchedule,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(1),
            batch: 100,
            concurrency: 8,
            timeout: tessera_webhooks::DEFAULT_TIMEOUT,
            allow_private_targets: false,
            schedule: RetrySchedule::default(),
        }
    }
}

impl DispatcherConfig {
    /// A lease outlives the attempt it covers, with room for the record after it.
    fn lease(&self) -> TimeDelta {
        TimeDelta::from_std(self.timeout * 2 + Duration::from_secs(10)).unwrap_or(TimeDelta::MAX)
    }

    pub fn policy(&self) -> TargetPolicy {
        TargetPolicy { allow_private: self.allow_private_targets }
    }
}

/// What one round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Round {
    pub fanned_out: u64,
    pub sent: usize,
}

/// One node's dispatcher.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    service: SessionService,
    deliverer: Arc<Deliverer>,
    config: Arc<DispatcherConfig>,
}

impl Dispatcher {
    pub fn new(service: SessionService, config: DispatcherConfig) -> Result<Self, String> {
        let deliverer = Deliverer::new(DeliveryConfig {
            timeout: config.timeout,
            policy: config.policy(),
            ..DeliveryConfig::default()
        })
        .map_err(|e| format!("cannot build the webhook client: {e}"))?;
        Ok(Self { service, deliverer: Arc::new(deliverer), config: Arc::new(config) })
    }

    /// Runs rounds until `stop` turns true; a failed round is logged and retried next interval.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        loop {
            let busy = match self.round().await {
                Ok(round) => round.sent > 0,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook round failed; will retry");
                    false
                }
            };
            if !busy {
                tokio::select! {
                    () = tokio::time::sleep(self.config.interval) => {}
                    _ = stop.changed() => {}
                }
            }
            if *stop.borrow() {
                return;
            }
        }
    }

    /// Fans out, claims and sends once; returns what it did.
    pub async fn round(&self) -> Result<Round, tessera_api::ServiceError> {
        let fanned_out = self.service.fan_out_webhooks(self.config.batch).await?;
        let claimed =
            self.service.claim_webhook_deliveries(self.config.lease(), self.config.batch).await?;
        let sent = claimed.len();
        let mut sending = JoinSet::new();
        for delivery in claimed {
            while sending.len() >= self.config.concurrency.max(1) {
                sending.join_next().await;
            }
            let this = self.clone();
            sending.spawn(async move { this.send(delivery).await });
        }
        while sending.join_next().await.is_some() {}
        let backlog = self.service.webhook_backlog().await?;
        let oldest = backlog
            .oldest_pending_at
            .map_or(0.0, |at| (Utc::now() - at).num_milliseconds().max(0) as f64 / 1000.0);
        metrics::set_webhook_backlog(backlog.pending, oldest);
        Ok(Round { fanned_out, sent })
    }

    /// One attempt of one delivery, and its record.
    async fn send(&self, claimed: ClaimedDelivery) {
        let delivery = &claimed.delivery;
        let now = Utc::now();
        let secrets: Vec<WebhookSecret> = claimed
            .secrets
            .iter()
            .filter(|s| s.is_live(now))
            .filter_map(|s| WebhookSecret::parse(&s.secret).ok())
            .collect();
        let secret_refs: Vec<&WebhookSecret> = secrets.iter().collect();
        let record = match WebhookUrl::parse(&claimed.url, self.config.policy()) {
            Err(e) => AttemptRecord::Dead { status: None, error: format!("refused: {}", e.code()) },
            Ok(url) => {
                let event = &delivery.event;
                let payload = json!({
                    "type": event.record.event_type.as_str(),
                    "timestamp": event.record.occurred_at.to_rfc3339_opts(SecondsFormat::Micros, true),
                    "data": EventView::from(event),
                });
                let body = serde_json::to_vec(&payload).unwrap_or_default();
                let msg_id = event.record.id.to_string();
                let outcome = self
                    .deliverer
                    .attempt(&url, &msg_id, now.timestamp(), &body, &secret_refs)
                    .await;
                self.record_of(delivery.attempts + 1, outcome, now)
            }
        };
        let failed = matches!(record, AttemptRecord::Retry { .. } | AttemptRecord::Dead { .. });
        if let Err(e) = self.service.record_webhook_attempt(delivery.id, &record).await {
            tracing::warn!(error = %e, delivery = %delivery.id, "cannot record a webhook attempt");
            return;
        }
        if failed {
            self.disable_if_failing_too_long(&claimed).await;
        }
    }

    /// What attempt number `attempt` (1-based) ending in `outcome` means for the delivery.
    fn record_of(
        &self,
        attempt: u32,
        outcome: AttemptOutcome,
        now: chrono::DateTime<Utc>,
    ) -> AttemptRecord {
        match outcome {
            AttemptOutcome::Delivered { status } => AttemptRecord::Delivered { status },
            AttemptOutcome::Gone => AttemptRecord::Gone { status: 410 },
            AttemptOutcome::Failed { status, retry_after, error } => {
                match self.config.schedule.next_attempt_at(
                    attempt + 1,
                    retry_after,
                    now,
                    random_fraction(),
                ) {
                    Some(next_attempt_at) => {
                        AttemptRecord::Retry { status, error, next_attempt_at }
                    }
                    None => AttemptRecord::Dead { status, error },
                }
            }
            AttemptOutcome::Refused(e) => {
                AttemptRecord::Dead { status: None, error: format!("refused: {}", e.code()) }
            }
            other => AttemptRecord::Dead { status: None, error: format!("{other:?}") },
        }
    }

    async fn disable_if_failing_too_long(&self, claimed: &ClaimedDelivery) {
        let endpoint_id = claimed.delivery.endpoint_id;
        let Ok(endpoint) = self.service.get_webhook_endpoint(endpoint_id).await else { return };
        let Some(since) = endpoint.failing_since else { return };
        if endpoint.enabled && self.config.schedule.should_disable(since, Utc::now()) {
            let reason = format!(
                "every delivery failed since {}: disabled; re-enable it once the receiver works",
                since.to_rfc3339_opts(SecondsFormat::Secs, true)
            );
            if let Err(e) = self.service.disable_webhook_endpoint(endpoint_id, &reason).await {
                tracing::warn!(error = %e, "cannot disable a failing webhook endpoint");
            }
        }
    }
}
