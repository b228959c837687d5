//! The command line: `tessera serve` and the operator commands.
//!
//! Only `tessera serve` creates the deployment (and prints its secret); operator commands on a
//! store without one refuse and say to run `tessera serve` once (see [`deployment`]). Every
//! setting is checked when the command line is parsed, and an operator command checks its
//! arguments before it opens the store.
//!
//! Operator commands open the same store as the server. That is safe while a server runs: SQLite
//! serializes writers across processes (WAL, `busy_timeout`) and PostgreSQL is built for it;
//! every command goes through the same `SessionService` rules as the HTTP API. A running server
//! sees their effects at its next read (keys: within its key-cache interval).

// A command line prints its results on standard output.
#![allow(clippy::print_stdout)]

use std::time::Duration;

use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use tessera_api::{CreateMember, CreateOrganization, Revoke, SessionService};
use tessera_core::{
    Actor, EmailAddress, EventFilter, EventType, MemberId, MemberRef, OrganizationId,
    OrganizationName, OrganizationRef, OrganizationSlug, RequestContext, RoleId, SessionId,
};
use tokio::{net::TcpListener, sync::watch};

use crate::{
    deployment::{self, Bootstrap},
    dispatcher::{Dispatcher, DispatcherConfig},
    http::{self, AppState, DeliveryView, EndpointView, EventView},
    settings::{ServeArgs, ServiceArgs, StoreArgs},
};

/// Member sessions for B2B software, wire-compatible with Stytch B2B sessions and Polar member
/// sessions.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub service: ServiceArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP API; the first start on a store creates the deployment and prints its
    /// API secret.
    Serve(ServeArgs),
    /// Organizations.
    #[command(subcommand)]
    Organizations(OrganizationCommand),
    /// Members.
    #[command(subcommand)]
    Members(MemberCommand),
    /// Sessions.
    #[command(subcommand)]
    Sessions(SessionCommand),
    /// Delete sessions that ended more than the retention period ago, and events older than
    /// the event retention, with a progress bar.
    Purge,
    /// The audit log.
    #[command(subcommand)]
    Events(EventCommand),
    /// Webhook endpoints and their deliveries.
    #[command(subcommand)]
    Webhooks(WebhookCommand),
    /// JWT signing keys.
    #[command(subcommand)]
    Keys(KeyCommand),
    /// The API secret.
    #[command(subcommand)]
    Secret(SecretCommand),
    /// Print the effective configuration (never the secret).
    Config,
}

#[derive(Debug, Subcommand)]
pub enum OrganizationCommand {
    Create {
        #[arg(long)]
        name: String,
        #[arg(long)]
        slug: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum MemberCommand {
    Create {
        /// Organization id or slug.
        #[arg(long)]
        organization: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        name: Option<String>,
        /// Explicit roles (repeat the flag).
        #[arg(long = "role")]
        roles: Vec<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum SessionCommand {
    /// A member's active sessions.
    List {
        #[arg(long)]
        organization: String,
        /// Member id, external id, or email.
        #[arg(long)]
        member: String,
    },
    /// Revoke one session, or every session of a member.
    Revoke {
        #[arg(long)]
        organization: String,
        #[arg(long, conflicts_with = "session", required_unless_present = "session")]
        member: Option<String>,
        #[arg(long)]
        session: Option<String>,
    },
    /// Revoke every live session of every organization of the deployment: everyone signs in
    /// again. Asks for `--yes`.
    RevokeAll {
        /// Confirms that every session of the deployment ends.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum EventCommand {
    /// Events, oldest first, one JSON object per line (the shape of `GET /v1/events`).
    List {
        /// Only this organization's (its id).
        #[arg(long)]
        organization: Option<String>,
        /// Only this member's (their id).
        #[arg(long)]
        member: Option<String>,
        /// Only this session's (its id).
        #[arg(long)]
        session: Option<String>,
        /// Only these types (repeat the flag or separate with commas).
        #[arg(long = "type", value_delimiter = ',')]
        types: Vec<String>,
        /// At or after this instant (RFC 3339).
        #[arg(long)]
        since: Option<String>,
        /// After this sequence (a cursor from an earlier listing).
        #[arg(long)]
        after: Option<u64>,
        /// At most this many (without `--follow`).
        #[arg(long, default_value_t = 100)]
        limit: u32,
        /// Keep printing new events as they are committed, until interrupted.
        #[arg(long)]
        follow: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum WebhookCommand {
    /// Add an endpoint; prints it with its signing secret (shown this once).
    Add {
        #[arg(long)]
        url: String,
        /// Only these event types (repeat or separate with commas; default: every type).
        #[arg(long = "type", value_delimiter = ',')]
        types: Vec<String>,
        /// Only this organization's events (its id).
        #[arg(long)]
        organization: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Every endpoint (never their secrets).
    List,
    /// Delete an endpoint and its deliveries.
    Remove {
        #[arg(long)]
        endpoint: String,
    },
    /// A new signing secret; the old ones keep signing for 24 hours. Prints the new one.
    RotateSecret {
        #[arg(long)]
        endpoint: String,
    },
    /// Re-enable a disabled endpoint.
    Enable {
        #[arg(long)]
        endpoint: String,
    },
    /// Deliveries, newest last; `--dead` for the dead letters.
    Deliveries {
        #[arg(long)]
        endpoint: Option<String>,
        #[arg(long)]
        dead: bool,
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
    /// Send a delivery again now.
    Retry {
        #[arg(long)]
        delivery: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Make a new signing key; the old one stays published until its JWTs have expired.
    Rotate,
}

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Make a new API secret and print it once; the old one stops working at once.
    Rotate,
}

/// Runs the command; the error is a message for the operator.
pub async fn run(cli: Cli) -> Result<(), String> {
    let Cli { store, service: settings, command } = cli;
    // The service of an operator command: over the store's existing deployment, or an error
    // saying to run `tessera serve` once.
    let operator = || async {
        let opened = store.open().await?;
        let unbound = settings.build(opened.clone(), "tessera-deployment")?;
        let credentials = deployment::existing(&unbound)
            .await?
            .ok_or_else(|| deployment::NO_DEPLOYMENT.to_owned())?;
        // The operator is who its events name.
        settings
            .build(opened, &credentials.project_id)
            .map(|service| service.acting(Actor::Operator, RequestContext::default()))
    };
    match command {
        Command::Serve(args) => serve(&store, &settings, &args).await,
        Command::Organizations(OrganizationCommand::Create { name, slug }) => {
            let request = CreateOrganization::new(
                OrganizationName::parse(&name).map_err(|e| e.to_string())?,
                OrganizationSlug::parse(&slug).map_err(|e| e.to_string())?,
            );
            let organization =
                operator().await?.create_organization(request).await.map_err(|e| e.to_string())?;
            print_json(
                &json!({"organization_id": organization.id, "organization_slug": organization.slug}),
            );
            Ok(())
        }
        Command::Members(MemberCommand::Create { organization, email, name, roles }) => {
            let mut request =
                CreateMember::new(EmailAddress::parse(&email).map_err(|e| e.to_string())?);
            request.name = name;
            request.roles = roles
                .iter()
                .map(|r| RoleId::parse(r).map_err(|e| e.to_string()))
                .collect::<Result<_, _>>()?;
            let organization = organization_ref(&organization)?;
            let (member, organization) = operator()
                .await?
                .create_member(&organization, request)
                .await
                .map_err(|e| e.to_string())?;
            print_json(&json!({"member_id": member.id, "organization_id": organization.id}));
            Ok(())
        }
        Command::Sessions(SessionCommand::List { organization, member }) => {
            let (organization, member) = (organization_ref(&organization)?, member_ref(&member)?);
            let listed = operator()
                .await?
                .list_sessions(&organization, &member)
                .await
                .map_err(|e| e.to_string())?;
            let sessions: Vec<_> = listed
                .sessions
                .iter()
                .map(|s| {
                    json!({
                        "member_session_id": s.id,
                        "started_at": s.times.started_at,
                        "last_accessed_at": s.times.last_accessed_at,
                        "expires_at": s.times.expires_at,
                    })
                })
                .collect();
            print_json(&json!({"member_id": listed.member.id, "member_sessions": sessions}));
            Ok(())
        }
        Command::Sessions(SessionCommand::Revoke { organization, member, session }) => {
            let organization = Some(organization_ref(&organization)?);
            let target = match (member, session) {
                (Some(member), _) => Revoke::Member { organization, member: member_ref(&member)? },
                (None, Some(session)) => Revoke::Session {
                    organization,
                    session_id: SessionId::parse(&session).map_err(|e| e.to_string())?,
                },
                (None, None) => return Err("give --member or --session".into()),
            };
            let revoked = operator().await?.revoke(target).await.map_err(|e| e.to_string())?;
            print_json(&json!({"revoked": revoked}));
            Ok(())
        }
        Command::Sessions(SessionCommand::RevokeAll { yes }) => {
            if !yes {
                return Err("this ends every session of every organization of the deployment: \
                            run `tessera sessions revoke-all --yes` to do it"
                    .into());
            }
            let revoked =
                operator().await?.revoke(Revoke::Deployment).await.map_err(|e| e.to_string())?;
            print_json(&json!({"revoked": revoked}));
            Ok(())
        }
        Command::Purge => purge(&operator().await?).await,
        Command::Webhooks(command) => {
            webhooks(&operator().await?, settings.webhook_policy(), command).await
        }
        Command::Events(EventCommand::List {
            organization,
            member,
            session,
            types,
            since,
            after,
            limit,
            follow,
        }) => {
            let filter = EventFilter {
                organization_id: organization
                    .as_deref()
                    .map(OrganizationId::parse)
                    .transpose()
                    .map_err(|e| e.to_string())?,
                member_id: member
                    .as_deref()
                    .map(MemberId::parse)
                    .transpose()
                    .map_err(|e| e.to_string())?,
                session_id: session
                    .as_deref()
                    .map(SessionId::parse)
                    .transpose()
                    .map_err(|e| e.to_string())?,
                types: types
                    .iter()
                    .map(|t| t.parse::<EventType>())
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?,
                since: since
                    .as_deref()
                    .map(|t| {
                        chrono::DateTime::parse_from_rfc3339(t)
                            .map(|t| t.with_timezone(&chrono::Utc))
                            .map_err(|_| "--since must be an RFC 3339 instant".to_owned())
                    })
                    .transpose()?,
                until: None,
                after_sequence: after,
            };
            list_events(&operator().await?, filter, limit, follow).await
        }
        Command::Keys(KeyCommand::Rotate) => {
            let kid = operator().await?.rotate_signing_key().await.map_err(|e| e.to_string())?;
            print_json(&json!({"kid": kid}));
            Ok(())
        }
        Command::Secret(SecretCommand::Rotate) => {
            let unbound = settings.build(store.open().await?, "tessera-deployment")?;
            let secret = deployment::rotate_secret(&unbound).await?;
            println!("New API secret (shown once, store it now): {}", secret.expose());
            Ok(())
        }
        Command::Config => {
            let unbound = settings.build(store.open().await?, "tessera-deployment")?;
            let project_id = deployment::existing(&unbound).await?.map(|c| c.project_id.clone());
            print_json(&json!({
                // null until the first `tessera serve` creates the deployment
                "project_id": project_id,
                "store": store.describe(),
                "default_session_minutes": settings.default_session_minutes,
                "touch_interval_seconds": settings.touch_interval_seconds,
                "token_prefix": settings.token_prefix,
                "portal_url_template": settings.portal_url_template,
                "policy": settings.policy,
                "purge_retention_days": settings.purge_retention_days,
            }));
            Ok(())
        }
    }
}

fn organization_ref(value: &str) -> Result<OrganizationRef, String> {
    OrganizationRef::parse(value).map_err(|e| e.to_string())
}

fn member_ref(value: &str) -> Result<MemberRef, String> {
    match EmailAddress::parse(value) {
        Ok(email) if value.contains('@') => Ok(MemberRef::Email(email)),
        _ => MemberRef::parse_id_or_external_id(value).map_err(|e| e.to_string()),
    }
}

fn print_json(value: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(value).unwrap_or_default());
}

/// The operator's webhook commands: the same checks and answers as the HTTP routes.
async fn webhooks(
    service: &SessionService,
    policy: tessera_webhooks::TargetPolicy,
    command: WebhookCommand,
) -> Result<(), String> {
    let api = |e: http::ApiError| e.message;
    let failed = |e: tessera_api::ServiceError| e.to_string();
    let endpoint_id = |value: &str| {
        uuid::Uuid::parse_str(value)
            .map(tessera_store::WebhookEndpointId::from_uuid)
            .map_err(|_| "--endpoint must be an endpoint id (a UUID)".to_owned())
    };
    match command {
        WebhookCommand::Add { url, types, organization, description } => {
            let secret = http::new_secret().map_err(api)?;
            let request = tessera_api::CreateWebhookEndpoint {
                url: http::checked_url(policy, &url).map_err(api)?,
                description: http::description(description).map_err(api)?,
                event_types: http::event_types(&types).map_err(api)?,
                organization_id: http::organization(organization.as_deref()).map_err(api)?,
                secret: secret.expose().to_string(),
            };
            let endpoint = service.create_webhook_endpoint(request).await.map_err(failed)?;
            print_json(&json!({
                "endpoint": EndpointView::from(&endpoint),
                "secret": secret.expose().to_string(),
            }));
        }
        WebhookCommand::List => {
            let endpoints = service.list_webhook_endpoints().await.map_err(failed)?;
            let views: Vec<EndpointView> = endpoints.iter().map(EndpointView::from).collect();
            print_json(&json!({ "endpoints": views }));
        }
        WebhookCommand::Remove { endpoint } => {
            service.delete_webhook_endpoint(endpoint_id(&endpoint)?).await.map_err(failed)?;
            print_json(&json!({ "deleted": endpoint }));
        }
        WebhookCommand::RotateSecret { endpoint } => {
            let secret = http::new_secret().map_err(api)?;
            let endpoint = service
                .rotate_webhook_secret(
                    endpoint_id(&endpoint)?,
                    secret.expose().to_string(),
                    http::SECRET_ROTATION_OVERLAP,
                )
                .await
                .map_err(failed)?;
            print_json(&json!({
                "endpoint": EndpointView::from(&endpoint),
                "secret": secret.expose().to_string(),
            }));
        }
        WebhookCommand::Enable { endpoint } => {
            let update =
                tessera_store::EndpointUpdate { enabled: Some(true), ..Default::default() };
            let endpoint = service
                .update_webhook_endpoint(endpoint_id(&endpoint)?, update)
                .await
                .map_err(failed)?;
            print_json(&json!({ "endpoint": EndpointView::from(&endpoint) }));
        }
        WebhookCommand::Deliveries { endpoint, dead, limit } => {
            let filter = tessera_store::DeliveryFilter {
                endpoint_id: endpoint.as_deref().map(endpoint_id).transpose()?,
                status: dead.then_some(tessera_store::DeliveryStatus::Dead),
                after: None,
            };
            let deliveries =
                service.list_webhook_deliveries(&filter, limit).await.map_err(failed)?;
            let views: Vec<DeliveryView> = deliveries.iter().map(DeliveryView::from).collect();
            print_json(&json!({ "deliveries": views }));
        }
        WebhookCommand::Retry { delivery } => {
            let id = uuid::Uuid::parse_str(&delivery)
                .map(tessera_store::DeliveryId::from_uuid)
                .map_err(|_| "--delivery must be a delivery id (a UUID)".to_owned())?;
            let delivery = service.retry_webhook_delivery(id).await.map_err(failed)?;
            print_json(&json!({ "delivery": DeliveryView::from(&delivery) }));
        }
    }
    Ok(())
}

/// Prints events as JSON lines; with `follow`, polls for new ones every second, from the last
/// sequence printed (the log's sequence is commit-ordered, so none is missed).
async fn list_events(
    service: &SessionService,
    mut filter: EventFilter,
    limit: u32,
    follow: bool,
) -> Result<(), String> {
    let mut remaining = limit;
    loop {
        let page = if follow {
            tessera_api::EVENTS_PAGE_MAX
        } else {
            remaining.min(tessera_api::EVENTS_PAGE_MAX)
        };
        let events = service.list_events(&filter, page).await.map_err(|e| e.to_string())?;
        for event in &events {
            println!("{}", serde_json::to_string(&EventView::from(event)).unwrap_or_default());
        }
        if let Some(last) = events.last() {
            filter.after_sequence = Some(last.sequence);
        }
        if !follow {
            remaining -= events.len() as u32;
            if remaining == 0 || (events.len() as u32) < page {
                return Ok(());
            }
        } else if (events.len() as u32) < page {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
}

async fn purge(service: &SessionService) -> Result<(), String> {
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} purged {pos} sessions ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    let total = service
        .purge_sessions(|so_far| bar.set_position(so_far))
        .await
        .map_err(|e| e.to_string())?;
    bar.set_style(
        ProgressStyle::with_template("{spinner} purged {pos} events ({per_sec}) {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_position(0);
    let events =
        service.purge_events(|so_far| bar.set_position(so_far)).await.map_err(|e| e.to_string())?;
    bar.finish_and_clear();
    print_json(&json!({"purged": total, "purged_events": events}));
    Ok(())
}

async fn serve(store: &StoreArgs, settings: &ServiceArgs, args: &ServeArgs) -> Result<(), String> {
    let opened = store.open().await?;
    // Every setting is checked, and every address bound, before the deployment can be created:
    // a failure after it would lose the secret printed only below.
    let unbound = settings.build(opened.clone(), "tessera-deployment")?;
    let listener = bind(args.listen, "--listen").await?;
    let metrics_listener = match args.metrics_listen {
        Some(address) => Some(bind(address, "--metrics-listen").await?),
        None => None,
    };
    let address = listener.local_addr().map_err(|e| e.to_string())?;
    let metrics_address = match &metrics_listener {
        Some(listener) => Some(listener.local_addr().map_err(|e| e.to_string())?),
        None => None,
    };
    let bootstrap = deployment::bootstrap(&unbound).await?;
    let service = settings.build(opened, &bootstrap.credentials().project_id)?;
    // Create the first signing key now rather than on the first request, and before saying
    // "listening": a node started after this one's banner finds the key instead of racing to
    // make its own. The banner comes either way, so a secret just created is never lost.
    let keys = service.jwks().await;
    announce(&bootstrap, store, address, metrics_address);
    keys.map_err(|e| format!("cannot prepare the signing keys: {e}"))?;

    let purger = (args.purge_interval_seconds > 0).then(|| {
        // Tessera itself purges: its events name the system.
        let service = service.acting(Actor::System, RequestContext::default());
        let period = Duration::from_secs(args.purge_interval_seconds);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(period);
            every.tick().await; // the first tick is immediate: skip it
            loop {
                every.tick().await;
                match service.purge_sessions(|_| {}).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "purged dead sessions"),
                    Err(e) => tracing::warn!(error = %e, "purge failed; will retry"),
                }
                match service.purge_events(|_| {}).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "purged old events"),
                    Err(e) => tracing::warn!(error = %e, "event purge failed; will retry"),
                }
            }
        })
    });

    // One stop signal for both listeners.
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    let until_stopped = |mut stopped: watch::Receiver<bool>| async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    };
    // Every node dispatches webhooks; the store's leases keep them from sending one twice.
    let dispatcher = Dispatcher::new(
        service.acting(Actor::System, RequestContext::default()),
        DispatcherConfig {
            timeout: Duration::from_secs(args.webhook_timeout_seconds),
            allow_private_targets: settings.webhook_allow_private_targets,
            ..DispatcherConfig::default()
        },
    )?;
    let dispatching = tokio::spawn(dispatcher.run(stopped.clone()));
    let limits = args.connection_limits();
    let state = AppState::new(service, bootstrap.credentials().clone())
        .with_webhook_policy(settings.webhook_policy());
    let app = http::router_with_limits(state, args.request_limits());
    let api = http::serve(listener, app, limits, until_stopped(stopped.clone()));
    let metrics = async {
        if let Some(listener) = metrics_listener {
            http::serve(listener, http::metrics_router(), limits, until_stopped(stopped.clone()))
                .await;
        }
    };
    tokio::join!(api, metrics);
    // A delivery cut off here is sent again by the next node or start (its lease runs out).
    dispatching.abort();
    if let Some(purger) = purger {
        purger.abort();
    }
    tracing::info!("stopped");
    Ok(())
}

async fn bind(address: std::net::SocketAddr, flag: &str) -> Result<TcpListener, String> {
    TcpListener::bind(address).await.map_err(|e| {
        format!("cannot listen on {address}: {e} (is another server running? try {flag})")
    })
}

fn announce(
    bootstrap: &Bootstrap,
    store: &StoreArgs,
    address: std::net::SocketAddr,
    metrics: Option<std::net::SocketAddr>,
) {
    let project_id = &bootstrap.credentials().project_id;
    println!("Tessera listening on http://{address} ({})", store.describe());
    if let Some(metrics) = metrics {
        println!("Metrics on http://{metrics}/metrics");
    }
    println!("Project id: {project_id}");
    match bootstrap {
        Bootstrap::Created { secret, .. } => {
            println!("API secret (shown once, store it now): {}", secret.expose());
            println!();
            println!("Try it:");
            println!(
                "  curl -u '{project_id}:{}' -H 'Content-Type: application/json' \\\n    -d '{{\"organization_name\": \"Acme\", \"organization_slug\": \"acme\"}}' \\\n    http://{address}/v1/b2b/organizations",
                secret.expose()
            );
        }
        Bootstrap::Existing(_) => {
            println!(
                "API secret: printed at first start; `tessera secret rotate` makes a new one."
            );
        }
    }
}

/// Ctrl-C or SIGTERM: stop accepting, let in-flight requests finish (until the shutdown
/// deadline).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
