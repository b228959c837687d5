//! The conformance suite on the memory backend.

use tessera_store::{Store, memory::MemoryStore};

async fn fresh_store() -> Option<Store> {
    Some(MemoryStore::store())
}

tessera_store::conformance_suite!(fresh_store);
