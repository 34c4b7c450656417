"""A fresh PostgreSQL database, `mfstack serve` over it with real flows run against it, and
upstream's UI backend (Netflix/metaflow-service `ui_backend_service`) over the same database and
local datastore."""

import os
import signal
import subprocess
import sys
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "metaflow-ui"))
from webdriver import free_port, wait_until  # noqa: E402

FLOWS = os.path.join(HERE, "..", "metaflow-ui", "flows")


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


class Database:
    """A database created on the server of `admin_url` and dropped by `drop`, through psycopg2 in
    `python` (upstream's requirements install it)."""

    def __init__(self, admin_url, python):
        self.python, self.admin_url = python, admin_url
        self.name = "mfstack_compare_" + uuid.uuid4().hex[:8]
        self._sql(f"CREATE DATABASE {self.name}")
        self.url = urllib.parse.urlsplit(admin_url)._replace(path="/" + self.name).geturl()

    def _sql(self, statement):
        code = (
            "import psycopg2, sys\n"
            "c = psycopg2.connect(sys.argv[1]); c.autocommit = True\n"
            "c.cursor().execute(sys.argv[2])\n"
        )
        subprocess.run([self.python, "-c", code, self.admin_url, statement], check=True)

    def drop(self):
        self._sql(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")

    def upstream_env(self):
        u = urllib.parse.urlsplit(self.url)
        return {
            "MF_METADATA_DB_HOST": u.hostname or "127.0.0.1",
            "MF_METADATA_DB_PORT": str(u.port or 5432),
            "MF_METADATA_DB_USER": urllib.parse.unquote(u.username or "postgres"),
            "MF_METADATA_DB_PSWD": urllib.parse.unquote(u.password or ""),
            "MF_METADATA_DB_NAME": self.name,
        }


class Process:
    def __init__(self, name, cmd, env, log_dir, cwd=None):
        self.name = name
        self.log = open(os.path.join(log_dir, name + ".log"), "wb")
        # Its own session, so every child (upstream's cache workers) stops with it.
        self.child = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def wait_for(self, url, seconds):
        def up():
            if self.child.poll() is not None:
                raise RuntimeError(f"{self.name} exited; see {self.log.name}")
            return _answers(url)

        try:
            if not wait_until(up, seconds):
                raise RuntimeError(f"{self.name} did not answer {url} in {seconds} s; see {self.log.name}")
        except RuntimeError:
            self.stop()
            raise

    def stop(self):
        # Upstream's SIGTERM handler only logs, so its session is killed.
        try:
            os.killpg(self.child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.child.wait()
        self.log.close()


def common_env(work_dir):
    env = {**os.environ, "METAFLOW_DATASTORE_SYSROOT_LOCAL": work_dir, "FEATURE_ARTIFACT_TABLE": "1"}
    env.pop("METAFLOW_PROFILE", None)
    return env


def start_mfstack(binary, database, work_dir):
    api, ui = free_port(), free_port()
    cmd = [binary, "serve", "--database", database.url, "--port", str(api),
           "--migration-port", str(free_port()), "--ui-port", str(ui)]
    p = Process("mfstack", cmd, {**common_env(work_dir), "MFSTACK_LOG": "warn"}, work_dir)
    p.service, p.base = f"http://127.0.0.1:{api}", f"http://127.0.0.1:{ui}"
    p.wait_for(p.service + "/ping", 60)
    p.wait_for(p.base + "/api/ping", 60)
    return p


def start_upstream(source, python, database, work_dir):
    port = free_port()
    env = {
        **common_env(work_dir),
        **database.upstream_env(),
        "PYTHONPATH": source,
        "PATH_PREFIX": "/api",
        "MF_UI_METADATA_HOST": "127.0.0.1",
        "MF_UI_METADATA_PORT": str(port),
        "UI_ENABLED": "0",
        "METAFLOW_DEFAULT_DATASTORE": "local",
        # Leave mfstack's database as it is: no upstream triggers.
        "DB_TRIGGER_CREATE": "0",
        # The Metaflow client's cache, shared in /tmp by default, stays with this run.
        "METAFLOW_CLIENT_CACHE_PATH": os.path.join(work_dir, "metaflow_client"),
    }
    p = Process("upstream", [python, "-m", "services.ui_backend_service.ui_server"], env, work_dir, cwd=work_dir)
    p.base = f"http://127.0.0.1:{port}"
    p.wait_for(p.base + "/api/ping", 300)
    return p


def run_flow(python, service, work_dir, name, *args):
    env = {
        **common_env(work_dir),
        "METAFLOW_SERVICE_URL": service,
        "METAFLOW_DEFAULT_METADATA": "service",
        "METAFLOW_DEFAULT_DATASTORE": "local",
        "METAFLOW_HOME": work_dir,
        "METAFLOW_USER": "checker",
        "USERNAME": "checker",
    }
    cmd = [python, os.path.join(FLOWS, name), "--metadata=service", "--datastore=local", "run", *args]
    with open(os.path.join(work_dir, name + ".log"), "ab") as out:
        code = subprocess.run(cmd, env=env, cwd=work_dir, stdout=out, stderr=subprocess.STDOUT).returncode
    print(f"  {name} {' '.join(args)}: exit {code}", file=sys.stderr)
    return code
