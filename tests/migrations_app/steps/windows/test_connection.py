"""« Tester la connexion » and host key pinning with a real OpenSSH server; the old server
read over SFTP by source.locate."""

import pytest

from migrations_app.execution.connection_check import check_connection
from migrations_app.models import AuditEvent, Credential, Machine
from tests.conftest import client_for
from tests.support.sshd import start_sshd
from tests.support.worker import Worker, wait_for

from .conftest import run_step

pytestmark = pytest.mark.django_db(transaction=True)


def over_ssh(machine, sshd, *, fingerprint="", root=""):
    credential = Credential(name=f"clé {machine.hostname}", username=sshd.username)
    credential.secret = sshd.client_key_path.read_text()
    credential.save()
    machine.transport, machine.address, machine.port = "ssh", sshd.host, sshd.port
    machine.credential, machine.host_key_fingerprint = credential, fingerprint
    machine.root_path = root
    machine.save()
    return machine


def test_it_shows_the_key_on_first_contact_and_a_supervisor_confirms_it(practice, sshd, alice, bob):
    machine = over_ssh(practice.target, sshd)
    result = check_connection(machine.pk, alice.pk)
    machine.refresh_from_db()
    assert result["state"] == "unconfirmed"
    assert machine.observed_fingerprint == sshd.host_key_fingerprint()
    assert machine.host_key_fingerprint == ""
    page = client_for(alice).get(machine.get_absolute_url()).content.decode()
    assert sshd.host_key_fingerprint() in page and "confirm-key" not in page
    url = f"/machines/{machine.pk}/confirm-key/"
    assert (
        client_for(alice).post(url, {"fingerprint": machine.observed_fingerprint}).status_code
        == 403
    )
    response = client_for(bob).post(url, {"fingerprint": "SHA256:autre"})
    assert response.status_code == 409 and "empreinte a changé" in response.content.decode()
    machine.refresh_from_db()
    assert machine.host_key_fingerprint == ""  # not the fingerprint shown: refused
    client_for(bob).post(url, {"fingerprint": machine.observed_fingerprint})
    machine.refresh_from_db()
    assert machine.host_key_fingerprint == sshd.host_key_fingerprint()
    event = AuditEvent.objects.get(action="machine.host_key_confirm")
    assert event.category == "security" and event.actor == bob
    # Now the transport authenticates; PowerShell is missing on this Linux host: a warning.
    result = check_connection(machine.pk, bob.pk)
    assert result["state"] == "warning", result
    assert result["items"][0]["status"] == "ok" and result["host"]
    assert AuditEvent.objects.filter(action="machine.test_connection").count() == 2


def test_it_refuses_a_changed_host_key_and_shows_both(practice, sshd, alice, tmp_path):
    impostor = start_sshd(tmp_path / "impostor")
    try:
        machine = over_ssh(practice.target, impostor, fingerprint=sshd.host_key_fingerprint())
        result = check_connection(machine.pk, alice.pk)
    finally:
        impostor.stop()
    machine.refresh_from_db()
    assert result["state"] == "changed"
    assert machine.observed_fingerprint == impostor.host_key_fingerprint()
    assert machine.host_key_fingerprint == sshd.host_key_fingerprint()  # unchanged
    page = client_for(alice).get(machine.get_absolute_url()).content.decode()
    assert impostor.host_key_fingerprint() in page and sshd.host_key_fingerprint() in page
    assert 'data-state="changed"' in page


def test_it_locates_the_data_on_an_old_server_read_over_sftp(practice, job, sshd, alice):
    root = practice.source.root_path
    over_ssh(job.source, sshd, fingerprint=sshd.host_key_fingerprint(), root=root)
    run = run_step(job, "source.locate", alice)
    assert run.status == "passed", (run.summary, run.error)
    assert Machine.objects.get(pk=job.source.pk).transport == "ssh"
    job.refresh_from_db()
    assert job.discovered_paths["julie_root"].lower().endswith("juliew")
    log = "\n".join(run.log_lines.values_list("text", flat=True))
    assert f"ssh://ANCIEN-SERVEUR{root}" in log
    datas = next(i for i in run.result["items"] if i["label"] == "Datas")
    assert datas["status"] == "ok" and datas["files"] > 0


def test_it_tests_the_connection_through_a_worker_and_the_page_follows(practice, sshd, alice):
    worker = Worker().start()
    try:
        site = practice.site
        site.worker_queue = worker.queue
        site.save()
        machine = over_ssh(practice.target, sshd)
        browser = client_for(alice)
        answer = browser.post(f"/machines/{machine.pk}/test-connection/")
        assert answer.status_code == 302 and "?since=" in answer["Location"]
        since = answer["Location"].split("since=")[1]
        first = browser.get(f"/machines/{machine.pk}/connection/?since={since}").content.decode()
        panel = wait_for(
            lambda: (
                page
                if 'data-state="unconfirmed"'
                in (
                    page := browser.get(
                        f"/machines/{machine.pk}/connection/?since={since}"
                    ).content.decode()
                )
                else None
            ),
            timeout=60,
            interval=0.5,
        )
    finally:
        worker.stop()
    assert 'hx-trigger="every 2s"' in first or 'data-state="unconfirmed"' in first
    assert 'hx-trigger="every 2s"' not in panel  # result in: polling stops
    assert sshd.host_key_fingerprint() in panel
    assert Machine.objects.get(pk=machine.pk).observed_fingerprint == sshd.host_key_fingerprint()
    event = AuditEvent.objects.get(action="machine.test_connection")
    assert event.actor == alice and event.data["state"] == "unconfirmed"


def test_it_lets_only_machine_editors_start_a_test(practice, carol):
    answer = client_for(carol).post(f"/machines/{practice.target.pk}/test-connection/")
    assert answer.status_code == 403
    assert (
        client_for(carol).get(f"/machines/{practice.target.pk}/test-connection/").status_code == 403
    )
