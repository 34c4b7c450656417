"""Where two JSON answers differ, and which differences are expected."""

import re

MISSING = "<missing>"


def differences(a, b, path="$"):
    """Every (path, upstream value, mfstack value) where `a` and `b` differ, in document order."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in list(a) + [k for k in b if k not in a]:
            out += differences(a.get(key, MISSING), b.get(key, MISSING), f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        out = []
        for i in range(max(len(a), len(b))):
            out += differences(a[i] if i < len(a) else MISSING, b[i] if i < len(b) else MISSING, f"{path}[{i}]")
        return out
    # JSON has one number type: 1 and 1.0 are the same value.
    if a == b and type(a) is type(b) or (_number(a) and _number(b) and a == b):
        return []
    return [(path, a, b)]


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


class Expected:
    """A difference we know of and accept: on routes matching `route`, at paths matching `path`,
    when `accept(upstream, mfstack)` holds."""

    def __init__(self, route, path, reason, accept=lambda a, b: True):
        self.route, self.path = re.compile(route), re.compile(path)
        self.reason, self.accept = reason, accept

    def covers(self, route, diff):
        path, a, b = diff
        return bool(self.route.search(route) and self.path.fullmatch(path) and self.accept(a, b))


def verdict(route, diffs, expected):
    """("same" | "expected difference" | "DIFFERENT", the first unexpected path or the reasons)."""
    reasons, unexpected = [], []
    for d in diffs:
        rule = next((e for e in expected if e.covers(route, d)), None)
        if rule is None:
            unexpected.append(d)
        elif rule.reason not in reasons:
            reasons.append(rule.reason)
    if unexpected:
        return "DIFFERENT", unexpected
    if reasons:
        return "expected difference", reasons
    return "same", []


def within(ms):
    """Two numbers (or nulls) at most `ms` apart: values computed from "now" at request time."""
    return lambda a, b: a is None and b is None or _number(a) and _number(b) and abs(a - b) <= ms


def without_origin(value, origin):
    """`value` with `origin` (scheme, host and port of a backend) taken out of every string, so
    links of two backends on two ports compare equal."""
    if isinstance(value, dict):
        return {k: without_origin(v, origin) for k, v in value.items()}
    if isinstance(value, list):
        return [without_origin(v, origin) for v in value]
    if isinstance(value, str):
        return value.replace(origin, "")
    return value
