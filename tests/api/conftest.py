import boto3
import pytest
from botocore.config import Config

from aerodrome.api.aws.app import build_mwaa_app
from aerodrome.api.cloudwatch.app import build_service_app, cloudwatch_wire, logs_wire
from aerodrome.api.front import build_front
from aerodrome.api.sts.app import build_sts_app, is_sts
from aerodrome.runtimes.local.placement import HostPlacements
from aerodrome.runtimes.local.s3_serve import S3Server
from aerodrome.services.cloudwatch import CloudWatchService
from aerodrome.services.cloudwatch_documents import CloudWatchDocuments
from aerodrome.services.cloudwatch_logs import LogsService
from aerodrome.services.credentials import CredentialService
from aerodrome.services.environments import EnvironmentService
from aerodrome.services.principals import PrincipalService
from aerodrome.services.sts import SecurityTokenService
from aerodrome.settings import Settings
from aerodrome.telemetry.documents import Documents
from aerodrome.telemetry.log_store import LogStore
from aerodrome.telemetry.metric_store import MetricStore
from tests.support import S3_KEY, S3_SECRET, Wakes, free_port, serve_asgi


@pytest.fixture
def known_groups():
    """The identity provider's groups as the settings name them (None: not named)."""
    return None


@pytest.fixture
def control_plane(settings, store, known_groups):
    """The real MWAA app, services and store; no reconciler runs, so statuses stay where requests leave them."""
    settings.buckets_dir.mkdir(parents=True, exist_ok=True)
    (settings.buckets_dir / "my-bucket").mkdir()
    credentials = CredentialService(store=store)
    wakes = Wakes()
    environments = EnvironmentService(store=store, settings=settings, runtime=HostPlacements(settings), wake=wakes)
    principals = PrincipalService(store=store, region=settings.region, account=settings.account)
    principals.ensure_admin()
    app = build_mwaa_app(environments=environments, credentials=credentials, region=settings.region,
                         account=settings.account, authorizer=principals, known_groups=known_groups)
    sts = build_sts_app(tokens=SecurityTokenService(store=store, account=settings.account), credentials=credentials)
    metric_store = MetricStore(settings.metrics_file)
    metrics = CloudWatchService(metric_store)
    stored = Documents(settings.metrics_file)
    documents = CloudWatchDocuments(stored, metrics, region=settings.region,
                                    account=settings.account, notify=lambda *change: notified.append(change))
    notified: list = []
    log_store = LogStore(settings.logs_file)
    logs = LogsService(log_store, region=settings.region, account=settings.account)
    routes = [(wire.takes, build_service_app(wire, services=services, credentials=credentials, authorizer=principals))
              for wire, services in ((logs_wire(region=settings.region, account=settings.account), (logs,)),
                                     (cloudwatch_wire(), (metrics, documents)))]
    served = build_front([*routes, (is_sts, sts)], app)
    with serve_asgi(served) as url:
        key, secret = credentials.admin()
        yield {"url": url, "key": key, "secret": secret, "wakes": wakes, "environments": environments,
               "principals": principals, "metric_store": metric_store, "alarms": documents, "notified": notified,
               "log_store": log_store}
    metric_store.close()
    stored.close()
    logs.close()
    log_store.close()


@pytest.fixture
def mwaa(control_plane):
    return boto3.client("mwaa", endpoint_url=control_plane["url"], aws_access_key_id=control_plane["key"],
                        aws_secret_access_key=control_plane["secret"], region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1}))


@pytest.fixture
def raw_mwaa(control_plane):
    """boto3 with its client-side checks off, so every bad value reaches the server."""
    return boto3.client("mwaa", endpoint_url=control_plane["url"], aws_access_key_id=control_plane["key"],
                        aws_secret_access_key=control_plane["secret"], region_name="us-east-1",
                        config=Config(inject_host_prefix=False, retries={"max_attempts": 1},
                                      parameter_validation=False))


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """rclone serving a local buckets folder over S3, with the S3_KEY/S3_SECRET credentials: (server, settings)."""
    settings = Settings(home=tmp_path_factory.mktemp("s3home"), s3_port=free_port())
    server = S3Server(settings, S3_KEY, S3_SECRET)
    server.start()
    yield server, settings
    server.stop()


@pytest.fixture
def server(served):
    return served[0]
