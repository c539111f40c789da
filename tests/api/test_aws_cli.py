"""The AWS CLI, configured only by the environment variables `aerodrome client-env` prints."""

import json
import os
import subprocess
import sys

from tests.api.conftest import minimal


def aws(control_plane, tmp_path, *args):
    env = {
        "PATH": os.environ["PATH"], "HOME": str(tmp_path),
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "AWS_ENDPOINT_URL_MWAA": control_plane["url"], "AWS_ACCESS_KEY_ID": control_plane["key"],
        "AWS_SECRET_ACCESS_KEY": control_plane["secret"], "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1", "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    result = subprocess.run([sys.executable, "-m", "awscli", *args], env=env, capture_output=True, text=True,
                            timeout=120)
    return result


def test_list_and_get_environment(mwaa, control_plane, tmp_path):
    mwaa.create_environment(**minimal())
    listed = aws(control_plane, tmp_path, "mwaa", "list-environments")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout) == {"Environments": ["dev"]}
    got = aws(control_plane, tmp_path, "mwaa", "get-environment", "--name", "dev")
    assert got.returncode == 0, got.stderr
    env = json.loads(got.stdout)["Environment"]
    assert env["Name"] == "dev" and env["Status"] == "CREATING"
    missing = aws(control_plane, tmp_path, "mwaa", "get-environment", "--name", "nope")
    assert missing.returncode != 0 and "ResourceNotFoundException" in missing.stderr
