"""Durations, numbers and sizes as a person reads them, in the active language: « 4,2 s »,
« 12 345 », « 3,7 Mo » in French, « 4.2 s », « 12,345 », « 3.7 MB » in English. No model
import: models, template tags and charts all use it."""

from django.template.defaultfilters import filesizeformat
from django.utils import formats


def decimal(value: float, places: int = 1) -> str:
    """A number with the language's decimal separator and thousands grouping."""
    return str(formats.number_format(value, places, use_l10n=True, force_grouping=True))


def number(value) -> str:
    """A whole number with the language's thousands separator."""
    return decimal(value or 0, 0)


def seconds_text(seconds: float | None) -> str:
    """ "1 h 02 min", "3 min 05 s", "4,2 s" (the decimal separator of the language)."""
    if seconds is None:
        return ""
    if seconds < 60:
        return f"{decimal(seconds, 1)} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def size(value) -> str:
    """Bytes in the language's units and separators: « 3,7 Mo »."""
    return str(filesizeformat(value or 0)).replace("\xa0", " ")
