"""Every URL of the dashboard needs a session; the admin needs staff; the API needs a token."""

from django.test import Client

from readers.models import AgentToken
from tests.conftest import client_for

from .conftest import PUBLIC, all_routes, app_routes


def test_it_requires_login_on_every_url(world):
    anonymous = Client()
    checked = set()
    for name, route in app_routes():
        if name in PUBLIC:
            continue
        url = world.url(name, route)
        for method in (anonymous.get, anonymous.post):
            response = method(url)
            assert response.status_code == 302, (name, url, response.status_code)
            assert response["Location"].startswith("/login/?next="), (name, url)
        checked.add(name)
    # readers, FSE, incidents, overview and report pages are in the walk too
    assert {"readers_token_issue", "fse_timeline", "incident_action", "job_report_pdf"} <= checked
    assert len(checked) >= 35


def test_it_knows_every_public_url():
    names = {name for name, _route in app_routes()}
    assert names >= PUBLIC  # a renamed public URL must be looked at again


def test_it_sends_the_admin_to_its_own_login_even_for_a_logged_in_non_staff_user(world, bob):
    admin_routes = [route for _name, route in all_routes() if route.startswith("admin/")]
    assert len(admin_routes) > 10
    for client in (Client(), client_for(bob)):
        for url in ("/admin/", "/admin/migrations_app/credential/", "/admin/auth/user/"):
            response = client.get(url)
            assert response.status_code == 302, url
            assert response["Location"].startswith("/admin/login/"), url


def test_it_answers_the_readers_api_only_with_a_valid_token(world):
    client = Client(enforce_csrf_checks=True)
    assert client.get("/api/readers/report/").status_code == 405
    response = client.post("/api/readers/report/", "{}", content_type="application/json")
    assert response.status_code == 401 and "Bearer" in response["WWW-Authenticate"]
    response = client.post(
        "/api/readers/report/",
        "{}",
        content_type="application/json",
        headers={"Authorization": "Bearer pas-un-vrai-jeton"},
    )
    assert response.status_code == 401
    token, value = AgentToken.issue(world.job.source)
    bearer = {"Authorization": f"Bearer {value}"}
    response = client.post(
        "/api/readers/report/", "{}", content_type="application/json", headers=bearer
    )
    assert response.status_code == 400  # past the authentication: the report itself is refused
    token.revoke()
    response = client.post(
        "/api/readers/report/", "{}", content_type="application/json", headers=bearer
    )
    assert response.status_code == 401
