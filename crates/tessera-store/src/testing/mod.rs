//! The conformance suite: one set of cases, written once, that every backend must pass.
//!
//! Each backend's test module invokes [`conformance_suite!`](crate::conformance_suite) with an
//! async function returning a fresh, empty `Option<Store>` (`None` means "skip": only for a
//! server that is unreachable outside CI, and the function must say so loudly). The macro
//! expands to one `#[tokio::test]` per case, so test output names the backend module and the case:
//!
//! ```text
//! mod sqlite {
//!     async fn fresh_store() -> Option<tessera_store::Store> { /* ... */ }
//!     tessera_store::conformance_suite!(fresh_store);
//! }
//! ```
//!
//! Like Ory Kratos's persister suite, nearly every case has an "other organization" half:
//! nothing of organization B can be read, changed, revoked or listed through organization A.

// Test support: a failed expectation should stop the case with the message, as in a test.
#![allow(clippy::unwrap_used)]

pub mod concurrency;
pub mod deployment;
pub mod events;
pub mod fixture;
pub mod limits;
pub mod members;
pub mod organizations;
pub mod sessions;
pub mod signing_keys;
pub mod webhooks;

/// Asserts that a result is the error matching `pattern`, printing what it was otherwise.
macro_rules! expect_err {
    ($result:expr, $pattern:pat) => {
        match $result {
            Err($pattern) => {}
            other => panic!("expected {}, got {:?}", stringify!($pattern), other),
        }
    };
}
pub(crate) use expect_err;

/// Expands to one test per conformance case, each on a fresh store from `$fresh_store` (an async
/// fn in the invoking module), grouped in one module per repository: test names read
/// `<backend>::<area>::<case>`.
#[macro_export]
macro_rules! conformance_suite {
    ($fresh_store:ident) => {
        $crate::conformance_suite!(@areas $fresh_store;
            organizations {
                create_then_get_by_id_and_slug,
                get_unknown_is_not_found,
                duplicate_slug_conflicts_and_writes_nothing,
                duplicate_id_conflicts,
                duplicate_external_id_conflicts,
                update_replaces_fields,
                update_to_taken_slug_conflicts_and_changes_nothing,
                update_unknown_is_not_found,
                delete_cascades_within_the_organization_only,
                list_pages_in_id_order,
                slug_reference_resolves_only_its_organization,
            }
            members {
                create_then_get_by_id_email_and_external_id,
                create_in_unknown_organization_is_not_found,
                duplicate_email_conflicts_ignoring_case_within_one_organization,
                duplicate_external_id_conflicts_within_one_organization,
                get_through_another_organization_is_not_found,
                update_replaces_fields,
                update_into_a_taken_email_conflicts_and_changes_nothing,
                update_through_another_organization_is_not_found,
                delete_removes_member_and_sessions,
                list_pages_within_the_organization,
                find_member_organization_is_deployment_wide,
                find_member_organization_of_unknown_or_deleted_is_not_found,
            }
            sessions {
                create_then_find_by_token_returns_session_member_and_organization,
                lookups_see_every_member_and_organization_change,
                find_by_id_is_scoped_by_organization,
                unknown_token_is_not_found,
                create_requires_the_member_in_that_organization,
                duplicate_token_hash_or_id_conflicts,
                expired_session_is_not_found,
                idle_session_is_not_found_until_touched,
                absolute_lifetime_is_enforced_at_lookup,
                access_records_are_coalesced_and_scoped,
                extend_sets_expiry_of_live_sessions_only,
                patch_claims_merges_and_refusals_change_nothing,
                authentication_write_is_all_or_nothing,
                rotate_kills_the_old_token_at_once,
                revoke_is_final_and_scoped,
                revoke_all_of_a_member_is_scoped,
                list_shows_active_sessions_oldest_first,
                exchange_is_atomic,
                purge_deletes_dead_sessions_in_batches,
                purge_deletes_idle_and_capped_sessions,
                writes_never_revive_an_ended_session,
                the_write_rule_and_the_lookup_rule_agree_at_every_edge,
                find_session_organization_whatever_its_status,
                find_session_organization_of_unknown_or_purged_is_not_found,
            }
            limits {
                limit_revokes_the_least_recently_used,
                limit_refuses_and_writes_nothing,
                exchange_respects_the_target_limit,
                revoke_organization_is_scoped_and_keeps_the_exception,
                revoke_all_ends_every_live_session,
                concurrent_creates_never_exceed_the_limit,
            }
            events {
                a_write_appends_its_events_whole_and_in_order,
                a_failed_write_appends_nothing,
                wide_revokes_record_their_count,
                the_session_limit_records_what_it_did,
                listings_filter_and_page_by_sequence,
                purge_deletes_old_events_only_and_sequences_go_on,
                events_name_their_actor,
            }
            webhooks {
                endpoint_crud_and_secret_rotation,
                fan_out_follows_filters_and_the_cursor,
                claims_and_records_follow_each_outcome,
                an_expired_lease_is_claimable_again_with_the_same_id,
                concurrent_dispatchers_deliver_each_exactly_once,
                retry_brings_a_dead_delivery_back,
                backlog_counts_what_is_due,
                listings_filter_and_page,
            }
            signing_keys {
                insert_list_retire_delete,
                debug_never_prints_private_key_material,
            }
            deployment {
                empty_store_has_no_deployment,
                init_stores_and_returns_the_candidate,
                second_init_returns_the_first_deployment,
                concurrent_inits_all_return_the_same_deployment,
                set_secret_changes_the_hash_and_keeps_the_project,
                set_secret_on_an_empty_store_is_not_found,
                debug_never_prints_the_secret_hash,
            }
            concurrency {
                revoke_wins_over_concurrent_touches,
                concurrent_claim_patches_lose_nothing,
                concurrent_creates_of_one_slug_admit_exactly_one,
                concurrent_creates_of_one_member_email_admit_exactly_one,
                concurrent_member_updates_of_different_fields_keep_all,
                concurrent_organization_updates_of_different_fields_keep_all,
            }
        );
    };
    (@areas $fresh_store:ident; $($area:ident { $($case:ident),* $(,)? })*) => {
        $(
            mod $area {
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
                    async fn $case() {
                        if let Some(store) = super::$fresh_store().await {
                            $crate::testing::$area::$case(store).await;
                        }
                    }
                )*
            }
        )*
    };
}
