"""Prints what the Metaflow client reads for a run, as JSON, for the Rust tests to compare."""
import json
import sys

from metaflow import DataArtifact, Run, Step, Task, namespace
from metaflow.cards import get_cards



def cards(task):
    try:
        return [{"id": c.id, "hash": c.hash, "type": c.type} for c in get_cards(task)]
    except Exception:
        return []


def ref(artifact):
    return {k: artifact._object[k] for k in ("name", "location", "sha")}


namespace(None)
run = Run(sys.argv[1])
out = {"run": run.id, "tasks": []}
for step in run:
    for task in step:
        meta = task.metadata_dict
        attempts = []
        for attempt in range(int(meta.get("attempt", 0)) + 1):
            t = Task(task.pathspec, attempt=attempt)
            attempts.append(
                {
                    "stdout": [line for _, line in t.loglines("stdout")],
                    "stderr": [line for _, line in t.loglines("stderr")],
                }
            )
        artifacts = []
        for art in task:
            entry = {
                "name": art.id,
                "location": art._object["location"],
                "sha": art._object["sha"],
                "size": art.size,
            }
            try:
                entry["str"] = str(art.data)
            except Exception:
                pass
            artifacts.append(entry)
        out["tasks"].append(
            {
                "step": step.id,
                "task": task.id,
                "ds_type": meta.get("ds-type"),
                "ds_root": meta.get("ds-root"),
                "index": task.index,
                "foreach_stack": ref(task["_foreach_stack"]),
                "attempts": attempts,
                "artifacts": artifacts,
                "cards": cards(task),
            }
        )
params = Step("%s/_parameters" % run.pathspec).task
out["parameters"] = [
    {"name": a.id, "location": a._object["location"], "sha": a._object["sha"]} for a in params
]
out["graph_info"] = ref(DataArtifact("%s/_graph_info" % params.pathspec))
json.dump(out, sys.stdout)
