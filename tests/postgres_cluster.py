"""A throwaway PostgreSQL cluster (Debian's server binaries) for the tests.

`python -m tests.postgres_cluster -- COMMAND…` starts a cluster in a temporary folder,
runs COMMAND with `IVR_TEST_POSTGRES_URL` naming it, then stops and removes it.
`PostgresCluster` is also used directly by tests that restart the server.
PostgreSQL refuses to run as root: as root, the server runs as the `postgres` user.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

USER = "ivr"


def server_bin() -> Path:
    """The newest installed PostgreSQL server's `bin` folder (Debian keeps it off PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=_version)
    if found:
        return Path(found[-1]).parent
    pg_ctl = shutil.which("pg_ctl")
    if pg_ctl is None:
        raise RuntimeError("PostgreSQL is not installed: run script/setup (package postgresql)")
    return Path(pg_ctl).parent


def _version(path: str) -> float:
    try:
        return float(Path(path).parent.parent.name)
    except ValueError:
        return 0.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """One PostgreSQL server in its own folder, on a free loopback port."""

    def __init__(self, folder: Path | None = None, durable: bool = False) -> None:
        self.durable = durable
        self.folder = Path(folder or tempfile.mkdtemp(prefix="ivr-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.bin = server_bin()
        self._as_user = os.geteuid() == 0

    @property
    def url(self) -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        command = list(args)
        if self._as_user:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True)

    def init(self) -> None:
        """Create the cluster: trust authentication on loopback."""
        self.folder.mkdir(parents=True, exist_ok=True)
        if self._as_user:
            entry = pwd.getpwnam("postgres")
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust", "-E", "UTF8"
        )

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=300"
        )
        if not self.durable:  # faster tests; a crash may then lose the last commits
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-t", "60",
            "-l", str(self.folder / "server.log"), "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def restart(self) -> None:
        self.stop("fast")
        self.start()

    def remove(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop",
                check=False,
            )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        try:
            self.init()
            self.start()
        except BaseException:
            self.remove()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.remove()


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print("usage: python -m tests.postgres_cluster -- COMMAND…", file=sys.stderr)
        return 2
    with PostgresCluster() as cluster:
        print(f"==> PostgreSQL {cluster.bin.parent.name} at {cluster.url}", flush=True)
        started = time.monotonic()
        env = os.environ | {"IVR_TEST_POSTGRES_URL": cluster.url}
        code = subprocess.run(argv, env=env).returncode
        print(f"==> on PostgreSQL: exit {code} in {time.monotonic() - started:.0f} s", flush=True)
        return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
