"""Browser tests."""

import pytest


@pytest.fixture(autouse=True)
def _no_login_failures_left(db):
    """Log-in failure counters live in the shared cache (Redis) across tests and runs."""
    from django.core.cache import cache

    cache.clear()  # this suite's own Redis database only (FLUSHDB, never FLUSHALL)
