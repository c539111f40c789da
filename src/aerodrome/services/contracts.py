"""What the API layer may call. Implemented by services.environments.EnvironmentService."""

from __future__ import annotations

from typing import Protocol

from aerodrome.domain.environment import EnvironmentView
from aerodrome.domain.schedules import Schedule
from aerodrome.domain.spec import EnvironmentSpec


class Environments(Protocol):
    def create(self, spec: EnvironmentSpec, *, tags: dict[str, str]) -> str:
        """Accept a new environment (status CREATING or PENDING); returns its ARN.
        Raises Invalid (bad values / name taken by a live env is Invalid as MWAA), ..."""

    def get(self, name: str) -> EnvironmentView:
        """Raises NotFound."""

    def list_names(self, *, max_results: int, next_token: str | None) -> tuple[list[str], str | None]:
        """Names in creation order, paginated; raises Invalid for a bad next_token."""

    def update(self, name: str, *, changes: dict[str, object]) -> str:
        """`changes` maps EnvironmentSpec field names to new values (only what the caller sent).
        Raises NotFound, Invalid, Conflict (not in an updatable status). Returns the ARN."""

    def delete(self, name: str) -> None:
        """Raises NotFound, Conflict."""

    def tag(self, arn: str, *, tags: dict[str, str]) -> None: ...

    def untag(self, arn: str, *, keys: list[str]) -> None: ...

    def list_tags(self, arn: str) -> dict[str, str]: ...


class Credentials(Protocol):
    def secret_for(self, access_key_id: str, session_token: str | None = None) -> str | None:
        """The secret access key issued with `access_key_id` (temporary credentials: only with their
        session token), or None if unknown; raises Unauthenticated for expired temporary credentials."""

    def cached_secret(self, access_key_id: str, session_token: str | None = None) -> str | None:
        """`secret_for` when it needs no store read; None when it would."""


class SecurityTokens(Protocol):
    """Implemented by services.sts.SecurityTokenService (STS on the MWAA endpoint)."""

    def caller_identity(self, access_key_id: str) -> dict:
        """{"UserId", "Account", "Arn"} of the caller."""

    def session_token(self, access_key_id: str, *, duration: int | None) -> dict:
        """{"Credentials": {...}} acting as the caller's own principal (duration None: the default);
        raises Invalid, AccessDenied."""

    def assume_role(self, access_key_id: str, *, role_arn: str, session_name: str,
                    duration: int | None) -> dict:
        """{"Credentials", "AssumedRoleUser"}; raises Invalid, AccessDenied (no such role, not trusted)."""


class Access(Protocol):
    """Implemented by services.access.AccessService."""

    def create_cli_token(self, principal: str, name: str) -> dict: ...

    def create_web_login_token(self, access_key_id: str, name: str) -> dict: ...


class RestApi(Protocol):
    """Implemented by services.rest_api.RestApiService."""

    def invoke_rest_api(self, access_key_id: str, request: dict) -> dict: ...


class Metrics(Protocol):
    """Implemented by services.metrics.MetricsService."""

    def publish_metrics(self, name: str, metric_data: list) -> None: ...


class Authorizer(Protocol):
    """Implemented by services.principals.PrincipalService."""

    def authorize(self, access_key_id: str, action: str, resource: str) -> str:
        """The caller's principal, or raises AccessDenied."""


class Principals(Protocol):
    """Implemented by services.principals.PrincipalService; `actor` is who the audit log names."""

    def create(self, name: str, *, actor: str) -> tuple[str, str]:
        """(access key id, secret) of a new principal with no policy; raises Invalid (bad name, taken)."""

    def delete(self, name: str, *, actor: str) -> None:
        """Raises NotFound, Invalid (the admin principal)."""

    def attach(self, name: str, policy_name: str, document: str, *, actor: str) -> None:
        """Add or replace a named policy; raises NotFound, Invalid (a bad document or name)."""

    def detach(self, name: str, policy_name: str, *, actor: str) -> None:
        """Raises NotFound."""

    def trust(self, name: str, document: str, *, actor: str) -> None:
        """Set the trust rule (who may assume `name` as a role); raises NotFound, Invalid."""

    def describe(self) -> list[dict]:
        """[{"name", "access_keys" (ids only), "policies"}] for every principal."""

    def audit(self, *, limit: int = 100) -> list[dict]:
        """The newest `limit` audit entries, oldest first ({"at", "principal", "action", ...})."""


class Endpoints(Protocol):
    """Implemented by services.environments.EnvironmentService."""

    def confirm_endpoints(self, name: str) -> None:
        """EndpointManagement=CUSTOMER: PENDING -> CREATING and wake the reconciler; raises NotFound, Conflict."""


class Events(Protocol):
    def since(self, position: int, *, environment: str | None = None, limit: int = 100) -> list[tuple[int, dict]]:
        """(sequence, EventBridge-shaped event) after `position`, oldest first."""

    def latest(self) -> int:
        """The newest event's sequence (0 when there is none)."""


class Lifecycle(Protocol):
    def hibernate(self, name: str, *, force: bool = False) -> dict:
        """{"Name", "Status", "EventPosition"}; raises NotFound, Conflict (not in a status that may hibernate)."""

    def resume(self, name: str) -> dict:
        """{"Name", "Status", "EventPosition"}; raises NotFound, Conflict (not HIBERNATED)."""


class Schedules(Protocol):
    """Implemented by services.schedules.ScheduleService."""

    def put(self, name: str, schedules: list[Schedule]) -> dict:
        """Replace the environment's schedules; returns what `get` returns. Raises NotFound, Invalid."""

    def get(self, name: str) -> dict:
        """{"Name", "Schedules": [{"Kind", "Cron", "Timezone", "Keep"?, "LastFired", "NextFire"}]}."""


class Snapshots(Protocol):
    """Implemented by services.snapshots.SnapshotService."""

    def save(self, name: str, *, bucket: str | None = None) -> dict:
        """The new snapshot's summary ("id", "environment", "created", "files", "counts", ...)."""

    def target(self, snapshot_id: str, *, into: str | None = None, bucket: str | None = None) -> str:
        """The environment a load would change; raises NotFound, Invalid."""

    def load(self, snapshot_id: str, *, into: str | None = None, bucket: str | None = None) -> dict:
        """{"Name", "Status", "Snapshot", "EventPosition"}; raises NotFound, Invalid (corrupted), Conflict."""

    def list(self, name: str | None = None, *, bucket: str | None = None) -> list[dict]: ...

    def prune(self, name: str, *, keep: int, bucket: str | None = None) -> dict:
        """{"Deleted": [ids], "Kept": [ids]}."""


class WorkerTokens(Protocol):
    """Implemented by services.worker_tokens.WorkerTokenService."""

    def issue(self, name: str, *, queue: str | None = None, ttl: str | int | None = None, actor: str = "") -> dict:
        """A new join token for one host (its text shown only here). Raises NotFound, Invalid."""

    def list(self, name: str) -> dict:
        """{"Name", "Tokens": [...]}, without secrets. Raises NotFound."""

    def revoke(self, name: str, token_id: str) -> dict:
        """The token, revoked. Raises NotFound (also for a token of another environment)."""

    def join(self, token_text: object, *, host: object, environment: str | None = None) -> dict:
        """A host's join handshake. Raises AccessDenied saying why a token may not join, Invalid."""

    def spec(self, token_text: object, *, host: object) -> dict:
        """{"Spec"}: the worker spec a joined host runs now. Raises AccessDenied."""

    def objects(self, token_text: object, *, host: object) -> dict:
        """{"Objects": [...]}: the DAG files a joined host mirrors. Raises AccessDenied."""

    def read(self, token_text: object, *, host: object, key: object) -> dict:
        """{"Key", "ETag", "Body" (base64)} of one object a joined host may read. Raises AccessDenied, NotFound."""
