"""The registry of identifiers several customers share: they never link anyone again.

Devices first: an event judges its own device (``device_kind: mirror`` …, ``identifiers.extract``);
this registry remembers the verdict, so a device once known as shared stays shared for every later
event, including one that omits its kind. It learns from three sources: the reference list
(``parcours load devices``), an event that flagged the device, and behaviour — the device seen
with ``persons`` distinct customers' CRM ids or cards (of one kind) within ``window``. An e-mail or
a phone seen so is junk by behaviour (a shop's own address typed at the till, a placeholder no
list knows). What enters the registry after it linked customers has those links taken back by the
identity stage (``streams.identity.split``). Table ``shared_identifiers``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from streams.identity.identifiers import kind_of
from streams.store.backend import Backend

SHARED = "refused_shared_device"
JUNK = "refused_junk"
# What tells customers apart, for each kind of identifier that may be shared.
# (CRM ids and cards only: one customer's e-mail variants, ana+shop@ and ana.martin@, are one mailbox.)
ANCHORS = {"device": ("crm", "loyalty"), "email": ("crm", "loyalty"), "phone": ("crm", "loyalty")}


def refusal(identifier: str) -> str:
    """The decision recorded when the registry removes ``identifier`` from an event."""
    return SHARED if identifier.startswith("device:") else JUNK


@dataclass
class SharedIdentifiers:
    persons: int = 3  # distinct CRM ids or cards (of one kind) seen with an identifier that make it shared
    window: timedelta = timedelta(hours=24)
    known: dict[str, str] = field(default_factory=dict)  # identifier → why it is shared
    _seen: dict[str, dict[str, int]] = field(default_factory=dict)  # identifier → anchor → last seen µs

    def __contains__(self, identifier: str) -> bool:
        return identifier in self.known

    def __len__(self) -> int:
        return len(self.known)

    def load(self, backend: Backend) -> None:
        for r in backend.query(
            "SELECT identifier, argMax(reason, since) AS reason FROM shared_identifiers GROUP BY identifier"
        ):
            self.known[str(r["identifier"])] = str(r["reason"])

    def learn(self, identifier: str, reason: str) -> bool:
        """Record a shared identifier; whether it is new."""
        if identifier in self.known:
            return False
        self.known[identifier] = reason
        self._seen.pop(identifier, None)
        return True

    def observe(self, identifiers: Iterable[str], us: int) -> list[str]:
        """An event's guarded identifiers at ``us``: those it makes shared by behaviour. Counted only
        when an identifier meets an anchor it had not met: a customer's repeated logins cost a lookup."""
        ids = tuple(identifiers)
        if len(ids) < 2:
            return []
        kinds = [i.partition(":")[0] for i in ids]
        window = self.window // timedelta(microseconds=1)
        shared = []
        for d, kind in zip(ids, kinds, strict=True):
            anchors = ANCHORS.get(kind)
            if anchors is None or d in self.known:
                continue
            seen = self._seen.setdefault(d, {})
            new = False
            for s, k in zip(ids, kinds, strict=True):
                if k in anchors:
                    new = new or s not in seen
                    seen[s] = max(us, seen.get(s, us))
            if not new:
                continue
            near = Counter(kind_of(s) for s, t in seen.items() if abs(t - us) <= window)
            if near and max(near.values()) >= self.persons:
                self.learn(d, "behaviour")
                shared.append(d)
            elif len(seen) > 64:  # one customer's many identifiers: keep the latest
                for s, _ in sorted(seen.items(), key=lambda kv: kv[1])[: len(seen) - 64]:
                    del seen[s]
        return shared

    def rows(self, identifiers: Iterable[str]) -> list[dict[str, object]]:
        now = datetime.now(UTC)
        return [{"identifier": i, "reason": self.known[i], "kind": kind_of(i), "since": now} for i in identifiers]
