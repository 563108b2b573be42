"""The embedded broker (julieops.embedded_broker): no message lost or read half-written while
a producer and a consumer work side by side, an undecodable file set aside without stopping
the reader or the worker, exchange tables that stay whole, and settings that use it with
every folder under VAR_DIR/broker/."""

import json
import multiprocessing
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from kombu import Connection, Exchange, Producer, Queue

from julieops import embedded_broker
from tests.support import broker_stress
from tests.support.processes import ROOT, ServiceProcess
from tests.support.worker import wait_for

TRANSPORT = broker_stress.TRANSPORTS["ours"]


def connection(root: Path) -> Connection:
    return Connection(transport=TRANSPORT, transport_options=broker_stress.transport_options(root))


def test_concurrent_producer_and_consumer_lose_nothing(tmp_path):
    result = broker_stress.run("ours", count=1500, root=tmp_path, idle=0.5)
    print(result.line())
    assert (result.received, result.lost, result.duplicates) == (1500, 0, 0)
    assert (result.failed_reads, result.broken_files) == (0, 0)
    # Nothing half-written left behind, and nothing still claimed.
    assert os.listdir(tmp_path / "queue") == []
    assert os.listdir(tmp_path / "processed") == []


def test_writer_never_shows_a_partial_file_under_a_message_name(tmp_path, monkeypatch):
    """The message is complete under its temporary name before it gets its queue name."""
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((os.path.basename(src), os.path.basename(dst), Path(src).read_bytes()))
        return real_replace(src, dst)

    monkeypatch.setattr(embedded_broker.os, "replace", spy)
    with connection(tmp_path) as conn:
        conn.SimpleQueue("q").put({"n": 1})
        message_writes = [s for s in seen if s[1].endswith(".q.msg")]
        assert len(message_writes) == 1
        src, dst, data = message_writes[0]
        assert src.startswith(".") and src.endswith(".tmp")
        assert not embedded_broker._is_message_name(src, "q")
        assert json.loads(data)["properties"]
        assert conn.SimpleQueue("q").get(timeout=1).payload == {"n": 1}


@pytest.mark.parametrize(
    "garbage",
    [b"", b'{"prop', b"\xff\xfe not utf-8", b"[1, 2]", b'{"properties": {}}'],
    ids=["empty", "truncated", "not-utf8", "not-a-message", "no-delivery-tag"],
)
def test_undecodable_file_is_set_aside_and_reading_goes_on(tmp_path, garbage, caplog):
    with connection(tmp_path) as conn:
        queue = conn.SimpleQueue("q")
        # Older than any real message, so the reader meets it first.
        bad = "00000000000000000001_broken.q.msg"
        (tmp_path / "queue" / bad).write_bytes(garbage)
        queue.put({"n": 1})
        with caplog.at_level("ERROR", logger="julieops.embedded_broker"):
            message = queue.get(timeout=2)
        assert message.payload == {"n": 1}
        assert (tmp_path / "broken" / bad).read_bytes() == garbage
        assert f"message {bad} cannot be decoded" in caplog.text
        assert os.listdir(tmp_path / "queue") == []


def _bind_many(root: str, worker: int, count: int) -> None:
    with connection(Path(root)) as conn:
        channel = conn.channel()
        exchange = Exchange("shared", type="direct")
        for n in range(count):
            Queue(f"q{worker}-{n}", exchange, routing_key=f"q{worker}-{n}")(channel).declare()


def test_exchange_table_stays_whole_under_concurrent_binds(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_bind_many, args=(str(tmp_path), w, 40)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    table = json.loads((tmp_path / "control" / "shared.exchange").read_text())
    assert sorted(q for _rk, _pattern, q in table) == sorted(
        f"q{w}-{n}" for w in range(4) for n in range(40)
    )
    with connection(tmp_path) as conn:
        Producer(conn.channel()).publish(
            {"n": 7}, exchange=Exchange("shared", type="direct"), routing_key="q3-39"
        )
        assert conn.SimpleQueue("q3-39").get(timeout=1).payload == {"n": 7}


class ProbeWorker(ServiceProcess):
    name = "embedded worker"

    def __init__(self, root: Path):
        self.root = root
        self.log_path = root / "worker.log"

    def start(self):
        env = {**os.environ, "EMBEDDED_BROKER_DIR": str(self.root)}
        self.launch(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "tests.support.embedded_app",
                "worker",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "--loglevel",
                "INFO",
            ],  # fmt: skip
            env,
        )
        return self.await_ready(lambda: b"ready." in self.log_path.read_bytes(), 60)

    def stop(self):
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()


@pytest.mark.slow
def test_worker_survives_an_undecodable_message(tmp_path):
    from tests.support.embedded_app import make_app

    app = make_app(tmp_path)
    worker = ProbeWorker(tmp_path).start()
    try:
        (tmp_path / "queue" / "00000000000000000001_broken.probe.msg").write_bytes(b"")
        marker = tmp_path / "ran"
        app.send_task("probe.touch", args=[str(marker)], queue="probe")
        wait_for(marker.exists, timeout=20)
        assert worker.process.poll() is None, worker.log()
        # A second task after it: the consumer is still reading, not restarted into a loop.
        second = tmp_path / "ran-again"
        app.send_task("probe.touch", args=[str(second)], queue="probe")
        wait_for(second.exists, timeout=20)
        log = worker.log()
        assert "00000000000000000001_broken.probe.msg cannot be decoded" in log
        assert "Unrecoverable error" not in log
        assert os.listdir(tmp_path / "broken") == ["00000000000000000001_broken.probe.msg"]
    finally:
        worker.stop()


def test_settings_default_uses_it_with_every_folder_under_var(tmp_path):
    """Unset CELERY_BROKER_URL: our transport, folders under VAR_DIR/broker, nothing in cwd."""
    var, cwd = tmp_path / "var", tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"CELERY_BROKER_URL", "DATABASE_URL"}}
    env.update(
        JULIEOPS_VAR_DIR=str(var),
        DJANGO_SETTINGS_MODULE="julieops.settings",
        PYTHONPATH=str(ROOT),
    )
    script = (
        "import django, json; django.setup()\n"
        "from django.conf import settings\n"
        "from julieops.celery import app\n"
        "with app.connection_for_write() as c:\n"
        "    name = type(c.transport).__module__\n"
        "app.send_task('probe.touch', queue='default')\n"
        "print(json.dumps([name, settings.CELERY_BROKER_TRANSPORT_OPTIONS]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    module, options = json.loads(out.stdout.strip().splitlines()[-1])
    assert module == "julieops.embedded_broker"
    for key in ("data_folder_in", "data_folder_out", "processed_folder", "broken_folder",
                "control_folder"):  # fmt: skip
        assert Path(options[key]).is_relative_to(var / "broker"), key
    assert os.listdir(cwd) == []
    assert [p.name for p in (var / "broker" / "queue").iterdir()][0].endswith(".default.msg")
    assert (var / "broker" / "control" / "default.exchange").exists()


def test_no_exchange_table_is_tracked_in_the_checkout():
    tracked = subprocess.run(
        ["git", "ls-files", "control"], cwd=ROOT, capture_output=True, text=True
    ).stdout
    assert tracked == ""
