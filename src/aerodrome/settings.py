"""One typed settings object, built once at start-up (from the environment and flags) and passed down."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aerodrome.domain.spec import DEFAULT_ACCOUNT, DEFAULT_REGION

_URLS = frozenset({"s3_endpoint_url", "postgres_url", "redis_url"})


def masked_url(url: str) -> str:
    """`url` with the password of its user part replaced by ***. Everything up to the last @ is the
    user part, so a password holding unescaped / or # is hidden too."""
    scheme, separator, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in userinfo:
        return url
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


def _default_home() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("aerodrome"))


# Served on the API's port: an environment's processes get their execution role's credentials here.
ROLE_CREDENTIALS_PATH = "/aerodrome/v1/role-credentials"


@dataclass(frozen=True)
class Settings:
    home: Path
    host: str = "127.0.0.1"
    port: int = 8700
    # The name clients are given for the API endpoint. SDKs other than botocore put MWAA's host
    # prefixes (api., env.) in front of it, so in a real deployment it is a DNS name with a wildcard
    # record; locally `aerodrome hosts install` makes api.localhost and env.localhost resolve.
    endpoint_hostname: str | None = None
    region: str = DEFAULT_REGION
    account: str = DEFAULT_ACCOUNT
    # S3: when s3_endpoint_url is set, buckets live there; otherwise under home/buckets and,
    # when serve_s3 is on, they are also served over the S3 protocol on s3_port.
    s3_endpoint_url: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = dataclasses.field(default=None, repr=False)
    serve_s3: bool = True
    s3_port: int = 8701
    # External metadata database server (a PostgreSQL URL with a user that may CREATE DATABASE)
    # and broker (a redis:// URL); embedded servers are started when unset.
    postgres_url: str | None = None
    redis_url: str | None = None
    # Ports handed to environments' components.
    env_port_min: int = 8800
    env_port_max: int = 8999
    # How often the reconciler resyncs every environment, and the bucket sync interval (seconds).
    resync_interval: float = 10.0
    sync_interval: float = 1.0
    # Where per-version Airflow venvs live (default home/venvs); several homes may share one.
    venv_root: Path | None = None
    # How long components may take to become healthy before a create fails or an update rolls back.
    health_timeout: float = 300.0
    # A worker being replaced or scaled in drains (finishes its running tasks, takes no new ones) for
    # at most this long before it is stopped hard. Autoscaling looks at each environment's queued and
    # running tasks every autoscale_interval seconds and removes a worker only after the load has
    # stayed lower for scale_in_after seconds.
    worker_drain_timeout: float = 43200.0
    autoscale_interval: float = 2.0
    scale_in_after: float = 60.0
    # Idle sleep (domain/idle_sleep.py): an environment nobody uses for idle_sleep_minutes, with no run
    # due meanwhile, hibernates itself and wakes idle_sleep_wake_lead seconds before its next run or on
    # the first request that needs it (which waits up to idle_sleep_wake_timeout). The tag
    # aerodrome:idle-sleep (minutes, or off) sets it per environment; this is the default (0: off).
    # Environments are looked at every idle_sleep_interval seconds. A sleep freezes the processes
    # (memory kept, a wake takes a second); after idle_sleep_deep_minutes asleep with no run due
    # within them, they stop (memory released, a wake starts them: 0 = at once).
    idle_sleep_minutes: float = 0.0
    idle_sleep_interval: float = 15.0
    idle_sleep_wake_lead: float = 90.0
    idle_sleep_wake_timeout: float = 300.0
    idle_sleep_deep_minutes: float = 60.0  # asleep this long (no run due meanwhile): processes stop
    # Each environment's web endpoint (gateway): HTTPS with a locally generated CA unless web_tls is
    # off; the hostname clients are given (WebServerHostname = web_hostname:port); where PUBLIC_ONLY
    # environments listen (PRIVATE_ONLY ones listen on loopback only).
    web_tls: bool = True
    web_hostname: str = "localhost"
    web_public_host: str = "0.0.0.0"
    # Where remote worker hosts reach this host's broker doors (TLS); unset: loopback only.
    worker_address: str | None = None
    # The web console's own listener (on `host`; HTTPS with the same CA when web_tls is on); 0: none.
    console_port: int = 8702
    # plugins.zip limits (bytes once extracted, entries) and the startup script's time limit (seconds).
    plugins_max_bytes: int = 1 << 30
    plugins_max_files: int = 10_000
    startup_script_timeout: float = 300.0
    # Status events: webhook URLs that receive every event (JSON POST, at least once, in order),
    # and the HMAC-SHA256 key that signs them (generated into home/webhook-secret when unset).
    event_webhooks: tuple[str, ...] = dataclasses.field(default=(), repr=False)  # URLs may hold tokens
    event_webhook_secret: str | None = dataclasses.field(default=None, repr=False)
    # Snapshots go to this bucket when set, else to each environment's source bucket.
    snapshot_bucket: str | None = None
    # Metrics (CloudWatch's API, in home/metrics.db) are kept this many days, then dropped; the
    # AWS/MWAA metrics of running environments are collected every metrics_interval seconds.
    metrics_retention_days: float = 15.0
    metrics_interval: float = 60.0
    # How often CloudWatch alarms are evaluated, and environments' log files shipped to CloudWatch
    # Logs (seconds).
    alarm_interval: float = 10.0
    log_ship_interval: float = 2.0
    # Environments' CloudWatch Logs groups keep events this many days (PutRetentionPolicy changes it).
    logs_retention_days: int = 14
    # The UDP port (loopback) where environments' Airflow sends StatsD metrics; 0: one chosen at the
    # first start and kept in home/statsd.port.
    statsd_port: int = 0
    # Single sign-on through an OpenID Connect identity provider, on when sso_issuer is set: the
    # client registered there (redirect URI <endpoint>/sso/callback, post-logout redirect URI
    # <endpoint>/sso/signed-out), the scopes asked for, the ID token claim holding the person's
    # groups (a dotted path reaches nested claims), the groups -> Airflow role table (JSON:
    # {"*": {"airflow-admins": "Admin"}, "prod": {"data-eng": "Op"}}) and how long a sign-in lasts.
    sso_issuer: str | None = None
    sso_client_id: str | None = None
    sso_client_secret: str | None = dataclasses.field(default=None, repr=False)
    sso_scopes: str = "openid profile email groups"
    sso_groups_claim: str = "groups"
    sso_roles: str = "{}"
    # The identity provider's group display names (comma-separated), when known: Teams' names are
    # checked against them, as MWAA checks them against Identity Center's groups.
    sso_groups: tuple[str, ...] | None = None
    sso_principals: str = "{}"  # JSON groups -> Aerodrome principal, for the console (domain/sso.py)
    sso_session_ttl: float = 43200.0
    # More identity providers, JSON [{"issuer", "client_id", "client_secret", "scopes"?, "start_url"?}]:
    # an environment whose IdentityCenterConfiguration StartUrl is one's issuer or start_url signs
    # people in through it (the one above is the default).
    sso_providers: str = dataclasses.field(default="[]", repr=False)

    @property
    def buckets_dir(self) -> Path:
        return self.home / "buckets"

    @property
    def environments_dir(self) -> Path:
        return self.home / "environments"

    @property
    def venvs_dir(self) -> Path:
        return self.venv_root or self.home / "venvs"

    @property
    def services_dir(self) -> Path:
        return self.home / "services"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def endpoint_file(self) -> Path:
        """Written by a running control plane so other commands find its endpoints."""
        return self.home / "endpoint.json"

    @property
    def tls_dir(self) -> Path:
        return self.home / "tls"

    @property
    def webhook_secret_file(self) -> Path:
        return self.home / "webhook-secret"

    @property
    def store_key_file(self) -> Path:
        """Seals the secrets the store keeps (access keys'), 0600."""
        return self.home / "store.key"

    @property
    def snapshot_key_file(self) -> Path:
        """Seals the secrets snapshots carry; a snapshot loads only where this key is."""
        return self.home / "snapshot.key"

    @property
    def metrics_file(self) -> Path:
        return self.home / "metrics.db"

    @property
    def logs_file(self) -> Path:
        """CloudWatch Logs' groups, streams and events."""
        return self.home / "logs.db"

    @property
    def audit_journal_file(self) -> Path:
        """Audit entries synced here before their requests are answered, until the store has them."""
        return self.home / "audit.journal"

    @property
    def metrics_token_file(self) -> Path:
        """The bearer token a Prometheus scraper shows for GET /metrics, 0600."""
        return self.home / "metrics-scrape.token"

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.home / 'aerodrome.db'}"

    @property
    def endpoint_url(self) -> str:
        return f"http://{self.endpoint_host}:{self.port}"

    @property
    def local_api_url(self) -> str:
        """Where processes on this host reach the API (environments' credential provider, say)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "localhost") else self.host
        return f"http://{host}:{self.port}"

    @property
    def console_url(self) -> str:
        """Where browsers open the web console (its host name is the API's, so cookies are shared)."""
        return f"{'https' if self.web_tls else 'http'}://{self.endpoint_host}:{self.console_port}/console"

    @property
    def endpoint_host(self) -> str:
        if self.endpoint_hostname:
            return self.endpoint_hostname
        return "localhost" if self.host in ("127.0.0.1", "0.0.0.0", "::") else self.host

    def __repr__(self) -> str:
        """Every field but the secret ones; URLs with their password masked."""
        shown = []
        for field in dataclasses.fields(self):
            if field.repr:
                value = getattr(self, field.name)
                if field.name in _URLS and value is not None:
                    value = masked_url(value)
                shown.append(f"{field.name}={value!r}")
        return f"Settings({', '.join(shown)})"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "home": Path(env["AERODROME_HOME"]) if env.get("AERODROME_HOME") else _default_home(),
        }
        simple = {
            "AERODROME_HOST": ("host", str),
            "AERODROME_PORT": ("port", int),
            "AERODROME_ENDPOINT_HOSTNAME": ("endpoint_hostname", str),
            "AERODROME_REGION": ("region", str),
            "AERODROME_S3_ENDPOINT_URL": ("s3_endpoint_url", str),
            "AERODROME_S3_ACCESS_KEY_ID": ("s3_access_key_id", str),
            "AERODROME_S3_SECRET_ACCESS_KEY": ("s3_secret_access_key", str),
            "AERODROME_S3_PORT": ("s3_port", int),
            "AERODROME_POSTGRES_URL": ("postgres_url", str),
            "AERODROME_REDIS_URL": ("redis_url", str),
            "AERODROME_WEB_HOSTNAME": ("web_hostname", str),
            "AERODROME_WEB_PUBLIC_HOST": ("web_public_host", str),
            "AERODROME_WORKER_ADDRESS": ("worker_address", str),
            "AERODROME_CONSOLE_PORT": ("console_port", int),
            "AERODROME_PLUGINS_MAX_BYTES": ("plugins_max_bytes", int),
            "AERODROME_PLUGINS_MAX_FILES": ("plugins_max_files", int),
            "AERODROME_STARTUP_SCRIPT_TIMEOUT": ("startup_script_timeout", float),
            "AERODROME_EVENT_WEBHOOK_SECRET": ("event_webhook_secret", str),
            "AERODROME_SNAPSHOT_BUCKET": ("snapshot_bucket", str),
            "AERODROME_WORKER_DRAIN_TIMEOUT": ("worker_drain_timeout", float),
            "AERODROME_AUTOSCALE_INTERVAL": ("autoscale_interval", float),
            "AERODROME_SCALE_IN_AFTER": ("scale_in_after", float),
            "AERODROME_IDLE_SLEEP_MINUTES": ("idle_sleep_minutes", float),
            "AERODROME_IDLE_SLEEP_INTERVAL": ("idle_sleep_interval", float),
            "AERODROME_IDLE_SLEEP_WAKE_LEAD": ("idle_sleep_wake_lead", float),
            "AERODROME_IDLE_SLEEP_WAKE_TIMEOUT": ("idle_sleep_wake_timeout", float),
            "AERODROME_IDLE_SLEEP_DEEP_MINUTES": ("idle_sleep_deep_minutes", float),
            "AERODROME_METRICS_RETENTION_DAYS": ("metrics_retention_days", float),
            "AERODROME_METRICS_INTERVAL": ("metrics_interval", float),
            "AERODROME_ALARM_INTERVAL": ("alarm_interval", float),
            "AERODROME_LOG_SHIP_INTERVAL": ("log_ship_interval", float),
            "AERODROME_LOGS_RETENTION_DAYS": ("logs_retention_days", int),
            "AERODROME_STATSD_PORT": ("statsd_port", int),
            "AERODROME_SSO_ISSUER": ("sso_issuer", str),
            "AERODROME_SSO_CLIENT_ID": ("sso_client_id", str),
            "AERODROME_SSO_CLIENT_SECRET": ("sso_client_secret", str),
            "AERODROME_SSO_SCOPES": ("sso_scopes", str),
            "AERODROME_SSO_GROUPS_CLAIM": ("sso_groups_claim", str),
            "AERODROME_SSO_ROLES": ("sso_roles", str),
            "AERODROME_SSO_PRINCIPALS": ("sso_principals", str),
            "AERODROME_SSO_SESSION_TTL": ("sso_session_ttl", float),
            "AERODROME_SSO_PROVIDERS": ("sso_providers", str),
        }
        for var, (name, kind) in simple.items():
            if env.get(var):
                values[name] = kind(env[var])
        if env.get("AERODROME_VENVS_DIR"):
            values["venv_root"] = Path(env["AERODROME_VENVS_DIR"])
        if env.get("AERODROME_EVENT_WEBHOOKS"):
            values["event_webhooks"] = tuple(u.strip() for u in env["AERODROME_EVENT_WEBHOOKS"].split(",") if u.strip())
        if env.get("AERODROME_SERVE_S3"):
            values["serve_s3"] = env["AERODROME_SERVE_S3"].lower() not in ("0", "false", "no")
        if env.get("AERODROME_SSO_GROUPS"):
            values["sso_groups"] = tuple(g.strip() for g in env["AERODROME_SSO_GROUPS"].split(",") if g.strip())
        if env.get("AERODROME_WEB_TLS"):
            values["web_tls"] = env["AERODROME_WEB_TLS"].lower() not in ("0", "false", "no")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]
