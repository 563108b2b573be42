"""A Django-free Celery app on the embedded broker, for worker-level broker tests.

The worker side is `celery -A tests.support.embedded_app worker` with EMBEDDED_BROKER_DIR
set; the test side builds the same app with make_app(folder) to send tasks.
"""

import os
from pathlib import Path

from celery import Celery

from tests.support.broker_stress import transport_options

QUEUE = "probe"


def make_app(root: str | os.PathLike) -> Celery:
    app = Celery("embedded_probe")
    app.conf.update(
        broker_url="filesystem://",
        broker_transport="julieops.embedded_broker:Transport",
        broker_transport_options={**transport_options(Path(root)), "polling_interval": 0.05},
        broker_connection_retry_on_startup=True,
        task_default_queue=QUEUE,
        task_ignore_result=True,
    )

    @app.task(name="probe.touch")
    def touch(path: str) -> None:
        Path(path).write_text("ran")

    return app


app = make_app(os.environ.get("EMBEDDED_BROKER_DIR", "/nonexistent-embedded-broker"))
