"""The section-10 requests of spec ui-api.md with the ids of real runs, steps and tasks."""

import json
import time
import urllib.error
import urllib.request


def fetch(base, path):
    """(status, parsed JSON or text) of GET base + path."""
    try:
        with urllib.request.urlopen(base + path, timeout=60) as r:
            status, kind, body = r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        status, kind, body = e.code, e.headers.get("Content-Type", ""), e.read()
    if "json" in kind:
        try:
            return status, json.loads(body)
        except ValueError:
            pass
    return status, body.decode("utf-8", "replace")


def admin_routes():
    now = int(time.time() * 1000)
    return [
        "/features",
        "/version",
        "/plugin",
        "/links",
        f"/notifications?start:le={now}&end:ge={now}",
        "/runs?_order=-ts_epoch&_limit=30&_group_limit=31&_page=1",
    ]


def run_routes(flow, run):
    r = f"/flows/{flow}/runs/{run}"
    return [
        r,
        f"{r}/metadata?step_name=start",
        f"{r}/parameters",
        f"{r}/artifacts?ds_type=local&_limit=1",
        f"{r}/dag",
        f"{r}/steps?_order=%2Bts_epoch&_limit=1000",
        f"{r}/tasks?_order=%2Bts_epoch&_limit=1000&postprocess=false",
        f"/flows/{flow}/runs/autocomplete?_limit=5&run%3Aco={str(run)[:1]}",
    ]


def task_routes(flow, run, step, task, attempt):
    t = f"/flows/{flow}/runs/{run}/steps/{step}/tasks/{task}"
    return [
        f"{t}/attempts?postprocess=true",
        f"{t}/metadata?_limit=100&attempt_id={attempt}",
        f"{t}/metadata?_limit=100&attempt_id%3Ais=null",
        f"{t}/logs/out?attempt_id={attempt}&_limit=1000&_page=1&_order=-row",
        f"{t}/logs/err?attempt_id={attempt}&_limit=1000&_page=1&_order=-row",
        f"{t}/artifacts?attempt_id={attempt}&postprocess=true&_limit=50",
        f"{t}/cards",
    ]


def all_routes(base, runs):
    """Every section-10 request for `runs` [(flow, run)], one task per step and every attempt of it,
    with the ids read from the backend at `base`."""
    routes = admin_routes()
    for flow, run in runs:
        routes += run_routes(flow, run)
        _, tasks = fetch(base, f"/flows/{flow}/runs/{run}/tasks?_order=%2Bts_epoch&_limit=1000")
        seen = set()
        for t in tasks["data"]:
            if t["step_name"] in seen and (t["step_name"], t["task_id"]) not in seen:
                continue
            seen |= {t["step_name"], (t["step_name"], t["task_id"])}
            routes += task_routes(flow, run, t["step_name"], t["task_id"], t["attempt_id"])
    return list(dict.fromkeys(routes))
