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
    if settings.topic_retention_days:
        ms = str(int(settings.topic_retention_days * 86_400_000))
        out.update({t: {"retention.ms": ms} for t in names.with_identifiers})
    return out


def ensure_topics(settings: Settings) -> list[str]:
    """Create Parcours's topics if missing (idempotent). Returns the names created."""
    from kafka.admin import KafkaAdminClient, NewTopic
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
        return [t.name for t in todo]
    finally:
        admin.close()
