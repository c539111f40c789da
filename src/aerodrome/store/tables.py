"""SQLAlchemy tables. Schema changes go through an Alembic revision in store/migrations."""

from __future__ import annotations

from sqlalchemy import Boolean, Float, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class EnvironmentRow(Base):
    __tablename__ = "environments"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    env_id: Mapped[str] = mapped_column(String(16), unique=True)
    arn: Mapped[str] = mapped_column(String(1224))
    status: Mapped[str] = mapped_column(String(32))
    # generation counts accepted changes of the desired spec; applied_generation is the last one
    # that reached AVAILABLE. spec is desired, applied_spec is what last ran successfully.
    generation: Mapped[int] = mapped_column(Integer, default=1)
    applied_generation: Mapped[int] = mapped_column(Integer, default=0)
    spec: Mapped[str] = mapped_column(Text)
    applied_spec: Mapped[str | None] = mapped_column(Text, nullable=True)
    placement: Mapped[str] = mapped_column(Text)
    tags: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[float] = mapped_column(Float)
    last_update: Mapped[str] = mapped_column(Text)


class CredentialRow(Base):
    __tablename__ = "credentials"

    access_key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_access_key: Mapped[str] = mapped_column(String(256))  # sealed
    principal: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[float] = mapped_column(Float)


class SessionCredentialRow(Base):
    """Temporary credentials from STS (GetSessionToken, AssumeRole): they act as `principal` until
    `expires_at`, and only with the session token whose SHA-256 is `token_hash`."""

    __tablename__ = "session_credentials"

    access_key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_access_key: Mapped[str] = mapped_column(String(256))  # sealed
    token_hash: Mapped[str] = mapped_column(String(64))
    principal: Mapped[str] = mapped_column(String(128), index=True)
    role_session: Mapped[str | None] = mapped_column(String(64), nullable=True)  # AssumeRole's session name
    expires_at: Mapped[float] = mapped_column(Float)
    created_at: Mapped[float] = mapped_column(Float)


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    environment: Mapped[str] = mapped_column(String(80), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[float] = mapped_column(Float)
    delivered_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class EventCursorRow(Base):
    """How far one event sink has acknowledged the outbox (the last delivered outbox id)."""

    __tablename__ = "event_cursors"

    sink: Mapped[str] = mapped_column(String(256), primary_key=True)
    position: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[float] = mapped_column(Float)


class HibernationRow(Base):
    """A hibernation in progress or done: whether running tasks may be stopped instead of drained."""

    __tablename__ = "hibernations"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    force: Mapped[bool] = mapped_column(Boolean)
    requested_at: Mapped[float] = mapped_column(Float)
    reason: Mapped[str | None] = mapped_column(String(32), nullable=True)  # "idle": idle sleep's


class ScheduleRow(Base):
    """One schedule of an environment: a cron expression (in `timezone`) for hibernate, resume or
    snapshot. `since` is when it was set; `last_fired` the due time it last fired for."""

    __tablename__ = "schedules"

    environment: Mapped[str] = mapped_column(String(80), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    cron: Mapped[str] = mapped_column(String(256))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    keep: Mapped[int | None] = mapped_column(Integer, nullable=True)
    since: Mapped[float] = mapped_column(Float)
    last_fired: Mapped[float | None] = mapped_column(Float, nullable=True)


class WorkerTokenRow(Base):
    """A join token for a remote worker host: the SHA-256 of its secret, what it grants (environment,
    queue), until when it can first be used, and the host that joined with it."""

    __tablename__ = "worker_tokens"

    token_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    environment: Mapped[str] = mapped_column(String(80), index=True)
    queue: Mapped[str] = mapped_column(String(64))
    secret_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[float] = mapped_column(Float)
    expires_at: Mapped[float] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    host: Mapped[str | None] = mapped_column(String(128), nullable=True)
    joined_at: Mapped[float | None] = mapped_column(Float, nullable=True)


__all__ = ["Base", "EnvironmentRow", "CredentialRow", "OutboxRow", "EventCursorRow", "HibernationRow",
           "ScheduleRow", "WorkerTokenRow"]
