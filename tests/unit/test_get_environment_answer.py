"""GetEnvironment's answer is kept per view, its JSON encoded once: the same answer until the
environment changes, then a new one that shows the change."""

import dataclasses
import json

from aerodrome.api.aws.operations import Encoded, MwaaOperations
from aerodrome.domain.environment import EnvironmentView, LastUpdate
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.status import Status


class Views:
    def __init__(self, view: EnvironmentView):
        self.view = view

    def get(self, name: str) -> EnvironmentView:
        assert name == self.view.spec.name
        return self.view


def test_the_answer_is_kept_until_the_view_changes():
    spec = EnvironmentSpec(name="dev", execution_role_arn="arn:aws:iam::000000000000:role/r",
                           source_bucket_arn="arn:aws:s3:::b", dag_s3_path="dags/")
    views = Views(EnvironmentView(spec=spec, status=Status.AVAILABLE, arn="arn:env/dev", created_at=1.0,
                                  last_update=LastUpdate(status="SUCCESS", created_at=1.0)))
    operations = MwaaOperations(views)  # type: ignore[arg-type]

    first = operations.get_environment({"Name": "dev"})
    assert isinstance(first, Encoded) and first["Environment"]["Status"] == "AVAILABLE"
    assert json.loads(first.body) == json.loads(json.dumps(first))  # the body is the answer's JSON
    assert operations.get_environment({"Name": "dev"}) is first

    views.view = dataclasses.replace(views.view, status=Status.UPDATING)
    second = operations.get_environment({"Name": "dev"})
    assert second is not first and json.loads(second.body)["Environment"]["Status"] == "UPDATING"
