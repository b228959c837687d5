"""Pages SQLite writes per purged session, on Tessera's own schema.

A model of the SQLite store's purge, not the store itself: Python's sqlite3 applies
crates/tessera-store/migrations/sqlite/*.sql, seeds one organization, 100 members,
DEAD expired sessions and 10 000 live ones (time-ordered ids, random token hashes, as the
benchmarks' seeding does), then runs the store's purge statement (`PURGE_EXPIRED`) in batches
under the writer's pragmas, and counts the WAL frames (4 KiB pages) each commit writes.

    python3 xtask/bench/purge_pages.py [DEAD] [INDEX_TO_DROP]

DEAD defaults to 10^6. With INDEX_TO_DROP (e.g. sessions_token_hash_key) that index is dropped
before purging, to see its share. Figures in docs/BENCHMARKS-analysis.md.
"""

import glob
import os
import random
import sqlite3
import struct
import sys
import tempfile
import time
from pathlib import Path

MIGRATIONS = Path(__file__).resolve().parents[2] / "crates/tessera-store/migrations/sqlite"
PURGE_EXPIRED = (
    "DELETE FROM sessions WHERE id IN (SELECT id FROM sessions "
    "WHERE expires_at < ?1 OR revoked_at < ?1 LIMIT ?2)"
)
FACTORS = (
    '[{"type":"magic_link","delivery_method":"email","created_at":"2026-12-01T00:00:00Z",'
    '"last_authenticated_at":"2026-12-01T00:00:00Z","updated_at":"2026-12-01T00:00:00Z"}]'
)
LIVE = 10_000
NOW = 1_800_000_000_000_000  # microseconds


def main() -> None:
    dead = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    drop = sys.argv[2] if len(sys.argv) > 2 else None
    with tempfile.TemporaryDirectory() as scratch:
        db = os.path.join(scratch, "tessera.db")
        c = sqlite3.connect(db, isolation_level=None)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-32768",
                       "wal_autocheckpoint=0"):
            c.execute(f"PRAGMA {pragma}")
        for migration in sorted(glob.glob(str(MIGRATIONS / "*.sql"))):
            c.executescript(Path(migration).read_text())
        seed(c, dead)
        page = c.execute("PRAGMA page_size").fetchone()[0]
        if drop:
            c.execute(f"DROP INDEX {drop}")
            c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        print(f"SQLite {sqlite3.sqlite_version}, {dead} dead + {LIVE} live sessions"
              + (f", without {drop}" if drop else ""))
        plan = [(1000, 20)] if drop else [(1000, 20), (10_000, 3), (100_000, 1)]
        for batch, rounds in plan:
            frames = rows = 0
            started = time.time()
            for _ in range(rounds):
                c.execute("BEGIN IMMEDIATE")
                rows += c.execute(PURGE_EXPIRED, (NOW, batch)).rowcount
                c.execute("COMMIT")
                frames += (os.path.getsize(db + "-wal") - 32) // (page + 24)
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            print(f"batches of {batch}: {rows} rows, {frames} pages written, "
                  f"{frames / rows:.2f} pages per deleted row ({time.time() - started:.1f} s)")


def seed(c: sqlite3.Connection, dead: int) -> None:
    organization = os.urandom(16)
    c.execute(
        "INSERT INTO organizations (id, slug, name, trusted_metadata, mfa_policy, "
        "max_lifetime_minutes, created_at, updated_at) VALUES (?, 'bench', 'Bench', '{}', "
        "'optional', 525600, 0, 0)",
        (organization,),
    )
    members = [os.urandom(16) for _ in range(100)]
    for m, member in enumerate(members):
        c.execute(
            "INSERT INTO members (id, organization_id, email_address, email_normalized, roles, "
            "trusted_metadata, untrusted_metadata, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, '[]', '{}', '{}', 0, 0)",
            (member, organization, f"m{m}@bench.example", f"m{m}@bench.example"),
        )
    c.execute("BEGIN")
    for i in range(dead + LIVE):
        started = NOW - 7_200_000_000 + i
        expires = NOW + 3_600_000_000 if i >= dead else NOW - 3_600_000_000
        c.execute(
            "INSERT INTO sessions (id, organization_id, member_id, token_hash, started_at, "
            "last_accessed_at, expires_at, authentication_factors, custom_claims, ip_address, "
            "user_agent, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, '{}', '203.0.113.7', "
            "'Mozilla/5.0', ?)",
            (struct.pack(">QQ", i, random.getrandbits(64)), organization, members[i % 100],
             os.urandom(32), started, started, expires, FACTORS, started),
        )
    c.execute("COMMIT")
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")


if __name__ == "__main__":
    main()
