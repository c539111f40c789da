"""Join tokens for remote worker hosts: issuing, listing and revoking them (API use cases), and the
join handshake a host makes with one (`join`), which decides purely (domain.worker_tokens.admit)
and records the host with compare-and-swap, so one token joins one host. Once that is committed the
runtime lets the host into the environment's broker as a user of its own (`host-<token id>`, a new
password at every handshake, limited to the token's queue); revoking shuts that user out, ending its
connections. The answer tells the host what its workers run with (domain.worker_join) and where the
Execution API is (the environment's HTTPS web endpoint). A joined host reads its DAGs and pinned
files through `objects`/`read`, with its token: only its environment's, only those objects."""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable

from aerodrome import errors
from aerodrome.bundles import resolve
from aerodrome.bundles.base import Bucket
from aerodrome.domain import worker_join
from aerodrome.domain import worker_tokens as domain
from aerodrome.domain.spec import EnvironmentSpec
from aerodrome.domain.worker_tokens import WorkerToken
from aerodrome.runtimes.base import WorkerHosts
from aerodrome.settings import Settings
from aerodrome.store import environments
from aerodrome.store import worker_tokens as store_tokens
from aerodrome.store.db import Store


class WorkerTokenService:
    def __init__(self, *, store: Store, hosts: WorkerHosts | None = None, settings: Settings | None = None,
                 web_ca: Callable[[], str | None] = lambda: None, clock: Callable[[], float] = time.time):
        """`settings` open the environments' buckets and name their web endpoints; `web_ca()` is the
        endpoints' CA certificate (PEM), None over plain HTTP."""
        self._store = store
        self._hosts = hosts
        self._settings = settings
        self._web_ca = web_ca
        self._clock = clock

    def issue(self, name: str, *, queue: str | None = None, ttl: str | int | None = None,
              actor: str = "") -> dict:
        """A new token for one host of environment `name`; the only time its text is shown."""
        queue, seconds = domain.check_queue(queue), domain.parse_ttl(ttl)
        now = self._clock()
        token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
        token = WorkerToken(token_id=token_id, environment=name, queue=queue,
                            secret_hash=domain.hash_secret(secret), created_at=now, expires_at=now + seconds,
                            created_by=actor)
        with self._store.session() as session:
            environments.get(name, session=session)  # NotFound for an unknown environment
            store_tokens.add(token, session=session)
        return {**_shown(token, now), "Token": domain.text(token_id, secret)}

    def list(self, name: str) -> dict:
        """{"Name", "Tokens": [{"TokenId", "Queue", "State", "Host", ...}]}, never a secret."""
        now = self._clock()
        with self._store.session() as session:
            environments.get(name, session=session)
            tokens = store_tokens.of_environment(name, session=session)
        return {"Name": name, "Tokens": [_shown(token, now) for token in tokens]}

    def revoke(self, name: str, token_id: str) -> dict:
        """Revoke token `token_id` of environment `name` (again is a no-op); returns the token."""
        now = self._clock()
        with self._store.session() as session:
            environments.get(name, session=session)
            token = store_tokens.get(token_id, session=session)
            if token is None or token.environment != name:
                raise errors.NotFound(f"Environment {name} has no worker token {token_id}; "
                                      f"`aerodrome worker tokens {name}` lists its tokens.")
            store_tokens.revoke(token_id, now=now, session=session)
            token = store_tokens.get(token_id, session=session)
            placement = environments.get(name, session=session).placement
        assert token is not None
        if self._hosts is not None:
            self._hosts.dismiss_worker_host(placement, broker_user(token_id))
        return _shown(token, now)

    def join(self, token_text: object, *, host: object, environment: str | None = None) -> dict:
        """The handshake of a joining host: the token checked, the host recorded as its owner.
        Returns what the host is to run: {"Environment", "AirflowVersion", "Queue", "TokenId", "Host",
        "Spec"}, with "BrokerUrl" and "BrokerCa" where a runtime lets hosts into the broker, and
        "ExecutionApiUrl" (and "WebCa" over HTTPS) where settings name the web endpoints."""
        host_name = domain.check_host(host)
        token_id, secret = domain.split(token_text)
        now = self._clock()
        with self._store.session() as session:
            stored = store_tokens.get(token_id, session=session)
            admitted = domain.admit(stored, secret, host=host_name, now=now, environment=environment)
            record = environments.get(admitted.environment, session=session)
            address = self._settings.worker_address if self._settings is not None else None
            if (refused := worker_join.refusal(record.spec, worker_address=address)) is not None:
                raise errors.Invalid(refused)
            if stored is not None and stored.host is None and \
                    not store_tokens.claim_host(token_id, host_name, now=now, session=session):
                raise errors.AccessDenied(f"Join token {token_id} was taken by another host or revoked meanwhile.")
        answer = {"Environment": admitted.environment, "AirflowVersion": record.spec.airflow_version,
                  "Queue": admitted.queue, "TokenId": token_id, "Host": host_name,
                  "Spec": worker_join.worker_spec(record.spec)}
        if self._settings is not None:
            answer["Region"] = self._settings.region
            scheme = "https" if self._settings.web_tls else "http"
            answer["ExecutionApiUrl"] = (f"{scheme}://{self._settings.web_hostname}:"
                                         f"{record.placement.endpoint_port}/execution/")
            if (ca := self._web_ca()) is not None:
                answer["WebCa"] = ca
        if self._hosts is not None:
            answer |= self._hosts.admit_worker_host(record.placement, broker_user(token_id), queue=admitted.queue)
        return answer

    def spec(self, token_text: object, *, host: object) -> dict:
        """{"Spec"}: what a joined host's workers run with now (a host replaces its workers when it changes)."""
        return {"Spec": worker_join.worker_spec(self._joined_spec(token_text, host))}

    def objects(self, token_text: object, *, host: object) -> dict:
        """{"Objects": [{"Key", "ETag", "Size"}]}: the DAG files of a joined host's environment."""
        spec = self._joined_spec(token_text, host)
        listing = self._bucket(spec).list(worker_join.dag_prefix(spec))
        return {"Objects": [{"Key": o.key, "ETag": o.etag, "Size": o.size} for o in listing
                            if worker_join.readable(spec, o.key)]}

    def read(self, token_text: object, *, host: object, key: object) -> dict:
        """{"Key", "ETag", "Body" (base64)}: one DAG file, or a pinned file at its pinned version."""
        spec = self._joined_spec(token_text, host)
        if not isinstance(key, str) or not worker_join.readable(spec, key):
            raise errors.AccessDenied(f"A worker host of {spec.name} may not read {key!r}.")
        pinned = {spec.plugins_s3_path: spec.plugins_s3_object_version,
                  spec.requirements_s3_path: spec.requirements_s3_object_version,
                  spec.startup_script_s3_path: spec.startup_script_s3_object_version}
        bucket = self._bucket(spec)
        version = pinned.get(key)
        info = bucket.head(key, version_id=version)
        if info is None:
            raise errors.NotFound(f"s3://{bucket.name}/{key} is gone.")
        return {"Key": key, "ETag": info.etag,
                "Body": base64.b64encode(bucket.get(key, version_id=version)).decode()}

    def environment_of(self, token_text: str) -> str:
        """The environment of a token a host has joined with and that is not revoked (what tasks on
        that host show to get the execution role's credentials), or AccessDenied."""
        token_id, secret = domain.split(token_text)
        with self._store.session() as session:
            return domain.held(store_tokens.get(token_id, session=session), secret).environment

    def _joined_spec(self, token_text: object, host: object) -> EnvironmentSpec:
        host_name = domain.check_host(host)
        token_id, secret = domain.split(token_text)
        with self._store.session() as session:
            token = domain.joined(store_tokens.get(token_id, session=session), secret, host=host_name)
            return environments.get(token.environment, session=session).spec

    def _bucket(self, spec: EnvironmentSpec) -> Bucket:
        if self._settings is None:
            raise errors.Permanent("This control plane serves no buckets to worker hosts.")
        return resolve.open_bucket(self._settings, spec.source_bucket_arn)


def broker_user(token_id: str) -> str:
    return f"host-{token_id}"


def _shown(token: WorkerToken, now: float) -> dict:
    return {"TokenId": token.token_id, "Environment": token.environment, "Queue": token.queue,
            "State": domain.state(token, now), "CreatedAt": domain.iso(token.created_at),
            "CreatedBy": token.created_by, "ExpiresAt": domain.iso(token.expires_at),
            "RevokedAt": domain.iso(token.revoked_at) if token.revoked_at is not None else None,
            "Host": token.host, "JoinedAt": domain.iso(token.joined_at) if token.joined_at is not None else None}
