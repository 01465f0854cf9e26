"""What the worker's logs say: secrets never reach them (aiohttp's server logs a malformed request
with the raw header line it choked on, ``Authorization: Bearer <key>`` included), and an error a
library retries by itself is not logged as an error."""

from __future__ import annotations

import logging
import re

_SECRET_HEADER = re.compile(r"(?i)((?:proxy-)?authorization|x-clickhouse-key|x-api-key|cookie)(\s*[:=]\s*)[^\r\n'\"]*")
_BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[^\s'\"\\]+")


def redact(text: str) -> str:
    return _BEARER.sub(r"\1 [redacted]", _SECRET_HEADER.sub(r"\1\2[redacted]", text))


class RedactSecrets(logging.Filter):
    """Rewrites a record as one redacted line: the message, and its exception's last line (a
    client's malformed request is not our error: a warning without a traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            message = f"{message}: {type(exc).__name__}: {' '.join(str(exc).split())}"
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        record.msg, record.args = redact(message), ()  # (), not None: mode's formatter wraps None in a tuple
        return True


class RetriedIsInfo(logging.Filter):
    """aiokafka logs a retriable Kafka error at ERROR and retries it (a group coordinator still
    loading while a worker starts): logged as INFO, since nothing is wrong."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.levelno == logging.ERROR and any(getattr(a, "retriable", False) for a in args):
            record.levelno, record.levelname = logging.INFO, "INFO"
        return True


def install() -> None:
    """On the loggers that see raw requests, and aiokafka's group coordinator (idempotent)."""
    for name, kind in (
        *((n, RedactSecrets) for n in ("aiohttp.server", "aiohttp.web", "aiohttp.access", "aiohttp.internal")),
        ("aiokafka.consumer.group_coordinator", RetriedIsInfo),
    ):
        logger = logging.getLogger(name)
        if not any(isinstance(f, kind) for f in logger.filters):
            logger.addFilter(kind())
