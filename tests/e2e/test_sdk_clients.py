"""SDKs that always prefix MWAA's hosts (api., env.), with nothing but `aerodrome client-env`'s variables
and `aerodrome hosts install`: Terraform's hashicorp/aws provider (Go SDK) applies an
aws_mwaa_environment from a plain provider block, plans empty, updates options and tags in place and
destroys; the AWS SDK for JavaScript v3 creates, reads, lists, tokens and deletes."""

import glob
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.support import NETWORK, ROLE, aerodrome

TERRAFORM = shutil.which("terraform")
PROVIDER = "registry.terraform.io/hashicorp/aws"
NAME = "tf-env"


def provider_mirror() -> Path | None:
    """A filesystem mirror holding the aws provider: TF_PROVIDER_MIRROR, Terraform's own plugin folders,
    or a folder one level under /opt (where machine images put one)."""
    candidates = [os.environ.get("TF_PROVIDER_MIRROR", ""), str(Path.home() / ".terraform.d" / "plugins"),
                  "/usr/local/share/terraform/plugins", "/usr/share/terraform/plugins", *glob.glob("/opt/*")]
    return next((Path(c) for c in candidates if c and (Path(c) / PROVIDER).is_dir()), None)


MIRROR = provider_mirror()
pytestmark = pytest.mark.e2e
needs_terraform = pytest.mark.skipif(
    TERRAFORM is None or MIRROR is None,
    reason=f"needs the terraform binary (found: {TERRAFORM}) and a filesystem mirror of {PROVIDER} "
           f"(found: {MIRROR}); set TF_PROVIDER_MIRROR to one")


def configuration(options: dict[str, str], tags: dict[str, str]) -> str:
    def block(values: dict[str, str]) -> str:
        return "{\n" + "".join(f'    "{k}" = "{v}"\n' for k, v in values.items()) + "  }"

    head = textwrap.dedent(f'''
        provider "aws" {{
          region = "us-east-1"
        }}

        resource "aws_mwaa_environment" "this" {{
          name                  = "{NAME}"
          airflow_version       = "3.3.2"
          execution_role_arn    = "{ROLE}"
          source_bucket_arn     = "arn:aws:s3:::tf-bucket"
          dag_s3_path           = "dags"
          environment_class     = "mw1.small"
          max_workers           = 2
          network_configuration {{
            security_group_ids = {NETWORK["SecurityGroupIds"]!r}
            subnet_ids         = {NETWORK["SubnetIds"]!r}
          }}
          airflow_configuration_options = ''').replace("'", '"')
    return head + block(options) + "\n  tags = " + block(tags) + "\n}\n"


@pytest.fixture(scope="module")
def resolving_names(shared_plane):
    """api.<host> and env.<host> resolve for the run (as `aerodrome hosts install` makes them)."""
    home = shared_plane.settings.home
    extra = {"AERODROME_PORT": str(shared_plane.settings.port)}
    installed = aerodrome(home, "hosts", "install", extra_env=extra)
    if installed.returncode != 0:
        pytest.skip(f"the hosts file cannot be changed here: {installed.stderr.strip()}")
    yield
    assert aerodrome(home, "hosts", "remove", extra_env=extra).returncode == 0


@needs_terraform
def test_terraform_applies_plans_updates_and_destroys(plane, env_vars, tmp_path, resolving_names):
    s3 = boto3.client("s3", endpoint_url=env_vars["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                      aws_access_key_id=env_vars["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env_vars["AWS_SECRET_ACCESS_KEY"],
                      config=Config(s3={"addressing_style": "path"}))
    s3.create_bucket(Bucket="tf-bucket")
    s3.put_object(Bucket="tf-bucket", Key="dags/dag.py", Body=b"# no DAG yet\n")
    (tmp_path / "cli.tfrc").write_text(
        f'provider_installation {{\n  filesystem_mirror {{\n    path = "{MIRROR}"\n    include = ["{PROVIDER}"]\n'
        f'  }}\n  direct {{\n    exclude = ["{PROVIDER}"]\n  }}\n}}\n')
    work = tmp_path / "config"
    work.mkdir()
    # the client-env variables, minus botocore's switch (the Go SDK has none), and the CLI config
    environment = {k: v for k, v in env_vars.items() if k != "AWS_DISABLE_HOST_PREFIX_INJECTION"}
    environment.update({"TF_CLI_CONFIG_FILE": str(tmp_path / "cli.tfrc"), "TF_IN_AUTOMATION": "1",
                        "TF_DATA_DIR": str(work / ".terraform"), "CHECKPOINT_DISABLE": "1"})

    def terraform(*args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([TERRAFORM, *args, "-no-color"], cwd=work, env=environment, capture_output=True,
                                text=True, timeout=900)
        return result

    def apply(options, tags):
        (work / "main.tf").write_text(configuration(options, tags))
        result = terraform("apply", "-auto-approve", "-input=false")
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]

    mwaa = boto3.client("mwaa", endpoint_url=env_vars["AWS_ENDPOINT_URL_MWAA"], region_name="us-east-1",
                        aws_access_key_id=env_vars["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=env_vars["AWS_SECRET_ACCESS_KEY"],
                        config=Config(inject_host_prefix=False))
    (work / "main.tf").write_text(configuration({}, {}))  # init selects the provider the configuration names
    initialized = terraform("init", "-input=false")
    assert initialized.returncode == 0, initialized.stdout + initialized.stderr

    apply({"core.default_task_retries": "1"}, {"team": "data"})
    env = mwaa.get_environment(Name=NAME)["Environment"]
    assert env["Status"] == "AVAILABLE" and env["Tags"] == {"team": "data"}
    assert env["AirflowConfigurationOptions"] == {"core.default_task_retries": "1"}

    planned = terraform("plan", "-detailed-exitcode", "-input=false")
    assert planned.returncode == 0, planned.stdout[-4000:] + planned.stderr[-4000:]  # 0: nothing to change

    apply({"core.default_task_retries": "2"}, {"team": "data", "stage": "dev"})
    env = mwaa.get_environment(Name=NAME)["Environment"]
    assert env["Status"] == "AVAILABLE" and env["Tags"] == {"team": "data", "stage": "dev"}
    assert env["AirflowConfigurationOptions"] == {"core.default_task_retries": "2"}
    assert env["LastUpdate"]["Status"] == "SUCCESS"

    destroyed = terraform("destroy", "-auto-approve", "-input=false")
    assert destroyed.returncode == 0, destroyed.stdout[-4000:] + destroyed.stderr[-4000:]
    assert NAME not in mwaa.list_environments()["Environments"]


JS_CLIENT = r"""
const mwaa = require("@aws-sdk/client-mwaa");
const client = new mwaa.MWAAClient({});  // endpoint, region and credentials from the environment alone
const say = (what) => console.log(JSON.stringify(what));
(async () => {
  const created = await client.send(new mwaa.CreateEnvironmentCommand({
    Name: "js-env", ExecutionRoleArn: process.env.ROLE, SourceBucketArn: "arn:aws:s3:::tf-bucket",
    DagS3Path: "dags", NetworkConfiguration: JSON.parse(process.env.NETWORK)}));
  say({created: created.Arn});
  const got = await client.send(new mwaa.GetEnvironmentCommand({Name: "js-env"}));
  say({status: got.Environment.Status, version: got.Environment.AirflowVersion});
  const listed = await client.send(new mwaa.ListEnvironmentsCommand({}));
  say({listed: listed.Environments});
  const token = await client.send(new mwaa.CreateCliTokenCommand({Name: "js-env"}));
  say({token: token.CliToken.length > 0, host: token.WebServerHostname});
  await client.send(new mwaa.DeleteEnvironmentCommand({Name: "js-env"}));
  for (let i = 0; i < 300; i++) {
    try {
      await client.send(new mwaa.GetEnvironmentCommand({Name: "js-env"}));
    } catch (error) {
      say({gone: error.name});
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  say({gone: false});
})().catch((error) => { console.error(error); process.exit(1); });
"""


@pytest.mark.skipif(shutil.which("npm") is None or shutil.which("node") is None, reason="needs node and npm")
def test_javascript_sdk_creates_reads_lists_tokens_and_deletes(plane, env_vars, tmp_path, resolving_names):
    import json

    s3 = boto3.client("s3", endpoint_url=env_vars["AWS_ENDPOINT_URL_S3"], region_name="us-east-1",
                      aws_access_key_id=env_vars["AWS_ACCESS_KEY_ID"],
                      aws_secret_access_key=env_vars["AWS_SECRET_ACCESS_KEY"],
                      config=Config(s3={"addressing_style": "path"}))
    if "tf-bucket" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket="tf-bucket")
    installed = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--silent", "@aws-sdk/client-mwaa@3"],
                               cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert installed.returncode == 0, installed.stderr[-3000:]
    (tmp_path / "client.js").write_text(JS_CLIENT)
    environment = {k: v for k, v in env_vars.items() if k != "AWS_DISABLE_HOST_PREFIX_INJECTION"}
    environment.update({"ROLE": ROLE, "NETWORK": json.dumps(NETWORK)})
    result = subprocess.run(["node", "client.js"], cwd=tmp_path, env=environment, capture_output=True, text=True,
                            timeout=400)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    said = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert said[0]["created"] == "arn:aws:airflow:us-east-1:000000000000:environment/js-env"
    assert said[1]["status"] in ("CREATING", "AVAILABLE") and said[1]["version"] == "3.3.2"
    assert "js-env" in said[2]["listed"]
    assert said[3]["token"] is True and said[3]["host"].startswith("localhost:")
    assert said[4] == {"gone": "ResourceNotFoundException"}
