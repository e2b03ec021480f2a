"""The home on disk and its store: private file modes, init runs once, the connection pragmas,
the schema version, strict config.toml, where homes are found, and a security level that can
never be lowered (reference 4.1)."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from js7tui.clock import FrozenClock
from js7tui.config import Config, load_config
from js7tui.console import Console, initialize, open_console
from js7tui.errors import StoreError, ValidationError
from js7tui.home import Home, resolve_home, state_dir, write_private_file
from js7tui.security_level import SecurityLevel
from js7tui.store import BUSY_TIMEOUT_MS, SCHEMA_VERSION, Store
from tests.conftest import ROOT_PASSWORD, cheap_hasher, login


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def level_in_store(conn: sqlite3.Connection) -> str:
    return conn.execute("SELECT security_level FROM installation").fetchone()[0]


@pytest.fixture
def high(tmp_path: Path, clock: FrozenClock) -> Iterator[Console]:
    console = initialize(Home(tmp_path / "high"), SecurityLevel.HIGH, clock=clock,
                         hasher=cheap_hasher())
    yield console
    console.close()


# -- the home on disk ------------------------------------------------------------------------
def test_initialize_creates_home_and_key_folders_private_to_the_owner(console, home):
    for directory in (home.root, home.keys_dir, home.log_dir):
        assert mode(directory) == 0o700, directory


def test_initialize_writes_database_and_config_readable_by_owner_only(console, home):
    assert mode(home.db_path) == 0o600
    assert mode(home.config_path) == 0o600
    for suffix in ("-wal", "-shm"):
        side_file = home.db_path.with_name(home.db_path.name + suffix)
        if side_file.exists():
            assert mode(side_file) == 0o600, side_file


def test_initialize_writes_a_config_that_loads_as_the_defaults(console, home):
    assert load_config(home.config_path) == Config()


def test_initialize_twice_is_refused_and_leaves_the_existing_home_unchanged(console, home, clock):
    dump_before = list(console.store.conn.iterdump())
    config_before = home.config_path.read_bytes()

    with pytest.raises(StoreError) as refused:
        initialize(home, SecurityLevel.HIGH, clock=clock, hasher=cheap_hasher())

    message = str(refused.value)
    assert "already exists" in message
    assert str(home.root) in message
    assert "security level LOW" in message
    assert "--home" in message
    assert list(console.store.conn.iterdump()) == dump_before
    assert home.config_path.read_bytes() == config_before
    assert console.security_level is SecurityLevel.LOW


def test_open_console_on_a_missing_home_explains_how_to_create_one(tmp_path):
    with pytest.raises(StoreError, match="js7tui init"):
        open_console(Home(tmp_path / "nowhere"))


def test_store_open_refuses_a_missing_file_and_create_an_existing_one(tmp_path, console, home):
    with pytest.raises(StoreError, match="no js7tui home"):
        Store.open(tmp_path / "missing.db")
    with pytest.raises(StoreError, match="already exists"):
        Store.create(home.db_path)


# -- the store connection --------------------------------------------------------------------
def test_opened_store_uses_wal_foreign_keys_and_a_busy_timeout(console, home):
    store = Store.open(home.db_path)
    try:
        conn = store.conn
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS > 0
    finally:
        store.close()


def test_foreign_keys_are_enforced_on_the_opened_store(console):
    with pytest.raises(sqlite3.IntegrityError):
        console.store.conn.execute(
            "INSERT INTO account_roles (account_id, role_id) VALUES (9999, 9999)")


def test_migrations_bring_every_store_to_the_schema_version(console):
    assert SCHEMA_VERSION >= 1
    assert console.store.schema_version == SCHEMA_VERSION
    memory = Store.memory()
    assert memory.schema_version == SCHEMA_VERSION
    memory.close()


def test_a_store_with_a_newer_schema_is_refused(console, home):
    console.store.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(StoreError, match="newer than this js7tui"):
        Store.open(home.db_path)
    with pytest.raises(StoreError, match="upgrade js7tui"):
        open_console(home)


def test_transactions_cannot_nest(console):
    with (console.store.transaction(), pytest.raises(RuntimeError, match="nested"),
          console.store.transaction()):
        pass


def test_a_failed_transaction_is_rolled_back(console):
    conn = console.store.conn
    with pytest.raises(ZeroDivisionError), console.store.transaction() as tx:
        tx.execute("INSERT INTO settings (key, value) VALUES ('probe', '1')")
        _ = 1 / 0
    assert conn.execute("SELECT COUNT(*) FROM settings WHERE key = 'probe'").fetchone()[0] == 0


# -- the security level can never be lowered ---------------------------------------------------
def test_initialize_records_the_chosen_security_level(high):
    assert high.security_level is SecurityLevel.HIGH
    assert level_in_store(high.store.conn) == "HIGH"


@pytest.mark.parametrize("lower", ["LOW", "MEDIUM"])
def test_sql_update_cannot_lower_the_security_level(high, lower):
    with pytest.raises(sqlite3.IntegrityError, match="can never be lowered"):
        high.store.conn.execute("UPDATE installation SET security_level = ?", (lower,))
    assert level_in_store(high.store.conn) == "HIGH"
    assert high.security_level is SecurityLevel.HIGH


def test_sql_update_refuses_a_level_that_does_not_exist(high):
    with pytest.raises(sqlite3.IntegrityError):
        high.store.conn.execute("UPDATE installation SET security_level = 'NONE'")
    assert level_in_store(high.store.conn) == "HIGH"


def test_the_installation_record_cannot_be_deleted(high):
    with pytest.raises(sqlite3.IntegrityError, match="cannot be deleted"):
        high.store.conn.execute("DELETE FROM installation")
    assert level_in_store(high.store.conn) == "HIGH"


def test_a_second_installation_record_cannot_be_added(high):
    with pytest.raises(sqlite3.IntegrityError):
        high.store.conn.execute(
            "INSERT INTO installation (id, installation_id, security_level, created) "
            "VALUES (2, 'x', 'LOW', 'now')")
    assert high.store.conn.execute("SELECT COUNT(*) FROM installation").fetchone()[0] == 1


def test_insert_or_replace_cannot_lower_the_security_level(high):
    with pytest.raises(sqlite3.IntegrityError):
        high.store.conn.execute(
            "INSERT OR REPLACE INTO installation (id, installation_id, security_level, created) "
            "VALUES (1, 'x', 'LOW', 'now')")
    assert level_in_store(high.store.conn) == "HIGH"


def test_sql_update_may_raise_the_security_level(tmp_path, clock):
    medium = initialize(Home(tmp_path / "medium"), SecurityLevel.MEDIUM, clock=clock,
                        hasher=cheap_hasher())
    try:
        medium.store.conn.execute("UPDATE installation SET security_level = 'HIGH'")
        assert medium.security_level is SecurityLevel.HIGH
    finally:
        medium.close()


def test_the_security_level_is_not_a_setting(high):
    high.accounts.change_password(account="root", old="root", new=ROOT_PASSWORD)
    root = login(high, "root", ROOT_PASSWORD)

    with pytest.raises(ValidationError, match="fixed at init"):
        high.settings.set(root, "security_level", "low")
    assert high.security_level is SecurityLevel.HIGH
    assert high.store.conn.execute(
        "SELECT COUNT(*) FROM settings WHERE key = 'security_level'").fetchone()[0] == 0


def test_a_security_level_key_in_config_toml_is_refused_naming_the_file(high):
    config_path = high.home.config_path
    config_path.write_text('security_level = "low"\n', encoding="utf-8")

    with pytest.raises(ValidationError) as refused:
        load_config(config_path)
    assert str(config_path) in str(refused.value)
    assert "security_level" in str(refused.value)
    assert "fixed in the store" in str(refused.value)
    with pytest.raises(ValidationError):
        open_console(high.home)
    assert high.security_level is SecurityLevel.HIGH


def test_running_the_migrations_again_keeps_the_security_level(high):
    high.store.migrate()
    again = Store.open(high.home.db_path)
    try:
        again.migrate()
        assert level_in_store(again.conn) == "HIGH"
        assert again.schema_version == SCHEMA_VERSION
    finally:
        again.close()
    assert high.security_level is SecurityLevel.HIGH


def test_reopening_a_home_keeps_its_security_level(high, clock):
    reopened = open_console(high.home, clock=clock, hasher=cheap_hasher())
    try:
        assert reopened.security_level is SecurityLevel.HIGH
        assert reopened.installation_id == high.installation_id
    finally:
        reopened.close()


# -- config.toml ------------------------------------------------------------------------------
@pytest.mark.parametrize("text, unknown", [
    ("[colours]\nfg = 'red'\n", "colours"),
    ("[log]\ncolour = 'red'\n", "colour"),
    ("[passwords]\nargon2_rounds = 3\n", "argon2_rounds"),
])
def test_an_unknown_config_key_is_refused_naming_the_file(tmp_path, text, unknown):
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValidationError) as refused:
        load_config(path)
    assert str(path) in str(refused.value)
    assert f"'{unknown}'" in str(refused.value)


def test_a_config_value_of_the_wrong_type_is_refused_naming_the_file(tmp_path):
    path = tmp_path / "config.toml"
    path.write_text("[passwords]\nargon2_time_cost = true\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="argon2_time_cost must be") as refused:
        load_config(path)
    assert str(path) in str(refused.value)


def test_a_missing_config_means_the_defaults(tmp_path):
    assert load_config(tmp_path / "absent.toml") == Config()


# -- where the home and the state live --------------------------------------------------------
def test_resolve_home_prefers_option_then_js7tui_home_then_xdg_data_home(tmp_path):
    env = {"HOME": str(tmp_path / "user"), "JS7TUI_HOME": str(tmp_path / "from-env"),
           "XDG_DATA_HOME": str(tmp_path / "xdg-data")}

    assert resolve_home(str(tmp_path / "from-option"), env).root == tmp_path / "from-option"
    assert resolve_home(None, env).root == tmp_path / "from-env"
    del env["JS7TUI_HOME"]
    assert resolve_home(None, env).root == tmp_path / "xdg-data" / "js7tui"
    del env["XDG_DATA_HOME"]
    assert resolve_home(None, env).root == tmp_path / "user" / ".local" / "share" / "js7tui"


def test_resolve_home_ignores_a_relative_xdg_data_home(tmp_path):
    env = {"HOME": str(tmp_path / "user"), "XDG_DATA_HOME": "relative/data"}
    assert resolve_home(None, env).root == tmp_path / "user" / ".local" / "share" / "js7tui"


def test_state_dir_comes_from_xdg_state_home_not_from_the_home(tmp_path):
    env = {"HOME": str(tmp_path / "user"), "JS7TUI_HOME": str(tmp_path / "shared-home"),
           "XDG_STATE_HOME": str(tmp_path / "xdg-state")}
    assert state_dir(env) == tmp_path / "xdg-state" / "js7tui"
    del env["XDG_STATE_HOME"]
    assert state_dir(env) == tmp_path / "user" / ".local" / "state" / "js7tui"


def test_write_private_file_makes_a_0600_file_even_over_a_readable_one(tmp_path):
    path = tmp_path / "private" / "token"
    write_private_file(path, b"first content")
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700
    assert path.read_bytes() == b"first content"

    os.chmod(path, 0o644)
    write_private_file(path, b"second")
    assert mode(path) == 0o600
    assert path.read_bytes() == b"second"


def test_write_private_file_does_not_follow_a_symlink(tmp_path):
    target = tmp_path / "target"
    target.write_bytes(b"keep me")
    link = tmp_path / "link"
    link.symlink_to(target)
    with pytest.raises(OSError):
        write_private_file(link, b"overwritten")
    assert target.read_bytes() == b"keep me"
