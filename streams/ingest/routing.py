"""Message keys. One device's (or person's) events share a key, so they stay in order in one
partition. Shared devices are not used as keys; brand-side events are keyed by their own id,
which spreads a TV spot's burst of phone responses over all partitions (each phone keys by itself)."""

from __future__ import annotations

from schemas.events import Envelope


def routing_key(event: Envelope) -> bytes:
    ids = event.identities
    for value in (
        ids.anonymous_id,
        None if event.is_device_shared else ids.device_id,
        ids.user_id,
        ids.loyalty_id,
        ids.email_hash,
        ids.social.handle if ids.social else None,
    ):
        if value:
            return value.encode()
    return str(event.event_id).encode()
