//! Exposes the locked versions of sqlx and libsqlite3-sys to the binary, for the `notes` field.

use std::{env, fs, path::Path};

fn main() {
    let dir = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let lock_path = Path::new(&dir).join("Cargo.lock");
    println!("cargo:rerun-if-changed={}", lock_path.display());
    let lock = fs::read_to_string(&lock_path).unwrap_or_default();
    for (crate_name, var) in
        [("sqlx", "PEER_SQLX_VERSION"), ("libsqlite3-sys", "PEER_LIBSQLITE3_SYS_VERSION")]
    {
        let version = locked_version(&lock, crate_name).unwrap_or_else(|| "?".to_owned());
        println!("cargo:rustc-env={var}={version}");
    }
}

fn locked_version(lock: &str, crate_name: &str) -> Option<String> {
    let wanted = format!("name = \"{crate_name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let next = lines.next()?.trim();
            let version = next.strip_prefix("version = \"")?.strip_suffix('"')?;
            return Some(version.to_owned());
        }
    }
    None
}
