"""The AWS CLI, configured only by the environment variables `aerodrome client-env` prints."""

import json

from tests.support import aws_cli as aws
from tests.support import minimal


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
