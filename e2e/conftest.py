"""Fixtures for the end-to-end suite: the real `mfstack` binary, on SQLite and on PostgreSQL."""

import base64
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FLOWS = Path(__file__).resolve().parent / "flows"


def mfstack_bin() -> str:
    return os.environ.get("MFSTACK_BIN", str(ROOT / "target" / "debug" / "mfstack"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_ping(url: str, proc: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mfstack exited early with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/ping", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer /ping within {seconds}s")


class Registry:
    """Debian's docker-registry on a loopback port, with its own storage and access log.

    It asks for the credentials moto's ECR hands out (user AWS, password ACCOUNT-auth-token), as ECR
    asks for its own, so a push goes through the same basic-auth handshake.
    """

    USER, PASSWORD = "AWS", "123456789012-auth-token"

    def __init__(self, tmp: Path):
        exe = shutil.which("docker-registry") or "/usr/bin/docker-registry"
        if not Path(exe).exists():
            raise FileNotFoundError("docker-registry")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        (tmp / "htpasswd").write_text(f"{self.USER}:{bcrypt(self.PASSWORD)}\n")
        (tmp / "config.yml").write_text(json.dumps({
            "version": 0.1,
            "log": {"level": "info", "accesslog": {"disabled": False}},
            "storage": {"filesystem": {"rootdirectory": str(tmp / "storage")}},
            "http": {"addr": f"127.0.0.1:{self.port}"},
            "auth": {"htpasswd": {"realm": "mfstack-test", "path": str(tmp / "htpasswd")}},
        }))
        self.log_path = tmp / "registry.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([exe, "serve", str(tmp / "config.yml")], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{self.url}/v2/", timeout=1)
                break
            except urllib.error.HTTPError as e:
                if e.code == 401:
                    break
                raise
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"docker-registry did not start: {self.log_path.read_text()}")
                time.sleep(0.1)

    def requests(self) -> list[tuple[str, str, int]]:
        """(method, path, status) of every request so far, from the access log."""
        out = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            m = re.search(r'"(GET|HEAD|POST|PUT|PATCH|DELETE) (\S+) HTTP/[\d.]+" (\d+)', line)
            if m:
                out.append((m.group(1), m.group(2), int(m.group(3))))
        return out

    def get(self, path: str, accept: str = "*/*") -> bytes:
        token = base64.b64encode(f"{self.USER}:{self.PASSWORD}".encode()).decode()
        req = urllib.request.Request(f"{self.url}{path}", headers={"Accept": accept,
                                                                  "Authorization": f"Basic {token}"})
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.read()

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)
        self.log.close()


def bcrypt(password: str) -> str:
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt
    return crypt.crypt(password, crypt.mksalt(crypt.METHOD_BLOWFISH))


@pytest.fixture
def registry(tmp_path_factory):
    """A real registry; scripts/test installs Debian's docker-registry, which CI must have."""
    try:
        reg = Registry(tmp_path_factory.mktemp("registry"))
    except FileNotFoundError:
        if os.environ.get("CI"):
            pytest.fail("docker-registry is not installed: scripts/test installs Debian's docker-registry")
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    yield reg
    reg.stop()


def fresh_postgres_db(name: str) -> str:
    base = os.environ["MFSTACK_TEST_POSTGRES_URL"]
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", base, "-q", "-c", sql], check=True, capture_output=True)
    return base.rsplit("/", 1)[0] + "/" + name


class Service:
    """A running `mfstack serve`."""

    def __init__(self, database: str, tmp: Path):
        self.port, self.migration_port = free_port(), free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.database = database
        self.log = open(tmp / "service.log", "wb")
        self.proc = subprocess.Popen(
            [mfstack_bin(), "serve", "--port", str(self.port), "--migration-port", str(self.migration_port),
             "--ui-port", str(free_port()),
             "--database", database, "--data-dir", str(tmp / "data")],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        wait_for_ping(self.url, self.proc)

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=30)
        self.log.close()
        return code


def backends():
    """SQLite always; PostgreSQL when MFSTACK_TEST_POSTGRES_URL is set, which CI must set."""
    out = ["sqlite"]
    if os.environ.get("MFSTACK_TEST_POSTGRES_URL"):
        out.append("postgres")
    elif os.environ.get("CI"):
        raise RuntimeError(
            "CI is set but MFSTACK_TEST_POSTGRES_URL is not: scripts/test starts PostgreSQL and sets it"
        )
    return out


@pytest.fixture(scope="module", params=backends())
def service(request, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"svc-{request.param}")
    if request.param == "sqlite":
        db = f"sqlite://{tmp / 'metadata.db'}"
    else:
        db = fresh_postgres_db(f"e2e_{request.module.__name__.split('.')[-1]}")
    svc = Service(db, tmp)
    svc.backend = request.param
    yield svc
    assert svc.stop() == 0, "mfstack serve should exit 0 on SIGTERM"


class Metaflow:
    """Runs flows and client reads against one service, with a private datastore and config."""

    def __init__(self, service: Service, tmp: Path):
        self.service = service
        self.tmp = tmp
        home = tmp / "mfhome"
        home.mkdir(exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("METAFLOW_")},
            "METAFLOW_HOME": str(home),
            "METAFLOW_DEFAULT_METADATA": "service",
            "METAFLOW_SERVICE_URL": service.url,
            "METAFLOW_DEFAULT_DATASTORE": "local",
            "METAFLOW_DATASTORE_SYSROOT_LOCAL": str(tmp / "ds"),
            "USERNAME": "tester",
            "USER": "tester",
            "PYTHONUNBUFFERED": "1",
        }

    def run(self, flow: str, *args: str, check: bool = True, extra_env=None) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(FLOWS / flow), "--metadata=service", "--datastore=local", "--no-pylint", *args]
        proc = subprocess.run(cmd, env={**self.env, **(extra_env or {})}, capture_output=True, text=True,
                              timeout=900, cwd=self.tmp)
        if check and proc.returncode != 0:
            raise AssertionError(f"{flow} {args} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
        return proc

    def read(self, code: str):
        """Run client-API code that leaves its answer in `out`; returns it."""
        script = "import json\nfrom metaflow import *\nnamespace(None)\n" + code + "\nprint('@@' + json.dumps(out))\n"
        proc = subprocess.run([sys.executable, "-c", script], env=self.env, capture_output=True, text=True,
                              timeout=300, cwd=self.tmp)
        assert proc.returncode == 0, proc.stderr[-4000:]
        line = [l for l in proc.stdout.splitlines() if l.startswith("@@")][-1]
        return json.loads(line[2:])


@pytest.fixture(scope="module")
def metaflow(service, tmp_path_factory):
    return Metaflow(service, tmp_path_factory.mktemp("mf"))
