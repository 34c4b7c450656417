"""Real Metaflow flows against `mfstack serve`, read back through the Metaflow client API."""

import time


def test_linear_flow_with_parameters_and_tags(metaflow):
    metaflow.run("linear_flow.py", "run", "--alpha", "5", "--tag", "e2e-linear")
    out = metaflow.read(
        "run = Flow('LinearFlow').latest_run\n"
        "out = {'id': run.id, 'ok': run.successful, 'finished': run.finished, 'z': run.data.z,"
        " 'alpha': run['start'].task.data.alpha, 'steps': sorted(s.id for s in run),"
        " 'tags': sorted(run.user_tags), 'meta': sorted(run['end'].task.metadata_dict)}"
    )
    assert out["ok"] and out["finished"]
    assert out["z"] == [10, 11]
    assert out["alpha"] == 5
    assert out["steps"] == ["end", "middle", "start"]
    assert "e2e-linear" in out["tags"]
    assert {"attempt", "attempt_ok", "ds-type"} <= set(out["meta"])


def test_branch_and_join(metaflow):
    metaflow.run("branch_flow.py", "run")
    out = metaflow.read("run = Flow('BranchFlow').latest_run\nout = [run.successful, run.data.vs]")
    assert out == [True, ["a", "b"]]


def test_foreach_with_many_splits(metaflow):
    started = time.monotonic()
    metaflow.run("foreach_flow.py", "run", "--n", "120", "--max-workers", "16", "--max-num-splits", "500")
    elapsed = time.monotonic() - started
    print(f"\nforeach with 120 splits on {metaflow.service.backend}: {elapsed:.1f}s end to end")
    out = metaflow.read(
        "run = Flow('ForeachFlow').latest_run\n"
        "tasks = list(run['square'])\n"
        "out = {'ok': run.successful, 'total': run.data.total, 'n': len(tasks),"
        " 'children': len(list(run['start'].task.child_tasks)) if hasattr(run['start'].task, 'child_tasks') else None}"
    )
    assert out["ok"]
    assert out["n"] == 120
    assert out["total"] == sum(i * i for i in range(120))


def test_nested_foreach(metaflow):
    metaflow.run("nested_foreach_flow.py", "run")
    out = metaflow.read(
        "run = Flow('NestedForeachFlow').latest_run\n"
        "out = [run.successful, run.data.labels, len(list(run['leaf']))]"
    )
    assert out == [True, ["a1", "a2", "b1", "b2", "c1", "c2"], 6]


def test_failing_step_and_resume(metaflow):
    failed = metaflow.run("resume_flow.py", "run", check=False, extra_env={"MFSTACK_E2E_FAIL": "1"})
    assert failed.returncode != 0
    out = metaflow.read(
        "run = Flow('ResumeFlow').latest_run\n"
        "b = run['b'].task\n"
        "out = [run.successful, run.finished, b.successful, b.finished]"
    )
    assert out[0] is False and out[1] is False
    assert out[2] is False
    metaflow.run("resume_flow.py", "resume")
    out = metaflow.read(
        "runs = list(Flow('ResumeFlow').runs())\n"
        "latest = Flow('ResumeFlow').latest_run\n"
        "out = [len(runs), latest.successful, latest.data.doubled,"
        " latest['start'].task.metadata_dict.get('origin-run-id')]"
    )
    assert out[0] == 2 and out[1] is True and out[2] == 14
    assert out[3] is not None, "resume clones record their origin run"


def test_retry_keeps_latest_attempt(metaflow):
    metaflow.run("retry_flow.py", "run")
    out = metaflow.read(
        "run = Flow('RetryFlow').latest_run\n"
        "t = run['flaky'].task\n"
        "names = sorted(a.id for a in t.artifacts)\n"
        "first = Task(t.pathspec, attempt=0)\n"
        "out = [run.successful, t.current_attempt, t.data.attempt_seen, 'only_first' in names,"
        " sorted(a.id for a in first.artifacts)]"
    )
    assert out[0] is True
    assert out[1] == 1
    assert out[2] == 1
    assert out[3] is False, "artifacts of the failed attempt are hidden from the latest attempt"
    assert "only_first" in out[4], "attempt 0 still lists what it wrote"


def test_run_tag_mutation_through_the_client(metaflow):
    metaflow.run("linear_flow.py", "run")
    out = metaflow.read(
        "run = Flow('LinearFlow').latest_run\n"
        "run.add_tag('keep')\nrun.add_tags(['x1', 'x2'])\nrun.remove_tag('x1')\n"
        "run.replace_tag('x2', 'x3')\n"
        "fresh = Run(run.pathspec)\n"
        "out = sorted(fresh.user_tags)"
    )
    assert out == ["keep", "x3"]
