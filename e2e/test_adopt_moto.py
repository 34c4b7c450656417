"""Issue 15: `mfstack deploy` on a stack created from the reference template, against moto_server.

The reference stack comes from crates/cli/tests/fixtures/reference-stack.json, with two changes moto
needs to create it (moto makes every load balancer an ALB, so the NLB listeners say HTTP; and it
passes a CommaDelimitedList to Batch as one string, so the instance types are split explicitly).
Neither property decides a replacement.

moto 5.2.5 cannot execute the update from the reference template to the generated one (its update
diff treats the VPC, conditional in the new template, as removed). So the full-template tests check
everything up to the change set: the prediction, the parameters that adopt the stack, the refusal.
The tests that execute an update use small reference-shaped templates moto can apply.
"""

import json
from pathlib import Path

import boto3

from test_deploy_moto import aws, mfstack  # noqa: F401 (fixture)

FIXTURE = Path(__file__).resolve().parent.parent / "crates/cli/tests/fixtures/reference-stack.json"
DATA_IDS = ("RDSMasterInstance", "MetaflowS3Bucket", "StepFunctionsStateDDB")
# The reference stack runs upstream's image and keeps it (and this binary is a dynamic debug build).
UPSTREAM = ("--service-image", "reference")


def reference(**replacing) -> dict:
    """The reference fixture as moto can create it; `replacing` sets literal properties by logical id."""
    t = json.loads(FIXTURE.read_text())
    for listener in ("NLBListener", "NLBListenerDBMigrate"):
        t["Resources"][listener]["Properties"]["Protocol"] = "HTTP"
    types = t["Resources"]["ComputeEnvironment"]["Properties"]["ComputeResources"]["InstanceTypes"]
    types["Fn::If"][2] = {"Fn::Split": [",", {"Ref": "ComputeEnvInstanceTypes"}]}
    for logical_id, props in replacing.items():
        t["Resources"][logical_id]["Properties"].update(props)
    return t


def cloudformation(env):
    return boto3.client("cloudformation", endpoint_url=env["MFSTACK_AWS_ENDPOINT_URL"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def create(env, name: str, template: dict, **params) -> None:
    cf = cloudformation(env)
    cf.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
                    Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()])
    cf.get_waiter("stack_create_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})


def status(env, name: str) -> str:
    return cloudformation(env).describe_stacks(StackName=name)["Stacks"][0]["StackStatus"]


def prediction(text: str) -> list[str]:
    lines = text.split("Predicted from the resource schemas, before the change set:\n", 1)[1].splitlines()
    return [line for line in lines[: next(i for i, l in enumerate(lines) if l.startswith("  ("))]]


def test_deploy_adopts_the_reference_stack_without_touching_its_data(aws):
    # UI off: moto fails to create the reference's root-level UI (CloudFront, ALB service). The UI-on
    # case is predicted in crates/cli/tests/adoption.rs.
    create(aws, "ref", reference())
    out = mfstack(aws, "deploy", "--stack-name", "ref", "--yes", *UPSTREAM)
    text = out.stdout + out.stderr
    predicted = prediction(out.stdout)
    assert not [line for line in predicted if any(i in line for i in DATA_IDS)], text
    assert not [line for line in predicted if "name clash" in line or "named" in line], text
    assert "would destroy data" not in text
    assert "Creating change set" in text and "(update)" in text, text
    params = {p["ParameterKey"]: p["ParameterValue"] for p in change_set_parameters(aws, "ref")}
    assert params.get("AdoptedStack") == "true" and params.get("PostgresEngineVersion") == "11.5", params


def change_set_parameters(env, name: str) -> list:
    """The parameters of the stack's last change set (moto keeps executed and failed ones)."""
    cf = cloudformation(env)
    sets = cf.list_change_sets(StackName=name)["Summaries"]
    return cf.describe_change_set(StackName=name, ChangeSetName=sets[-1]["ChangeSetName"])["Parameters"]


def test_deploy_refuses_to_replace_the_data_and_names_what_would_be_lost(aws):
    create(aws, "refx", reference(
        RDSMasterInstance={"DBName": "metaflowdb"},
        MetaflowS3Bucket={"BucketName": "mf-adopt-reference-data"},
        StepFunctionsStateDDB={"TableName": "mf-adopt-reference-state"},
    ))
    out = mfstack(aws, "deploy", "--stack-name", "refx", "--yes", *UPSTREAM)
    assert out.returncode == 1, out.stdout + out.stderr
    err = out.stderr
    assert "mfstack: error: not deploying refx: the update would destroy data" in err, err
    for logical_id, prop in zip(DATA_IDS, ("DBName", "BucketName", "TableName")):
        line = next(l for l in err.splitlines() if l.strip().startswith(logical_id))
        assert prop in line and "lost:" in line, line
    assert "every row of the database" in err and "every object in the bucket" in err
    assert "hint:" in err and "--allow-data-replacement" in err
    assert "Creating change set" not in out.stdout, "refused before any change set"
    assert status(aws, "refx") == "CREATE_COMPLETE"

    allowed = mfstack(aws, "deploy", "--stack-name", "refx", "--yes", "--allow-data-replacement", *UPSTREAM)
    text = allowed.stdout + allowed.stderr
    assert "would destroy data" not in text
    assert "Creating change set" in text and "(update)" in text, text


SMALL_OLD = {
    "Resources": {
        "MetaflowS3Bucket": {"Type": "AWS::S3::Bucket", "DeletionPolicy": "Retain",
                             "Properties": {"BucketName": "mf-adopt-small-old"}},
        "StepFunctionsStateDDB": {"Type": "AWS::DynamoDB::Table", "Properties": {
            "BillingMode": "PAY_PER_REQUEST",
            "AttributeDefinitions": [{"AttributeName": "pathspec", "AttributeType": "S"}],
            "KeySchema": [{"AttributeName": "pathspec", "KeyType": "HASH"}]}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 7}},
    }
}


def small_new(bucket_name: str) -> dict:
    t = json.loads(json.dumps(SMALL_OLD))
    t["Resources"]["MetaflowS3Bucket"]["Properties"]["BucketName"] = bucket_name
    t["Resources"]["Logs"]["Properties"]["RetentionInDays"] = 14
    return t


def test_an_update_that_keeps_the_data_executes_and_one_that_replaces_it_needs_the_flag(aws, tmp_path):
    create(aws, "small", SMALL_OLD)
    keep = tmp_path / "keep.json"
    keep.write_text(json.dumps(small_new("mf-adopt-small-old")))
    out = mfstack(aws, "deploy", "--stack-name", "small", "--template-file", str(keep), "--yes")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "no replacement, no deletion" in out.stdout
    assert status(aws, "small") == "UPDATE_COMPLETE"

    rename = tmp_path / "rename.json"
    rename.write_text(json.dumps(small_new("mf-adopt-small-new")))
    refused = mfstack(aws, "deploy", "--stack-name", "small", "--template-file", str(rename), "--yes")
    assert refused.returncode == 1
    assert "MetaflowS3Bucket (AWS::S3::Bucket): it would be replaced: BucketName changes" in refused.stderr
    assert "--allow-data-replacement" in refused.stderr
    assert status(aws, "small") == "UPDATE_COMPLETE"

    allowed = mfstack(aws, "deploy", "--stack-name", "small", "--template-file", str(rename), "--yes",
                      "--allow-data-replacement")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    s3 = boto3.client("s3", endpoint_url=aws["MFSTACK_AWS_ENDPOINT_URL"], region_name="us-east-1",
                      aws_access_key_id="testing", aws_secret_access_key="testing")
    assert "mf-adopt-small-new" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
