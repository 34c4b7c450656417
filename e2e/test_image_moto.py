"""Issue 13: `mfstack deploy` publishes mfstack's own service image without Docker.

A real registry (Debian's docker-registry, asking for the credentials moto's ECR hands out) and moto
for ECR and CloudFormation; the deploy runs the real code path with only the endpoints overridden
(MFSTACK_AWS_ENDPOINT_URL, MFSTACK_REGISTRY_URL). The deploying binary is the static release build
scripts/test makes, so it publishes itself. The image is then pulled back by digest over the
registry API, unpacked into an empty directory, and run there with chroot: no host library is
visible to it.
"""

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import stat
import subprocess
import tarfile
import time
import urllib.request
from pathlib import Path

import boto3
import pytest

from conftest import ROOT, free_port
from test_deploy_moto import aws  # noqa: F401 (fixture)

STATIC = Path(os.environ.get("MFSTACK_STATIC_BIN", ROOT / "target/x86_64-unknown-linux-gnu/release/mfstack"))
ECR_URI = "123456789012.dkr.ecr.us-east-1.amazonaws.com/mfstack"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
# What every container runtime adds to the image's root: /etc/hosts and /etc/resolv.conf, so that
# names resolve as in a task, and the OCI runtime spec's default devices (random numbers come from
# /dev/urandom when the C library's getrandom cannot be looked up, as in a static binary).
RUNTIME_ETC = {"hosts": "127.0.0.1 localhost\n", "resolv.conf": "nameserver 127.0.0.1\noptions attempts:1 timeout:1\n"}
RUNTIME_DEVICES = {"null": (1, 3), "zero": (1, 5), "full": (1, 7), "random": (1, 8), "urandom": (1, 9)}


@pytest.fixture
def static_bin():
    if not STATIC.exists():
        build = ('RUSTFLAGS="-C target-feature=+crt-static" cargo build --release '
                 '--target x86_64-unknown-linux-gnu -p mfstack-cli')
        if os.environ.get("CI"):
            pytest.fail(f"{STATIC} is missing: scripts/test builds it ({build})")
        pytest.skip(f"{STATIC} is missing; build it with {build}")
    if os.geteuid() != 0:
        # CI runs as root; chroot is how the image runs with no host library in sight.
        if os.environ.get("CI"):
            pytest.fail("the image test runs the image in a chroot, which needs root")
        pytest.skip("the image test runs the image in a chroot, which needs root")
    return STATIC


def deploy(env, binary: Path, stack: str) -> tuple[str, float]:
    started = time.monotonic()
    out = subprocess.run([str(binary), "deploy", "--stack-name", stack, "--yes"], env=env,
                         capture_output=True, text=True, timeout=900)
    text = out.stdout + out.stderr
    assert out.returncode == 0, text
    return text, time.monotonic() - started


def pushed(text: str) -> dict:
    """The deploy's own account of the push."""
    m = re.search(r"Service image pushed: (\d+) blob\(s\) pushed \((\d+) bytes\), (\d+) already there, "
                  r"in ([\d.]+)s\n  (\S+) \(tag (\S+)\)", text)
    assert m, text
    blobs = {what: state for what, state in re.findall(r"  (base layer|binary layer|config): \d+ bytes, "
                                                       r"(pushed|already in the registry)", text)}
    return {"pushed": int(m[1]), "bytes": int(m[2]), "skipped": int(m[3]), "seconds": float(m[4]),
            "reference": m[5], "tag": m[6], "blobs": blobs}


def blob_uploads(registry, since: int) -> list[str]:
    """Digests of the blobs uploaded after request number `since` (the PUT that ends an upload)."""
    return [re.search(r"digest=([^&]+)", path)[1].replace("%3A", ":")
            for method, path, status in registry.requests()[since:]
            if method == "PUT" and "/blobs/uploads/" in path and status == 201]


def manifest_puts(registry, since: int) -> int:
    return sum(1 for m, p, s in registry.requests()[since:] if m == "PUT" and "/manifests/" in p)


def stack_parameter(env, stack: str, name: str) -> str:
    cf = boto3.client("cloudformation", endpoint_url=env["MFSTACK_AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    params = cf.describe_stacks(StackName=stack)["Stacks"][0]["Parameters"]
    return next(p["ParameterValue"] for p in params if p["ParameterKey"] == name)


def pull(registry, digest: str, into: Path) -> dict:
    """Pull the image by digest, check every digest, unpack its layers into `into`; returns its config."""
    body = registry.get(f"/v2/mfstack/manifests/{digest}", accept=MANIFEST)
    assert "sha256:" + hashlib.sha256(body).hexdigest() == digest
    manifest = json.loads(body)
    assert manifest["mediaType"] == MANIFEST

    def blob(d):
        data = registry.get(f"/v2/mfstack/blobs/{d['digest']}")
        assert "sha256:" + hashlib.sha256(data).hexdigest() == d["digest"] and len(data) == d["size"]
        return data

    config = json.loads(blob(manifest["config"]))
    into.mkdir()
    for layer, diff_id in zip(manifest["layers"], config["rootfs"]["diff_ids"], strict=True):
        raw = gzip.decompress(blob(layer))
        assert "sha256:" + hashlib.sha256(raw).hexdigest() == diff_id
        with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
            # Our own image, digests checked: keep modes as they are (the sticky /tmp). Pythons
            # before PEP 706 have no filters and keep them anyway.
            trusted = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
            tar.extractall(into, **trusted)
    return config


def run_in_image(root: Path, config: dict, *args: str, env=None, **kw) -> subprocess.Popen:
    """Start the image's entrypoint with `args` as the runtime would: its user, its environment."""
    image_env = dict(e.split("=", 1) for e in config["config"]["Env"])
    chroot = shutil.which("chroot") or "/usr/sbin/chroot"
    cmd = [chroot, f"--userspec={config['config']['User']}", str(root), *config["config"]["Entrypoint"], *args]
    return subprocess.Popen(cmd, env={**image_env, **(env or {})}, **kw)


def test_deploy_publishes_the_image_it_runs_from_an_empty_root_and_pushes_only_what_changed(
        aws, registry, static_bin, tmp_path):
    env = {**aws, "MFSTACK_REGISTRY_URL": registry.url}

    first, first_secs = deploy(env, static_bin, "mf-img-1")
    one = pushed(first)
    assert "Image repository: " + ECR_URI + " (created)" in first, first
    assert one["pushed"] == 3 and one["skipped"] == 0, one
    assert one["reference"].startswith(ECR_URI + "@sha256:"), one
    assert stack_parameter(aws, "mf-img-1", "ServiceImage") == one["reference"], "the template gets it by digest"
    ecr = boto3.client("ecr", endpoint_url=aws["MFSTACK_AWS_ENDPOINT_URL"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    repo = ecr.describe_repositories(repositoryNames=["mfstack"])["repositories"][0]
    assert repo["imageTagMutability"] == "IMMUTABLE"
    assert repo["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo["encryptionConfiguration"]["encryptionType"] == "AES256"
    policy = json.loads(ecr.get_lifecycle_policy(repositoryName="mfstack")["lifecyclePolicyText"])
    assert [r["selection"]["tagStatus"] for r in policy["rules"]] == ["untagged", "any"]

    digest = one["reference"].split("@", 1)[1]
    root = tmp_path / "root"
    config = pull(registry, digest, root)
    assert sorted(p.name for p in root.iterdir()) == ["etc", "mfstack", "tmp"]
    assert (root / "mfstack").read_bytes() == static_bin.read_bytes()
    assert oct((root / "tmp").stat().st_mode & 0o7777) == "0o1777"
    assert config["config"]["User"] == "10001:10001" and config["config"]["Entrypoint"] == ["/mfstack"]
    check_runs_from_the_image(root, config, tmp_path)
    image_mib = (len(json.dumps(config)) + sum(
        int(l["size"]) for l in json.loads(registry.get(f"/v2/mfstack/manifests/{digest}", MANIFEST))["layers"]
    )) / 2**20

    # The same binary again, for another stack: the repository has everything, nothing is pushed.
    before = len(registry.requests())
    second, second_secs = deploy(env, static_bin, "mf-img-2")
    two = pushed(second)
    assert (two["pushed"], two["bytes"], two["reference"]) == (0, 0, one["reference"]), two
    assert "Image repository: " + ECR_URI + " (using)" in second
    assert blob_uploads(registry, before) == [] and manifest_puts(registry, before) == 0

    # A changed binary (bytes appended: it still runs) is one new layer, plus the config naming it.
    changed = tmp_path / "mfstack-changed"
    shutil.copy(static_bin, changed)
    with open(changed, "ab") as f:
        f.write(b"\0mfstack-e2e-changed\0")
    before = len(registry.requests())
    third, _ = deploy(env, changed, "mf-img-3")
    three = pushed(third)
    assert three["blobs"] == {"base layer": "already in the registry", "binary layer": "pushed",
                              "config": "pushed"}, third
    assert three["pushed"] == 2 and three["skipped"] == 1, three
    uploaded = blob_uploads(registry, before)
    new_manifest = json.loads(registry.get(f"/v2/mfstack/manifests/{three['reference'].split('@')[1]}", MANIFEST))
    assert sorted(uploaded) == sorted([new_manifest["layers"][1]["digest"], new_manifest["config"]["digest"]])
    assert new_manifest["layers"][0]["digest"] not in uploaded
    assert manifest_puts(registry, before) == 1

    print(f"\nimage: {image_mib:.1f} MiB compressed; push {one['seconds']:.1f}s first "
          f"({one['bytes']} bytes), {two['seconds']:.1f}s second (nothing pushed), "
          f"{three['seconds']:.1f}s after a change ({three['bytes']} bytes); "
          f"deploys {first_secs:.0f}s and {second_secs:.0f}s")


def check_runs_from_the_image(root: Path, config: dict, tmp_path: Path) -> None:
    for name, text in RUNTIME_ETC.items():
        (root / "etc" / name).write_text(text)
    (root / "dev").mkdir()
    for name, (major, minor) in RUNTIME_DEVICES.items():
        os.mknod(root / "dev" / name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(root / "dev" / name, 0o666)
    version = run_in_image(root, config, "--version", stdout=subprocess.PIPE, text=True)
    out, _ = version.communicate(timeout=30)
    assert version.returncode == 0 and out.startswith("mfstack "), out

    ports = {"MF_METADATA_PORT": free_port(), "MF_MIGRATION_PORT": free_port(), "MF_UI_METADATA_PORT": free_port()}
    loopback = {"MF_METADATA_HOST": "127.0.0.1", "MF_UI_METADATA_HOST": "127.0.0.1"}
    log = open(tmp_path / "image-serve.log", "wb")
    serve = run_in_image(root, config, "serve", env={**loopback, **{k: str(v) for k, v in ports.items()}},
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert serve.poll() is None, (tmp_path / "image-serve.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports['MF_METADATA_PORT']}/ping", timeout=1) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "image-serve.log").read_text()
                time.sleep(0.1)
        # SQLite in the data dir the image names, written as user 10001.
        assert (root / "tmp" / "metadata.db").stat().st_uid == 10001
    finally:
        serve.terminate()
        assert serve.wait(timeout=30) == 0
        log.close()

    # Host names resolve from /etc/hosts in a static binary (getaddrinfo without NSS modules).
    pg = os.environ.get("MFSTACK_TEST_POSTGRES_URL")
    if pg:
        by_name = re.sub(r"@127\.0\.0\.1:", "@localhost:", pg)
        status = run_in_image(root, config, "migrate", "status", "--database", by_name,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        out, _ = status.communicate(timeout=60)
        assert status.returncode == 0, out
