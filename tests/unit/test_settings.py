"""Settings: secrets stay out of repr; the generated webhook secret is made once, 0600, and reused."""

import stat

from aerodrome.services.events import EventService
from aerodrome.settings import Settings, masked_url


def test_repr_shows_no_secret(tmp_path):
    settings = Settings(home=tmp_path, s3_endpoint_url="http://minio:9000", s3_access_key_id="AKIAVISIBLE",
                        s3_secret_access_key="s3-secret-value",
                        postgres_url="postgresql://airflow:pg-secret/with#odd@db.internal:5432/postgres",
                        redis_url="redis://:redis-secret@cache:6379/0",
                        event_webhooks=("https://hooks.example/t0ken-in-url",), event_webhook_secret="hook-secret")
    shown = repr(settings)
    for secret in ("s3-secret-value", "pg-secret", "with#odd", "redis-secret", "t0ken-in-url", "hook-secret"):
        assert secret not in shown
    assert "postgres_url='postgresql://airflow:***@db.internal:5432/postgres'" in shown
    assert "redis_url='redis://:***@cache:6379/0'" in shown
    assert "s3_endpoint_url='http://minio:9000'" in shown and "AKIAVISIBLE" in shown
    assert str(settings) == shown


def test_masked_url_leaves_urls_without_password_alone():
    assert masked_url("redis://cache:6379/0") == "redis://cache:6379/0"
    assert masked_url("postgresql://user@db/x") == "postgresql://user@db/x"
    assert masked_url("not a url") == "not a url"


def test_the_webhook_secret_is_generated_once_0600_and_reused(settings, store):
    assert settings.event_webhook_secret is None
    first = EventService(store=store, settings=settings).webhook_secret()
    path = settings.webhook_secret_file
    assert path == settings.home / "webhook-secret"
    assert path.read_text().strip() == first and len(first) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # the next start reads the same file
    assert EventService(store=store, settings=Settings(home=settings.home)).webhook_secret() == first


def test_a_configured_webhook_secret_wins(settings, store):
    configured = settings.replace(event_webhook_secret="given")
    assert EventService(store=store, settings=configured).webhook_secret() == "given"
    assert not configured.webhook_secret_file.exists()
