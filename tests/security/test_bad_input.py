"""Bad input gets a 4xx, always (issue 12, reproductions 6 and 9, and the small ones)."""

import json

import pytest
from django.test import Client

from migrations_app.actions import ActionRefused
from migrations_app.choices import IncidentKind
from migrations_app.models import Customer, IncidentNote
from migrations_app.web.forms import CabinetForm, CustomerForm, MachineForm, read_int
from readers.models import AgentToken, ReaderReport
from tests.conftest import client_for
from tests.readers.conftest import a_report

HOSTILE_INTS = ["²", "١٢", "-1", "+1", "1.0", " 1 2", "99999999999999999999999", "0x10", "1e3"]


@pytest.mark.parametrize("value", HOSTILE_INTS)
def test_read_int_takes_ascii_digits_within_range_only(value):
    with pytest.raises(ActionRefused) as refused:
        read_int(value, minimum=0)
    assert refused.value.status == 400


def test_read_int_reads_good_values():
    assert read_int("42") == 42 and read_int(" 7 ") == 7
    assert read_int("") is None and read_int(None) is None


@pytest.mark.parametrize("value", ["²", "99999999999999999999999", "-3"])
def test_every_id_in_a_query_string_answers_400(job, bob, value):
    client = client_for(bob)
    urls = [
        f"/audit/?job={value}",
        f"/incidents/?customer={value}",
        f"/customers/{job.customer_id}/fse/?job={value}",
        f"/customers/{job.customer_id}/fse/export.csv?job={value}",
        f"/customers/{job.customer_id}/fse/print/?job={value}",
        f"/jobs/new/?site={value}",
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 400, (url, response.status_code)


def test_cancel_with_a_bad_run_and_links_with_bad_ids_answer_400(job, bob):
    from migrations_app import incidents

    client = client_for(bob)
    step = job.steps.first()
    for run in ("²", "99999999999999999999999"):
        response = client.post(f"/jobs/{job.pk}/steps/{step.pk}/cancel/", {"run": run})
        assert response.status_code == 404, run  # names no run
    incident = incidents.open_incident(job, bob, kind=IncidentKind.values[0], cpam="",
                                       description="rejet")  # fmt: skip
    for value in ("²", "99999999999999999999999"):
        response = client.post(f"/incidents/{incident.pk}/link/", {"evidence": value})
        assert response.status_code == 400, value


def test_nul_bytes_and_huge_notes_are_refused(job, bob):
    from migrations_app import incidents

    client = client_for(bob)
    step = job.steps.first()
    response = client.post(f"/jobs/{job.pk}/steps/{step.pk}/tick/", {"note": "a\x00b"})
    assert response.status_code == 400
    response = client.post(f"/jobs/{job.pk}/steps/{step.pk}/tick/", {"note": "x" * 1_000_000})
    assert response.status_code == 400
    incident = incidents.open_incident(job, bob, kind=IncidentKind.values[0], cpam="",
                                       description="rejet")  # fmt: skip
    for text in ("a\x00b", "x" * 1_000_000):
        response = client.post(f"/incidents/{incident.pk}/note/", {"text": text})
        assert response.status_code == 400
        response = client.post(f"/incidents/{incident.pk}/close/", {"resolution": text})
        assert response.status_code == 400
    assert not IncidentNote.objects.exists()


def _post_report(report, token):
    return Client().post(
        "/api/readers/report/", json.dumps(report), content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )  # fmt: skip


@pytest.mark.parametrize(
    "path,value",
    [(("pcsc", "status"), ["ok"]), (("pcsc", "readers", 0, "card"), []),
     (("pcsc", "readers", 0, "name"), ["a"]), (("pcsc", "readers", 0, "state"), [["present"]]),
     (("generated_at",), "9999-12-31T23:59:59-05:00"), (("generated_at",), "1900-01-01T00:00:00Z")],
)  # fmt: skip
def test_the_report_api_refuses_wrong_types_and_dates_with_a_400(practice, path, value):
    token = AgentToken.issue(practice.target)[1]
    report = a_report("NOUVEAU-SERVEUR")
    node = report
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    response = _post_report(report, token)
    assert response.status_code == 400, response.content
    assert not ReaderReport.objects.exists()


def test_the_report_api_refuses_galss_mode_and_kind_of_wrong_type(practice):
    token = AgentToken.issue(practice.target)[1]
    report = a_report("NOUVEAU-SERVEUR")
    report["galss"] = {"path": None, "mode": {}, "channels": [
        {"index": 1, "kind": [], "com_port": None, "reader_name": None, "library": None,
         "lads": []}], "problems": [], "messages": []}  # fmt: skip
    assert _post_report(report, token).status_code == 400


def test_a_stale_or_replayed_report_is_refused(practice):
    token = AgentToken.issue(practice.target)[1]
    report = a_report("NOUVEAU-SERVEUR")
    assert _post_report(report, token).status_code == 201
    replay = _post_report(report, token)
    assert replay.status_code == 409
    old = a_report("NOUVEAU-SERVEUR")
    old["generated_at"] = "2020-01-01T00:00:00Z"
    assert _post_report(old, token).status_code == 400
    assert ReaderReport.objects.count() == 1


def test_a_port_outside_1_65535_is_refused(practice):
    site = practice.target.site
    for port in (0, 70000):
        form = MachineForm({"hostname": "SRV-X", "address": "192.0.2.1", "transport": "winrm",
                            "port": port, "root_path": ""}, site=site)  # fmt: skip
        assert not form.is_valid() and "port" in form.errors


def test_a_ps_number_of_superscript_digits_is_refused(practice):
    form = CabinetForm({"name": "Cab", "ps_number": "¹²³⁴⁵⁶⁷⁸⁹"}, customer=practice.customer)
    assert not form.is_valid() and "ps_number" in form.errors


def test_customer_names_are_unique_whatever_the_case(practice):
    name = practice.customer.name
    form = CustomerForm({"name": name.upper(), "licence_number": "", "contact_name": "",
                         "contact_phone": "", "contact_email": "", "notes": ""})  # fmt: skip
    assert not form.is_valid() and "name" in form.errors
    assert Customer.objects.filter(name__iexact=name).count() == 1


def test_a_nul_character_anywhere_in_a_query_or_form_answers_400_in_french(
    job, bob, django_user_model
):
    client = client_for(bob)
    for url in ("/customers/?q=a%00b", "/incidents/?q=a%00b", "/admin/?x=a%00b"):
        response = client.get(url)
        assert response.status_code == 400, url
        assert "caractère nul" in response.content.decode()
    root = django_user_model.objects.create_superuser("root", "r@example.test", "x-Pass-123456")
    admin = Client()
    admin.force_login(root)
    response = admin.get("/admin/migrations_app/auditevent/?category__exact=a%00b")
    assert response.status_code == 400


def test_machine_roles_of_the_wrong_type_are_a_validation_error(practice):
    from django.core.exceptions import ValidationError

    machine = practice.source
    machine.roles = 5
    with pytest.raises(ValidationError):
        machine.clean()
