"""The worker's log hygiene: a Kafka error aiokafka retries by itself is not an ERROR."""

from __future__ import annotations

import logging

import pytest
from aiokafka.errors import GroupAuthorizationFailedError, GroupCoordinatorNotAvailableError

from streams import logredact


@pytest.mark.parametrize(
    ("err", "level"),
    [(GroupCoordinatorNotAvailableError(), "INFO"), (GroupAuthorizationFailedError(), "ERROR")],
)
def test_a_retried_coordinator_error_is_info_and_a_final_one_stays_an_error(
    err: Exception, level: str, caplog: pytest.LogCaptureFixture
) -> None:
    logredact.install()
    log = logging.getLogger("aiokafka.consumer.group_coordinator")
    with caplog.at_level(logging.INFO, logger=log.name):
        log.error("Group Coordinator Request failed: %s", err)
    assert [r.levelname for r in caplog.records] == [level]
