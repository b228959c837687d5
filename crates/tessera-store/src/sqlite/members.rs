//! [`MemberRepository`] for SQLite.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params, types::Value as V};
use tessera_core::{EventRecord, Member, MemberId, MemberRef, MemberUpdate, OrganizationId};

use super::{
    SqliteStore,
    errors::sql,
    events,
    rows::{self, Cols, MEMBERS, ORGANIZATIONS, json, member_columns, micros, uuid_blob},
};
use crate::{
    error::{Entity, StoreError, StoreResult},
    repository::MemberRepository,
};

/// Whether the organization exists (inside the caller's transaction).
pub(super) fn organization_exists(
    conn: &Connection,
    organization_id: OrganizationId,
) -> StoreResult<bool> {
    conn.prepare_cached("SELECT 1 FROM organizations WHERE id = ?1")
        .and_then(|mut stmt| {
            stmt.query_row([uuid_blob(organization_id.as_uuid())], |_| Ok(())).optional()
        })
        .map(|found| found.is_some())
        .map_err(sql(ORGANIZATIONS))
}

/// Whether the member exists in this organization (inside the caller's transaction).
pub(super) fn member_exists(
    conn: &Connection,
    organization_id: OrganizationId,
    member_id: MemberId,
) -> StoreResult<bool> {
    conn.prepare_cached("SELECT 1 FROM members WHERE organization_id = ?1 AND id = ?2")
        .and_then(|mut stmt| {
            stmt.query_row(
                [uuid_blob(organization_id.as_uuid()), uuid_blob(member_id.as_uuid())],
                |_| Ok(()),
            )
            .optional()
        })
        .map(|found| found.is_some())
        .map_err(sql(MEMBERS))
}

/// The organization of a member, by the member's id alone (deployment-wide).
pub(super) const MEMBER_ORGANIZATION: &str = "SELECT organization_id FROM members WHERE id = ?1";

/// `?1..=?11`: the member columns in order, then `email_normalized`.
fn bind(member: &Member) -> StoreResult<[V; 11]> {
    let text = |s: &str| V::Text(s.to_owned());
    Ok([
        V::Blob(uuid_blob(member.id.as_uuid()).to_vec()),
        V::Blob(uuid_blob(member.organization_id.as_uuid()).to_vec()),
        text(member.email_address.as_str()),
        member.external_id.as_ref().map_or(V::Null, |e| text(e.as_str())),
        member.name.as_deref().map_or(V::Null, text),
        V::Text(json(MEMBERS, "roles", serde_json::to_string(&member.roles))?),
        V::Text(json(
            MEMBERS,
            "trusted_metadata",
            serde_json::to_string(&member.trusted_metadata),
        )?),
        V::Text(json(
            MEMBERS,
            "untrusted_metadata",
            serde_json::to_string(&member.untrusted_metadata),
        )?),
        V::Integer(micros(member.created_at)),
        V::Integer(micros(member.updated_at)),
        V::Text(member.email_address.normalized()),
    ])
}

#[async_trait]
impl MemberRepository for SqliteStore {
    async fn create_member(&self, member: &Member, events: &[EventRecord]) -> StoreResult<()> {
        let values = bind(member)?;
        self.write(MEMBERS, |tx| {
            if !organization_exists(tx, member.organization_id)? {
                return Err(StoreError::NotFound(Entity::Organization));
            }
            tx.prepare_cached(concat!(
                "INSERT INTO members (",
                member_columns!(""),
                ", email_normalized) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"
            ))
            .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(values)))
            .map_err(sql(MEMBERS))?;
            events::append(tx, events)
        })
        .await
    }

    async fn get_member(
        &self,
        organization_id: OrganizationId,
        member: &MemberRef,
    ) -> StoreResult<Member> {
        let org = uuid_blob(organization_id.as_uuid());
        self.read(|conn| {
            let (sql_text, key): (&str, V) = match member {
                MemberRef::Id(id) => (
                    concat!(
                        "SELECT ",
                        member_columns!(""),
                        " FROM members WHERE organization_id = ?1 AND id = ?2"
                    ),
                    V::Blob(uuid_blob(id.as_uuid()).to_vec()),
                ),
                MemberRef::ExternalId(external_id) => (
                    concat!(
                        "SELECT ",
                        member_columns!(""),
                        " FROM members WHERE organization_id = ?1 AND external_id = ?2"
                    ),
                    V::Text(external_id.as_str().to_owned()),
                ),
                MemberRef::Email(email) => (
                    concat!(
                        "SELECT ",
                        member_columns!(""),
                        " FROM members WHERE organization_id = ?1 AND email_normalized = ?2"
                    ),
                    V::Text(email.normalized()),
                ),
            };
            let mut stmt = conn.prepare_cached(sql_text).map_err(sql(MEMBERS))?;
            rows::query_opt(&mut stmt, params![org, key], MEMBERS, |row| rows::member(row, 0))?
                .ok_or(StoreError::NotFound(Entity::Member))
        })
    }

    async fn update_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        update: &MemberUpdate,
        now: DateTime<Utc>,
        events: &[EventRecord],
    ) -> StoreResult<Member> {
        self.write(MEMBERS, |tx| {
            // Read, change the named fields and write back inside the one writer's transaction:
            // no other write can come in between, so a concurrent update of other fields is kept.
            let mut member = {
                let mut stmt = tx
                    .prepare_cached(concat!(
                        "SELECT ",
                        member_columns!(""),
                        " FROM members WHERE organization_id = ?1 AND id = ?2"
                    ))
                    .map_err(sql(MEMBERS))?;
                rows::query_opt(
                    &mut stmt,
                    [uuid_blob(organization_id.as_uuid()), uuid_blob(member_id.as_uuid())],
                    MEMBERS,
                    |row| rows::member(row, 0),
                )?
                .ok_or(StoreError::NotFound(Entity::Member))?
            };
            update.apply_to(&mut member);
            member.updated_at = now;
            let values = bind(&member)?;
            // `created_at` (?9, bound but unused) is kept.
            let changed = tx
                .prepare_cached(
                    "UPDATE members SET email_address = ?3, external_id = ?4, name = ?5, \
                     roles = ?6, trusted_metadata = ?7, untrusted_metadata = ?8, \
                     updated_at = ?10, email_normalized = ?11 \
                     WHERE id = ?1 AND organization_id = ?2",
                )
                .and_then(|mut stmt| stmt.execute(rusqlite::params_from_iter(values)))
                .map_err(sql(MEMBERS))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::Member));
            }
            events::append(tx, events)?;
            Ok(member)
        })
        .await
    }

    async fn delete_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        events: &[EventRecord],
    ) -> StoreResult<()> {
        let events = events.to_vec();
        // The cascade may delete many sessions: on the blocking pool, off the async workers.
        self.write_blocking(MEMBERS, move |tx| {
            // Their sessions go with them (ON DELETE CASCADE).
            let changed = tx
                .prepare_cached("DELETE FROM members WHERE organization_id = ?1 AND id = ?2")
                .and_then(|mut stmt| {
                    stmt.execute([
                        uuid_blob(organization_id.as_uuid()),
                        uuid_blob(member_id.as_uuid()),
                    ])
                })
                .map_err(sql(MEMBERS))?;
            if changed == 0 {
                return Err(StoreError::NotFound(Entity::Member));
            }
            events::append(tx, &events)
        })
        .await
    }

    async fn list_members(
        &self,
        organization_id: OrganizationId,
        after: Option<MemberId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        let org = uuid_blob(organization_id.as_uuid());
        self.read(|conn| match after {
            None => {
                let mut stmt = conn
                    .prepare_cached(concat!(
                        "SELECT ",
                        member_columns!(""),
                        " FROM members WHERE organization_id = ?1 ORDER BY id LIMIT ?2"
                    ))
                    .map_err(sql(MEMBERS))?;
                rows::query_all(&mut stmt, params![org, limit], MEMBERS, |row| rows::member(row, 0))
            }
            Some(after) => {
                let mut stmt = conn
                    .prepare_cached(concat!(
                        "SELECT ",
                        member_columns!(""),
                        " FROM members WHERE organization_id = ?1 AND id > ?2 \
                         ORDER BY id LIMIT ?3"
                    ))
                    .map_err(sql(MEMBERS))?;
                rows::query_all(
                    &mut stmt,
                    params![org, uuid_blob(after.as_uuid()), limit],
                    MEMBERS,
                    |row| rows::member(row, 0),
                )
            }
        })
    }

    async fn find_member_organization(&self, member_id: MemberId) -> StoreResult<OrganizationId> {
        self.read(|conn| {
            let mut stmt = conn.prepare_cached(MEMBER_ORGANIZATION).map_err(sql(MEMBERS))?;
            rows::query_opt(&mut stmt, [uuid_blob(member_id.as_uuid())], MEMBERS, |row| {
                Cols::new(row, MEMBERS, 0).uuid(0, "organization_id").map(OrganizationId::from_uuid)
            })?
            .ok_or(StoreError::NotFound(Entity::Member))
        })
    }
}
