"""The log lines of a run, written in one pass."""

from django import template
from django.utils.html import format_html_join
from django.utils.timezone import localtime

register = template.Library()


@register.simple_tag
def log_lines(lines):
    """One <span> per line, its time in the current time zone. A template loop with the
    `time` filter cost ~25 ms per 1,000 lines on the job page."""
    return format_html_join(
        "",
        '<span class="l-{}" data-seq="{}">{} {}\n</span>',
        (
            (line.level, line.seq, localtime(line.ts).strftime("%H:%M:%S"), line.text)
            for line in lines
        ),
    )
