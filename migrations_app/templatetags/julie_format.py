"""One French (or English) way to show times, durations, numbers and sizes on every page.

Times are shown in the site's time zone as « 01/12/2026 19:27:05 »; ISO 8601 only appears in
exports, where it is labelled."""

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy

from migrations_app import formatting
from migrations_app.audit_labels import action_label
from migrations_app.formatting import seconds_text

register = template.Library()

WHEN_FORMAT = "d/m/Y H:i:s"


@register.filter
def when(value) -> str:
    """A time in the current time zone, one format everywhere ("" for None)."""
    if not value:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, WHEN_FORMAT)


@register.filter
def seconds(value) -> str:
    """A number of seconds as « 1 h 02 min », « 3 min 05 s », « 4,2 s »."""
    return seconds_text(value) if value is not None else ""


@register.simple_tag
def run_wait(run) -> str:
    """How long a run waited in its queue before a worker took it."""
    if not run.started_at:
        return ""
    return seconds_text(max(0.0, (run.started_at - run.queued_at).total_seconds()))


@register.simple_tag
def run_duration(run) -> str:
    """How long a run ran (until now while it runs)."""
    duration = run.duration
    return seconds_text(duration.total_seconds()) if duration is not None else ""


@register.filter
def size(value) -> str:
    """Bytes in the language's units and separators: « 3,7 Mo »."""
    return formatting.size(value)


@register.filter
def number(value) -> str:
    """A whole number with the language's thousands separator: « 12 345 »."""
    return formatting.number(value)


VERDICT_LABELS = {
    "ok": gettext_lazy("OK"),
    "warn": gettext_lazy("warning"),
    "fail": gettext_lazy("failure"),
    "error": gettext_lazy("error"),
    "unknown": gettext_lazy("to check"),
}


@register.filter
def verdict(code) -> str:
    """A check's verdict (ok, warn, fail, unknown) in words; anything unreadable reads
    « à vérifier », never OK."""
    return str(VERDICT_LABELS.get(code, VERDICT_LABELS["unknown"]))


@register.filter(name="action_label")
def action_label_filter(code) -> str:
    """An audit action code in words (the code itself stays in a title attribute)."""
    return action_label(code or "")


@register.filter
def audit_target(target) -> str:
    """An audit event's target: a step's key reads as the step's title."""
    from migrations_app.steps.registry import REGISTRY

    definition = REGISTRY.get(target or "")
    return str(definition.title) if definition else (target or "")
