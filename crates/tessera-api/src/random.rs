//! Where the service gets randomness from: the OS CSPRNG in production, a seeded generator in
//! tests. The core takes a `CryptoRng` argument; this adapts a shared source to it.

use std::{
    fmt,
    sync::{Mutex, PoisonError},
};

use rand::{CryptoRng, RngCore, SeedableRng, TryRngCore, rngs::StdRng};

/// A thread-safe source of cryptographically secure random bytes.
pub trait RandomSource: Send + Sync + fmt::Debug {
    fn fill_bytes(&self, dest: &mut [u8]);
}

/// The operating system's CSPRNG (`getrandom`), read directly on every call: no state to leak
/// or to fork.
#[derive(Debug, Clone, Copy, Default)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill_bytes(&self, dest: &mut [u8]) {
        // The OS generator failing means the system cannot produce secrets at all; continuing
        // with anything else would be worse than stopping (fail closed).
        #[allow(clippy::expect_used)]
        rand::rngs::OsRng.try_fill_bytes(dest).expect("the OS random number generator failed");
    }
}

/// A seeded generator for reproducible tests. Never use it in production.
#[derive(Debug)]
pub struct SeededRandom(Mutex<StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        Self(Mutex::new(StdRng::seed_from_u64(seed)))
    }
}

impl RandomSource for SeededRandom {
    fn fill_bytes(&self, dest: &mut [u8]) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).fill_bytes(dest);
    }
}

/// Lends a [`RandomSource`] to the core's functions, which take a `CryptoRng`.
pub(crate) struct Rng<'a>(pub(crate) &'a dyn RandomSource);

impl RngCore for Rng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut bytes = [0; 4];
        self.0.fill_bytes(&mut bytes);
        u32::from_le_bytes(bytes)
    }

    fn next_u64(&mut self) -> u64 {
        let mut bytes = [0; 8];
        self.0.fill_bytes(&mut bytes);
        u64::from_le_bytes(bytes)
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}

impl CryptoRng for Rng<'_> {}
