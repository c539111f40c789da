"""Environment use cases behind the MWAA operations: each call is one transaction plus a wake-up."""

from __future__ import annotations

import base64
import time
from collections.abc import Callable

from aerodrome import errors
from aerodrome.bundles import resolve
from aerodrome.bundles.base import Bucket
from aerodrome.domain import versions
from aerodrome.domain.environment import EnvironmentView, LastUpdate
from aerodrome.domain.placement import Placement
from aerodrome.domain.spec import LOG_TYPES, EnvironmentSpec, bucket_name, environment_arn, log_group
from aerodrome.domain.status import DELETABLE, UPDATABLE, Status
from aerodrome.runtimes import endpoints
from aerodrome.runtimes.base import Placer
from aerodrome.services import pinning
from aerodrome.settings import Settings
from aerodrome.store import environments
from aerodrome.store.db import Store, may_block

MAX_TAGS = 50
ENVIRONMENTS_TABLE = "environments"  # reads are served from memory until it changes


class EnvironmentService:
    def __init__(self, *, store: Store, settings: Settings, runtime: Placer, wake: Callable[[str], None]):
        self._store = store
        self._settings = settings
        self._runtime = runtime
        self._wake = wake
        # (the table's generation, {name: (record, its view once the runtime has written its endpoints)})
        self._listed: tuple[int, dict[str, tuple[environments.EnvironmentRecord, EnvironmentView | None]]] = (-1, {})

    # --- reads -------------------------------------------------------------------------------
    def get(self, name: str) -> EnvironmentView:
        found = self._known().get(name)
        if found is None:
            raise errors.NotFound(f"Environment {name} not found.")
        record, view = found
        if view is None:  # no endpoints yet: read the file each time until the runtime writes it
            may_block()
            return self.view(record)
        return view

    def list_names(self, *, max_results: int, next_token: str | None) -> tuple[list[str], str | None]:
        names = list(self._known())
        start = _decode_token(next_token, names) if next_token else 0
        page = names[start:start + max_results]
        more = start + max_results < len(names)
        return page, (_encode_token(names[start + max_results]) if more else None)

    def _known(self) -> dict[str, tuple[environments.EnvironmentRecord, EnvironmentView | None]]:
        """Every environment, oldest first, with its view as GetEnvironment shows it: read again
        (records, and the endpoints files the runtime writes when it wires one) only after the table
        changed, so reads between changes need neither the store nor a file."""
        generation, known = self._listed
        now = self._store.generations.of(ENVIRONMENTS_TABLE)
        if generation != now:
            with self._store.session() as session:
                records = environments.all_records(session=session)
            known = {}
            for record in records:
                view = self.view(record)
                known[record.name] = (record, view if view.celery_executor_queue else None)
            self._listed = (now, known)
        return known

    def placement(self, name: str) -> Placement:
        with self._store.session() as session:
            return environments.get(name, session=session).placement

    def list_tags(self, arn: str) -> dict[str, str]:
        with self._store.session() as session:
            return environments.find_by_arn(arn, session=session).tags

    # --- writes ------------------------------------------------------------------------------
    def create(self, spec: EnvironmentSpec, *, tags: dict[str, str],
               before_start: Callable[..., None] | None = None) -> str:
        """`before_start(placement, session=)` runs before the reconciler can see the environment (a snapshot
        load stages its database there); if it raises, nothing is created."""
        spec = pinning.pin(spec, self._check_bucket(spec.source_bucket_arn))
        now = time.time()
        with self._store.session() as session:
            existing = {r.name: r for r in environments.all_records(session=session)}
            if spec.name in existing:
                raise errors.Invalid(f"Environment {spec.name} already exists.")
            placement = self._runtime.place([r.placement for r in existing.values()])
            status = Status.PENDING if spec.endpoint_management == "CUSTOMER" else Status.CREATING
            arn = environment_arn(spec.name, region=self._settings.region, account=self._settings.account)
            environments.insert(environments.EnvironmentRecord(
                name=spec.name, env_id=placement.env_id, arn=arn, status=status, generation=1,
                applied_generation=0, spec=spec, applied_spec=None, placement=placement, tags=dict(tags),
                created_at=now, last_update=LastUpdate(status="PENDING", created_at=now, source="USER"),
            ), session=session)
            if before_start is not None:
                before_start(placement, session=session)
        self._wake(spec.name)
        return arn

    def update(self, name: str, *, changes: dict[str, object]) -> str:
        changes = pinning.unpin_moved(changes)
        now = time.time()
        with self._store.session() as session:
            record = environments.get(name, session=session)
            if record.status not in UPDATABLE:
                raise errors.Conflict(
                    f"Environment {name} is {record.status.value}; it can be updated when it is "
                    f"{', '.join(sorted(s.value for s in UPDATABLE))}. Wait for the current operation to finish.")
            desired = record.spec.replace(**changes)
            if "source_bucket_arn" in changes or pinning.names_bundles(changes):
                desired = pinning.pin(desired, self._check_bucket(desired.source_bucket_arn),
                                      only=None if "source_bucket_arn" in changes else set(changes))
            running = (record.applied_spec or record.spec).airflow_version
            change = versions.check(running, desired.airflow_version)
            last_update = LastUpdate(status="PENDING", created_at=now, source="USER",
                                     worker_replacement_strategy=desired.worker_replacement_strategy)
            generation = environments.set_desired(name, desired, last_update=last_update, session=session)
            environments.transition(name, Status.CREATING_SNAPSHOT if change else Status.UPDATING, session=session,
                            expected=record.status, generation=generation)
        self._wake(name)
        return record.arn

    def confirm_endpoints(self, name: str) -> None:
        """EndpointManagement=CUSTOMER: the customer's endpoints exist; the create may go on."""
        with self._store.session() as session:
            record = environments.get(name, session=session)
            if record.status != Status.PENDING:
                raise errors.Conflict(f"Environment {name} is {record.status.value}, not PENDING; there are no "
                                      "endpoints to confirm.")
            environments.transition(name, Status.CREATING, session=session, expected=Status.PENDING)
        self._wake(name)

    def delete(self, name: str) -> None:
        with self._store.session() as session:
            record = environments.get(name, session=session)
            if record.status == Status.DELETING:
                return
            if record.status not in DELETABLE:
                raise errors.Conflict(
                    f"Environment {name} is {record.status.value} and cannot be deleted now; "
                    "retry when the current operation has finished.")
            environments.transition(name, Status.DELETING, session=session, expected=record.status,
                            last_update=LastUpdate(status="PENDING", created_at=time.time(), source="USER"))
        self._wake(name)

    def tag(self, arn: str, *, tags: dict[str, str]) -> None:
        with self._store.session() as session:
            record = environments.find_by_arn(arn, session=session)
            merged = {**record.tags, **tags}
            if len(merged) > MAX_TAGS:
                raise errors.Invalid(f"An environment can have at most {MAX_TAGS} tags; this would make {len(merged)}.")
            environments.set_tags(record.name, merged, session=session)

    def untag(self, arn: str, *, keys: list[str]) -> None:
        with self._store.session() as session:
            record = environments.find_by_arn(arn, session=session)
            environments.set_tags(record.name, {k: v for k, v in record.tags.items() if k not in set(keys)},
                          session=session)

    # --- helpers -----------------------------------------------------------------------------
    def view(self, record: environments.EnvironmentRecord) -> EnvironmentView:
        region, account = self._settings.region, self._settings.account
        spec = record.spec
        addresses = endpoints.read(record.placement.root)
        groups = {
            log_type: f"arn:aws:logs:{region}:{account}:log-group:{log_group(spec.name, log_type)}"
            for log_type in LOG_TYPES
        }
        return EnvironmentView(
            spec=spec,
            status=record.status,
            arn=record.arn,
            created_at=record.created_at,
            last_update=record.last_update,
            webserver_url=f"{self._settings.web_hostname}:{record.placement.endpoint_port}",
            celery_executor_queue=addresses.get("broker"),
            database_vpc_endpoint_service=addresses.get("database"),
            service_role_arn=(f"arn:aws:iam::{account}:role/aws-service-role/airflow.amazonaws.com/"
                              "AWSServiceRoleForAmazonMWAA"),
            log_group_arns=groups,
            tags=record.tags,
        )

    def _check_bucket(self, source_bucket_arn: str) -> Bucket:
        bucket = resolve.open_bucket(self._settings, source_bucket_arn)
        if not bucket.exists():
            where = self._settings.s3_endpoint_url or str(self._settings.buckets_dir)
            raise errors.Invalid(
                f"Unable to access the bucket {bucket_name(source_bucket_arn)} ({where}). "
                "Create it first (for a local bucket: a directory of that name), then retry.")
        return bucket


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode()).decode()


def _decode_token(token: str, names: list[str]) -> int:
    try:
        name = base64.urlsafe_b64decode(token.encode()).decode()
    except (ValueError, UnicodeDecodeError):
        name = None
    if name is None or name not in names:
        raise errors.Invalid("The NextToken is not valid or has expired; list again from the start.")
    return names.index(name)
