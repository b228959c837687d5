//! The audit log, read: what `GET /v1/events` and `tessera events list` show.

use tessera_core::{Event, EventFilter};

use super::SessionService;
use crate::error::ServiceResult;

/// The most events one listing returns.
pub const EVENTS_PAGE_MAX: u32 = 1000;

impl SessionService {
    /// The events `filter` matches, in log order, at most `limit` (capped at
    /// [`EVENTS_PAGE_MAX`]). Pass the last event's `sequence` as `filter.after_sequence` for the
    /// next page; a follower that does so sees every event once, in commit order.
    ///
    /// ```
    /// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
    /// use tessera_api::{CreateOrganization, ServiceConfig, SessionService};
    /// use tessera_core::{EventFilter, EventType, OrganizationName, OrganizationSlug};
    /// use tessera_store::memory::MemoryStore;
    ///
    /// let service = SessionService::new(MemoryStore::store(), ServiceConfig::new("p"));
    /// let acme = service
    ///     .create_organization(CreateOrganization::new(
    ///         OrganizationName::parse("Acme")?,
    ///         OrganizationSlug::parse("acme")?,
    ///     ))
    ///     .await?;
    /// let filter = EventFilter { organization_id: Some(acme.id), ..Default::default() };
    /// let events = service.list_events(&filter, 10).await?;
    /// assert_eq!(events[0].record.event_type, EventType::OrganizationCreated);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub async fn list_events(&self, filter: &EventFilter, limit: u32) -> ServiceResult<Vec<Event>> {
        Ok(self.shared.store.events.list_events(filter, limit.clamp(1, EVENTS_PAGE_MAX)).await?)
    }
}
