"""Browser tests."""

import pytest

from tests.support.worker import Worker


@pytest.fixture(autouse=True)
def _no_login_failures_left(db):
    """Log-in failure counters live in the shared cache (Redis) across tests and runs."""
    from django.core.cache import cache

    cache.clear()  # this suite's own Redis database only (FLUSHDB, never FLUSHALL)


@pytest.fixture
def plain_static(settings):
    """The live server finds static files by their source names (no collected manifest)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture
def worker(tmp_path):
    w = Worker(env={"MEDIA_ROOT": str(tmp_path / "media")}).start()
    yield w
    w.stop()
