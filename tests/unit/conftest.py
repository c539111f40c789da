"""Fixtures the unit tests share."""

import pytest

from aerodrome.runtimes.local.supervisor import Supervisor


@pytest.fixture
def supervisor():
    """A supervisor that looks at its processes ten times a second, closed after the test."""
    running = Supervisor(poll_interval=0.1)
    yield running
    running.close(grace=2)
