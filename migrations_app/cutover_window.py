"""The cut-over window: how long the final mirror pass will keep the practice frozen, estimated
from the pre-copies already run (their `data.mirror` results), and how long it actually took.

From each pre-copy (a `data.mirror` run that passed, not a dry run, started before
`cutover.freeze` was done) this module reads what the mirror engine recorded per data root:
entries listed (files + folders), files and bytes copied, extras deleted, and its seconds
(listing, copy, total). Then:

- listing rate (entries per second): the latest re-run's entries over its listing seconds
  (a re-run lists both sides, as the final pass does; the first copy only if nothing else);
- delta per hour of practice activity: the files changed (copied or deleted) and bytes copied by
  each pre-copy after the first, over the hours since the previous pre-copy ended;
- copy cost: seconds of everything after the listing (copy, deletions, folder times,
  verification) against files and against bytes, as the line through the smallest and the
  largest pre-copy that copied something: its slope the rate, its intercept what a pass pays
  once whatever it copies (a small final pass pays it whole).

- fixed cost: what the latest pre-copy spent outside the engine's own seconds (opening the
  session and the share, the manifest kept as evidence).

The final pass is estimated as the fixed cost, plus the latest tree's listing, plus the expected
delta (delta per hour times the hours from the last pre-copy's end to the freeze, or to now
before it) priced at the slower of the per-file and per-byte lines.

Assumption (no fact says otherwise): the practice changes its data at an even rate over the time
between pre-copies, nights and week-ends included; a practice closed at night changes less, so
the estimate errs long. With one pre-copy only, the delta rate is unknown: the estimate is the
listing alone, shown as a minimum. Robocopy runs record no listing seconds: their whole duration
is used (listing rate from a run that copied nothing, copy time the rest).
"""

from dataclasses import dataclass
from datetime import datetime

FINAL_STEP = "data.mirror"
FREEZE_STEP = "cutover.freeze"
UNFREEZE_STEP = "cutover.unfreeze"


@dataclass
class Pass:
    """One mirror run's figures, summed over its data roots."""

    started: datetime
    ended: datetime
    entries: int  # files + folders listed on the source
    files_changed: int  # copied + extras deleted
    files_copied: int
    bytes_copied: int
    listing_seconds: float | None  # None when the engine did not record it (robocopy)
    total_seconds: float
    overhead_seconds: float = 0.0  # the run's duration outside the engine's seconds


@dataclass
class Estimate:
    seconds: float
    fixed_seconds: float
    listing_seconds: float
    copy_seconds: float
    entries: int
    listing_rate: float  # entries per second
    delta_files: int
    delta_bytes: int
    delta_known: bool  # False: one pre-copy only, the delta is not counted (a minimum)
    files_per_hour: float
    bytes_per_hour: float
    hours_since: float  # from the last pre-copy's end to the freeze (or now)
    basis: int  # pre-copies used


def pass_from_result(started: datetime, ended: datetime, result: dict) -> Pass | None:
    """The figures of one `data.mirror` run's result, or None if it holds none (dry run,
    nothing recorded)."""
    roots = (result or {}).get("roots") or []
    if not roots or result.get("dry_run"):
        return None
    entries = files_changed = files_copied = bytes_copied = 0
    listing, total, timed = 0.0, 0.0, True
    for root in roots:
        files, dirs, size = root.get("files") or {}, root.get("dirs") or {}, root.get("bytes") or {}
        entries += int(files.get("total", 0)) + int(dirs.get("total", 0))
        files_copied += int(files.get("copied", 0))
        files_changed += int(files.get("copied", 0)) + int(files.get("extras", 0))
        bytes_copied += int(size.get("copied", 0))
        seconds = root.get("seconds")
        if seconds and "scan" in seconds and "total" in seconds:
            listing += float(seconds["scan"])
            total += float(seconds["total"])
        else:
            timed = False
    duration = max((ended - started).total_seconds(), 0.0)
    return Pass(
        started=started,
        ended=ended,
        entries=entries,
        files_changed=files_changed,
        files_copied=files_copied,
        bytes_copied=bytes_copied,
        listing_seconds=listing if timed else None,
        total_seconds=total if timed else duration,
        overhead_seconds=max(duration - total, 0.0) if timed else 0.0,
    )


def _listing_rate(passes: list[Pass]) -> float | None:
    """Entries per second of the latest re-run (else the first copy)."""
    candidates = passes[1:] or passes
    for p in reversed(candidates):
        if p.listing_seconds is not None and p.listing_seconds > 0 and p.entries:
            return p.entries / p.listing_seconds
    for p in reversed(candidates):  # untimed (robocopy): a run that copied nothing
        if p.listing_seconds is None and not p.files_changed and p.total_seconds > 0:
            return p.entries / p.total_seconds
    return None


def _listing(p: Pass, rate: float) -> float:
    return p.listing_seconds if p.listing_seconds is not None else p.entries / rate


def _copy_line(points: list[tuple[int, float]], amount: int) -> float:
    """Seconds after the listing for `amount` files (or bytes): the line through the smallest
    and the largest pre-copy, so what a pass pays once after its listing whatever it copies
    (the copy threads, the verification's start, the folders' times) counts once, as in a
    small final pass, instead of being spread over a first copy's many files. With one point,
    or none growing, the plain rate through zero."""
    points = [(x, t) for x, t in points if x > 0]
    if not points:
        return 0.0
    (x0, t0), (x1, t1) = min(points), max(points)
    if x1 > x0 and t1 > t0:
        slope = (t1 - t0) / (x1 - x0)
        return max(t0 - slope * x0, 0.0) + slope * amount
    return sum(t for _, t in points) / sum(x for x, _ in points) * amount


def estimate(passes: list[Pass], until: datetime) -> Estimate | None:
    """The final pass's duration from the pre-copies (oldest first) if `until` is when the
    practice stops changing its data (the freeze, or now before it). None without a usable
    pre-copy."""
    passes = sorted(passes, key=lambda p: p.started)
    rate = _listing_rate(passes)
    if not passes or rate is None:
        return None
    files = bytes_ = 0
    hours = 0.0
    for before, after in zip(passes, passes[1:], strict=False):
        gap = (after.started - before.ended).total_seconds() / 3600
        if gap > 0:
            hours += gap
            files += after.files_changed
            bytes_ += after.bytes_copied
    delta_known = hours > 0
    files_per_hour = files / hours if delta_known else 0.0
    bytes_per_hour = bytes_ / hours if delta_known else 0.0
    last = passes[-1]
    since = max((until - last.ended).total_seconds() / 3600, 0.0)
    delta_files = round(files_per_hour * since)
    delta_bytes = round(bytes_per_hour * since)
    copying = [
        (p.files_changed, p.bytes_copied, max(p.total_seconds - _listing(p, rate), 0.0))
        for p in passes
        if p.files_changed or p.bytes_copied
    ]
    copy_seconds = 0.0
    if delta_files or delta_bytes:
        by_files = _copy_line([(f, t) for f, _, t in copying], delta_files)
        by_bytes = _copy_line([(b, t) for _, b, t in copying], delta_bytes)
        copy_seconds = max(by_files, by_bytes)
    listing_seconds = last.entries / rate
    return Estimate(
        seconds=last.overhead_seconds + listing_seconds + copy_seconds,
        fixed_seconds=last.overhead_seconds,
        listing_seconds=listing_seconds,
        copy_seconds=copy_seconds,
        entries=last.entries,
        listing_rate=rate,
        delta_files=delta_files,
        delta_bytes=delta_bytes,
        delta_known=delta_known,
        files_per_hour=files_per_hour,
        bytes_per_hour=bytes_per_hour,
        hours_since=since,
        basis=len(passes),
    )


def window_of(runs: list[tuple[datetime, datetime, dict]], frozen_at: datetime | None, now):
    """{"estimate", "actual", "frozen_at"} from a job's passed `data.mirror` runs (started,
    ended, result): pre-copies are the runs started before the freeze; the final pass is the
    first run started after it, whose duration is the actual."""
    pre, final = [], None
    for started, ended, result in sorted(runs, key=lambda r: r[0]):
        one = pass_from_result(started, ended, result)
        if one is None:
            continue
        if frozen_at is None or started < frozen_at:
            pre.append(one)
        elif final is None:
            final = one
    until = frozen_at or now
    found = estimate(pre, until)
    actual = (final.ended - final.started).total_seconds() if final else None
    return {"estimate": found, "actual": actual, "frozen_at": frozen_at}


def for_job(job) -> dict:
    """The window of `job`, from the database (two queries). The freeze time is that of the
    freeze in force: the latest passed `cutover.freeze` run or its tick by hand, whichever is
    later (a freeze redone starts the window again), unless an unfreeze came after it."""
    from django.utils import timezone

    from migrations_app.choices import RunStatus, StepStatus
    from migrations_app.models import JobStep, StepRun

    rows = StepRun.objects.filter(
        step__job=job,
        step__key__in=(FINAL_STEP, FREEZE_STEP, UNFREEZE_STEP),
        status__in=(RunStatus.PASSED, RunStatus.WARNING),
        started_at__isnull=False,
        finished_at__isnull=False,
    ).values_list("step__key", "started_at", "finished_at", "result", "params")
    runs, times = [], {FREEZE_STEP: [], UNFREEZE_STEP: []}
    for key, started, ended, result, params in rows:
        if key == FINAL_STEP:
            runs.append((started, ended, result))
        elif not (params or {}).get("dry_run"):
            times[key].append(ended)
    ticked = JobStep.objects.filter(
        job=job, key__in=(FREEZE_STEP, UNFREEZE_STEP), status=StepStatus.DONE
    ).values_list("key", "done_at")
    for key, done_at in ticked:
        if done_at is not None:
            times[key].append(done_at)
    frozen_at = max(times[FREEZE_STEP], default=None)
    thawed = max(times[UNFREEZE_STEP], default=None)
    if frozen_at is not None and thawed is not None and thawed > frozen_at:
        frozen_at = None
    return window_of(runs, frozen_at, timezone.now())


def format_duration(seconds: float) -> str:
    """French: "1 h 05 min", "3 min 20 s", "4,2 s"."""
    if seconds < 60:
        return f"{seconds:.1f} s".replace(".", ",")
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def format_number(value: float, decimals: int = 0) -> str:
    """French number format: narrow no-break space between thousands, decimal comma."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\u202f").replace(".", ",")


def format_bytes(n: float) -> str:
    """French units: octets, Ko, Mo, Go, To (binary multiples, as the mirror's summary)."""
    if n < 1024:
        return f"{format_number(n)} o"
    for unit in ("Ko", "Mo", "Go", "To"):
        n /= 1024
        if n < 1024 or unit == "To":
            return f"{format_number(n, 1)} {unit}"
    return ""
