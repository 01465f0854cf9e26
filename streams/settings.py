"""Settings, from the environment (prefix ``PARCOURS_``) or a ``.env`` file. Frozen once read.

Secrets are ``SecretStr``: they never appear in reprs or logs. Each can also come from a
file: set ``PARCOURS_<NAME>_FILE`` to a path (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from streams.errors import ConfigError

DEFAULT_TAXONOMY_CONVERSIONS = ("order_completed", "pos_purchase", "signup")
Stage = Literal["ingest", "dead_letters", "identity"]
Channel = Literal["web", "social", "tv", "store"]
ALL_STAGES: tuple[Stage, ...] = ("ingest", "dead_letters", "identity")
CHANNELS: tuple[Channel, ...] = ("web", "social", "tv", "store")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PARCOURS_", env_file=".env", extra="ignore", frozen=True, env_nested_delimiter="__"
    )

    # --- Kafka ---
    kafka_bootstrap: str = Field("127.0.0.1:9092", description="bootstrap servers, comma-separated")
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="how clients reach Kafka: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL"
    )
    kafka_sasl_mechanism: str | None = Field(None, description="PLAIN, SCRAM-SHA-256, SCRAM-SHA-512")
    kafka_sasl_username: str | None = Field(None, description="SASL user name")
    kafka_sasl_password: SecretStr | None = Field(None, description="SASL password")
    kafka_ssl_cafile: Path | None = Field(None, description="CA bundle that signs the brokers' certificates")
    topic_prefix: str = Field("parcours", description="prefix of every topic name")
    topic_partitions: int = Field(4, ge=1, description="partitions of raw topics (the unit of parallelism)")
    topic_replication: int = Field(1, ge=1, description="replication factor of topics Parcours creates")

    # --- Worker ---
    app_id: str = Field("parcours", description="Faust app id = consumer group")
    stages: Annotated[tuple[Stage, ...], NoDecode] = Field(
        ALL_STAGES,
        description="stages this worker runs, comma-separated: ingest, dead_letters, identity. A subset "
        "needs a ClickHouse server (the other stages run in other workers); see streams/topics.py for groups",
    )
    kafka_session_timeout_s: float = Field(
        30.0, ge=6, description="a worker that stops heartbeating for this long loses its partitions"
    )
    data_dir: Path = Field(Path("var"), description="local state: chDB data, Faust tables")
    web_port: int = Field(6066, ge=1, le=65535, description="worker HTTP port: collector, health, read endpoints")
    web_host: str = Field("127.0.0.1", description="bind address of the worker's HTTP server")
    native_decoder: bool = Field(
        True,
        description="read raw events with the native batch decoder (streams/ingest/decoder.py); false: the "
        "Python path for every event (same rows, slower), e.g. to rule the decoder out while diagnosing",
    )
    batch_size: int = Field(
        20_000,
        ge=1,
        description="most events per storage batch: a backlog fills it, a trickle is flushed after batch_within_s "
        "(docs/decisions/ingest-beside-faust.md)",
    )
    batch_within_s: float = Field(
        0.2,
        gt=0,
        description="longest wait to fill a batch after its first event: bounds freshness and the rate of "
        "small inserts (docs/decisions/ingest-beside-faust.md)",
    )
    dedupe_window: int = Field(1_000_000, ge=1000, description="event_ids remembered per worker for stream dedup")
    late_allowance_s: int = Field(
        3 * 86400, ge=0, description="events older than this on arrival are stored flagged late"
    )
    future_tolerance_s: int = Field(300, ge=0, description="event times further ahead of arrival than this are refused")
    max_skew_s: int = Field(10, ge=0, description="producer clock skew below this is left uncorrected")

    # --- ClickHouse ---
    clickhouse_url: SecretStr | None = Field(
        None, description="clickhouse://user:pass@host:9000/db — unset means embedded chDB under data_dir"
    )
    clickhouse_secure: bool = Field(False, description="TLS to the ClickHouse server (also `clickhouses://`)")
    clickhouse_ca_certs: Path | None = Field(
        None, description="CA bundle that signs the ClickHouse server's certificate"
    )
    grafana_db_user: str = Field(
        "parcours_grafana",
        pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="read-only ClickHouse user for Grafana (server backend)",
    )
    grafana_db_password: SecretStr | None = Field(None, description="its password; unset: the user is not created")
    retention_days: int | None = Field(None, ge=1, description="TTL of raw events; unset keeps them")

    # --- Edge: collector and publisher ---
    write_keys: dict[str, SecretStr] = Field(
        default_factory=dict, description='per-source write keys, JSON: {"web": "...", "store-paris": "..."}'
    )
    collector_max_body: int = Field(1_000_000, ge=1024, description="largest collector request body, bytes")
    collector_max_batch: int = Field(500, ge=1, description="most events in one collector request")
    collector_rate_per_s: float = Field(200.0, gt=0, description="requests per second per write key")
    collector_read_timeout_s: float = Field(
        10.0, gt=0, description="longest wait for a request body to arrive whole (HTTP 408 after it)"
    )
    write_key_channels: dict[str, tuple[Channel, ...]] = Field(
        default_factory=dict,
        description='channel families each source may send, JSON: {"kiosk-app": ["store", "web"]}. A source '
        "not listed may send the family its name starts with (web, social, tv, store: 'store-paris' → store)",
    )
    future_stamp_tolerance_s: float = Field(
        60.0,
        gt=0,
        description="how far ahead of the broker's clock a record may be stamped on the topics that carry "
        "identifiers (Kafka refuses later ones); an erasure also drops the forgotten identifiers' records "
        "stamped this long after it, so that no record produced before it can come back on a replay",
    )
    admin_token: SecretStr | None = Field(
        None, description="bearer token for the worker's read endpoint /v1/sql; unset disables it"
    )
    admin_query_timeout_s: int = Field(
        10, ge=1, description="time bound of one /v1/sql query (on chDB also the longest pause it causes ingestion)"
    )
    admin_query_max_rows: int = Field(100_000, ge=1, description="most rows one /v1/sql query may return")
    pii_pepper: SecretStr | None = Field(
        None,
        description="secret mixed into e-mail and phone hashes; required by workers, the publisher and "
        "erasure (without it a hash could be reversed by hashing candidate addresses)",
    )

    # --- Identity and journeys ---
    max_ids_per_type: int = Field(10, ge=1, description="cap on identifiers of one kind per person")
    shared_device_customers: int = Field(
        3,
        ge=2,
        description="a device seen with this many customers' CRM ids, cards, e-mails or phones (of one kind) "
        "within shared_device_window_h is shared: it links no one again, and the links it made are taken back",
    )
    shared_device_window_h: float = Field(24.0, gt=0, description="the window of shared_device_customers")
    lookback_days: int = Field(30, ge=1, description="attribution lookback window")
    conversion_types: tuple[str, ...] = Field(
        DEFAULT_TAXONOMY_CONVERSIONS, description="event types that are conversions (not touchpoints)"
    )
    half_life_days: float = Field(7.0, gt=0, description="time-decay half-life")
    live_models: tuple[str, ...] = Field(
        ("first_touch", "last_touch", "last_non_direct", "linear", "position_based", "time_decay"),
        description="rule-based models credited live, as conversions arrive (batch runs compute every model)",
    )

    # --- Erasure's reach into Kafka (docs/decisions/erasure.md) ---
    topic_retention_days: float | None = Field(
        7.0,
        gt=0,
        description="retention of the topics that carry identifiers (raw, dead letters, identity links), set "
        "when Parcours creates them; a replay older than this is impossible, one within it is screened by the "
        "erasures topic (compacted, never expired). Unset: Kafka's default",
    )
    erasures_wait_s: float = Field(
        60.0, gt=0, description="longest a worker waits at start to read the erasures topic before ingesting"
    )

    @model_validator(mode="before")
    @classmethod
    def _secret_files(cls, data: Any) -> Any:
        # PARCOURS_X_FILE=/run/secrets/x → X read from that file.
        if isinstance(data, dict):
            for key, val in os.environ.items():
                if key.startswith("PARCOURS_") and key.endswith("_FILE") and val.strip():  # empty: unset
                    name = key[len("PARCOURS_") : -len("_FILE")].lower()
                    try:
                        data.setdefault(name, Path(val).read_text().strip())
                    except OSError as err:
                        raise ValueError(f"{key}={val}: {err.strerror or err}") from None
        return data

    @field_validator("stages", mode="before")
    @classmethod
    def _comma_separated(cls, v: Any) -> Any:
        if isinstance(v, str):
            v = [s.strip() for s in v.split(",") if s.strip()]
        if not v:
            raise ValueError("at least one stage: ingest, dead_letters, identity")
        return tuple(dict.fromkeys(v))  # once each, in the order given

    @model_validator(mode="after")
    def _split_stages_need_a_server(self) -> Settings:
        # chDB has one owning process: a stage left to another worker could not reach this store.
        if set(self.stages) != set(ALL_STAGES) and self.clickhouse_url is None:
            raise ValueError(
                "PARCOURS_STAGES other than all three needs a ClickHouse server (PARCOURS_CLICKHOUSE_URL): "
                "the embedded store has one owning process"
            )
        return self

    @model_validator(mode="after")
    def _every_source_has_channels(self) -> Settings:
        for source in self.write_keys:
            self.channels_of(source)
        return self

    def channels_of(self, source: str) -> tuple[str, ...]:
        """Channel families a write key's source may send (``write_key_channels``)."""
        if source in self.write_key_channels:
            return self.write_key_channels[source]
        family = source.split("-", 1)[0].split("_", 1)[0]
        if family in CHANNELS:
            return (family,)
        raise ValueError(
            f"write key {source!r} names no channel family (web, social, tv, store): "
            f'say which it may send in PARCOURS_WRITE_KEY_CHANNELS, e.g. {{"{source}": ["store"]}}'
        )

    def pepper(self) -> str:
        """The PII pepper, or a clear error: never a public default."""
        if self.pii_pepper is None or not self.pii_pepper.get_secret_value():
            raise ConfigError(
                "PARCOURS_PII_PEPPER (or PARCOURS_PII_PEPPER_FILE) is not set: e-mails and phones are hashed "
                "with this secret; use a long random value and keep it (the demo writes a throwaway one "
                "to var/demo/pii-pepper)"
            )
        return self.pii_pepper.get_secret_value()

    @property
    def embedded(self) -> bool:
        return self.clickhouse_url is None

    @property
    def chdb_path(self) -> Path:
        return self.data_dir / "chdb"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
