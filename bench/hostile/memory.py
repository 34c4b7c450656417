#!/usr/bin/env python3
"""Memory under hostile and big requests, for one or more `mfstack` binaries side by side.

For each binary and engine it starts `mfstack serve` on free loopback ports and measures the server
process from /proc/PID/status:

- idle RSS after start;
- peak RSS (VmHWM, reset through /proc/PID/clear_refs) while one 16 MiB body of `[{},{},...]` is
  posted to a task's artifact route, then to its metadata route, and the status each got;
- RSS a few seconds after listing a run's 50,000 artifacts (legacy listing), and the listing's peak.

The first binary is the baseline; later ones are reported as ratios against it. Usage:

    bench/hostile/memory.py [--postgres-url URL] BIN [BIN ...]

Standard library only. Prints a Markdown table.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

BODY_MIB = 16
ARTIFACTS = 50_000
SETTLE_SECONDS = 3
# Listings at once, as a UI and several clients would.
LISTINGS_IN_FLIGHT = 8
# A server past this is stopped, so a runaway baseline cannot take the machine down with it.
RSS_CAP_MIB = 4096


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def status_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def reset_peak(pid):
    with open(f"/proc/{pid}/clear_refs", "w") as f:
        f.write("5")


def call(base, method, path, body=None, timeout=120):
    data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
    req = urllib.request.Request(base + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as e:
        return f"no answer ({e.__class__.__name__})", b""


class Server:
    def __init__(self, binary, database):
        self.port, self.mig = free_port(), free_port()
        env = dict(os.environ, MFSTACK_LOG="warn")
        self.proc = subprocess.Popen(
            [binary, "serve", "--database", database, "--port", str(self.port),
             "--migration-port", str(self.mig)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 60
        while time.time() < deadline:
            if call(self.base, "GET", "/ping", timeout=2)[0] == 200:
                return
            time.sleep(0.05)
        raise RuntimeError(f"{binary} serve did not answer /ping")

    def rss_mib(self, field="VmRSS"):
        return status_kib(self.proc.pid, field) / 1024

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        self.proc.kill()
        self.proc.wait()


def seed_task(s):
    assert call(s.base, "POST", "/flows/F", {})[0] == 200
    status, body = call(s.base, "POST", "/flows/F/run", {"user_name": "u"})
    run = json.loads(body)["run_number"]
    call(s.base, "POST", f"/flows/F/runs/{run}/steps/s/step", {"user_name": "u"})
    status, body = call(s.base, "POST", f"/flows/F/runs/{run}/steps/s/task", {"user_name": "u"})
    task = json.loads(body)["task_id"]
    return run, f"/flows/F/runs/{run}/steps/s/tasks/{task}"


def hostile_post(s, path):
    body = b"[" + b",".join([b"{}"] * (BODY_MIB * 1024 * 1024 // 3 - 1)) + b"]"
    reset_peak(s.proc.pid)
    before = s.rss_mib()
    started = time.time()
    answer = {}
    t = threading.Thread(target=lambda: answer.update(status=call(s.base, "POST", path, body, 60)[0]))
    t.start()
    peak = 0.0
    while t.is_alive():
        if not s.alive():
            break
        peak = max(peak, s.rss_mib())
        if peak > RSS_CAP_MIB:
            s.stop()
            t.join()
            return f"stopped past {RSS_CAP_MIB:,} MiB", peak - before, time.time() - started
        time.sleep(0.05)
    t.join()
    took = time.time() - started
    grew = (s.rss_mib("VmHWM") if s.alive() else peak) - before
    return answer.get("status"), grew, took


def big_listing(s, run, task_path):
    batch = [{"name": f"a{i}", "location": f"/data/a{i}", "ds_type": "local", "sha": "x" * 40,
              "type": "metaflow.artifact", "content_type": "gzip+pickle-v2", "attempt_id": 0,
              "user_name": "u"} for i in range(10_000)]
    for n in range(ARTIFACTS // len(batch)):
        for a in batch:
            a["name"] = a["name"].split("_")[0] + f"_{n}"
        status, _ = call(s.base, "POST", task_path + "/artifact", batch)
        if status != 200:
            return f"seeding answered {status}", 0, 0
    reset_peak(s.proc.pid)
    answers = []

    def listing():
        status, body = call(s.base, "GET", f"/flows/F/runs/{run}/artifacts")
        answers.append(len(json.loads(body)) if status == 200 else f"status {status}")

    threads = [threading.Thread(target=listing) for _ in range(LISTINGS_IN_FLIGHT)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    rows = "/".join(sorted({str(a) for a in answers}))
    peak = s.rss_mib("VmHWM")
    time.sleep(SETTLE_SECONDS)
    return rows, peak, s.rss_mib()


def measure(binary, fresh_database):
    """Each phase on a fresh server and database, so one that kills the server spoils no other."""
    out = {}
    for phase in ("artifact", "metadata", "listing"):
        s = Server(binary, fresh_database())
        try:
            out.setdefault("idle", s.rss_mib())
            run, task_path = seed_task(s)
            if phase == "listing":
                out[phase] = big_listing(s, run, task_path)
            else:
                status, grew, took = hostile_post(s, f"{task_path}/{phase}")
                out[phase] = (status, grew, took, s.alive())
        finally:
            s.stop()
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--postgres-url", default=os.environ.get("MFSTACK_TEST_POSTGRES_URL"))
    ap.add_argument("binaries", nargs="+")
    args = ap.parse_args()
    engines = ["sqlite"] + (["postgres"] if args.postgres_url else [])
    print(f"| binary | engine | idle RSS | 16 MiB `[{{}},…]` → artifacts: status, peak growth, time "
          f"| → metadata | {LISTINGS_IN_FLIGHT} × 50,000-artifact listing: rows, peak "
          f"| RSS {SETTLE_SECONDS} s later |")
    print("|---|---|--:|---|---|---|--:|")
    for i, binary in enumerate(args.binaries):
        for engine in engines:
            with tempfile.TemporaryDirectory() as tmp:
                made = []

                def fresh_database():
                    made.append(len(made))
                    if engine == "sqlite":
                        return f"sqlite://{tmp}/m{len(made)}.db"
                    return fresh_postgres(args.postgres_url, f"hostile_{i}_{len(made)}")

                r = measure(binary, fresh_database)

            def post(route):
                if route not in r:
                    return "—"
                status, grew, took, alive = r[route]
                dead = "" if alive else ", **server died**"
                return f"{status}, {grew:,.0f} MiB, {took:.1f} s{dead}"

            rows, peak, after = r.get("listing", ("—", 0, 0))
            print(f"| `{binary}` | {engine} | {r['idle']:.1f} MiB | {post('artifact')} | "
                  f"{post('metadata')} | {rows}, {peak:,.0f} MiB | {after:,.1f} MiB |")
            sys.stdout.flush()


def fresh_postgres(base, name):
    """A new empty database on the server of `base`, through psql."""
    for sql in (f"DROP DATABASE IF EXISTS {name} WITH (FORCE)", f"CREATE DATABASE {name}"):
        subprocess.run(["psql", base, "-q", "-c", sql], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
    return base.rsplit("/", 1)[0] + "/" + name


if __name__ == "__main__":
    main()
