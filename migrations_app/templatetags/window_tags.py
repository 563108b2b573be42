"""The cut-over window of a job (migrations_app.cutover_window), ready to print in French."""

from django import template

from migrations_app import cutover_window as cw

register = template.Library()


@register.simple_tag
def cutover_window(job) -> dict:
    """The estimate (and the actual once the final pass ran), as French texts."""
    window = cw.for_job(job)
    est, actual = window["estimate"], window["actual"]
    shown = {"estimate": None, "actual": None, "frozen": window["frozen_at"] is not None}
    if est is not None:
        shown["estimate"] = {
            "duration": cw.format_duration(est.seconds),
            "listing": cw.format_duration(est.listing_seconds),
            "copy": cw.format_duration(est.copy_seconds),
            "entries": cw.format_number(est.entries),
            "rate": cw.format_number(est.listing_rate),
            "files": cw.format_number(est.delta_files),
            "bytes": cw.format_bytes(est.delta_bytes),
            "files_per_hour": cw.format_number(est.files_per_hour, 1),
            "bytes_per_hour": cw.format_bytes(est.bytes_per_hour),
            "hours": cw.format_number(est.hours_since, 1),
            "basis": est.basis,
            "minimum": not est.delta_known,
        }
    if actual is not None:
        shown["actual"] = {"duration": cw.format_duration(actual)}
        if est is not None and actual > 0:
            shown["actual"]["gap"] = cw.format_number((est.seconds - actual) / actual * 100, 0)
    return shown
