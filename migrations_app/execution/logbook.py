"""What a running step writes while it works: log lines in batches with a gap-free per-run
`seq`, its progress, and a heartbeat; the flusher thread also notices a cancel request."""

import logging
import threading
import time

from django.conf import settings
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.db.models import Max
from django.utils import timezone

from migrations_app.choices import LogLevel
from migrations_app.models import LogLine, StepRun

logger = logging.getLogger(__name__)

MAX_BACKOFF = 10.0  # seconds between two flush attempts while the database is down


class StepLogger:
    """Buffers log lines; the flusher writes them in batches with a gap-free per-run seq."""

    def __init__(self, run: StepRun):
        self.run_id = run.pk
        self._seq = run.last_seq
        self._pending: list[LogLine] = []
        self._lock = threading.Lock()
        self._full = threading.Event()
        self.secrets: set[str] = set()

    def write(self, level: str, text: str) -> None:
        for secret in self.secrets:
            if secret:
                text = text.replace(secret, "***")
        now = timezone.now()
        with self._lock:
            for line in str(text).splitlines() or [""]:
                self._seq += 1
                self._pending.append(
                    LogLine(run_id=self.run_id, seq=self._seq, ts=now, level=level, text=line)
                )
            if len(self._pending) >= settings.JULIEOPS_LOG_FLUSH_LINES:
                self._full.set()

    def info(self, text: str) -> None:
        self.write(LogLevel.INFO, text)

    def warning(self, text: str) -> None:
        self.write(LogLevel.WARNING, text)

    def error(self, text: str) -> None:
        self.write(LogLevel.ERROR, text)

    def debug(self, text: str) -> None:
        self.write(LogLevel.DEBUG, text)

    def flush(self) -> int:
        """Write pending lines; on a database error they stay pending for the next try."""
        with self._lock:
            batch, self._pending = self._pending, []
            self._full.clear()
        if not batch:
            return 0
        try:
            self._write(batch)
        except IntegrityError:
            # Someone else (the reaper) wrote a line meanwhile: continue after it.
            self._renumber(batch)
            self._write(batch)
        except Exception:
            with self._lock:
                self._pending[:0] = batch
            raise
        return len(batch)

    def _write(self, batch: list[LogLine]) -> None:
        with transaction.atomic():
            LogLine.objects.bulk_create(batch, batch_size=1000)
            StepRun.objects.filter(pk=self.run_id).update(last_seq=batch[-1].seq)

    def _renumber(self, batch: list[LogLine]) -> None:
        last = LogLine.objects.filter(run_id=self.run_id).aggregate(m=Max("seq"))["m"] or 0
        with self._lock:
            for offset, line in enumerate(batch + self._pending, start=1):
                line.seq = last + offset
            self._seq = last + len(batch) + len(self._pending)


# Progress samples for the run's chart: at most one every SAMPLE_SECONDS, at most MAX_SAMPLES
# kept (beyond, every other one is dropped and the spacing doubles), stored on the run as
# [seconds since start, bytes done, files done] with the counts summed over successive roots
# (the mirror's counters start again at 0 for each data root).
SAMPLE_SECONDS = 2.0
MAX_SAMPLES = 500
# The ETA uses the rate over the last RECENT_SECONDS (a copy slows down on small files).
RECENT_SECONDS = 60.0


class Progress:
    def __init__(self):
        self.values: dict = {}
        self.started = time.monotonic()
        self.dirty = False
        self.lock = threading.Lock()
        self.samples: list[list] = []
        self.sample_every = SAMPLE_SECONDS
        self.samples_dirty = False
        self._raw = {"done_bytes": 0, "done_units": 0}
        self._base = {"done_bytes": 0, "done_units": 0}

    def update(self, *, done=None, total=None, done_bytes=None, total_bytes=None, label=None):
        with self.lock:
            for key, value in (
                ("done_units", done),
                ("total_units", total),
                ("done_bytes", done_bytes),
                ("total_bytes", total_bytes),
                ("progress_label", label),
            ):
                if value is not None:
                    self.values[key] = value[:500] if isinstance(value, str) else value
            self._count(done_bytes=done_bytes, done_units=done)
            self._sample(time.monotonic() - self.started)
            self.values["eta_seconds"] = self._eta()
            self.dirty = True

    def _count(self, **done) -> None:
        """Cumulative counts: a counter that goes back down started again (the next root)."""
        for key, value in done.items():
            if value is None:
                continue
            if value < self._raw[key]:
                self._base[key] += self._raw[key]
            self._raw[key] = value

    def _point(self, t: float) -> list:
        return [
            round(t, 1),
            self._base["done_bytes"] + self._raw["done_bytes"],
            self._base["done_units"] + self._raw["done_units"],
        ]

    def _sample(self, t: float, force: bool = False) -> None:
        if self.samples and not force and t - self.samples[-1][0] < self.sample_every:
            return
        if self.samples and t - self.samples[-1][0] < 0.05:
            return
        self.samples.append(self._point(t))
        if len(self.samples) > MAX_SAMPLES:
            self.samples = self.samples[:-1:2] + self.samples[-1:]
            self.sample_every *= 2
        self.samples_dirty = True

    def _eta(self) -> int | None:
        """Seconds left: what remains of the current totals at the recent rate (the last
        minute of samples), else at the average rate since the start."""
        elapsed = time.monotonic() - self.started
        for done_key, total_key, column in (
            ("done_bytes", "total_bytes", 1),
            ("done_units", "total_units", 2),
        ):
            done, total = self.values.get(done_key), self.values.get(total_key)
            if not (done and total and elapsed > 1):
                continue
            rate = recent_rate(self.samples, column, RECENT_SECONDS)
            if rate is None:
                rate = done / elapsed
            if rate > 0:
                return max(0, int((total - done) / rate))
        return None

    def finish(self) -> None:
        """The last sample, whatever the spacing: the chart ends where the run ended."""
        with self.lock:
            if self.values:
                self._sample(time.monotonic() - self.started, force=True)
                self.dirty = self.dirty or self.samples_dirty

    def take(self) -> dict:
        with self.lock:
            if not self.dirty:
                return {}
            self.dirty = False
            values = dict(self.values)
            if self.samples_dirty:
                self.samples_dirty = False
                values["progress_samples"] = list(self.samples)
            return values

    def retake(self) -> None:
        """The last take was not written: write it again with the next one."""
        with self.lock:
            self.dirty = True
            self.samples_dirty = bool(self.samples)


def recent_rate(samples: list[list], column: int, window: float) -> float | None:
    """Units per second over the last `window` seconds of samples (None: too few)."""
    if len(samples) < 2:
        return None
    last = samples[-1]
    first = next((s for s in samples if last[0] - s[0] <= window), samples[-2])
    if first is last:
        first = samples[-2]
    span = last[0] - first[0]
    return (last[column] - first[column]) / span if span > 0 else None


class Flusher(threading.Thread):
    """Writes logs every 250 ms (or at 500 lines), progress and heartbeat, reads cancel."""

    def __init__(self, run: StepRun, log: StepLogger, progress: Progress):
        super().__init__(name=f"flusher-run-{run.pk}", daemon=True)
        self.run_id = run.pk
        self.log = log
        self.progress = progress
        self.stop_event = threading.Event()
        self.cancel_event = threading.Event()
        self.failures = 0

    def run(self):
        last_beat = 0.0
        try:
            while not self.stop_event.is_set():
                self.log._full.wait(settings.JULIEOPS_LOG_FLUSH_SECONDS)
                beat = time.monotonic() - last_beat >= settings.JULIEOPS_HEARTBEAT_INTERVAL
                if self._tick(force_beat=beat):
                    if beat:
                        last_beat = time.monotonic()
                    self.failures = 0
                else:
                    self._back_off()
        finally:
            # The last progress and sample, so the chart ends where the run ended.
            self.progress.finish()
            self._tick(force_beat=False)
            connection.close()

    def _back_off(self) -> None:
        """The database refused a write (a restart): wait longer at each failure (0.5 s up
        to 10 s), one log line per failure instead of a traceback every 250 ms; the lines
        stay pending and go out with the next write that succeeds."""
        self.failures += 1
        wait = min(MAX_BACKOFF, 0.5 * 2 ** (self.failures - 1))
        self.stop_event.wait(wait)

    def _tick(self, force_beat: bool) -> bool:
        fields: dict = {}
        try:
            written = self.log.flush()
            fields = self.progress.take()
            now = timezone.now()
            if written or fields:
                fields["progress_at"] = now
            if force_beat or fields:
                fields["heartbeat_at"] = now
                StepRun.objects.filter(pk=self.run_id).update(**fields)
            if (
                force_beat
                and StepRun.objects.filter(pk=self.run_id, cancel_requested=True).exists()
            ):
                self.cancel_event.set()
            return True
        except Exception as exc:
            if fields:  # written again with the next tick
                self.progress.retake()
            if self.failures == 0:
                logger.exception(
                    "run %s: flush failed, will retry with a growing wait", self.run_id
                )
            else:
                logger.warning(
                    "run %s: flush failed again (%s: %s), try %s",
                    self.run_id, type(exc).__name__, str(exc).splitlines()[0] if str(exc) else "",
                    self.failures + 1,
                )  # fmt: skip
            close_old_connections()
            return False

    def stop(self) -> None:
        self.stop_event.set()
        self.log._full.set()
        self.join(timeout=30)
