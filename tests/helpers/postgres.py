"""A throwaway PostgreSQL server for a test: initdb into a temporary folder, pg_ctl start on a free port.

PostgreSQL refuses to run as root; as root (CI containers) the server runs as a system user made for
it (useradd) that owns the folder. Where the binaries, psycopg2 or that user are missing, the test is
skipped with the reason.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_USER = "cifartui-pg"


def _bindir() -> Path | None:
    """The newest Debian PostgreSQL (/usr/lib/postgresql/N/bin), else initdb on the PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(folder: Path) -> list[str]:
    """The command prefix that runs the server's tools as a non-root user (nothing when we are not root)."""
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam(PG_USER)
    except KeyError:
        made = subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", PG_USER],
                              capture_output=True, text=True)
        if made.returncode != 0:
            pytest.skip(f"PostgreSQL will not run as root and useradd failed: {made.stderr.strip()}")
    shutil.chown(folder, PG_USER)
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("PostgreSQL will not run as root and there is no runuser to start it as another user")
    return [runuser, "-u", PG_USER, "--"]


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """Yield the URL of a fresh server (database 'postgres', user 'postgres', no password); stopped and
    removed after. Its folder is a new one under the system's temp dir, not pytest's tmp_path, whose
    parents (0700, root's) the server's user could not enter."""
    pytest.importorskip("psycopg2", reason="psycopg2 is not installed (pip install 'cifar-tui[postgres]')")
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (Debian: apt-get install postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="cifar-tui-pg-"))
    try:
        with _running(bindir, folder) as url:
            yield url
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _running(bindir: Path, folder: Path) -> Iterator[str]:
    prefix = _as_server_user(folder)
    data, port = folder / "data", _free_port()
    init = subprocess.run([*prefix, bindir / "initdb", "-D", data, "-A", "trust", "-U", "postgres", "--no-sync"],
                          capture_output=True, text=True, timeout=120)
    if init.returncode != 0:
        pytest.skip(f"initdb failed: {init.stderr.strip()[-300:]}")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    start = subprocess.run([*prefix, bindir / "pg_ctl", "-D", data, "-o", options, "-l", folder / "log", "-w", "start"],
                           capture_output=True, text=True, timeout=120)
    if start.returncode != 0:
        pytest.skip(f"the PostgreSQL server did not start: {(folder / 'log').read_text()[-300:]}")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, bindir / "pg_ctl", "-D", data, "-m", "immediate", "stop"], capture_output=True,
                       timeout=60)
