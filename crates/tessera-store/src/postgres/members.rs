//! [`MemberRepository`] on PostgreSQL. Every statement filters on `organization_id`, but the
//! deployment-wide lookup of a member's organization by id.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tessera_core::{Member, MemberId, MemberRef, MemberUpdate, OrganizationId};

use super::{
    PostgresStore,
    errors::{is_foreign_key_violation, query_error},
    rows::{self, MEMBERS},
};
use crate::{
    error::{Entity, StoreError, StoreResult},
    repository::MemberRepository,
    row::{self, member_columns},
};

/// The JSON and array columns of a member.
struct Columns {
    roles: Vec<String>,
    trusted_metadata: Value,
    untrusted_metadata: Value,
}

impl Columns {
    fn of(member: &Member) -> StoreResult<Self> {
        Ok(Self {
            roles: member.roles.iter().map(|r| r.as_str().to_owned()).collect(),
            trusted_metadata: rows::json_column(
                MEMBERS,
                "trusted_metadata",
                serde_json::to_value(&member.trusted_metadata),
            )?,
            untrusted_metadata: rows::json_column(
                MEMBERS,
                "untrusted_metadata",
                serde_json::to_value(&member.untrusted_metadata),
            )?,
        })
    }
}

#[async_trait]
impl MemberRepository for PostgresStore {
    async fn create_member(
        &self,
        member: &Member,
        events: &[tessera_core::EventRecord],
    ) -> StoreResult<()> {
        const DOING: &str = "create a member";
        let columns = Columns::of(member)?;
        let mut conn = self.write_conn(DOING, events).await?;
        self.query(concat!(
            "INSERT INTO members (",
            member_columns!(""),
            ", email_normalized) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(member.id.as_uuid())
        .bind(member.organization_id.as_uuid())
        .bind(member.email_address.as_str())
        .bind(member.external_id.as_ref().map(|e| e.as_str()))
        .bind(member.name.as_deref())
        .bind(&columns.roles)
        .bind(&columns.trusted_metadata)
        .bind(&columns.untrusted_metadata)
        .bind(member.created_at)
        .bind(member.updated_at)
        .bind(member.email_address.normalized())
        .execute(&mut *conn)
        .await
        .map_err(|e| {
            if is_foreign_key_violation(&e, "members_organization_fkey") {
                StoreError::NotFound(Entity::Organization)
            } else {
                query_error(DOING, e)
            }
        })?;
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await
    }

    async fn get_member(
        &self,
        organization_id: OrganizationId,
        member: &MemberRef,
    ) -> StoreResult<Member> {
        const DOING: &str = "read a member";
        let org = organization_id.as_uuid();
        let mut conn = self.conn(DOING).await?;
        let row = match member {
            MemberRef::Id(id) => {
                self.query(concat!(
                    "SELECT ",
                    member_columns!("m."),
                    " FROM members m WHERE m.organization_id = $1 AND m.id = $2"
                ))
                .bind(org)
                .bind(id.as_uuid())
                .fetch_optional(&mut *conn)
                .await
            }
            MemberRef::ExternalId(external_id) => {
                self.query(concat!(
                    "SELECT ",
                    member_columns!("m."),
                    " FROM members m WHERE m.organization_id = $1 AND m.external_id = $2"
                ))
                .bind(org)
                .bind(external_id.as_str())
                .fetch_optional(&mut *conn)
                .await
            }
            MemberRef::Email(email) => {
                self.query(concat!(
                    "SELECT ",
                    member_columns!("m."),
                    " FROM members m WHERE m.organization_id = $1 AND m.email_normalized = $2"
                ))
                .bind(org)
                .bind(email.normalized())
                .fetch_optional(&mut *conn)
                .await
            }
        }
        .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        match row {
            Some(row) => row::member(&row, 0),
            None => Err(StoreError::NotFound(Entity::Member)),
        }
    }

    async fn update_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        update: &MemberUpdate,
        now: DateTime<Utc>,
        events: &[tessera_core::EventRecord],
    ) -> StoreResult<Member> {
        const DOING: &str = "update a member";
        // The row is locked, changed in the named fields and written back in one transaction:
        // a concurrent update waits for it and then changes its own fields of the result.
        let mut tx = self.begin(DOING).await?;
        let row = self
            .query(concat!(
                "SELECT ",
                member_columns!("m."),
                " FROM members m WHERE m.organization_id = $1 AND m.id = $2 FOR UPDATE"
            ))
            .bind(organization_id.as_uuid())
            .bind(member_id.as_uuid())
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| query_error(DOING, e))?;
        let mut member = match row {
            Some(row) => row::member(&row, 0)?,
            None => return Err(StoreError::NotFound(Entity::Member)),
        };
        update.apply_to(&mut member);
        member.updated_at = now;
        let columns = Columns::of(&member)?;
        self.query(
            "UPDATE members SET email_address = $3, email_normalized = $4, name = $5, \
             external_id = $6, roles = $7, trusted_metadata = $8, untrusted_metadata = $9, \
             updated_at = $10 \
             WHERE organization_id = $1 AND id = $2",
        )
        .bind(member.organization_id.as_uuid())
        .bind(member.id.as_uuid())
        .bind(member.email_address.as_str())
        .bind(member.email_address.normalized())
        .bind(member.name.as_deref())
        .bind(member.external_id.as_ref().map(|e| e.as_str()))
        .bind(&columns.roles)
        .bind(&columns.trusted_metadata)
        .bind(&columns.untrusted_metadata)
        .bind(member.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(|e| query_error(DOING, e))?;
        self.append(&mut tx, events).await?;
        tx.commit().await.map_err(|e| query_error(DOING, e))?;
        Ok(member)
    }

    async fn delete_member(
        &self,
        organization_id: OrganizationId,
        member_id: MemberId,
        events: &[tessera_core::EventRecord],
    ) -> StoreResult<()> {
        // Sessions go by `ON DELETE CASCADE`.
        const DOING: &str = "delete a member";
        let mut conn = self.write_conn(DOING, events).await?;
        let result = self
            .query("DELETE FROM members WHERE organization_id = $1 AND id = $2")
            .bind(organization_id.as_uuid())
            .bind(member_id.as_uuid())
            .execute(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        if result.rows_affected() == 0 {
            return Err(StoreError::NotFound(Entity::Member));
        }
        self.append(&mut conn, events).await?;
        conn.finish(DOING).await
    }

    async fn list_members(
        &self,
        organization_id: OrganizationId,
        after: Option<MemberId>,
        limit: u32,
    ) -> StoreResult<Vec<Member>> {
        const DOING: &str = "list members";
        let mut conn = self.conn(DOING).await?;
        let rows = self
            .query(concat!(
                "SELECT ",
                member_columns!("m."),
                " FROM members m WHERE m.organization_id = $1 \
             AND m.id > COALESCE($2, '00000000-0000-0000-0000-000000000000'::uuid) \
             ORDER BY m.id LIMIT $3"
            ))
            .bind(organization_id.as_uuid())
            .bind(after.map(|id| *id.as_uuid()))
            .bind(i64::from(limit))
            .fetch_all(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        rows.iter().map(|found| row::member(found, 0)).collect()
    }

    async fn find_member_organization(&self, member_id: MemberId) -> StoreResult<OrganizationId> {
        const DOING: &str = "look up a member's organization";
        let mut conn = self.conn(DOING).await?;
        let found: Option<uuid::Uuid> = self
            .query_scalar("SELECT organization_id FROM members WHERE id = $1")
            .bind(member_id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(|e| query_error(DOING, e))?;
        conn.finish(DOING).await?;
        found.map(OrganizationId::from_uuid).ok_or(StoreError::NotFound(Entity::Member))
    }
}
