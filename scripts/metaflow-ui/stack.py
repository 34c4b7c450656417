"""`mfstack serve` over a throwaway SQLite database and local datastore, with real flows run
against it, for driving a metaflow-ui build."""

import json
import os
import subprocess
import sys
import urllib.request

from webdriver import free_port, wait_until

FLOWS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "flows")


class Stack:
    def __init__(self, mfstack, python, build_dir, work_dir):
        self.python = python
        self.dir = work_dir
        self.api_port, self.ui_port = free_port(), free_port()
        self.service = f"http://127.0.0.1:{self.api_port}"
        self.ui = f"http://127.0.0.1:{self.ui_port}"
        self.log = open(os.path.join(work_dir, "serve.log"), "wb")
        self.serve = subprocess.Popen(
            [
                mfstack,
                "serve",
                "--database",
                f"sqlite://{os.path.join(work_dir, 'metadata.db')}",
                "--port",
                str(self.api_port),
                "--migration-port",
                str(free_port()),
                "--ui-port",
                str(self.ui_port),
                "--ui-dir",
                build_dir,
            ],
            # The artifact table is off in metaflow-ui unless the backend's features turn it on.
            env={**os.environ, **self._datastore_env(), "MFSTACK_LOG": "warn", "FEATURE_ARTIFACT_TABLE": "1"},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if not wait_until(self._up, 60):
            self.stop()
            raise RuntimeError(f"mfstack serve did not answer in 60 s; see {self.log.name}")

    def _datastore_env(self):
        return {"METAFLOW_DATASTORE_SYSROOT_LOCAL": self.dir}

    def _up(self):
        if self.serve.poll() is not None:
            raise RuntimeError(f"mfstack serve exited; see {self.log.name}")
        try:
            with urllib.request.urlopen(self.ui + "/api/ping", timeout=2) as r:
                with urllib.request.urlopen(self.service + "/ping", timeout=2):
                    return r.status == 200
        except OSError:
            return False

    def stop(self):
        self.serve.terminate()
        try:
            self.serve.wait(10)
        except subprocess.TimeoutExpired:
            self.serve.kill()
            self.serve.wait()
        self.log.close()

    def flow(self, name, *args, wait=True):
        """Run scripts/metaflow-ui/flows/`name` against the stack; a Popen when not `wait`."""
        env = {
            **os.environ,
            **self._datastore_env(),
            "METAFLOW_SERVICE_URL": self.service,
            "METAFLOW_DEFAULT_METADATA": "service",
            "METAFLOW_HOME": self.dir,
            "METAFLOW_USER": "checker",
            "USERNAME": "checker",
        }
        env.pop("METAFLOW_PROFILE", None)
        cmd = [self.python, os.path.join(FLOWS, name), "--metadata=service", "--datastore=local", "run", *args]
        out = open(os.path.join(self.dir, name + ".log"), "ab")
        child = subprocess.Popen(cmd, env=env, cwd=self.dir, stdout=out, stderr=subprocess.STDOUT)
        if not wait:
            return child
        code = child.wait()
        print(f"  {name} {' '.join(args)}: exit {code}", file=sys.stderr)
        return code

    def api(self, path):
        with urllib.request.urlopen(self.ui + "/api" + path, timeout=30) as r:
            return json.load(r)

    def latest_run(self, flow):
        runs = self.api(f"/flows/{flow}/runs?_order=-ts_epoch&_limit=1")["data"]
        return runs[0]["run_number"] if runs else None

    def task(self, flow, run, step):
        tasks = self.api(f"/flows/{flow}/runs/{run}/steps/{step}/tasks?_order=%2Btask_id&_limit=1")["data"]
        return tasks[0]["task_id"]
