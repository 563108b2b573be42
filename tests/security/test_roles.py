"""The role matrix: for every URL and every role, the status of a GET and of an empty POST.

A new URL fails the test until it is given its row here."""

import pytest

from migrations_app import signoff
from migrations_app.steps import pxdatas
from tests.conftest import client_for

from .conftest import PUBLIC, app_routes

ANY = {"mallory", "carol", "alice", "bob"}
VIEW = {"carol", "alice", "bob"}  # auditeur, technicien, superviseur
WORK = {"alice", "bob"}  # technicien, superviseur
SUPER = {"bob"}  # superviseur
PDF = 200 if signoff.pdf_available() else 501

# name: (who may GET, its status), (who may POST, its status); anyone else gets 403.
# Read-only pages answer a POST like a GET (CSRF still applies: test_csrf.py).
MATRIX = {
    "home": ((ANY, 302), (ANY, 302)),
    "job_list": ((VIEW, 200), (VIEW, 200)),
    "job_create": ((WORK, 200), (WORK, 400)),
    "job_detail": ((VIEW, 200), (VIEW, 200)),
    "step_action": ((WORK, 405), (WORK, 400)),
    "run_log": ((VIEW, 286), (VIEW, 286)),
    "run_log_download": ((VIEW, 200), (VIEW, 200)),
    # The walk's run is not a copy: it has no chart (404), but only to those who may see jobs.
    "run_chart": ((VIEW, 404), (VIEW, 404)),
    "customer_list": ((VIEW, 200), (VIEW, 200)),
    "customer_create": ((WORK, 200), (WORK, 400)),
    "customer_detail": ((VIEW, 200), (VIEW, 200)),
    "customer_edit": ((WORK, 200), (WORK, 400)),
    "cabinet_create": ((WORK, 200), (WORK, 400)),
    "site_create": ((WORK, 200), (WORK, 400)),
    "site_detail": ((VIEW, 200), (VIEW, 200)),
    "site_edit": ((WORK, 200), (WORK, 400)),
    "machine_create": ((WORK, 200), (WORK, 400)),
    "machine_detail": ((VIEW, 200), (VIEW, 200)),
    "machine_edit": ((WORK, 200), (WORK, 400)),
    "credential_list": ((VIEW, 200), (VIEW, 200)),
    "credential_create": ((SUPER, 200), (SUPER, 400)),
    "credential_edit": ((SUPER, 200), (SUPER, 400)),
    "audit_list": ((VIEW, 200), (VIEW, 200)),
    "fse_timeline": ((VIEW, 200), (VIEW, 200)),
    "fse_export": ((VIEW, 200), (VIEW, 200)),
    "fse_print": ((VIEW, 200), (VIEW, 200)),
    "fse_decision": ((WORK, 405), (WORK, 400)),
    "incident_create": ((WORK, 200), (WORK, 400)),
    "evidence_download": ((VIEW, 200), (VIEW, 200)),
    "incident_list": ((VIEW, 200), (VIEW, 200)),
    "incident_detail": ((VIEW, 200), (VIEW, 200)),
    "incident_action": ((WORK, 405), (WORK, 400)),
    "overview": ((VIEW, 200), (VIEW, 200)),
    "workers": ((VIEW, 200), (VIEW, 200)),
    "job_report": ((VIEW, 200), (VIEW, 200)),
    "job_report_pdf": ((VIEW, PDF), (VIEW, PDF)),
    "capture_bundle": ((SUPER, 200), (SUPER, 400)),  # a POST without a reason
    "phase_verify": ((WORK, 405), (WORK, 302)),
    "job_tool": ((WORK, 405), (WORK, 302)),
    "locate_paths": ((WORK, 405), (WORK, 400)),
    "job_source_kind": ((WORK, 405), (WORK, 400)),
    "freeze_confirm": ((WORK, 405), (WORK, 400)),  # an empty POST names no post
    "machine_test_connection": ((WORK, 405), (WORK, 302)),
    "machine_connection": ((VIEW, 200), (VIEW, 200)),
    "machine_confirm_key": ((SUPER, 405), (SUPER, 400)),
    "readers_token_issue": ((WORK, 405), (WORK, 200)),
    "readers_token_revoke": ((WORK, 405), (WORK, 302)),
}


def test_it_has_a_row_for_every_url():
    names = {name for name, _route in app_routes()} - PUBLIC
    assert names == set(MATRIX), {"missing": names - set(MATRIX), "stale": set(MATRIX) - names}


@pytest.mark.parametrize("role", sorted(ANY))
def test_it_answers_each_role_as_the_matrix_says(world, role, request):
    user = request.getfixturevalue(role)
    client = client_for(user)
    wrong = []
    for name, route in app_routes():
        if name in PUBLIC:
            continue
        url = world.url(name, route)
        (get_who, get_status), (post_who, post_status) = MATRIX[name]
        for method, who, status in (("get", get_who, get_status), ("post", post_who, post_status)):
            expected = status if role in who else 403
            got = getattr(client, method)(url).status_code
            if got != expected:
                wrong.append((method.upper(), name, url, f"expected {expected}, got {got}"))
    assert wrong == []


def test_it_refuses_the_approval_to_everyone_but_a_supervisor(world, mallory, carol, alice, bob):

    step = world.job.steps.get(key="data.pxdatas")
    pxdatas.request_decision(step, alice, "purge", "ARL reçus")
    url = f"/jobs/{world.job.pk}/steps/{step.pk}/approve/"
    for user in (mallory, carol, alice):
        assert client_for(user).post(url, {"note": "je valide"}).status_code == 403
        step.refresh_from_db()
        assert step.approved_by is None
    assert client_for(bob).post(url, {"note": "ARL vérifiés"}).status_code == 302
    step.refresh_from_db()
    assert step.approved_by == bob
