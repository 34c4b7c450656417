"""`mfstack up` and `mfstack run`: the local stack as a user drives it."""

import json
import os
import signal
import subprocess
import sys

from conftest import FLOWS, free_port, mfstack_bin, wait_for_ping


def user_env(tmp_path):
    """A user with a fresh home and no Metaflow settings of their own."""
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("METAFLOW_", "MFSTACK_"))}
    env.update({"HOME": str(home), "USERNAME": "tester", "USER": "tester"})
    return env, home


def test_up_writes_a_profile_that_metaflow_uses(tmp_path):
    env, home = user_env(tmp_path)
    port = free_port()
    data = home / ".mfstack"
    up = subprocess.Popen([mfstack_bin(), "up", "--port", str(port), "--ui-port", str(free_port())], env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for_ping(url, up)
        profile = json.loads((home / ".metaflowconfig" / "config_mfstack.json").read_text())
        assert profile["METAFLOW_SERVICE_URL"] == url
        assert profile["METAFLOW_DEFAULT_METADATA"] == "service"
        assert profile["METAFLOW_DATASTORE_SYSROOT_LOCAL"] == str(data / "datastore")
        assert not (home / ".metaflowconfig" / "config.json").exists()

        again = subprocess.run([mfstack_bin(), "up", "--port", str(free_port()), "--ui-port", str(free_port())], env=env,
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 0
        assert f"already running at {url}" in again.stdout

        flow_env = {**env, "METAFLOW_PROFILE": "mfstack"}
        run = subprocess.run([sys.executable, str(FLOWS / "linear_flow.py"), "--no-pylint", "run"],
                             env=flow_env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
        assert run.returncode == 0, run.stderr[-3000:]
        read = subprocess.run(
            [sys.executable, "-c",
             "from metaflow import Flow, get_metadata\n"
             "r = Flow('LinearFlow').latest_run\n"
             "print(get_metadata(), r.successful, r.data.z)"],
            env=flow_env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
        assert read.returncode == 0, read.stderr[-3000:]
        assert read.stdout.split() == [f"service@{url}", "True", "[6,", "7]"]
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=30)
    assert up.returncode == 0, out
    assert "mfstack stopped" in out
    assert not (data / "service.json").exists()


def test_run_starts_a_service_for_one_command(tmp_path):
    env, home = user_env(tmp_path)
    data = tmp_path / "data"
    base = [mfstack_bin(), "run", "--data-dir", str(data), "--"]
    flow = subprocess.run(base + [sys.executable, str(FLOWS / "branch_flow.py"), "--no-pylint", "run"],
                          env=env, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    assert flow.returncode == 0, flow.stderr[-3000:]
    read = subprocess.run(
        base + [sys.executable, "-c",
                "from metaflow import Flow, namespace\nnamespace(None)\n"
                "r = Flow('BranchFlow').latest_run\nprint(r.successful, r.data.vs)"],
        env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert read.returncode == 0, read.stderr[-3000:]
    assert read.stdout.strip() == "True ['a', 'b']"
    code = subprocess.run(base + [sys.executable, "-c", "raise SystemExit(3)"], env=env, timeout=120)
    assert code.returncode == 3, "the command's exit code passes through"
    missing = subprocess.run(base + ["no-such-command-xyz"], env=env, capture_output=True, text=True, timeout=60)
    assert missing.returncode == 1
    assert "hint:" in missing.stderr
