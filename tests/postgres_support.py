"""PostgreSQL for the router's tests: the machine's server, a private one, a cuttable link.

- :func:`server_url` finds a server to share: ``OPSCTL_TEST_POSTGRES`` when set, else the
  one on 127.0.0.1:5432 (trust auth, database ``test``), else a private instance started
  for the test session. Tests that need one are skipped, saying why, only when none can be
  had at all (no server runs and PostgreSQL's programs are not installed).
- :class:`PrivatePostgres` is a server of the tests' own (``initdb`` in a temporary folder,
  a free port), for what must not be done to a shared one: restarting it, killing it.
- :class:`CuttableLink` is a loopback TCP proxy between a replica and the database whose
  connections can be cut (both ends reset) and whose new connections are refused until it
  is restored: a network cut, without touching any real network.
- :func:`fresh_schema` gives each test its own schema (dropped afterwards), as a URL whose
  connections use it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

DEFAULT = "postgresql://postgres@127.0.0.1:5432/test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def reachable(url: str) -> bool:
    import psycopg

    try:
        psycopg.connect(url, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def binaries() -> Path | None:
    """Where PostgreSQL's server programs are (``initdb``, ``pg_ctl``, ``postgres``)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(versions[-1]).parent if versions else None


class PrivatePostgres:
    """A PostgreSQL server of the tests' own, in a temporary folder, on a free port."""

    def __init__(self) -> None:
        bin_dir = binaries()
        if bin_dir is None:
            raise RuntimeError("PostgreSQL's programs (initdb, pg_ctl) are not installed")
        self.bin = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="opsctl-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.running = False
        self._as_postgres = os.geteuid() == 0  # the server refuses to run as root
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _command(self, *argv: str) -> list[str]:
        return ["runuser", "-u", "postgres", "--", *argv] if self._as_postgres else list(argv)

    def _run(self, *argv: str) -> None:
        subprocess.run(self._command(*argv), check=True, capture_output=True)

    def _pg_ctl(self, *argv: str) -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), *argv)

    def start(self) -> PrivatePostgres:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=60"
        self._pg_ctl("-l", str(self.folder / "server.log"), "-o", options, "-w", "-t", "30", "start")
        self.running = True
        return self

    def stop(self, *, fast: bool = True) -> None:
        """Stop it (``fast``: roll back what is open and close every connection, as a restart does)."""
        if self.running:
            self._pg_ctl("-m", "fast" if fast else "immediate", "-w", "-t", "30", "stop")
            self.running = False

    def restart(self, down_for: float = 0.0) -> None:
        self.stop()
        time.sleep(down_for)
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


class CuttableLink:
    """A TCP proxy on loopback to ``target``; :meth:`cut` resets every connection through it
    and refuses new ones until :meth:`restore`."""

    def __init__(self, target_port: int) -> None:
        self.target = ("127.0.0.1", target_port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._cut = False
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self._cut:
                _reset(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                self._open |= {client, upstream}
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with self._lock:
                    self._open.discard(end)
                with contextlib.suppress(OSError):
                    end.close()

    def cut(self) -> None:
        self._cut = True
        with self._lock:
            ends = list(self._open)
        for end in ends:
            _reset(end)

    def restore(self) -> None:
        self._cut = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        self.listener.close()


def _reset(sock: socket.socket) -> None:
    """Close with a reset (RST), as a cut link or a dead peer's host answers. ``shutdown``
    first: a plain ``close`` leaves a thread blocked in ``recv`` on it, and the link half open."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


_SESSION: PrivatePostgres | None = None


def server_url() -> str | None:
    """A server the tests may share, or None when none can be had (see the module docstring)."""
    global _SESSION
    wanted = os.environ.get("OPSCTL_TEST_POSTGRES") or DEFAULT
    if reachable(wanted):
        return wanted
    if _SESSION is None and binaries() is not None:
        _SESSION = PrivatePostgres().start()
    return _SESSION.url if _SESSION is not None else None


def no_server_reason() -> str:
    return (
        "no PostgreSQL server: none answers at OPSCTL_TEST_POSTGRES or 127.0.0.1:5432, and PostgreSQL's programs "
        "(initdb, pg_ctl) are not installed to start one (Debian: apt-get install postgresql)"
    )


@contextlib.contextmanager
def fresh_schema(url: str) -> Iterator[str]:
    """A URL like ``url`` whose connections work in a new schema of their own, dropped afterwards."""
    import psycopg

    name = f"opsctl_test_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options={quote(f'-csearch_path={name}')}"
    finally:
        with contextlib.suppress(psycopg.Error), psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f"DROP SCHEMA {name} CASCADE")
