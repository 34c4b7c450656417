"""The differences between upstream's UI backend and mfstack that are known and accepted, each with
its reason, and the listings whose order neither side promises."""

import re

from jsondiff import MISSING, Expected, within

EVERY_ROW = r"\$\.data(\[\d+\])?"

EXPECTED = [
    Expected(r"^/version$", r"\$", "each backend reports its own version"),
    Expected(
        r"^/runs\?|^/flows/FailFlow/runs/\d+$",
        EVERY_ROW + r"\.(status|finished_at)",
        "a run that died in a middle step: upstream says running for 6 minutes, mfstack failed (README)",
        lambda a, b: a in ("running", None) and b in ("failed",) or a is None and isinstance(b, int),
    ),
    Expected(
        r"/runs/\d+/metadata\?step_name=start$",
        r"\$\.data\[\d+\]\..*",
        "no _order, 10 rows: which of the start step's metadata rows come first is unspecified (feeds plugins only)",
    ),
    Expected(
        r"/cards$",
        r"\$\.data\[\d+\]\.hash",
        "a card's hash is a key each backend reads back: upstream uses metaflow's card uuid, mfstack the file name's hash (spec 7)",
    ),
    Expected(
        r"/tasks\?|/attempts\?",
        EVERY_ROW + r"\.attempt_ok",
        "spec 6 lists attempt_ok on task attempts; upstream leaves it out",
        lambda a, b: a is MISSING,
    ),
    Expected(
        r"/metadata\?",
        EVERY_ROW + r"\.(tags|system_tags)(\[\d+\])?",
        "spec 3: metadata rows carry the run's tags; upstream gives the row's own (attempt_id:N)",
    ),
    Expected(
        r"/cards$",
        r"\$\.(status|links|pages|query)",
        "spec 2: every JSON answer has the envelope; upstream's empty card list is bare {data: []}",
        lambda a, b: a is MISSING,
    ),
    Expected(
        r"/artifacts\?.*postprocess=true",
        EVERY_ROW + r"\.(postprocess_error|content)",
        "upstream cannot read these artifacts (TypeError in metaflow's get_artifact_sizes); mfstack renders them",
        lambda a, b: a is MISSING or isinstance(a, dict) and a.get("id") == "TypeError" and b is MISSING,
    ),
    Expected(
        r"/artifacts\?ds_type=local&_limit=1$",
        r"\$\.data\[0\]\.(?!ds_type$).*",
        "no _order: which local artifact comes first is unspecified; the UI only checks that one exists",
    ),
    Expected(
        r"/(steps|tasks|attempts)\b|^/runs\?|/runs/\d+$",
        EVERY_ROW + r"\.duration",
        "duration of a live row is now - start, taken at two request times",
        within(5000),
    ),
]

# Listings whose row order neither backend promises, compared as sets of rows sorted by these keys.
UNORDERED = [
    (
        re.compile(r"/metadata\?(?!.*_order)"),
        ("id",),
        "no _order: the row order of metadata is unspecified (the UI sorts), rows compared as a set",
    ),
    (
        re.compile(r"/artifacts\?(?!.*_order)(?!ds_type)"),
        ("attempt_id", "name", "step_name", "task_id"),
        "no _order: the row order of artifacts is unspecified (the UI sorts), rows compared as a set",
    ),
    (
        re.compile(r"/tasks\?_order=%2Bts_epoch"),
        ("ts_epoch", "task_id", "attempt_id"),
        "attempts of one task share ts_epoch and upstream sets no tiebreak, rows compared as a set",
    ),
]


def unordered(route):
    """(sort keys, reason) when `route` lists rows in no promised order, else None."""
    return next(((keys, reason) for pattern, keys, reason in UNORDERED if pattern.search(route)), None)
