"""Side by side: upstream's Python metadata service (Netflix/metaflow-service `metadata_service`)
and `mfstack serve`, each on a fresh database of one PostgreSQL server, each seeded the same way
through its API and then driven by wrk with the same scenarios, one service at a time, taking
turns. Prints a table of rates, latencies and CPU, and the ratios against issue 14's targets;
exits 1 on a wrong answer: a non-2xx or short response, a socket error, or stored rows that do not
match what was acknowledged."""

import argparse
import concurrent.futures
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid

import psycopg2

HERE = os.path.dirname(os.path.abspath(__file__))
FLOW = "CompareFlow"
# The sizes: a 1,200-task step to list, a run of 12,000 artifacts. Heartbeats go to a
# step of their own (`--beat-tasks`), large enough that each beat of a run is a real update.
STEP_TASKS = 1200
ARTIFACTS_PER_TASK = 10
SYSTEM_TAGS = ["runtime:dev", "user:bench", "python_version:3.11.9", "metaflow_version:2.19.38"]

# (label, wrk mode, target ratio at 64 connections)
SCENARIOS = [
    ("task create", "task_create", 5),
    ("task heartbeat", "heartbeat", 5),
    ("artifact post (10 rows)", "artifact_post", 10),
    ("metadata post (10 rows)", "metadata_post", 10),
    ("list 1,200 tasks", "list_tasks", 20),
    ("list a run's 12,000 artifacts", "list_artifacts", 20),
]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Database:
    """A database created on the server of `admin_url`, dropped by `drop`."""

    def __init__(self, admin_url, label):
        self.admin_url = admin_url
        self.name = f"mfstack_{label}_{uuid.uuid4().hex[:8]}"
        self._admin(f"CREATE DATABASE {self.name}")
        self.url = urllib.parse.urlsplit(admin_url)._replace(path="/" + self.name).geturl()
        self.conn = psycopg2.connect(self.url)
        self.conn.autocommit = True

    def _admin(self, statement):
        c = psycopg2.connect(self.admin_url)
        c.autocommit = True
        c.cursor().execute(statement)
        c.close()

    def row(self, sql, *args):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()

    def one(self, sql, *args):
        return self.row(sql, *args)[0]

    def execute(self, sql, *args):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)

    def drop(self):
        self.conn.close()
        self._admin(f"DROP DATABASE IF EXISTS {self.name} WITH (FORCE)")


def apply_goose_migrations(db, source):
    """Upstream's schema, as its migration service would apply it: each file's `Up` part, a
    `StatementBegin`..`StatementEnd` block at a time (some create indexes concurrently, which
    cannot share a transaction)."""
    folder = os.path.join(source, "services", "migration_service", "migration_files")
    for name in sorted(os.listdir(folder), key=lambda n: int(n.split("_")[0])):
        up = open(os.path.join(folder, name)).read().split("-- +goose Down")[0]
        for block in re.findall(r"-- \+goose StatementBegin\n(.*?)-- \+goose StatementEnd", up, re.S):
            db.execute(block)


class Service:
    def __init__(self, label, cmd, env, cwd, port, log_dir):
        self.label, self.base = label, f"http://127.0.0.1:{port}"
        self.log = open(os.path.join(log_dir, label + ".log"), "wb")
        # Its own session, so any worker it starts stops with it.
        self.child = subprocess.Popen(
            cmd, env=env, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.time() + 120
        while True:
            if self.child.poll() is not None:
                raise SystemExit(f"{label} exited at start; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.base + "/ping", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                self.stop()
                raise SystemExit(f"{label} did not answer /ping in 120 s; see {self.log.name}")
            time.sleep(0.2)

    def post(self, path, body):
        req = urllib.request.Request(
            self.base + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=60) as r:
            return json.loads(r.read() or b"null")

    def get_bytes(self, path):
        with urllib.request.urlopen(self.base + path, timeout=120) as r:
            return r.read()

    def stop(self):
        try:
            os.killpg(self.child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.child.wait()
        self.log.close()


def start_upstream(source, python, db, log_dir):
    port = free_port()
    u = urllib.parse.urlsplit(db.url)
    env = {
        **os.environ,
        "PYTHONPATH": source,
        "MF_METADATA_DB_HOST": u.hostname or "127.0.0.1",
        "MF_METADATA_DB_PORT": str(u.port or 5432),
        "MF_METADATA_DB_USER": urllib.parse.unquote(u.username or "postgres"),
        "MF_METADATA_DB_PSWD": urllib.parse.unquote(u.password or ""),
        "MF_METADATA_DB_NAME": db.name,
        "MF_METADATA_HOST": "127.0.0.1",
        "MF_METADATA_PORT": str(port),
    }
    cmd = [python, "-m", "services.metadata_service.server"]
    return Service("reference", cmd, env, source, port, log_dir)


def start_mfstack(binary, db, log_dir):
    port = free_port()
    cmd = [binary, "serve", "--database", db.url, "--port", str(port), "--migration-port", str(free_port()),
           "--ui-port", str(free_port())]
    return Service("mfstack", cmd, {**os.environ, "MFSTACK_LOG": "warn"}, log_dir, port, log_dir)


def now_ms():
    return int(time.time() * 1000)


def step_or_task(run, step):
    """The body of a step or task create, as the Metaflow client sends it."""
    return {"flow_id": FLOW, "run_number": run, "step_name": step, "user_name": "bench", "tags": [],
            "system_tags": SYSTEM_TAGS, "ts_epoch": now_ms()}


def new_step(service, run, step):
    service.post(f"/flows/{FLOW}/runs/{run}/steps/{step}/step", step_or_task(run, step))


def new_task(service, run, step):
    return int(service.post(f"/flows/{FLOW}/runs/{run}/steps/{step}/task", step_or_task(run, step))["task_id"])


def seed(args, service, db):
    """The same data through each service's API: a run with a 1,200-task step (listed) and a
    step of `--beat-tasks` tasks (heartbeated; created by wrk, which is faster at it), a run of
    1,200 tasks with 10 artifacts each (listed), and a run with one task that the posts write to.
    Returns the ids the scenarios need."""
    service.post(f"/flows/{FLOW}", {"flow_id": FLOW, "user_name": "bench", "tags": [], "system_tags": [],
                                     "ts_epoch": now_ms()})

    def new_run():
        body = {"flow_id": FLOW, "user_name": "bench", "tags": [], "system_tags": SYSTEM_TAGS, "ts_epoch": now_ms()}
        return str(service.post(f"/flows/{FLOW}/run", body)["run_number"])

    def artifacts(run, step, task):
        items = [{"flow_id": FLOW, "run_number": run, "step_name": step, "task_id": str(task), "attempt_id": 0,
                  "name": f"a{i}", "content_type": "gzip+pickle-v4", "type": "metaflow.artifact",
                  "sha": f"{task:032x}{i:08x}", "ds_type": "local", "location": f"/tmp/metaflow/{task}/{i}",
                  "user_name": "bench", "tags": [], "system_tags": [], "ts_epoch": now_ms()}
                 for i in range(ARTIFACTS_PER_TASK)]
        service.post(f"/flows/{FLOW}/runs/{run}/steps/{step}/tasks/{task}/artifact", items)

    ids = {"list_run": new_run(), "artifact_run": new_run(), "post_run": new_run()}
    new_step(service, ids["list_run"], "wide")
    new_step(service, ids["list_run"], "beat")
    new_step(service, ids["artifact_run"], "fan")
    new_step(service, ids["post_run"], "post")
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        tasks = set(pool.map(lambda _: new_task(service, ids["list_run"], "wide"), range(STEP_TASKS)))
        fan = list(pool.map(lambda _: new_task(service, ids["artifact_run"], "fan"), range(STEP_TASKS)))
        list(pool.map(lambda t: artifacts(ids["artifact_run"], "fan", t), fan))
    if len(tasks) != STEP_TASKS:
        raise SystemExit(f"{service.label}: {len(tasks)} distinct task ids for {STEP_TASKS} tasks")
    ids["post_task"] = new_task(service, ids["post_run"], "post")
    ids["first_task"] = ids["last_task"] = 0

    def beat_tasks():
        return db.row("SELECT min(task_id), max(task_id), count(*) FROM tasks_v3 WHERE flow_id = %s "
                      "AND run_number = %s AND step_name = 'beat'", FLOW, int(ids["list_run"]))

    per_thread = -(-args.beat_tasks // args.threads)
    r = run_wrk(args, service, "seed", ids, 16, "seed", 0, limit=per_thread,
                until=lambda: beat_tasks()[2] >= args.beat_tasks)
    if r["bad"]:
        raise SystemExit(f"{service.label}: {r['bad']} task creates failed while seeding (status {r['bad_status']})")
    lo, hi, n = beat_tasks()
    if n != hi - lo + 1:
        raise SystemExit(f"{service.label}: the beat step's {n} task ids are not consecutive; cannot beat by range")
    ids["first_task"], ids["last_task"] = lo, hi
    return ids


def _stat(pid):
    """utime, stime, cutime, cstime (clock ticks) and parent pid of a process, or None."""
    try:
        fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return [int(f) for f in fields[11:15]], int(fields[1])


def cpu_seconds(pid):
    s = _stat(pid)
    return (s[0][0] + s[0][1]) / os.sysconf("SC_CLK_TCK") if s else 0.0


def postgres_cpu_seconds():
    """CPU of the whole PostgreSQL server: its live processes, plus what its exited children
    (backends, autovacuum workers) left in the postmaster's children's times."""
    total = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if open(f"/proc/{entry}/comm").read().strip() != "postgres":
                continue
        except OSError:
            continue
        s = _stat(entry)
        if s is None:
            continue
        (utime, stime, cutime, cstime), ppid = s
        total += utime + stime
        try:
            parent_is_postgres = open(f"/proc/{ppid}/comm").read().strip() == "postgres"
        except OSError:
            parent_is_postgres = False
        if not parent_is_postgres:
            total += cutime + cstime
    return total / os.sysconf("SC_CLK_TCK")


def run_wrk(args, service, mode, ids, connections, tag, min_bytes, limit=0, until=None):
    task_step = {"task_create": ("post_run", f"create_{tag}"), "heartbeat": ("list_run", "beat"),
                 "seed": ("list_run", "beat"),
                 "list_tasks": ("list_run", "wide"), "list_artifacts": ("artifact_run", "fan")}
    run_key, step = task_step.get(mode, ("post_run", "post"))
    first = limit if mode == "seed" else ids["first_task"]
    script_args = [mode, FLOW, ids[run_key], step, str(ids["post_task"]), str(first),
                   str(ids["last_task"]), tag, str(args.threads), str(min_bytes)]
    duration = 3600 if mode == "seed" else args.duration
    cmd = ["wrk", "-t", str(args.threads), "-c", str(connections), "-d", f"{duration}s", "--timeout", "60s",
           "-s", os.path.join(HERE, "scenario.lua"), service.base, "--", *script_args]
    before_rusage = os.times()
    before_cpu = (cpu_seconds(service.child.pid), postgres_cpu_seconds())
    child = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if until is not None:
        # wrk's own clock ends a run only at its duration: the driver stops it (SIGINT makes it
        # print its summary) once the database holds what the seeding wanted.
        while child.poll() is None and not until():
            time.sleep(0.25)
        child.send_signal(signal.SIGINT)
    stdout, stderr = child.communicate()
    out = subprocess.CompletedProcess(cmd, child.returncode, stdout, stderr)
    after_rusage = os.times()
    service_cpu = cpu_seconds(service.child.pid) - before_cpu[0]
    pg_cpu = postgres_cpu_seconds() - before_cpu[1]
    line = next((l for l in out.stdout.splitlines() if l.startswith("RESULT ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    r = json.loads(line[len("RESULT "):])
    seconds = r["duration_us"] / 1e6
    r["rate"] = r["good"] / seconds
    wrk_cpu = (after_rusage.children_user + after_rusage.children_system
               - before_rusage.children_user - before_rusage.children_system)
    r["cores"] = (service_cpu / seconds, pg_cpu / seconds, wrk_cpu / seconds)
    return r


def settle(service, seconds=300):
    """Wait until the service and PostgreSQL are idle. wrk stops at its duration, but a service
    may still be working through requests it had queued (the reference, for a minute at 64
    slow listings), and that work would land on the next run."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        before = cpu_seconds(service.child.pid) + postgres_cpu_seconds()
        time.sleep(0.5)
        if cpu_seconds(service.child.pid) + postgres_cpu_seconds() - before < 0.05:
            return
    print(f"{service.label} was still busy {seconds} s after its run", file=sys.stderr)


def prepare(db, mode, ids):
    """Before a heartbeat run the beat step's beats are set far back (both services update a beat
    older than the wait time), so each beat is a real update and the driver can count the tasks
    it reached."""
    if mode == "heartbeat":
        db.execute("UPDATE tasks_v3 SET last_heartbeat_ts = 0 WHERE flow_id = %s AND run_number = %s "
                   "AND step_name = 'beat'", FLOW, int(ids["list_run"]))
        # The update leaves a dead row per task; vacuum now rather than during the run.
        db.execute("VACUUM (ANALYZE) tasks_v3")


def check_stored(db, mode, ids, tag, r, connections, atomic):
    """What the database holds against what was acknowledged. Requests still in flight when wrk
    stops may land after it, so up to `connections` more are allowed."""
    good, most = r["good"], r["good"] + connections
    if mode == "task_create":
        n = db.one("SELECT count(*) FROM tasks_v3 WHERE flow_id = %s AND run_number = %s AND step_name = %s",
                   FLOW, int(ids["post_run"]), f"create_{tag}")
        return None if good <= n <= most else f"{n} tasks stored for {good} acknowledged"
    if mode == "heartbeat":
        n = db.one("SELECT count(*) FROM tasks_v3 WHERE flow_id = %s AND run_number = %s AND step_name = 'beat' "
                   "AND last_heartbeat_ts > 0", FLOW, int(ids["list_run"]))
        span = ids["last_task"] - ids["first_task"] + 1
        if good > span:
            return f"{good} beats went round the {span}-task step: raise --beat-tasks"
        return None if good <= n <= most else f"{n} tasks have a new heartbeat after {good} acknowledged beats"
    if mode in ("artifact_post", "metadata_post"):
        table, column = ("artifact_v3", "name") if mode == "artifact_post" else ("metadata_v3", "field_name")
        n = db.one(f"SELECT count(*) FROM {table} WHERE flow_id = %s AND {column} LIKE %s", FLOW, tag + "\\_%")
        if not 10 * good <= n <= 10 * most:
            return f"{n} rows stored for {good} acknowledged batches of 10"
        # mfstack writes a batch in one statement; the reference row by row, so a batch cut off
        # when wrk stops may be stored in part there.
        if atomic and n % 10:
            return f"{n} rows stored: a batch of 10 was stored in part"
        return None
    return None


def listing_sizes(service, ids):
    """Bytes of each listing's answer, checked for its length: each wrk answer must be at least
    as long (less a little, for timestamps of other widths)."""
    tasks = service.get_bytes(f"/flows/{FLOW}/runs/{ids['list_run']}/steps/wide/tasks")
    arts = service.get_bytes(f"/flows/{FLOW}/runs/{ids['artifact_run']}/artifacts")
    for what, body, want in (("tasks", tasks, STEP_TASKS), ("artifacts", arts, STEP_TASKS * ARTIFACTS_PER_TASK)):
        got = len(json.loads(body))
        if got != want:
            raise SystemExit(f"{service.label} listed {got} {what}, not {want}")
    return {"list_tasks": len(tasks) * 9 // 10, "list_artifacts": len(arts) * 9 // 10}


def fmt_rate(r):
    return f"{r:,.0f}" if r >= 100 else f"{r:,.1f}"


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("source", help="a checkout of Netflix/metaflow-service")
    p.add_argument("--mfstack", required=True, help="the mfstack binary (a release build)")
    p.add_argument("--postgres", required=True, help="an admin URL of the PostgreSQL server")
    p.add_argument("--connections", default="16,64")
    p.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    p.add_argument("--threads", type=int, default=2, help="wrk threads")
    p.add_argument("--only", default="", help="scenarios whose label contains this")
    p.add_argument("--keep", action="store_true", help="keep the two databases, to look into them")
    p.add_argument("--beat-tasks", type=int, default=200_000, help="tasks in the heartbeat step")
    args = p.parse_args()
    # So that the services and databases are cleaned up when the driver is stopped.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda n, _: sys.exit(128 + n))
    levels = [int(c) for c in args.connections.split(",")]
    scenarios = [s for s in SCENARIOS if args.only in s[0]]

    work = tempfile.mkdtemp(prefix="mfstack-compare-")
    dbs, services = {}, {}
    failures = []
    try:
        dbs["reference"] = Database(args.postgres, "reference")
        apply_goose_migrations(dbs["reference"], args.source)
        dbs["mfstack"] = Database(args.postgres, "mfstack")
        services["reference"] = start_upstream(args.source, sys.executable, dbs["reference"], work)
        services["mfstack"] = start_mfstack(args.mfstack, dbs["mfstack"], work)
        ids, min_bytes = {}, {}
        for name, service in services.items():
            t0 = time.time()
            ids[name] = seed(args, service, dbs[name])
            min_bytes[name] = listing_sizes(service, ids[name])
            print(f"seeded {name} in {time.time() - t0:.1f} s", file=sys.stderr)

        rows = []
        for label, mode, target in scenarios:
            for c in levels:
                results = {}
                for name in ("reference", "mfstack"):
                    tag = f"c{c}"
                    if mode == "task_create":
                        new_step(services[name], ids[name]["post_run"], f"create_{tag}")
                    prepare(dbs[name], mode, ids[name])
                    settle(services[name])
                    r = run_wrk(args, services[name], mode, ids[name], c, tag, min_bytes[name].get(mode, 0))
                    settle(services[name])
                    wrong = check_stored(dbs[name], mode, ids[name], tag, r, c, atomic=name == "mfstack")
                    for problem in (
                        not r["requests"] and f"no answer within {args.duration} s: raise --duration",
                        r["bad"] and f"{r['bad']} answers not 2xx or too short (last status {r['bad_status']})",
                        r["socket_errors"] and f"{r['socket_errors']} socket errors",
                        r["timeouts"] and f"{r['timeouts']} timeouts",
                        wrong,
                    ):
                        if problem:
                            failures.append(f"{name}, {label} at {c}: {problem}")
                    results[name] = r
                    print(f"  {name:9} {label} at {c}: {r['rate']:.1f}/s", file=sys.stderr)
                rows.append((label, c, target, results))
        print_table(rows)
    finally:
        for s in services.values():
            s.stop()
        for d in dbs.values():
            if args.keep:
                print(f"kept database {d.name}", file=sys.stderr)
            else:
                d.drop()
    if failures:
        print("\nWrong answers:\n" + "\n".join("- " + f for f in failures))
        print(f"service logs: {work}")
        return 1
    return 0


def print_table(rows):
    print("| scenario | connections | reference req/s | p50 / p99 ms | mfstack req/s | p50 / p99 ms "
          "| mfstack / reference | target at 64 | CPU cores: reference, its PostgreSQL, wrk "
          "| CPU cores: mfstack, its PostgreSQL, wrk |")
    print("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for label, c, target, res in rows:
        ref, mf = res["reference"], res["mfstack"]
        ratio = mf["rate"] / ref["rate"] if ref["rate"] else float("inf")
        verdict = f"≥ {target}× {'met' if ratio >= target else 'missed'}" if c == 64 else ""

        def lat(r):
            return f"{r['p50_us'] / 1000:.1f} / {r['p99_us'] / 1000:.1f}"

        def cores(r):
            return ", ".join(f"{x:.2f}" for x in r["cores"])

        print(f"| {label} | {c} | {fmt_rate(ref['rate'])} | {lat(ref)} | {fmt_rate(mf['rate'])} | {lat(mf)} "
              f"| {ratio:.1f}× | {verdict} | {cores(ref)} | {cores(mf)} |")


if __name__ == "__main__":
    sys.exit(main())
