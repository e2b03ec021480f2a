"""An engine's SQLite journal: the console store's machinery with the component's own schema.

One file per process in its state directory, WAL, ``synchronous = FULL`` by default: what the
server acknowledged has been fsynced, so a ``kill -9`` (or a power cut) cannot lose it, and
every change is one transaction, so nothing is ever half applied.
"""

from __future__ import annotations

from pathlib import Path

from js7tui.engine.config import ensure_private_dir
from js7tui.store import Store, load_migrations


def open_journal(state_dir: Path, package: str, *, synchronous: str = "FULL") -> Store:
    """Open (or create) ``state_dir/journal.db`` with ``package``'s migrations (the first
    one creates ``journal_info`` with a random journal id, in the same transaction)."""
    ensure_private_dir(state_dir)
    path = state_dir / "journal.db"
    migrations = load_migrations(package)
    if path.exists():
        return Store.open(path, migrations=migrations, synchronous=synchronous)
    return Store.create(path, migrations=migrations, synchronous=synchronous)


def journal_id(store: Store) -> str:
    return str(store.conn.execute("SELECT journal_id FROM journal_info").fetchone()[0])


LEVELS = ("LOW", "MEDIUM", "HIGH")


def hold_security_level(store: Store, level: str, now: str) -> str:
    """Keep the highest security level this engine ran with (``trust_level``) and refuse a
    configuration below it: a bundle made from a console store lowered by hand (or an old
    bundle) cannot lower what the engine enforces. Returns the level in force."""
    from js7tui.errors import ValidationError
    with store.transaction() as conn:
        row = conn.execute("SELECT highest FROM trust_level WHERE id = 1").fetchone()
        highest = row[0] if row else None
        if highest is not None and LEVELS.index(level) < LEVELS.index(highest):
            raise ValidationError(
                f"the configuration's security level {level} (bundle.toml [trust]) is lower "
                f"than {highest}, the highest this journal ran with; a level is never lowered: "
                f"import a bundle made at {highest}")
        if highest is None:
            conn.execute("INSERT INTO trust_level (id, highest, updated) VALUES (1, ?, ?)",
                         (level, now))
        elif level != highest:
            conn.execute("UPDATE trust_level SET highest = ?, updated = ? WHERE id = 1",
                         (level, now))
    return level
