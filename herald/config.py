"""Process settings: one typed object read from ``HERALD_*`` variables, built once and passed in."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can configure; defaults run Herald on one laptop with SQLite."""

    model_config = SettingsConfigDict(env_prefix="HERALD_", env_file=None, extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./herald.db"
    database_pool_size: int = Field(default=10, ge=1)
    database_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a request waits to connect, for a pooled connection or for SQLite's "
        "write lock before it answers 503 database_unavailable.",
    )
    database_statement_timeout: float = Field(
        default=60.0,
        ge=0,
        description="Seconds one PostgreSQL statement may take before it is cancelled and the "
        "connection dropped (a server that stopped answering); 0: no limit.",
    )
    group_commit: bool = Field(
        default=True,
        description="Write the accepts of POST /v1/notifications that arrive together in one "
        "transaction (each answered after its commit); false: a transaction per request.",
    )
    group_commit_window_ms: float = Field(
        default=2.0,
        ge=0,
        description="Milliseconds a group gathers accepts after its first, unless it fills.",
    )
    group_commit_size: int = Field(
        default=64, ge=1, description="Accepts at most in one group commit."
    )
    group_commit_batch: bool = Field(
        default=True,
        description="Write a group's sends together, one statement per table (those that "
        "cannot go together run alone after them); false: each in its own savepoint.",
    )
    bus_url: str | None = None
    secret_key: SecretStr | None = Field(
        default=None,
        description="Signs JWTs. Unset: a random key is generated once and kept in the database.",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    rate_limit: str = "3000/minute"
    daily_limit: int = Field(default=250_000, ge=0)
    rate_limit_storage_url: str | None = Field(
        default=None, description="limits storage URI; unset: memory, or Redis when bus_url is."
    )
    allowed_origins: str | None = None
    realtime_queue: int = Field(
        default=256, ge=1, description="Events waiting per real-time connection before it is cut."
    )
    realtime_keepalive: float = Field(
        default=20.0, gt=0, description="Seconds of silence before a real-time ping."
    )
    realtime_send_timeout: float = Field(
        default=10.0,
        gt=0,
        description="Seconds a real-time client may take to accept one WebSocket frame (the "
        "close frame too) or one SSE chunk before it is dropped as too slow.",
    )
    realtime_resume_grace: float = Field(
        default=0.5, ge=0, description="Seconds a new WebSocket waits for a resume before live."
    )
    metrics_token: SecretStr | None = None
    allow_private_urls: bool = False
    access_token_ttl_seconds: int = Field(default=3600, ge=60)
    user_token_ttl_seconds: int = Field(default=24 * 3600, ge=60)
    console_session_ttl_seconds: int = Field(
        default=8 * 3600, ge=60, description="How long a console sign-in lasts (docs/console.md)."
    )
    smtp_url: SecretStr | None = None
    email_from: str = "Herald <noreply@herald.localhost>"
    public_url: str = "http://127.0.0.1:8000"
    documents_dir: str = Field(
        default="./var/documents", description="Where letter PDFs are kept (the document store)."
    )
    govuk_notify_url: str = Field(
        default="https://api.notifications.service.gov.uk",
        description="The GOV.UK Notify API a Notify key given with a request sends through.",
    )
    log_level: str = "INFO"
    access_log: bool = Field(default=True, description="A log line per HTTP request.")
    worker_metrics_port: int | None = Field(
        default=None, ge=0, le=65535, description="herald worker serves /metrics on this port."
    )
    log_json: bool = True

    @property
    def is_sqlite(self) -> bool:
        """Whether the configured database is SQLite (single writer, no SKIP LOCKED)."""
        return self.database_url.startswith("sqlite")

    @property
    def origins(self) -> frozenset[str] | None:
        """The Origin allow-list for real-time handshakes, or None when any origin may connect."""
        if not self.allowed_origins:
            return None
        return frozenset(
            o.strip().rstrip("/") for o in self.allowed_origins.split(",") if o.strip()
        )
