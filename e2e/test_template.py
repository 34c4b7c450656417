"""`mfstack template` against the pinned linters (issue 4).

cfn-lint must report no error and no warning in the commercial regions with the UI on and off, and
in GovCloud with the UI off, on upstream's images and on mfstack's (`ServiceImage`); checkov may
skip at most 9 checks, each skipped in the template's metadata with a written reason. The binary comes from MFSTACK_BIN (default target/debug/mfstack).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN = Path(os.environ.get("MFSTACK_BIN", REPO / "target" / "debug" / "mfstack"))
# The linters live in a venv of their own (checkov pins packaging<24, pytest 9 needs >=24).
VENV_BIN = Path(os.environ.get("MFSTACK_LINT_BIN", REPO / ".venv-lint" / "bin"))
COMMERCIAL = ["us-east-1", "us-west-2", "eu-west-1", "ap-south-1"]
# Each skip carries its reason in the template. The sixth, CKV_AWS_16, is a check checkov cannot
# evaluate: the database's encryption sits behind the Fn::If that lets an adopted stack keep its
# unencrypted instance (issue 15). The last three are the UI's internal application load balancer,
# which only CloudFront reaches: plain HTTP behind CloudFront's TLS (CKV_AWS_2, CKV_AWS_103), and no
# access log of its own since CloudFront logs every request (CKV_AWS_91).
MAX_SKIPPED = 9
ROOT = "metaflow-cfn-template"
# mfstack's own image by digest, as `mfstack deploy` passes it after publishing.
SERVICE_IMAGE = "ServiceImage=123456789012.dkr.ecr.eu-west-1.amazonaws.com/mfstack@sha256:" + "ab" * 32
UI = "metaflow-ui-cfn-template"


def mfstack(*args):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, timeout=120)


def generate(out, *params, fmt="json"):
    args = ["template", "--format", fmt, "-o", str(out)]
    for p in params:
        args += ["--param", p]
    result = mfstack(*args)
    assert result.returncode == 0, result.stderr
    return out / f"{ROOT}.{fmt}", out / f"{UI}.{fmt}"


def tool(name, module):
    """The linter from the venv running pytest, as its entry point or its module."""
    exe = VENV_BIN / name
    return [str(exe)] if exe.exists() else [sys.executable, "-m", module]


def cfn_lint(regions, *templates):
    cmd = tool("cfn-lint", "cfnlint") + ["--regions", *regions, "--", *map(str, templates)]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    # cfn-lint prints nothing and exits 0 when there is no error, warning or informational finding.
    assert result.returncode == 0 and not result.stdout.strip(), (
        f"cfn-lint {' '.join(regions)} found problems:\n{result.stdout}{result.stderr}"
    )


@pytest.fixture(scope="module", autouse=True)
def binary():
    if not BIN.exists():
        pytest.fail(f"{BIN} not found: build it with `cargo build -p mfstack-cli` or set MFSTACK_BIN")


@pytest.mark.parametrize("fmt", ["json", "yaml"])
@pytest.mark.parametrize("ui", ["false", "true"])
def test_cfn_lint_commercial_regions(tmp_path, ui, fmt):
    root, nested = generate(tmp_path, f"EnableUI={ui}", fmt=fmt)
    cfn_lint(COMMERCIAL, root, nested)


@pytest.mark.parametrize("ui", ["false", "true"])
def test_cfn_lint_with_mfstack_image(tmp_path, ui):
    root, nested = generate(tmp_path, f"EnableUI={ui}", SERVICE_IMAGE)
    cfn_lint(COMMERCIAL, root, nested)


def test_cfn_lint_existing_vpc(tmp_path):
    root, nested = generate(
        tmp_path,
        "EnableUI=true",
        "BatchType=fargate",
        "ExistingVpcId=vpc-0123456789abcdef0",
        "ExistingSubnet1Id=subnet-0123456789abcdef0",
        "ExistingSubnet2Id=subnet-0fedcba9876543210",
        SERVICE_IMAGE,
    )
    cfn_lint(COMMERCIAL, root, nested)


@pytest.mark.parametrize("image", [[], [SERVICE_IMAGE]])
def test_cfn_lint_govcloud_without_ui(tmp_path, image):
    root, _ = generate(tmp_path, "IAMPartition=aws-us-gov", "EnableUI=false", *image)
    cfn_lint(["us-gov-west-1"], root)


def test_ui_in_govcloud_is_refused(tmp_path):
    result = mfstack("template", "-o", str(tmp_path), "--param", "IAMPartition=aws-us-gov", "--param", "EnableUI=true")
    assert result.returncode == 1
    assert "GovCloud" in result.stderr and "CloudFront" in result.stderr, result.stderr
    assert "hint:" in result.stderr
    assert not list(tmp_path.iterdir()), "nothing is written when the command refuses"


def test_unknown_parameter_is_explained(tmp_path):
    result = mfstack("template", "-o", str(tmp_path), "--param", "EnableUi=true")
    assert result.returncode == 1
    assert "unknown parameter `EnableUi`" in result.stderr, result.stderr


def test_reports_size_against_inline_limit(tmp_path):
    result = mfstack("template", "-o", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "51200-byte inline template limit" in result.stdout, result.stdout


def test_checkov_skips_at_most_nine_checks_each_with_a_reason(tmp_path):
    """Counted per failing resource and check, over the root and UI templates together."""
    generate(tmp_path, "EnableUI=true", SERVICE_IMAGE)
    cmd = tool("checkov", "checkov.main") + [
        "--framework", "cloudformation", "-d", str(tmp_path), "-o", "json", "--skip-download", "--compact",
    ]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    reports = json.loads(result.stdout)
    reports = reports if isinstance(reports, list) else [reports]
    failed, skipped = [], []
    for report in reports:
        failed += report["results"]["failed_checks"]
        skipped += report["results"]["skipped_checks"]
    describe = lambda c: f"{c['check_id']} {c['resource']} ({c['file_path']})"
    assert not failed, "checkov failed checks:\n" + "\n".join(map(describe, failed))
    assert len(skipped) <= MAX_SKIPPED, "too many skipped checks:\n" + "\n".join(map(describe, skipped))
    for c in skipped:
        reason = (c.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.split()) >= 5, f"{describe(c)} is skipped without a written reason"
