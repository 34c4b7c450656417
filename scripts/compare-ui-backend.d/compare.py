"""Compare mfstack's UI API with upstream's UI backend on the same PostgreSQL database and local
datastore: every request of spec ui-api.md section 10, with the ids of real runs. Prints a table
(route, upstream status, mfstack status, verdict) and exits 1 on any difference not listed in
expected.py."""

import argparse
import json
import os
import shutil
import sys
import tempfile

from backends import Database, run_flow, start_mfstack, start_upstream, wait_until
from expected import EXPECTED, unordered
from jsondiff import differences, verdict, without_origin
from routes import all_routes, fetch

def parse_args():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("upstream_source", help="a checkout of Netflix/metaflow-service")
    p.add_argument("--upstream-python", required=True, help="a Python with ui_backend_service's requirements")
    p.add_argument("--mfstack", required=True, help="the mfstack binary")
    p.add_argument("--python", required=True, help="a Python with metaflow, to run the flows")
    p.add_argument("--postgres", required=True, help="URL of a PostgreSQL server to create a database on")
    p.add_argument("--keep", action="store_true", help="keep the work directory and database")
    p.add_argument("--details", type=int, default=5, help="unexpected differences shown per route")
    return p.parse_args()


def row_keys(body, keys):
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    return [json.dumps([r.get(k) for k in keys], default=str) for r in body["data"]]


def sorted_rows(body, keys):
    order = row_keys(body, keys)
    if order is None:
        return body
    return {**body, "data": [r for _, r in sorted(zip(order, body["data"]), key=lambda p: p[0])]}


def compare(route, upstream, mfstack):
    """(upstream status, mfstack status, verdict, detail lines) of one route; mfstack is asked
    first, since upstream's log reader moves log files out of a local datastore."""
    mf_status, mf = fetch(mfstack.base + "/api", route)
    up_status, up = fetch(upstream.base + "/api", route)
    up, mf = without_origin(up, upstream.base), without_origin(mf, mfstack.base)
    diffs = differences(up, mf)
    extra = []
    loose = unordered(route)
    if loose and diffs:
        keys, reason = loose
        diffs = differences(sorted_rows(up, keys), sorted_rows(mf, keys))
        if row_keys(up, keys) != row_keys(mf, keys):
            extra = [reason]
    if up_status != mf_status:
        diffs.insert(0, ("status", up_status, mf_status))
    word, detail = verdict(route, diffs, EXPECTED)
    if word == "same" and extra:
        word = "expected difference"
    if word != "DIFFERENT":
        detail = extra + detail
    return up_status, mf_status, word, detail


def table(results, details):
    width = max(len(r[0]) for r in results)
    lines = [f"{'route'.ljust(width)}  upstream  mfstack  verdict", "-" * (width + 36)]
    for route, up, mf, word, detail in results:
        first = ""
        if word == "DIFFERENT":
            first = f" at {detail[0][0]}"
        lines.append(f"{route.ljust(width)}  {str(up).ljust(8)}  {str(mf).ljust(7)}  {word}{first}")
    reasons = {}
    for route, _, _, word, detail in results:
        if word == "expected difference":
            for reason in detail:
                reasons.setdefault(reason, 0)
                reasons[reason] += 1
    if reasons:
        lines += ["", "expected differences (routes):"]
        lines += [f"  {n:3}  {reason}" for reason, n in reasons.items()]
    unexpected = [r for r in results if r[3] == "DIFFERENT"]
    for route, _, _, _, detail in unexpected:
        lines += ["", f"DIFFERENT {route}"]
        for path, a, b in detail[:details]:
            lines.append(f"  {path}\n    upstream: {json.dumps(a)[:300]}\n    mfstack:  {json.dumps(b)[:300]}")
    return lines, not unexpected


def settle_failed_run(mfstack):
    """Wait until mfstack calls the failed run failed (its heartbeat 30 s old), so the table does
    not depend on how fast the routes were asked."""
    _, runs = fetch(mfstack.base + "/api", "/flows/FailFlow/runs?_order=-ts_epoch&_limit=1")
    path = f"/flows/FailFlow/runs/{runs['data'][0]['run_number']}"
    if not wait_until(lambda: fetch(mfstack.base + "/api", path)[1]["data"]["status"] == "failed", 90, 1):
        raise RuntimeError(f"mfstack did not call {path} failed within 90 s")


def main():
    args = parse_args()
    work = tempfile.mkdtemp(prefix="compare-ui-backend-")
    database = Database(args.postgres, args.upstream_python)
    started, finished = [], False
    try:
        mfstack = start_mfstack(args.mfstack, database, work)
        started.append(mfstack)
        run_flow(args.python, mfstack.service, work, "ui_flow.py", "--alpha", "5")
        run_flow(args.python, mfstack.service, work, "fail_flow.py")
        settle_failed_run(mfstack)
        upstream = start_upstream(os.path.abspath(args.upstream_source), args.upstream_python, database, work)
        started.append(upstream)
        _, runs = fetch(mfstack.base + "/api", "/runs?_order=-ts_epoch&_limit=30")
        pairs = [(r["flow_id"], r["run_number"]) for r in runs["data"]]
        results = [(route, *compare(route, upstream, mfstack)) for route in all_routes(mfstack.base + "/api", pairs)]
        lines, ok = table(results, args.details)
        print("\n".join(lines))
        print(f"\n{len(results)} routes; work directory {work}" + ("" if args.keep else " (removed)"))
        finished = True
        return 0 if ok else 1
    finally:
        for process in reversed(started):
            process.stop()
        if not args.keep:
            database.drop()
        # The logs of a run that broke off are what is left to read.
        if args.keep or not finished:
            print(f"work directory kept: {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
