"""One thin method per MWAA operation: wire members in, wire members out."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TypeVar

from aerodrome import errors
from aerodrome.api.aws import convert
from aerodrome.domain import teams, validation, web_paths
from aerodrome.domain.environment import EnvironmentView
from aerodrome.domain.status import RUNNING, Status
from aerodrome.services.contracts import Access, Environments, Metrics, RestApi

NOT_YET: tuple[str, ...] = ()
Service = TypeVar("Service")
# Operations whose IAM resources are Airflow role ARNs: the access service decides which role applies.
ROLE_SCOPED = ("CreateWebLoginToken", "InvokeRestApi")


class Encoded(dict):
    """An answer kept between requests, with its JSON body encoded once."""

    __slots__ = ("body",)

    def __init__(self, document: dict):
        super().__init__(document)
        self.body = json.dumps(document).encode()


class MwaaOperations:
    def __init__(self, environments: Environments, access: Access | None = None, rest_api: RestApi | None = None,
                 metrics: Metrics | None = None, known_groups: frozenset[str] | None = None):
        self._environments = environments
        self._known_groups = known_groups  # the identity provider's groups, when the settings name them
        self._access = access
        self._rest_api = rest_api
        self._metrics = metrics
        self._shown: dict[str, tuple[EnvironmentView, Encoded]] = {}  # GetEnvironment's answer per view

    def create_environment(self, request: dict) -> dict:
        members = {k: v for k, v in request.items() if k not in ("Name", "Tags")}
        spec = convert.spec_from_wire(request["Name"], members)
        validation.check(spec)
        self._check_groups(spec.teams)
        return {"Arn": self._environments.create(spec, tags=request.get("Tags") or {})}

    def get_environment(self, request: dict) -> dict:
        view = self._environments.get(request["Name"])
        shown = self._shown.get(view.arn)
        if shown is None or shown[0] is not view:  # the service keeps a view until its environment changes
            shown = self._shown[view.arn] = (view, Encoded({"Environment": convert.environment_to_wire(view)}))
        return shown[1]

    def list_environments(self, request: dict) -> dict:
        names, token = self._environments.list_names(max_results=request.get("MaxResults", 25),
                                                     next_token=request.get("NextToken"))
        return {"Environments": names, **({"NextToken": token} if token else {})}

    def update_environment(self, request: dict) -> dict:
        name = request["Name"]
        changes = convert.changes_from_wire({k: v for k, v in request.items() if k != "Name"})
        current = self._environments.get(name).spec
        if request.get("Teams") is not None:  # UpdateTeamsInput: changes to the current teams
            update = request["Teams"]
            changes["teams"] = teams.updated(current.teams,
                                             add_or_update=convert.teams_from_wire(update.get("AddOrUpdate") or {}),
                                             remove=list(update.get("Remove") or []))
            changes["retired_teams"] = teams.retired(current, changes["teams"])
        if "subnet_ids" in changes and tuple(changes["subnet_ids"]) != current.subnet_ids:
            raise errors.Invalid("SubnetIds cannot be changed after an environment is created.")
        validation.check(current.replace(**changes))
        if request.get("Teams") is not None:
            self._check_groups(request["Teams"].get("AddOrUpdate") or {})
        return {"Arn": self._environments.update(name, changes=changes)}

    def _check_groups(self, team_names: Iterable[str]) -> None:
        found = teams.group_problems(team_names, self._known_groups)
        if found:
            raise errors.Invalid(" ".join(found))

    def delete_environment(self, request: dict) -> dict:
        self._environments.delete(request["Name"])
        return {}

    def tag_resource(self, request: dict) -> dict:
        self._environments.tag(request["ResourceArn"], tags=request["Tags"])
        return {}

    def untag_resource(self, request: dict) -> dict:
        self._environments.untag(request["ResourceArn"], keys=list(request["tagKeys"]))
        return {}

    def list_tags_for_resource(self, request: dict) -> dict:
        return {"Tags": self._environments.list_tags(request["ResourceArn"])}

    # --- access: `caller` is the principal (or, for role-scoped operations, the access key) ---------
    def create_cli_token(self, request: dict, *, caller: str) -> dict:
        return _served(self._access).create_cli_token(caller, request["Name"])

    def create_web_login_token(self, request: dict, *, caller: str) -> dict:
        return _served(self._access).create_web_login_token(caller, request["Name"])

    def invoke_rest_api(self, request: dict, *, caller: str) -> dict:
        web_paths.rest_api_path(request["Path"])  # stays inside /api/v1 or /api/v2
        status = self._environments.get(request["Name"]).status
        if status not in RUNNING | {Status.HIBERNATED}:  # one asleep wakes for it (the service decides)
            raise errors.Conflict(f"Environment {request['Name']} is {status.value}; InvokeRestApi reaches its "
                                  "Airflow REST API once it is AVAILABLE.")
        return _served(self._rest_api).invoke_rest_api(caller, request)

    def publish_metrics(self, request: dict, *, caller: str) -> dict:
        _served(self._metrics).publish_metrics(request["EnvironmentName"], request["MetricData"])
        return {}

    def not_available(self, operation: str) -> dict:
        raise errors.Invalid(f"{operation} is not available in this Aerodrome version yet.")


def _served(service: Service | None) -> Service:
    """The service behind an operation; an API built without it (some tests) refuses the operation."""
    if service is None:
        raise errors.Invalid("This control plane does not serve this operation.")
    return service
