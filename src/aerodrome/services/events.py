"""Status (and other) events from the outbox, shaped like EventBridge's, for the event sinks:
webhooks (events.webhooks), the server-sent-events stream (api/ext) and `aerodrome events`."""

from __future__ import annotations

import secrets

from aerodrome import errors
from aerodrome.domain.events import OutboxEvent, to_eventbridge
from aerodrome.settings import Settings
from aerodrome.store import environments, outbox
from aerodrome.store.db import Store


class EventService:
    def __init__(self, *, store: Store, settings: Settings):
        self._store = store
        self._settings = settings

    def since(self, position: int, *, environment: str | None = None, limit: int = 100) -> list[tuple[int, dict]]:
        """(sequence, event) after `position`, oldest first."""
        with self._store.session() as session:
            found = outbox.after(position, environment=environment, limit=limit, session=session)
        return [(e.sequence, self.shape(e)) for e in found]

    def latest(self) -> int:
        with self._store.session() as session:
            return outbox.latest(session=session)

    def shape(self, event: OutboxEvent) -> dict:
        return to_eventbridge(event, region=self._settings.region, account=self._settings.account)

    def record_sync(self, name: str, summary: dict) -> None:
        """A DAG sync changed the environment's folder: a `sync` event ("Aerodrome Bundle Sync")."""
        with self._store.session() as session:
            try:
                arn = environments.get(name, session=session).arn
            except errors.NotFound:  # deleted meanwhile
                return
            environments.append_event(name, "sync", {**summary, "arn": arn}, session=session)

    # --- webhooks.EventSource ------------------------------------------------------------------
    def open_cursor(self, sink: str) -> None:
        """A new sink starts from now, not from the beginning of history; a known one resumes."""
        with self._store.session() as session:
            if outbox.cursor(sink, session=session) is None:
                outbox.advance(sink, outbox.latest(session=session), session=session)

    def pending(self, sink: str, *, limit: int) -> list[tuple[int, dict]]:
        with self._store.session() as session:
            position = outbox.cursor(sink, session=session) or 0
        return self.since(position, limit=limit)

    def acknowledge(self, sink: str, sequence: int) -> None:
        with self._store.session() as session:
            outbox.advance(sink, sequence, session=session)

    def webhook_secret(self) -> str:
        """The HMAC key for webhook signatures: the configured one, else one generated once and
        kept (0600) in the home folder, where receivers on this host can read it."""
        if self._settings.event_webhook_secret:
            return self._settings.event_webhook_secret
        path = self._settings.webhook_secret_file
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(32))
        return path.read_text().strip()
