"""A job's history in one list: every run of every step and what people did (tick, skip,
approve, reopen, cancel), newest first. Two queries whatever the size of the job."""

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from migrations_app.audit_labels import action_label
from migrations_app.models import AuditEvent, MigrationJob, StepRun
from migrations_app.steps.registry import REGISTRY

# Runs already stand for these events (who asked, which worker, outcome).
RUN_ACTIONS = {"step.run", "step.retry", "step.finished"}


@dataclass
class Entry:
    at: datetime
    kind: str  # "run" | "event"
    step_key: str
    step_title: str
    run: StepRun | None = None
    event: AuditEvent | None = None

    @property
    def action_label(self) -> str:
        return action_label(self.event.action) if self.event else ""


def step_title(key: str) -> str:
    definition = REGISTRY.get(key)
    return str(definition.title) if definition else key


def job_timeline(job: MigrationJob) -> list[Entry]:
    runs = StepRun.objects.filter(step__job=job).select_related("step", "requested_by")
    events = AuditEvent.objects.filter(job=job).exclude(action__in=RUN_ACTIONS)
    entries = [
        Entry(
            at=run.started_at or run.queued_at or run.created_at,
            kind="run",
            step_key=run.step.key,
            step_title=step_title(run.step.key),
            run=run,
        )
        for run in runs
    ]
    entries += [
        Entry(
            at=event.created_at,
            kind="event",
            step_key=event.target if event.target in REGISTRY else "",
            step_title=step_title(event.target) if event.target in REGISTRY else event.target,
            event=event,
        )
        for event in events
    ]
    entries.sort(key=lambda e: (e.at, e.run.pk if e.run else 0), reverse=True)
    return entries


# ---------------------------------------------------------------- the picture

RUN_COLOURS = {
    "passed": "#2da44e", "warning": "#d4a72c", "failed": "#cf222e", "cancelled": "#8c959f",
    "lost": "#8250df", "running": "#0969da", "queued": "#a8b1bb",
}  # fmt: skip
EVENT_COLOURS = {"step.approve": "#8250df", "step.tick": "#1f2328", "step.skip": "#8c959f"}
WIDTH, LANE, LEFT, TOP, AXIS = 960, 18, 230, 8, 34


def _x(at: datetime, start: datetime, span: float) -> float:
    return LEFT + (WIDTH - LEFT - 10) * max(0.0, (at - start).total_seconds()) / span


def timeline_svg(entries: list[Entry], now: datetime | None = None) -> str:
    """The job's history as an SVG picture (server-side, printable, no script): one lane per
    step, each run a bar from its start to its end coloured by outcome, the hand actions
    (ticks, skips, approvals) as marks on their step's lane, a time axis in the site's time
    zone. "" when nothing happened yet."""
    now = now or timezone.now()
    runs = [e for e in entries if e.kind == "run"]
    marks = [
        e for e in entries if e.kind == "event" and e.step_key and e.event.action in EVENT_COLOURS
    ]
    if not runs and not marks:
        return ""
    spans = []
    for e in runs:
        begin = e.run.started_at or e.run.queued_at or e.run.created_at
        end = e.run.finished_at or (now if e.run.status in ("running", "queued") else begin)
        spans.append((e, begin, max(end, begin)))
    times = [t for _e, b, f in spans for t in (b, f)] + [e.at for e in marks]
    start, stop = min(times), max(times)
    span = max((stop - start).total_seconds(), 1.0)
    lanes: list[str] = []
    for e in sorted([*runs, *marks], key=lambda e: e.at):
        if e.step_key not in lanes:
            lanes.append(e.step_key)
    titles = {e.step_key: e.step_title for e in [*runs, *marks]}
    height = TOP + LANE * len(lanes) + AXIS
    y = {key: TOP + LANE * i for i, key in enumerate(lanes)}
    lane_rows = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#1f2328">{}</text>'
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#eaeef2"/>',
        (
            (LEFT - 6, y[k] + 12, _short(titles[k]), LEFT, WIDTH - 10, y[k] + LANE, y[k] + LANE)
            for k in lanes
        ),
    )
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" rx="2" fill="{}">'
        "<title>{} #{} · {} · {} → {}</title></rect>",
        (
            (
                _n(_x(b, start, span)), y[e.step_key] + 3, _n(max(2.0, _x(f, start, span) - _x(b, start, span))),
                LANE - 6, RUN_COLOURS.get(e.run.status, "#8c959f"), e.step_title, e.run.attempt,
                e.run.get_status_display(), _clock(b), _clock(f),
            )
            for e, b, f in spans
        ),
    )  # fmt: skip
    dots = format_html_join(
        "",
        '<path d="M{} {} l5 6 l-5 6 l-5 -6 z" fill="{}" stroke="#fff">'
        "<title>{} · {} · {}</title></path>",
        (
            (
                _n(_x(e.at, start, span)), y[e.step_key] + 3, EVENT_COLOURS[e.event.action],
                e.step_title, e.action_label, _clock(e.at),
            )
            for e in marks
        ),
    )  # fmt: skip
    base = TOP + LANE * len(lanes)
    ticks = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#d0d7de" stroke-dasharray="2 3"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#57606a">{}</text>',
        (
            (x, x, TOP, base + 4, x, base + 16, _clock(start + (stop - start) * i / 4, day=True))
            for i in range(5)
            for x in [_n(_x(start + (stop - start) * i / 4, start, span))]
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="timeline-svg" viewBox="0 0 {} {}" '
        'width="100%" font-family="sans-serif" role="img" aria-label="{}">{}{}{}{}</svg>',
        WIDTH, height, _("Timeline"), lane_rows, ticks, bars, dots,
    )  # fmt: skip


def _short(text: str, n: int = 34) -> str:
    text = str(text)
    return text if len(text) <= n else text[: n - 1] + "…"


def _clock(at: datetime, day: bool = False) -> str:
    local = timezone.localtime(at)
    return local.strftime("%d/%m %H:%M") if day else local.strftime("%d/%m/%Y %H:%M:%S")


def _n(value: float) -> str:
    """A coordinate with one decimal (SVG wants a dot, whatever the language)."""
    return f"{value:.1f}"
