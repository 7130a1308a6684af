"""A throw-away PostgreSQL server for the tests and the benchmark: Debian's ``postgresql`` package
(``.ci/system-deps``), a fresh cluster in a temporary folder, listening on a unix socket only.

PostgreSQL refuses to run as root; when the suite runs as root (CI does), ``initdb`` and ``postgres``
run as the ``postgres`` account the package creates (else ``nobody``), dropped to with setuid/setgid.
The server is stopped and its folder removed by :meth:`PostgresServer.stop`.
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from pathlib import Path


def postgres_bin() -> Path | None:
    """The folder of ``initdb`` and ``postgres`` (Debian keeps them out of PATH), or None."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
                   if p.split("/")[4].isdigit() else 0)
    if found:
        return Path(found[-1]).parent
    exe = shutil.which("initdb")
    return Path(exe).resolve().parent if exe else None


class PostgresServer:
    def __init__(self):
        self.bin = postgres_bin()
        if self.bin is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql; see .ci/system-deps)")
        self.dir = Path(tempfile.mkdtemp(prefix="nnbook-pg-"))
        self.data, self.sock = self.dir / "data", self.dir / "sock"
        self.sock.mkdir()
        self.user = "nnbook"
        self.proc = None
        self._drop = None
        if os.geteuid() == 0:
            try:
                pw = pwd.getpwnam("postgres")
            except KeyError:
                pw = pwd.getpwnam("nobody")
            uid, gid = pw.pw_uid, pw.pw_gid
            for p in (self.dir, self.sock):
                os.chown(p, uid, gid)

            def drop():
                os.setgroups([])
                os.setgid(gid)
                os.setuid(uid)
            self._drop = drop
        os.chmod(self.dir, 0o755)
        env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": str(self.dir)}
        self.env = env
        subprocess.run([str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, "--auth=trust",
                        "-E", "UTF8", "--no-sync", "--no-instructions"], check=True, capture_output=True,
                       env=env, preexec_fn=self._drop, cwd=self.dir)
        self.log = open(self.dir / "postgres.log", "wb")
        # a unix socket only (no TCP port), no fsync: a test server, fast and private
        self.proc = subprocess.Popen([str(self.bin / "postgres"), "-D", str(self.data), "-k", str(self.sock),
                                      "-c", "listen_addresses=", "-c", "fsync=off", "-c", "synchronous_commit=off",
                                      "-c", "full_page_writes=off", "-c", "max_connections=50"],
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env, preexec_fn=self._drop,
                                     cwd=self.dir)
        self._wait()

    def _wait(self, timeout: float = 60):
        import psycopg
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(host=str(self.sock), user=self.user, dbname="postgres").close()
                return
            except psycopg.OperationalError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("PostgreSQL did not start: " + (self.dir / "postgres.log").read_text()[-2000:]
                                       if (self.dir / "postgres.log").exists() else "no log")
                time.sleep(0.2)

    def url(self, dbname: str) -> str:
        return f"postgresql://{self.user}@/{dbname}?host={self.sock}"

    def create_database(self, name: str | None = None) -> str:
        """A new, empty database; returns its SQLAlchemy URL."""
        import psycopg
        name = name or "nnbook_" + uuid.uuid4().hex[:10]
        with psycopg.connect(host=str(self.sock), user=self.user, dbname="postgres", autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)          # PostgreSQL's "fast" shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        try:
            self.log.close()
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.dir, ignore_errors=True)
