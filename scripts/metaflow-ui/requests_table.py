"""The requests an unmodified metaflow-ui build makes, page by page (spec ui-api.md section 10),
matched against what the browser actually requested."""

import re
import urllib.parse
from collections import Counter

# Section 10, unencoded. F, R, S, T stand for path segments; `*` for any value.
SECTION_10 = [
    "/api/features",
    "/api/version",
    "/api/plugin",
    "/api/links",
    "/api/notifications?start:le=*&end:ge=*",
    "/api/runs?_order=-ts_epoch&_limit=30&_group_limit=31&_page=1",
    "/api/flows/F/runs/R",
    "/api/flows/F/runs/R/metadata?step_name=start",
    "/api/flows/F/runs/R/parameters",
    "/api/flows/F/runs/R/artifacts?ds_type=local&_limit=1",
    "/api/flows/F/runs/R/dag",
    "/api/flows/F/runs/R/steps?_order=+ts_epoch&_limit=1000",
    "/api/flows/F/runs/R/tasks?_order=+ts_epoch&_limit=1000&postprocess=false",
    "/api/flows/F/runs/autocomplete?_limit=5&run:co=*",
    "/api/flows/F/runs/R/steps/S/tasks/T/attempts?postprocess=true",
    "/api/flows/F/runs/R/steps/S/tasks/T/metadata?_limit=100&attempt_id=*",
    "/api/flows/F/runs/R/steps/S/tasks/T/metadata?_limit=100&attempt_id:is=null",
    "/api/flows/F/runs/R/steps/S/tasks/T/logs/out?attempt_id=*&_limit=1000&_page=1&_order=-row",
    "/api/flows/F/runs/R/steps/S/tasks/T/logs/err?attempt_id=*&_limit=1000&_page=1&_order=-row",
    "/api/flows/F/runs/R/steps/S/tasks/T/artifacts?attempt_id=*&postprocess=true&_limit=50",
    "/api/flows/F/runs/R/steps/S/tasks/T/cards",
    "/api/ws",
]


class Pattern:
    def __init__(self, line):
        self.line = line
        path, _, query = line.partition("?")
        segments = ["[^/]+" if s in ("F", "R", "S", "T") else re.escape(s) for s in path.split("/")]
        self.path = re.compile("/".join(segments))
        self.query = dict(p.split("=", 1) for p in query.split("&")) if query else {}

    def matches(self, path, query):
        if not self.path.fullmatch(path) or set(query) != set(self.query):
            return False
        return all(want in ("*", query[k]) for k, want in self.query.items())


def split(url):
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.unquote(parts.path), dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))


def answer(request):
    if request["status"] is not None:
        return str(request["status"])
    return request["error"] or "no answer"


def ok(request):
    return request["status"] is not None and (200 <= request["status"] < 300 or request["status"] == 101)


def api_requests(requests):
    return [r for r in requests if split(r["url"])[0].startswith("/api/") or split(r["url"])[0] == "/api"]


def table(requests):
    """Lines of the section-10 table, the API requests outside it, and whether all is well."""
    patterns = [Pattern(line) for line in SECTION_10]
    seen = {p.line: Counter() for p in patterns}
    others = Counter()
    for r in api_requests(requests):
        path, query = split(r["url"])
        hit = next((p for p in patterns if p.matches(path, query)), None)
        (seen[hit.line] if hit else others)[(path if not hit else "", answer(r))] += 1
    width = max(len(p.line) for p in patterns)
    lines = [f"{'request (spec ui-api.md section 10)'.ljust(width)}  answers", f"{'-' * width}  -------"]
    healthy = True
    for p in patterns:
        counts = seen[p.line]
        text = ", ".join(f"{status} x{n}" for (_, status), n in sorted(counts.items())) or "not requested"
        healthy &= all(status in ("101",) or status.startswith("2") for (_, status) in counts)
        lines.append(f"{p.line.ljust(width)}  {text}")
    if others:
        lines += ["", "other API requests:"]
        for (path, status), n in sorted(others.items()):
            lines.append(f"  {path}  {status} x{n}")
            healthy &= status.startswith("2")
    missing = [p.line for p in patterns if not seen[p.line]]
    return lines, healthy, missing


def failures(requests):
    """Every request, API or not, answered non-2xx or not at all."""
    return [r for r in requests if not ok(r)]
