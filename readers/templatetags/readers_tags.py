"""Data for the readers fragments included in the machine and job pages (migrations_app's
views know nothing of readers: the fragments fetch what they show)."""

from django import template

from readers.evaluation import machine_summary
from readers.models import AgentToken

register = template.Library()

TOKENS_SHOWN = 10


@register.simple_tag
def machine_readers(machine) -> dict:
    tokens = AgentToken.objects.filter(machine=machine).select_related("created_by")
    return {**machine_summary(machine), "tokens": list(tokens[:TOKENS_SHOWN])}


@register.simple_tag
def job_readers(job) -> list[dict]:
    machines = dict.fromkeys([job.target, *job.clients.all()])
    return [{"machine": machine, **machine_summary(machine)} for machine in machines]
