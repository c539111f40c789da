"""Composition root: builds the store, adapters, services and loops from one Settings object."""

from __future__ import annotations

import functools
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from aerodrome.settings import Settings

if TYPE_CHECKING:
    import uvicorn
    from starlette.types import ASGIApp

    from aerodrome.bundles.sync import SyncResult
    from aerodrome.console.server import ConsoleServer
    from aerodrome.runtimes.local.s3_serve import S3Server
    from aerodrome.services.sso import SingleSignOn

log = logging.getLogger(__name__)


class ControlPlane:
    """Everything `aerodrome up` runs, in one process."""

    def __init__(self, settings: Settings, *, progress: Callable[[str, str], None] | None = None):
        from aerodrome.api.aws.app import build_mwaa_app
        from aerodrome.api.cloudwatch.app import build_service_app, cloudwatch_wire, logs_wire
        from aerodrome.api.ext.app import ExtApi, is_ext
        from aerodrome.api.front import Rule, build_front
        from aerodrome.api.prometheus import build_prometheus_app, is_scrape
        from aerodrome.api.role_credentials import build_role_credentials_app, is_role_credentials
        from aerodrome.api.sso import build_sso_app, is_sso
        from aerodrome.api.sts.app import build_sts_app, is_sts
        from aerodrome.auth import sealed
        from aerodrome.console.server import console_redirect, is_console_page
        from aerodrome.events.webhooks import WebhookSender
        from aerodrome.gateway.server import Gateways
        from aerodrome.reconcile.autoscale import Autoscaler
        from aerodrome.reconcile.controller import Controller
        from aerodrome.reconcile.every import Every
        from aerodrome.reconcile.log_shipper import LogShipper
        from aerodrome.reconcile.metrics_collector import MetricsCollector
        from aerodrome.reconcile.reconciler import Reconciler
        from aerodrome.reconcile.schedule_loop import ScheduleLoop
        from aerodrome.reconcile.syncs import BucketSyncs
        from aerodrome.runtimes.local import files
        from aerodrome.runtimes.local.driver import LocalDriver
        from aerodrome.services.access import AccessService
        from aerodrome.services.cloudwatch import CloudWatchService
        from aerodrome.services.cloudwatch_documents import CloudWatchDocuments
        from aerodrome.services.cloudwatch_logs import LogsService
        from aerodrome.services.credentials import CredentialService
        from aerodrome.services.environments import EnvironmentService
        from aerodrome.services.events import EventService
        from aerodrome.services.execution_roles import ExecutionRoleService
        from aerodrome.services.idle_sleep import IdleSleep
        from aerodrome.services.lifecycle import LifecycleService
        from aerodrome.services.metrics import MetricsService
        from aerodrome.services.principals import PrincipalService
        from aerodrome.services.rest_api import RestApiService
        from aerodrome.services.schedules import ScheduleService
        from aerodrome.services.snapshots import SnapshotService
        from aerodrome.services.sts import SecurityTokenService
        from aerodrome.services.tokens import Tokens
        from aerodrome.services.worker_tokens import WorkerTokenService
        from aerodrome.store.audit_journal import AuditJournal
        from aerodrome.store.db import Store
        from aerodrome.telemetry.documents import Documents
        from aerodrome.telemetry.log_store import LogStore
        from aerodrome.telemetry.metric_store import MetricStore
        from aerodrome.telemetry.prometheus import exposition
        from aerodrome.telemetry.statsd import StatsdListener, stable_port

        self.settings = settings
        for folder in (settings.home, settings.buckets_dir, settings.environments_dir, settings.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        settings.home.chmod(0o700)
        if settings.statsd_port == 0:  # the port environments send StatsD to stays the same across restarts
            settings = self.settings = settings.replace(statsd_port=stable_port(settings.home / "statsd.port"))
        self.store = Store(settings.store_url, sealer=sealed.Sealer(settings.store_key_file))
        self.store.migrate()
        self.credentials = CredentialService(store=self.store)
        self.driver = LocalDriver(settings, door_certificates=functools.partial(door_certificates, settings))
        self.events = EventService(store=self.store, settings=settings)
        self.syncs = BucketSyncs(settings, on_sync=self.events.record_sync, on_files=self._dag_files_changed)
        self.reconciler = Reconciler(store=self.store, driver=self.driver, syncs=self.syncs,
                                     progress=progress, health_timeout=settings.health_timeout)
        self.autoscaler = Autoscaler(store=self.store, driver=self.driver, interval=settings.autoscale_interval,
                                     scale_in_after=settings.scale_in_after, progress=progress)
        self.controller = Controller(self.reconciler.reconcile, names=self.reconciler.names,
                                     give_up=self.reconciler.give_up,
                                     resync_interval=settings.resync_interval)
        self.environments = EnvironmentService(store=self.store, settings=settings, runtime=self.driver,
                                               wake=self.controller.wake)
        self.audit = AuditJournal(self.store, settings.audit_journal_file)
        self.audit.open()  # entries a crash left behind are stored before anything else runs
        self.principals = PrincipalService(store=self.store, region=settings.region, account=settings.account,
                                           audit=self.audit)
        self.principals.ensure_admin()
        self.access = AccessService(environments=self.environments, runtime=self.driver,
                                    principals=self.principals, tokens=Tokens(), awake=self._ensure_awake)
        self.rest_api = RestApiService(environments=self.environments, runtime=self.driver, principals=self.principals,
                                       awake=self._ensure_awake)
        self.sso = self._single_sign_on()
        self.gateways = Gateways(settings, environments=self.environments, access=self.access, sso=self.sso)
        self._closing = threading.Event()
        self.webhooks = [WebhookSender(url, source=self.events, secret=self.events.webhook_secret())
                         for url in settings.event_webhooks]
        self.metric_store = MetricStore(settings.metrics_file, retention_days=settings.metrics_retention_days)
        self.cloudwatch = CloudWatchService(self.metric_store)
        self.metrics = MetricsService(environments=self.environments, cloudwatch=self.cloudwatch)
        mwaa = build_mwaa_app(environments=self.environments, credentials=self.credentials,
                              region=settings.region, account=settings.account,
                              authorizer=self.principals, access=self.access, rest_api=self.rest_api,
                              metrics=self.metrics,
                              known_groups=frozenset(settings.sso_groups) if settings.sso_groups is not None else None)
        self.lifecycle = LifecycleService(store=self.store, wake=self.controller.wake)
        self.idle_sleep = IdleSleep(store=self.store, runtime=self.driver, lifecycle=self.lifecycle,
                                    default_minutes=settings.idle_sleep_minutes,
                                    wake_lead=settings.idle_sleep_wake_lead,
                                    wake_timeout=settings.idle_sleep_wake_timeout,
                                    deep_minutes=settings.idle_sleep_deep_minutes,
                                    interval=settings.idle_sleep_interval)
        self.idle_sleep_loop = Every(settings.idle_sleep_interval, self.idle_sleep.tick, name="idle-sleep")
        self.snapshots = SnapshotService(store=self.store, settings=settings, runtime=self.driver,
                                         environments=self.environments, wake=self.controller.wake)
        self.schedules = ScheduleService(store=self.store, lifecycle=self.lifecycle, snapshot=self._scheduled_snapshot)
        self.schedule_loop = ScheduleLoop(self.schedules.tick)
        self.sts = SecurityTokenService(store=self.store, account=settings.account)
        self.worker_tokens = WorkerTokenService(store=self.store, hosts=self.driver, settings=settings,
                                                web_ca=self._web_ca)
        ext = ExtApi(events=self.events, lifecycle=self.lifecycle, credentials=self.credentials,
                     authorizer=self.principals, region=settings.region, account=settings.account,
                     closing=self._closing, snapshots=self.snapshots, schedules=self.schedules,
                     principals=self.principals, endpoints=self.environments,
                     worker_tokens=self.worker_tokens)
        self.execution_roles = ExecutionRoleService(store=self.store, role_token=self.driver.role_token,
                                                    region=settings.region, account=settings.account,
                                                    host_environment=self.worker_tokens.environment_of)
        self.documents = Documents(settings.metrics_file)
        self.cloudwatch_documents = CloudWatchDocuments(
            self.documents, self.cloudwatch, region=settings.region, account=settings.account,
            notify=self._alarm_changed)
        self._statsd_prefixes: dict[str, str] = {}
        self._statsd_refreshed = 0.0
        self.statsd = StatsdListener(
            settings.statsd_port, resolve=self._statsd_environment,
            sink=lambda namespace, data: self.cloudwatch.put_metric_data({"Namespace": namespace, "MetricData": data}))
        self.alarm_loop = Every(settings.alarm_interval, self.cloudwatch_documents.evaluate_alarms, name="alarms")
        self.collector = MetricsCollector(store=self.store, driver=self.driver, cloudwatch=self.cloudwatch,
                                          metric_store=self.metric_store, interval=settings.metrics_interval)
        self.collector_loop = Every(settings.metrics_interval, self.collector.tick, name="metrics", first=True)
        self.log_store = LogStore(settings.logs_file)
        self.logs = LogsService(self.log_store, region=settings.region, account=settings.account)
        self.log_shipper = Every(settings.log_ship_interval, LogShipper(
            store=self.store, logs=self.log_store, retention_days=settings.logs_retention_days).ship,
                                 name="log-shipper")
        scrape_token = files.secret(settings.metrics_token_file, make=lambda: secrets.token_urlsafe(32))
        # the first rule that takes a request decides; the MWAA API answers the rest
        routes: list[tuple[Rule, ASGIApp]] = []
        if settings.console_port:
            routes.append((is_console_page, console_redirect(settings.console_url)))
        if self.sso is not None:
            routes.append((is_sso, build_sso_app(self.sso, secure=True, session_ttl=int(settings.sso_session_ttl))))
        routes += [(is_scrape, build_prometheus_app(render=lambda: exposition(self.metric_store), token=scrape_token)),
                   (is_role_credentials, build_role_credentials_app(self.execution_roles))]
        for wire, services in ((logs_wire(region=settings.region, account=settings.account), (self.logs,)),
                               (cloudwatch_wire(), (self.cloudwatch, self.cloudwatch_documents))):
            routes.append((wire.takes, build_service_app(wire, services=services, credentials=self.credentials,
                                                         authorizer=self.principals)))
        routes += [(is_sts, build_sts_app(tokens=self.sts, credentials=self.credentials)), (is_ext, ext)]
        self.asgi = build_front(routes, mwaa, audit=self.audit)
        self.console: ConsoleServer | None = None
        self._reporter = threading.Thread(target=self._report_loads, name="snapshot-loads", daemon=True)
        self._s3: S3Server | None = None
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None

    def _single_sign_on(self) -> SingleSignOn | None:
        """Single sign-on when the settings name an identity provider; ValueError for a half setting."""
        from aerodrome.auth.oidc import Client, Provider, clients_from_json
        from aerodrome.domain.sso import parse_principal_map, parse_role_map
        from aerodrome.services.sso import SingleSignOn

        settings = self.settings
        clients = clients_from_json(settings.sso_providers)
        if settings.sso_issuer:
            if not settings.sso_client_id or not settings.sso_client_secret:
                raise ValueError("Single sign-on needs AERODROME_SSO_CLIENT_ID and AERODROME_SSO_CLIENT_SECRET "
                                 "with AERODROME_SSO_ISSUER.")
            clients.insert(0, Client(settings.sso_issuer, settings.sso_client_id, settings.sso_client_secret,
                                     settings.sso_scopes))
        if not clients:
            return None
        return SingleSignOn([Provider(client) for client in clients], access=self.access,
                            role_map=parse_role_map(settings.sso_roles), groups_claim=settings.sso_groups_claim,
                            plane_url=settings.endpoint_url, web_scheme="https" if settings.web_tls else "http",
                            session_ttl=settings.sso_session_ttl,
                            principal_map=parse_principal_map(settings.sso_principals))

    def _console(self) -> ConsoleServer:
        """The web console on its own listener, acting through this plane's APIs."""
        from aerodrome.console.app import build_console_app
        from aerodrome.console.plane_calls import PlaneCalls
        from aerodrome.console.server import ConsoleServer
        from aerodrome.console.sessions import ConsoleSessions
        from aerodrome.console.sign_in import SignIn

        settings = self.settings
        sessions = ConsoleSessions()
        sign_in = SignIn(sessions=sessions, credentials=self.credentials, sts=self.sts, sso=self.sso)
        app = build_console_app(sign_in=sign_in, calls=PlaneCalls(endpoint_url=settings.local_api_url,
                                                                  region=settings.region),
                                secure=settings.web_tls, plane_url=settings.endpoint_url,
                                web_scheme="https" if settings.web_tls else "http")
        return ConsoleServer(app, sessions=sessions, host=settings.host, port=settings.console_port,
                             tls_files=self.gateways.tls)

    def start(self) -> None:
        """Serve the API, start S3 serving and the reconciler; returns once the API answers."""
        import uvicorn

        access_key, secret = self.credentials.admin()
        for webhook in self.webhooks:
            webhook.start()
        if self.settings.serve_s3 and not self.settings.s3_endpoint_url:
            from aerodrome.runtimes.local.s3_serve import S3Server

            self._s3 = S3Server(self.settings, access_key, secret)
            self._s3.start()
        config = uvicorn.Config(self.asgi, host=self.settings.host, port=self.settings.port,
                                log_level="warning", access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._server_thread = threading.Thread(target=self._server.run, name="api", daemon=True)
        self._server_thread.start()
        self._wait_serving()
        self.gateways.start()
        if self.settings.console_port:
            self.console = self._console()
            self.console.start()
        self.controller.start()
        self._reporter.start()
        self.schedule_loop.start()
        self.autoscaler.start()
        self.idle_sleep_loop.start()
        self.collector_loop.start()
        self.alarm_loop.start()
        self.statsd.start()
        self.log_shipper.start()
        for name in self.reconciler.names():
            self.controller.wake(name)
        self._write_endpoint()

    def close(self) -> None:
        """Stop the loops and every process this control plane started."""
        self.schedule_loop.stop()
        self.autoscaler.stop()
        self.idle_sleep_loop.stop()
        self.idle_sleep.close()
        self.collector_loop.stop()
        self.alarm_loop.stop()
        self.statsd.stop()
        self.log_shipper.stop()
        self.controller.stop()
        self.gateways.close()
        if self.console is not None:
            self.console.close()
        if self.sso is not None:
            self.sso.close()
        self._closing.set()  # ends event streams, so the API server can stop
        if self._reporter.is_alive():
            self._reporter.join(10)
        for webhook in self.webhooks:
            webhook.stop()
        self.syncs.stop_all()
        self.driver.close()
        if self._s3 is not None:
            self._s3.stop()
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread is not None:
                self._server_thread.join(10)
        self.settings.endpoint_file.unlink(missing_ok=True)
        self.audit.close()
        self.store.close()
        self.metric_store.close()
        self.documents.close()
        self.logs.close()
        self.log_store.close()

    def _statsd_environment(self, prefix: str) -> str | None:
        """The environment whose secret StatsD prefix this is (the table is read again, at most every 2 s,
        when a prefix is not in it)."""
        from aerodrome.store import environments

        if prefix not in self._statsd_prefixes and time.monotonic() - self._statsd_refreshed > 2:
            self._statsd_refreshed = time.monotonic()
            with self.store.session() as session:
                records = environments.all_records(session=session)
            found = {}
            for record in records:
                known = self.driver.statsd_prefix(record.placement) if record.placement else None
                if known:
                    found[known] = record.name
            self._statsd_prefixes = found
        return self._statsd_prefixes.get(prefix)

    def _ensure_awake(self, name: str, cause: str) -> None:
        """A request needs `name`'s processes: wake it from idle sleep first (see services/idle_sleep.py)."""
        self.idle_sleep.ensure_awake(name, cause)

    def _dag_files_changed(self, name: str, team: str | None, result: SyncResult) -> None:
        """A sync changed DAG files: the environment's dag-processor parses them now (it rescans rarely)."""
        from aerodrome import errors
        from aerodrome.store import environments

        with self.store.session() as session:
            record = environments.get(name, session=session)
        if record.placement is None:
            return
        try:
            self.driver.request_parse(record.applied_spec or record.spec, record.placement, team=team,
                                      changed=[*result.added, *result.changed], removed=result.removed)
        except errors.Temporary as exc:  # not running yet: its first parse reads every file anyway
            log.debug("%s: no parse request: %s", name, exc)

    def _alarm_changed(self, alarm: str, environment: str, detail: dict) -> None:
        """An alarm changed state: a `CloudWatch Alarm State Change` event to every event sink."""
        from aerodrome.store import environments

        with self.store.session() as session:
            environments.append_event(environment, "alarm", detail, session=session)

    def _scheduled_snapshot(self, name: str, keep: int) -> None:
        """A snapshot schedule's firing: save one, then keep the newest `keep`."""
        self.snapshots.save(name)
        self.snapshots.prune(name, keep=keep)

    def _report_loads(self) -> None:
        """Snapshot loads the driver has restored become events (see SnapshotService.report_loads)."""
        while not self._closing.wait(1.0):
            try:
                self.snapshots.report_loads()
            except Exception:
                log.exception("reporting snapshot loads failed")

    def _wait_serving(self) -> None:
        import time

        deadline = time.monotonic() + 30
        while not (self._server and self._server.started):
            if time.monotonic() > deadline or not (self._server_thread and self._server_thread.is_alive()):
                raise RuntimeError(
                    f"The API server did not start on {self.settings.host}:{self.settings.port}; "
                    "is the port in use? Choose another with --port or AERODROME_PORT.")
            time.sleep(0.05)

    def _web_ca(self) -> str | None:
        """The web endpoints' CA certificate (PEM), which remote worker hosts trust; None over HTTP."""
        return self.gateways.tls.ca.read_text() if self.gateways.tls is not None else None

    def _write_endpoint(self) -> None:
        data = {"endpoint_url": self.settings.endpoint_url, "region": self.settings.region}
        if self.gateways.tls is not None:
            data["ca_bundle"] = str(self.gateways.tls.bundle)
        if self._s3 is not None:
            data["s3_endpoint_url"] = self._s3.url
        self.settings.endpoint_file.write_text(json.dumps(data))


def door_certificates(settings: Settings, address: str) -> tuple[Path, Path, Path]:
    """The broker doors' certificate for `address`, from a CA of their own (tls/brokers/)."""
    from aerodrome.auth import tls

    files = tls.ensure(settings.tls_dir / "brokers", hostnames=tuple(dict.fromkeys((address, "localhost",
                                                                                    "127.0.0.1"))))
    return files.cert, files.key, files.ca
