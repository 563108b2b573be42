"""Nothing waits silently: what the pages warn about, from what the reaper last saw.

The reaper (tasks.reap_runs) records its own pass in a Beacon row with the queues that live
workers consume (asked over the broker, one second at most). The pages read that row: no
broker round trip per page. They warn when
- the reaper's last pass is older than JULIEOPS_REAPER_MISSING_AFTER (beat not running, or
  no worker on its queue): lost runs are no longer noticed;
- a run has been queued longer than JULIEOPS_QUEUED_WARN_AFTER and no live worker is known
  to serve its queue;
- a running run's heartbeat is alive but its progress and log have not moved for
  JULIEOPS_STALLED_AFTER (a read that hangs): a superviseur can mark it lost.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from migrations_app.choices import RunStatus
from migrations_app.models import Beacon, StepRun

logger = logging.getLogger(__name__)

REAPER = "reaper"


def seconds_text(seconds: int | float | None) -> str:
    """ "1 h 02 min", "3 min 05 s", "42 s"."""
    if seconds is None:
        return ""
    minutes, secs = divmod(int(seconds), 60)
    if minutes == 0:
        return f"{secs} s"
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def live_workers(timeout: float = 1.0) -> dict[str, list[str]] | None:
    """Worker name -> queues it consumes, from the workers that answer within `timeout`.
    None when the broker cannot be asked."""
    from julieops.celery import app

    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception as exc:
        logger.warning("inspecting the workers failed: %s", exc)
        return None
    return {name: sorted(q["name"] for q in queues) for name, queues in sorted(replies.items())}


def record_reaper_pass(now=None, workers: dict | None = None) -> Beacon:
    """The reaper's heartbeat, with the queues served at that moment (None: unknown)."""
    now = now or timezone.now()
    if workers is None:
        workers = live_workers()
    # The reaper's own queue is served: this pass runs on it (a solo-pool reaper worker is
    # busy here and cannot answer the broadcast itself).
    queues = (
        None
        if workers is None
        else sorted({settings.JULIEOPS_REAPER_QUEUE, *(q for qs in workers.values() for q in qs)})
    )
    beacon, _created = Beacon.objects.update_or_create(
        name=REAPER, defaults={"at": now, "data": {"queues": queues, "workers": len(workers or {})}}
    )
    return beacon


def reaper_state(now=None) -> dict:
    now = now or timezone.now()
    beacon = Beacon.objects.filter(name=REAPER).first()
    age = None if beacon is None else max(0, (now - beacon.at).total_seconds())
    return {
        "at": beacon.at if beacon else None,
        "age": age,
        "missing": age is None or age > settings.JULIEOPS_REAPER_MISSING_AFTER,
        "queues": None if beacon is None else beacon.data.get("queues"),
    }


def reaper_warning(state: dict) -> str:
    if not state["missing"]:
        return ""
    if state["at"] is None:
        return _(
            "The reaper (Celery beat) has never run: lost runs are not noticed and queued "
            "runs are not sent again. Start beat and a worker on the « %(queue)s » queue."
        ) % {"queue": settings.JULIEOPS_REAPER_QUEUE}
    return _(
        "The reaper (Celery beat) has not run for %(age)s: lost runs are not noticed and "
        "queued runs are not sent again. Check beat and the worker of the « %(queue)s » queue."
    ) % {"age": seconds_text(state["age"]), "queue": settings.JULIEOPS_REAPER_QUEUE}


def unserved(run: StepRun, state: dict) -> bool:
    """Queued past the threshold, and no live worker is known to serve its queue."""
    waiting = run.waiting_for
    if waiting is None or waiting < settings.JULIEOPS_QUEUED_WARN_AFTER:
        return False
    # The queues the reaper last saw served (the workers page passes the live ones); never
    # seen at all: no worker is known to serve it.
    return state["queues"] is None or run.queue not in state["queues"]


def run_warning(run: StepRun, state: dict) -> str:
    """The one French sentence a page shows about this run, or ""."""
    if unserved(run, state):
        return _(
            "Queued for %(age)s and no live worker is known to serve the « %(queue)s » queue: "
            "it will start only when one connects (see the workers page)."
        ) % {"age": seconds_text(run.waiting_for), "queue": run.queue}
    if run.status == RunStatus.RUNNING and run.stalled:
        return _(
            "Stalled: the worker answers but nothing has moved for %(age)s. Cancel it, or "
            "a supervisor can mark it lost to retry it."
        ) % {"age": seconds_text(run.still_for)}
    return ""


def waiting_runs(state: dict, run_filter=None, limit: int = 50) -> list[StepRun]:
    """Active runs the pages must point out: unserved queued runs, stalled running runs."""
    now = timezone.now()
    queued_before = now - timedelta(seconds=settings.JULIEOPS_QUEUED_WARN_AFTER)
    still_before = now - timedelta(seconds=settings.JULIEOPS_STALLED_AFTER)
    runs = StepRun.objects.filter(status__in=RunStatus.active()).select_related(
        "step__job__customer"
    )
    if run_filter is not None:
        runs = runs.filter(run_filter)
    candidates = runs.filter(status=RunStatus.QUEUED, created_at__lt=queued_before).order_by(
        "created_at"
    )[:limit]
    found = [run for run in candidates if unserved(run, state)]
    stalled = runs.filter(status=RunStatus.RUNNING, started_at__lt=still_before).order_by("pk")
    found += [run for run in stalled[:limit] if run.stalled]
    for run in found:
        run.warning = run_warning(run, state)
    return found[:limit]
