//! `cargo xtask schema [--examples N]`: schemathesis against a real `tessera serve` and the
//! `/openapi.json` it serves.
//!
//! Every operation, `--checks all`, positive and negative data (schema-valid requests must be
//! accepted, schema-invalid ones refused), the stateful phase along the document's links
//! (organization → member → session → authenticate, ...), with the deployment's real
//! credentials: the project's for the API, a member-session token (made by
//! `xtask/schema/portal_token.py`) for the customer-portal routes. Settings:
//! `xtask/schema/schemathesis.toml`. `cargo xtask test` runs 10 examples an operation with a
//! fixed seed, so that CI judges the same cases every time; the long form draws a new seed each
//! run (schemathesis prints it; `TESSERA_SCHEMA_SEED` replays one).

use std::process::Command;

use crate::{Result, number_flag, python_venv, target_dir, with_server, workspace_root};

/// schemathesis, pinned: its checks and generators change between releases.
const SCHEMATHESIS: (&str, &str, &str) = ("schemathesis==4.32.5", "schemathesis", "4.32.5");

/// The short form's examples per operation and seed.
const SHORT_FORM: (u64, &str) = (10, "1");

/// `cargo xtask schema [--examples N]`: a new seed each run, unless `TESSERA_SCHEMA_SEED`.
pub(crate) fn schema(args: &[String]) -> Result {
    let examples = number_flag(args, "--examples", 100)?;
    run_schemathesis(examples, std::env::var("TESSERA_SCHEMA_SEED").ok())
}

/// The short form in `cargo xtask test`: the same cases every run.
pub(crate) fn short_form() -> Result {
    let (examples, seed) = SHORT_FORM;
    run_schemathesis(examples, Some(seed.to_owned()))
}

fn run_schemathesis(examples: u64, seed: Option<String>) -> Result {
    let python = python_venv("schema-venv", &[SCHEMATHESIS])?;
    let schemathesis = python.with_file_name("schemathesis");
    let scripts = workspace_root().join("xtask").join("schema");
    // schemathesis keeps its example database (`.hypothesis/`) in the working directory.
    let work = target_dir().join("schema-run");
    std::fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    with_server(|deployment| {
        let output = deployment
            .env(Command::new(&python).arg(scripts.join("portal_token.py")))
            .output()
            .map_err(|e| format!("cannot run portal_token.py: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "portal_token.py failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            ));
        }
        let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
        let mut command = Command::new(&schemathesis);
        command
            .current_dir(&work)
            .arg("--config-file")
            .arg(scripts.join("schemathesis.toml"))
            .arg("--no-color")
            .arg("run")
            .arg(format!("{}/openapi.json", deployment.url))
            .args(["--checks", "all", "--max-examples", &examples.to_string()])
            .env("TESSERA_MEMBER_TOKEN", token);
        if let Some(seed) = &seed {
            command.args(["--seed", seed]);
        }
        crate::run(deployment.env(&mut command))
    })
}
