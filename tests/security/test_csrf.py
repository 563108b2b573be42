"""CSRF on every POST route, plain form posts and htmx-style requests alike."""

import re

from django.test import Client

from migrations_app.models import AuditEvent
from readers.models import AgentToken

from .conftest import app_routes

CSRF_EXEMPT = {"readers_report"}  # bearer token, no cookie: nothing for a forged form to ride on


def logged_in(user, *, csrf: bool) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def test_it_refuses_every_post_without_a_csrf_token(world, bob):
    client = logged_in(bob, csrf=True)
    events, tokens = AuditEvent.objects.count(), AgentToken.objects.count()
    checked = 0
    for name, route in app_routes():
        if name in CSRF_EXEMPT:
            continue
        url = world.url(name, route)
        for headers in ({}, {"HX-Request": "true"}):
            response = client.post(url, {"note": "forgé", "name": "forgé"}, headers=headers)
            assert response.status_code == 403, (name, url, headers, response.status_code)
            assert b"CSRF" in response.content, (name, url)
        checked += 1
    assert checked >= 38  # the log-in, log-out and language forms are in the walk too
    assert AuditEvent.objects.count() == events and AgentToken.objects.count() == tokens


def test_it_accepts_the_token_from_the_form_or_the_header(world, bob):
    client = logged_in(bob, csrf=True)
    page = client.get(f"/jobs/{world.job.pk}/?step={world.step.key}").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    url = f"/jobs/{world.job.pk}/steps/{world.step.pk}/tick/"
    response = client.post(url, {"note": "fait", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    url = f"/jobs/{world.job.pk}/steps/{world.step.pk}/reopen/"
    response = client.post(url, {"note": "à refaire"}, headers={"X-CSRFToken": token})
    assert response.status_code == 302


def test_it_exempts_only_the_token_api_from_csrf():
    exempt = {
        name for name, route in app_routes() if getattr(_view_of(route), "csrf_exempt", False)
    }
    assert exempt == CSRF_EXEMPT


def _view_of(route: str):
    from django.urls import resolve

    path = "/" + re.sub(r"<[^>]+>", "1", route).replace("<slug:action>", "x")
    return resolve(path).func
