//! tessera-webhooks' deliverer against tiny receivers on 127.0.0.1: what a 2xx, a 410, a 5xx
//! with `Retry-After`, a redirect, a slow receiver and a refused target come to, with every
//! delivered signature checked by the independent `standardwebhooks` crate.
#![allow(clippy::unwrap_used)]

mod delivery;
mod receiver;
