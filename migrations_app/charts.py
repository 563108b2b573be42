"""A mirror run's chart: throughput and files copied over time, drawn on the server as SVG
(no script, printable, the same in the page and the PDF), with the time left or, once the
run has ended, how long it took. Fed by the run's progress samples (execution.logbook)."""

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from migrations_app.choices import RunStatus
from migrations_app.execution.logbook import RECENT_SECONDS, recent_rate
from migrations_app.formatting import decimal, number, seconds_text, size

MIRROR_STEP = "data.mirror"
WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 960, 250, 76, 76, 28, 34
RATE_COLOUR, FILES_COLOUR, GRID = "#0969da", "#2da44e", "#d0d7de"
RATE_UNITS = (
    gettext_lazy("B/s"), gettext_lazy("KB/s"), gettext_lazy("MB/s"), gettext_lazy("GB/s"),
)  # fmt: skip


@dataclass
class Chart:
    svg: str  # "" when the run has fewer than two samples
    eta_text: str  # "about 3 min 05 s left (around 14:32)" while it runs
    duration_text: str  # the actual duration, once it has ended
    average_text: str  # the average throughput over the run
    points: int


def rates(samples: list[list]) -> list[tuple[float, float]]:
    """(time, bytes per second since the previous sample) for each sample after the first."""
    out = []
    for before, after in zip(samples, samples[1:], strict=False):
        span = after[0] - before[0]
        if span > 0:
            out.append((after[0], max(0.0, (after[1] - before[1]) / span)))
    return out


def _nice(value: float) -> float:
    """The smallest 1, 2 or 5 × 10^k at or above value (an axis' top)."""
    if value <= 0:
        return 1.0
    power = 1.0
    while power * 10 <= value:
        power *= 10
    while power > value:
        power /= 10
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def _rate_unit(top: float) -> tuple[float, str]:
    divisor, index = 1.0, 0
    while top / divisor >= 1024 and index < len(RATE_UNITS) - 1:
        divisor *= 1024
        index += 1
    return divisor, str(RATE_UNITS[index])


def _elapsed(seconds: float) -> str:
    seconds = int(round(seconds))
    minutes, secs = divmod(seconds, 60)
    if minutes == 0:
        return f"{secs} s"
    if minutes < 60:
        return f"{minutes} min {secs:02d}" if secs else f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d}"


def _n(value: float) -> str:
    """A coordinate with one decimal (SVG wants a dot, whatever the language)."""
    return f"{value:.1f}"


def chart_svg(samples: list[list]) -> str:
    """The picture: throughput (left axis, blue) and files copied (right axis, green) over
    the time since the start. "" with fewer than two samples."""
    if len(samples) < 2:
        return ""
    span = max(samples[-1][0], 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    rate_points = rates(samples)
    # The rate axis is rounded in its display unit: 0 – 2 Mio/s, not 0 – 2,1 Mio/s.
    divisor, unit = _rate_unit(max((r for _t, r in rate_points), default=0.0))
    top_rate = _nice(max((r for _t, r in rate_points), default=0.0) / divisor) * divisor
    top_files = _nice(max(s[2] for s in samples))

    def x(t: float) -> str:
        return _n(LEFT + plot_w * t / span)

    def y(value: float, top: float) -> str:
        return _n(TOP + plot_h * (1 - value / top))

    rate_line = " ".join(f"{x(t)},{y(r, top_rate)}" for t, r in rate_points)
    files_line = " ".join(f"{x(s[0])},{y(s[2], top_files)}" for s in samples)
    base = TOP + plot_h
    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-dasharray="2 3"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end" fill="{}">{}</text>'
        '<text x="{}" y="{}" font-size="10" fill="{}">{}</text>',
        (
            (
                LEFT, WIDTH - RIGHT, gy, gy, GRID,
                LEFT - 6, _n(float(gy) + 3), RATE_COLOUR, decimal(top_rate * i / 4 / divisor, 1),
                WIDTH - RIGHT + 6, _n(float(gy) + 3), FILES_COLOUR, number(round(top_files * i / 4)),
            )
            for i in range(5)
            for gy in [y(top_rate * i / 4, top_rate)]
        ),
    )  # fmt: skip
    ticks = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#57606a">{}</text>',
        (
            (gx, gx, base, base + 4, GRID, gx, base + 16, _elapsed(span * i / 4))
            for i in range(5)
            for gx in [x(span * i / 4)]
        ),
    )
    legend = format_html(
        '<text x="{}" y="16" font-size="11" fill="{}">{}</text>'
        '<text x="{}" y="16" font-size="11" text-anchor="end" fill="{}">{}</text>'
        '<text x="{}" y="{}" font-size="10" text-anchor="middle" fill="#57606a">{}</text>',
        LEFT, RATE_COLOUR, _("Throughput (%(unit)s)") % {"unit": unit},
        WIDTH - RIGHT, FILES_COLOUR, _("Files copied"),
        LEFT + plot_w / 2, HEIGHT - 4, _("time since the start"),
    )  # fmt: skip
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" class="mirror-chart-svg" viewBox="0 0 {} {}" '
        'width="100%" font-family="sans-serif" role="img" aria-label="{}">'
        "{}{}{}"
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#57606a"/>'
        '<polyline data-series="rate" points="{}" fill="none" stroke="{}" stroke-width="1.5"/>'
        '<polyline data-series="files" points="{}" fill="none" stroke="{}" stroke-width="1.5"/>'
        "</svg>",
        WIDTH, HEIGHT, _("Throughput and files copied over time"), grid, ticks, legend,
        LEFT, WIDTH - RIGHT, base, base, rate_line, RATE_COLOUR, files_line, FILES_COLOUR,
    )  # fmt: skip


def eta_seconds(run, samples: list[list]) -> int | None:
    """What remains of the run's totals at the recent rate (bytes, else files)."""
    for done, total, column in (
        (run.done_bytes, run.total_bytes, 1),
        (run.done_units, run.total_units, 2),
    ):
        if total and done is not None:
            rate = recent_rate(samples, column, RECENT_SECONDS)
            if rate and rate > 0:
                return max(0, int((total - done) / rate))
    return run.eta_seconds


def mirror_chart(run, now=None) -> Chart | None:
    """The chart of a data.mirror run; None for other steps."""
    if run is None or run.step.key != MIRROR_STEP:
        return None
    now = now or timezone.now()
    samples = run.progress_samples or []
    eta_text = duration_text = average_text = ""
    if run.status in RunStatus.active():
        eta = eta_seconds(run, samples)
        if eta is not None:
            end = timezone.localtime(now + timedelta(seconds=eta))
            eta_text = _("about %(left)s left (around %(clock)s)") % {
                "left": seconds_text(eta),
                "clock": end.strftime("%H:%M"),
            }
    elif run.started_at and run.finished_at:
        duration_text = run.duration_text
    if len(samples) >= 2 and samples[-1][2] and not any(s[1] for s in samples):
        # robocopy.exe reports files as it goes, not bytes: no throughput, rather than "0 B/s".
        average_text = _(
            "%(files)s files; the throughput is not reported during this copy (robocopy gives "
            "it in its final summary)"
        ) % {"files": number(samples[-1][2])}
    elif len(samples) >= 2 and samples[-1][0] > 0:
        average_text = _("%(size)s copied, %(files)s files, on average %(rate)s per second") % {
            "size": size(samples[-1][1]),
            "files": number(samples[-1][2]),
            "rate": size(samples[-1][1] / samples[-1][0]),
        }
    return Chart(
        svg=chart_svg(samples),
        eta_text=eta_text,
        duration_text=duration_text,
        average_text=average_text,
        points=len(samples),
    )
