"""The Windows posts of the step tests (WS-Management endpoints on loopback), for the bundles
made by the suite."""

from tests.migrations_app.steps.windows.conftest import windows  # noqa: F401
