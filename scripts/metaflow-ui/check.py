"""Drive an unmodified metaflow-ui build in headless Chromium against `mfstack serve --ui-dir`.

Runs real flows (a foreach with parameters, a `@card` step, `@retry`, stdout and stderr, a failing
step), visits the runs list, run pages (DAG, timeline, parameters) and task pages (logs, artifacts,
cards), watches a live run appear, checks the connection indicator, keeps a screenshot of each
page, and prints every API request the pages made against the list in spec ui-api.md section 10.
Exits 1 when a request was answered non-2xx or a page shows an error.
"""

import argparse
import os
import shutil
import sys
import tempfile
import time

from requests_table import failures, table
from stack import Stack
from webdriver import Browser, Requests, wait_until

# What metaflow-ui's English strings say when something went wrong.
ERROR_PHRASES = [
    "An error occurred",
    "Error loading data",
    "encountered an unexpected error",
    "Problem loading run parameters",
    "There was a problem loading logs",
    "Error: loading cards",
    "Timeout: loading cards",
    "DAG visualization is not available",
    "DAG was found but something went wrong",
    "Failed to load metadata",
    "There was a problem accessing data",
    "Artifact not currently displayable",
    "Waiting for connection",
]


class Visit:
    def __init__(self, browser, requests, ui, shots):
        self.browser, self.requests, self.ui, self.shots = browser, requests, ui, shots
        self.pages = []
        self.problem = None  # set by an `after` check; reported with the page

    def settle(self, quiet=2.0, timeout=30):
        """Wait until no new request has started for `quiet` seconds."""
        last, count = time.monotonic(), len(self.requests.all())
        deadline = last + timeout
        while time.monotonic() < deadline:
            time.sleep(0.5)
            self.requests.read(self.browser)
            now = len(self.requests.all())
            if now != count:
                last, count = time.monotonic(), now
            elif time.monotonic() - last >= quiet:
                return

    def page(self, name, path, expect=(), before=None, after=None):
        """Open `path`, run `before` once it has settled, wait for each text in `expect`, run
        `after`, screenshot, note errors."""
        self.browser.open(self.ui + path)
        if before:
            self.settle()
            before()
        return self.here(name, path, expect, after)

    def here(self, name, path, expect=(), after=None):
        missing = [t for t in expect if not wait_until(lambda t=t: t in self.browser.text(), 30)]
        if after:
            after()
        self.settle()
        text = self.browser.text()
        errors = [p for p in ERROR_PHRASES if p in text] + ([self.problem] if self.problem else [])
        self.problem = None
        connected = self.browser.count('[data-testid="Connected"]') > 0
        shot = os.path.join(self.shots, f"{len(self.pages) + 1:02d}-{name}.png")
        self.browser.screenshot(shot)
        self.pages.append({"name": name, "path": path, "missing": missing, "errors": errors,
                           "connected": connected, "shot": shot})
        return text


def card_shows(visit):
    """The card's HTML is in its iframe (same origin, so its text is readable)."""
    read = (
        "const f = document.querySelector('iframe');"
        "return f && f.contentDocument && f.contentDocument.body ? f.contentDocument.body.innerText : '';"
    )
    if not wait_until(lambda: visit.browser.script(read).strip(), 20):
        visit.problem = "the card's iframe stayed empty"


def run_pages(visit, stack, ids):
    flow, run = "UiCheckFlow", ids["run"]
    visit.page("runs-list", "/", expect=["UiCheckFlow", "FailFlow"])
    visit.page("run-dag", f"/{flow}/{run}/view/dag", expect=["fan", "flaky"])
    visit.page("run-timeline", f"/{flow}/{run}/view/timeline", expect=["start", "join", "end"])
    visit.page(
        "run-parameters-and-run-autocomplete",
        f"/{flow}/{run}/view/timeline",
        expect=["alpha", "front-end check"],
        before=lambda: visit.browser.click_text("Details"),
        after=lambda: visit.browser.click("[data-testid=breadcrumb-button-container]"),
    )
    visit.page("task-start-logs", f"/{flow}/{run}/start/{ids['start']}",
               expect=["start line 4 on stdout", "a warning on stderr"])
    visit.page("task-fan-artifacts-cards", f"/{flow}/{run}/fan/{ids['fan']}",
               expect=["value", "Card: default"], after=lambda: card_shows(visit))
    flaky = f"/{flow}/{run}/flaky/{ids['flaky']}"
    visit.page("task-flaky-latest-attempt", flaky, expect=["Attempt 0", "the retry succeeds"])
    visit.page("task-flaky-failed-attempt-0", flaky, expect=["Exception: the first attempt fails"],
               before=lambda: visit.browser.click("[data-testid=attempt-tab-0]"))
    visit.page("failed-run", f"/FailFlow/{ids['fail_run']}/view/timeline", expect=["middle"])


def live_run(visit, stack):
    """A run started while the runs list is open must appear there without a reload; its pages
    show it running, then finished, again without a reload. Metaflow saves a local task's log when
    the task ends, so the log must appear then."""
    visit.page("runs-list-before-live", "/", expect=["UiCheckFlow"])
    child = stack.flow("live_flow.py", "--seconds", "40", wait=False)
    visit.here("runs-list-live-run-appeared", "/", expect=["LiveFlow"])
    run = wait_until(lambda: stack.latest_run("LiveFlow"), 60)
    slow = wait_until(lambda: try_task(stack, run), 60)
    visit.page("live-run-timeline-running", f"/LiveFlow/{run}/view/timeline", expect=["slow", "Running"])
    task = f"/LiveFlow/{run}/slow/{slow}"
    visit.page("live-task-running", task, expect=["Running"])
    code = child.wait()
    visit.here("live-task-finished-log-arrived", task, expect=["Completed", "tick 39"])
    visit.page("live-run-finished", f"/LiveFlow/{run}/view/timeline", expect=["end", "Completed"])
    return code


def try_task(stack, run):
    try:
        return stack.task("LiveFlow", run, "slow")
    except (IndexError, KeyError, OSError):
        return None


def produce_data(stack):
    print("running flows:", file=sys.stderr)
    if stack.flow("ui_flow.py", "--alpha", "5") != 0:
        raise RuntimeError("ui_flow.py failed; see its log in " + stack.dir)
    stack.flow("fail_flow.py")
    run = stack.latest_run("UiCheckFlow")
    ids = {s: stack.task("UiCheckFlow", run, s) for s in ("start", "fan", "flaky")}
    return {**ids, "run": run, "fail_run": stack.latest_run("FailFlow")}


def report(visit, requests, live_code):
    host = visit.ui.split("//", 1)[1]
    ours = [r for r in requests.all() if r["url"].split("//", 1)[-1].startswith(host + "/")]
    lines, healthy, missing = table(ours)
    print("\n".join(lines))
    bad = failures(ours)
    if bad:
        print("\nrequests not answered 2xx:")
        for r in bad:
            print(f"  {r['status'] or r['error']}  {r['url']}")
    print("\npages:")
    for p in visit.pages:
        notes = [f"error text: {', '.join(p['errors'])}"] if p["errors"] else []
        notes += [f"never showed: {', '.join(p['missing'])}"] if p["missing"] else []
        notes += [] if p["connected"] else ["connection indicator not 'Connected'"]
        print(f"  {p['name']:<38} {p['path']:<48} {'; '.join(notes) or 'ok'}")
        print(f"  {'':<38} {p['shot']}")
    if missing:
        print("\nnot requested in this session: " + ", ".join(missing))
    print(f"\nlive flow exit code: {live_code}")
    page_problems = any(p["errors"] or p["missing"] or not p["connected"] for p in visit.pages)
    return 0 if healthy and not bad and not page_problems and live_code == 0 else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("build_dir")
    parser.add_argument("--mfstack", required=True)
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--shots", default="metaflow-ui-shots")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--chromedriver", default="chromedriver")
    args = parser.parse_args()
    os.makedirs(args.shots, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="mfui-check-") as work:
        stack = Stack(os.path.abspath(args.mfstack), os.path.abspath(args.python), os.path.abspath(args.build_dir), work)
        try:
            ids = produce_data(stack)
            tools = [shutil.which(t) or t for t in (args.chromium, args.chromedriver)]
            browser = Browser(*tools, os.path.join(work, "profile"))
            try:
                requests = Requests()
                visit = Visit(browser, requests, stack.ui, args.shots)
                run_pages(visit, stack, ids)
                live_code = live_run(visit, stack)
                requests.read(browser)
            finally:
                browser.close()
        finally:
            stack.stop()
    return report(visit, requests, live_code)


if __name__ == "__main__":
    sys.exit(main())
