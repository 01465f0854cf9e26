"""Kafka clients configured from settings: admin (topic creation), producer kwargs, Faust credentials."""

from __future__ import annotations

import contextlib
from typing import Any

from streams.settings import Settings
from streams.topics import TopicNames


def kafka_python_kwargs(settings: Settings) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_sasl_mechanism:
        kw["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kw["sasl_plain_username"] = settings.kafka_sasl_username
        kw["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    if settings.kafka_ssl_cafile:
        kw["ssl_cafile"] = str(settings.kafka_ssl_cafile)
    return kw


def aiokafka_kwargs(settings: Settings) -> dict[str, Any]:
    """Connection settings for aiokafka clients (the ingest consumer), same as Faust's."""
    import ssl

    kw: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap.split(","),
        "security_protocol": settings.kafka_security_protocol,
    }
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        cafile = str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None
        kw["ssl_context"] = ssl.create_default_context(cafile=cafile)
    if settings.kafka_sasl_mechanism:
        kw["sasl_mechanism"] = settings.kafka_sasl_mechanism
        kw["sasl_plain_username"] = settings.kafka_sasl_username
        kw["sasl_plain_password"] = (
            settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else None
        )
    return kw


def faust_credentials(settings: Settings) -> Any:
    import ssl

    import faust

    ctx = None
    if settings.kafka_security_protocol in ("SSL", "SASL_SSL"):
        ctx = ssl.create_default_context(cafile=str(settings.kafka_ssl_cafile) if settings.kafka_ssl_cafile else None)
    if settings.kafka_sasl_mechanism:
        password = settings.kafka_sasl_password.get_secret_value() if settings.kafka_sasl_password else ""
        return faust.SASLCredentials(
            username=settings.kafka_sasl_username or "",
            password=password,
            ssl_context=ctx,
            mechanism=settings.kafka_sasl_mechanism,
        )
    if ctx is not None:
        return faust.SSLCredentials(ctx)
    return None


def topic_configs(settings: Settings) -> dict[str, dict[str, str]]:
    """Configs of the topics Parcours creates. Those that carry identifiers expire after
    ``topic_retention_days`` (an erasure cannot rewrite Kafka's log; expiry bounds how long a
    forgotten person stays in it). Erasure records are compacted and never expire: they are
    what re-applies an erasure to a replay or a restored store (``streams.identity.erased``)."""
    names = TopicNames(prefix=settings.topic_prefix)
    out: dict[str, dict[str, str]] = {names.erasures: {"cleanup.policy": "compact", "retention.ms": "-1"}}
    # Record stamps no later than the broker's clock allows: the replay guard compares them with
    # erasure times (streams.identity.erased.Erasures.add says why).
    future = {"message.timestamp.after.max.ms": str(int(settings.future_stamp_tolerance_s * 1000))}
    for t in names.with_identifiers:
        out[t] = dict(future)
        if settings.topic_retention_days:
            out[t]["retention.ms"] = str(int(settings.topic_retention_days * 86_400_000))
    return out


def ensure_topics(settings: Settings) -> list[str]:
    """Create Parcours's topics if missing, and give those that exist the configs Parcours sets
    (retention, timestamp bound, compaction), as topics created by an older version lack them
    (idempotent). Returns the names created."""
    from kafka.admin import ConfigResource, ConfigResourceType, KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    names = TopicNames(prefix=settings.topic_prefix)
    wanted = {t: settings.topic_partitions for t in names.all_raw}
    wanted[names.dead_letters] = settings.topic_partitions
    wanted[names.identity_links] = 1  # single writer of the identity map
    wanted[names.erasures] = 1
    configs = topic_configs(settings)
    admin = KafkaAdminClient(client_id="parcours-admin", **kafka_python_kwargs(settings))
    try:
        existing = set(admin.list_topics())
        todo = [
            NewTopic(t, n, settings.topic_replication, topic_configs=configs.get(t, {}))
            for t, n in wanted.items()
            if t not in existing
        ]
        if todo:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker created them first
                admin.create_topics(todo)
        older = [
            ConfigResource(ConfigResourceType.TOPIC, t, configs[t]) for t in wanted if t in existing and t in configs
        ]
        if older:
            admin.alter_configs(older)
        return [t.name for t in todo]
    finally:
        admin.close()
