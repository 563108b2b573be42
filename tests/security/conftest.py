"""One of every object a URL can name, and the walk over the whole URL configuration."""

from dataclasses import dataclass

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from migrations_app import incidents
from migrations_app.choices import IncidentKind
from migrations_app.models import Credential, Evidence, LogLine, StepRun
from readers.models import AgentToken

# Reachable without a session: the log-in itself, and the readers agent's API, which
# authenticates with a bearer token (tests/security/test_api_token.py).
PUBLIC = {"login", "logout", "set_language", "readers_report"}


def all_routes(resolver=None, prefix=""):
    """(name, route) of every URL pattern, the admin's included."""
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            yield from all_routes(pattern, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield pattern.name, prefix + str(pattern.pattern)


def app_routes():
    """The dashboard's own routes (the admin has its own log-in, tested apart)."""
    return [(n, r) for n, r in all_routes() if not r.startswith("admin/")]


@dataclass
class World:
    job: object
    step: object
    run: object
    evidence: Evidence
    incident: object
    token: AgentToken
    credential: Credential

    # Which object a route's <pk> names, by the route's first segment.
    def pk_for(self, route: str) -> int:
        heads = {
            "jobs/": self.job.pk,
            "customers/": self.job.customer_id,
            "sites/": self.job.site_id,
            "machines/": self.job.source_id,
            "credentials/": self.credential.pk,
            "evidence/": self.evidence.pk,
            "incidents/": self.incident.pk,
            "readers/tokens/": self.token.pk,
        }
        for head, pk in heads.items():
            if route.startswith(head):
                return pk
        raise AssertionError(f"route {route!r}: say which object its <pk> names")

    def url(self, name: str, route: str) -> str:
        actions = {"step_action": "tick", "incident_action": "note", "locate_paths": "confirm"}
        url = "/" + route
        for placeholder, value in (
            ("<int:pk>", self.pk_for(route) if "<int:pk>" in route else None),
            ("<int:step_pk>", self.step.pk),
            ("<int:run_pk>", self.run.pk),
            ("<slug:action>", actions.get(name)),
            # Phase 2: its checks depend on nothing (re-running phase 1 would re-queue the
            # inventory, and the freeze tool below rightly waits for it).
            ("<int:phase>", 2),
            ("<slug:tool>", "freeze"),
        ):
            if placeholder in url:
                assert value is not None, (name, placeholder)
                url = url.replace(placeholder, str(value))
        assert "<" not in url, f"route {route!r}: a placeholder the security tests do not know"
        return url


def make_world(job, user) -> World:
    step = job.steps.get(key="source.associated_services")
    # The inventory the freeze depends on, done: the cut-over tools can be used.
    job.steps.filter(key__in=["source.locate", "source.server_register"]).update(status="passed")
    run = StepRun.objects.create(
        step=job.steps.get(key="source.locate"),
        requested_by=user,
        status="passed",
        queue="test",
        finished_at=timezone.now(),
        last_seq=2,
    )
    for seq in (1, 2):
        LogLine.objects.create(run=run, seq=seq, ts=timezone.now(), text=f"ligne {seq}")
    evidence = Evidence(job=job, run=run, name="preuve.txt", kind="test", size=6, sha256="0" * 64)
    evidence.file.save("preuve.txt", ContentFile(b"preuve"), save=False)
    evidence.save()
    incident = incidents.open_incident(
        job, user, kind=IncidentKind.values[0], cpam="CPAM de l'Essonne", description="rejet"
    )
    token, _value = AgentToken.issue(job.source, user)
    credential = Credential(name=f"admin ancien serveur {job.pk}", username="administrateur")
    credential.secret = "mot-de-passe-du-serveur"
    credential.save()
    return World(job, step, run, evidence, incident, token, credential)


@pytest.fixture
def world(job, alice):
    return make_world(job, alice)


@pytest.fixture(autouse=True)
def _no_login_failures_left(db):
    """Log-in failure counters live in the shared cache (Redis) across tests and runs."""
    from django.core.cache import cache

    cache.clear()  # this suite's own Redis database only (FLUSHDB, never FLUSHALL)
