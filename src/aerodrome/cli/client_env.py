"""The environment variables that point unmodified AWS clients at this control plane (`aerodrome
client-env` prints them; `up` and the Aerodrome API's client read them)."""

from __future__ import annotations

import json
from pathlib import Path

from aerodrome.settings import Settings


def client_env_vars(settings: Settings, *, with_s3: bool = False) -> dict[str, str]:
    """The variables unmodified boto3, the AWS CLI and MwaaHook need to reach this control plane."""
    from aerodrome.auth import sealed
    from aerodrome.services.credentials import CredentialService
    from aerodrome.store.db import Store

    settings.home.mkdir(parents=True, exist_ok=True)
    store = Store(settings.store_url, sealer=sealed.Sealer(settings.store_key_file))
    store.migrate()
    try:
        access_key, secret = CredentialService(store=store).admin()
    finally:
        store.close()
    running = _running_endpoints(settings)
    endpoint = running.get("endpoint_url", settings.endpoint_url)
    values = {
        "AWS_ENDPOINT_URL_MWAA": endpoint,
        "AWS_ENDPOINT_URL_STS": endpoint,  # STS (GetCallerIdentity, temporary credentials) is served there too
        "AWS_ENDPOINT_URL_CLOUDWATCH": endpoint,  # and CloudWatch's metric API
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": endpoint,  # and CloudWatch Logs (SDKs read this name: its service id)
        "AWS_ENDPOINT_URL_LOGS": endpoint,
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": settings.region,
        "AWS_REGION": settings.region,
        "AWS_DISABLE_HOST_PREFIX_INJECTION": "true",
    }
    bundle = running.get("ca_bundle") or _bundle_if_present(settings)
    if bundle:  # trust the environments' HTTPS web endpoints (requests, curl via the AWS CLI, boto3)
        values["REQUESTS_CA_BUNDLE"] = bundle
        values["AWS_CA_BUNDLE"] = bundle
    if with_s3:
        values["AWS_ENDPOINT_URL_S3"] = running.get(
            "s3_endpoint_url", settings.s3_endpoint_url or f"http://127.0.0.1:{settings.s3_port}")
    return values


def _bundle_if_present(settings: Settings) -> str | None:
    bundle = settings.tls_dir / "bundle.pem"
    return str(bundle) if settings.web_tls and bundle.exists() else None


def _running_endpoints(settings: Settings) -> dict:
    path: Path = settings.endpoint_file
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}

