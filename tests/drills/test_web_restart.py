"""Drill: the web server process is killed and restarted while a run writes its log.

A client polls the log view over real HTTP from its cursor, as the page does; across the
restart it receives every line exactly once, in order, then the stop-polling answer."""

import html
import re
import time

import pytest
import requests

from migrations_app import actions
from migrations_app.models import LogLine
from tests.conftest import PASSWORD
from tests.support.web_server import WebServer, login
from tests.support.worker import Worker

from .conftest import probe_step, refresh

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

LINE = re.compile(r'<span class="l-(\w+)" data-seq="(\d+)">\d\d:\d\d:\d\d (.*?)\n</span>', re.S)
CURSOR = re.compile(r'hx-get="[^"]*\?after=(\d+)"')


def poll(session, url: str, after: int):
    """One poll as htmx sends it: (lines as (seq, text), next cursor, finished)."""
    response = session.get(f"{url}?after={after}", headers={"HX-Request": "true"}, timeout=10)
    assert response.status_code in (200, 286), response.status_code
    lines = [(int(seq), html.unescape(text)) for _lvl, seq, text in LINE.findall(response.text)]
    finished = response.status_code == 286
    cursor = CURSOR.search(response.text)
    if finished:
        assert cursor is None  # the poller is removed
        return lines, max([after] + [s for s, _ in lines]), True
    return lines, int(cursor.group(1)), False


def test_it_loses_no_log_line_when_the_web_process_restarts(job, alice, tmp_path):
    worker = Worker().start()
    web = WebServer(tmp_path).start()
    try:
        job.site.worker_queue = worker.queue
        job.site.save()
        step = probe_step(job, "probe.sleep", probe_seconds=6, probe_tick=0.01)
        run = actions.start_run(step, alice)
        url = f"{web.url}/jobs/{job.pk}/runs/{run.pk}/log/"
        session = login(web.url, "alice", PASSWORD)
        received, after, finished, restarted = [], 0, False, False
        while not finished:
            lines, after, finished = poll(session, url, after)
            received += lines
            if not restarted and len(received) > 50:
                assert refresh(run).status == "running"
                web.kill()  # SIGKILL: whatever the web process held is gone
                with pytest.raises(requests.ConnectionError):
                    poll(session, url, after)  # the page's poll fails while it is down
                web.start()  # same port; the session lives in the database
                restarted = True
            time.sleep(0.2)
        assert restarted and web.starts == 2
        assert refresh(run).status == "passed"
        expected = list(LogLine.objects.filter(run=run).order_by("seq").values_list("seq", "text"))
        assert received == expected
        assert [seq for seq, _ in received] == list(range(1, run.last_seq + 1))
    finally:
        web.stop()
        worker.stop()
