"""Secrets are encrypted at rest, write-only in forms, and never shown or logged."""

from io import StringIO

import pytest
from django.db import connection

from migrations_app import actions
from migrations_app.execution import runner
from migrations_app.models import AuditEvent, Credential, JobStep, LogLine
from tests.conftest import client_for

SECRET = "Tr0ub4dor&3-cabinet"


def test_it_stores_the_secret_encrypted(db):
    credential = Credential(name="admin ancien serveur", username="CABINET\\admin")
    credential.secret = SECRET
    credential.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT secret_encrypted FROM migrations_app_credential WHERE id = %s", [credential.pk]
        )
        raw = cursor.fetchone()[0]
    assert SECRET not in raw and raw.startswith("gAAAAA")  # a Fernet token
    assert Credential.objects.get(pk=credential.pk).secret == SECRET
    assert SECRET not in repr(credential)


def test_it_decrypts_with_an_older_key_after_rotation(db, settings):
    from cryptography.fernet import Fernet

    from migrations_app import crypto

    credential = Credential(name="c", username="u")
    credential.secret = SECRET
    credential.save()
    settings.FERNET_KEYS = [Fernet.generate_key().decode(), *settings.FERNET_KEYS]
    crypto._fernet.cache_clear()
    try:
        assert Credential.objects.get(pk=credential.pk).secret == SECRET
        rotated = crypto.rotate(credential.secret_encrypted)
        settings.FERNET_KEYS = settings.FERNET_KEYS[:1]
        crypto._fernet.cache_clear()
        assert crypto.decrypt(rotated) == SECRET
    finally:
        crypto._fernet.cache_clear()


def test_it_never_shows_the_secret_in_pages(bob, job):
    client = client_for(bob)
    response = client.post(
        "/credentials/new/", {"name": "poste", "username": "admin", "secret": SECRET}
    )
    assert response.status_code == 302
    credential = Credential.objects.get(name="poste")
    job.source.credential = credential
    job.source.save()
    for url in (
        "/credentials/",
        f"/credentials/{credential.pk}/edit/",
        f"/machines/{job.source.pk}/",
        f"/sites/{job.site.pk}/",
        f"/jobs/{job.pk}/",
        "/audit/",
    ):
        body = client.get(url).content.decode()
        assert SECRET not in body, url
        assert credential.secret_encrypted not in body, url
    for event in AuditEvent.objects.all():
        assert SECRET not in str(event.data) and SECRET not in event.reason


def test_it_keeps_the_secret_when_the_edit_leaves_it_empty(bob):
    client = client_for(bob)
    client.post("/credentials/new/", {"name": "c", "username": "u", "secret": SECRET})
    credential = Credential.objects.get(name="c")
    client.post(
        f"/credentials/{credential.pk}/edit/", {"name": "c", "username": "u2", "secret": ""}
    )
    credential.refresh_from_db()
    assert credential.username == "u2" and credential.secret == SECRET


def test_it_lets_only_a_supervisor_manage_credentials(alice):
    response = client_for(alice).post(
        "/credentials/new/", {"name": "c", "username": "u", "secret": SECRET}
    )
    assert response.status_code == 403
    assert not Credential.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_masks_the_secret_in_run_logs(job, alice):
    credential = Credential(name="c", username="admin")
    credential.secret = SECRET
    credential.save()
    job.source.credential = credential
    job.source.save()
    step = JobStep.objects.create(job=job, key="probe.secret", phase=9, order=1, kind="auto")
    run = actions.start_run(step, alice)
    assert runner.execute(run.pk, "test") == "passed"
    texts = list(LogLine.objects.filter(run=run).values_list("text", flat=True))
    assert any("connexion avec admin / ***" in t for t in texts)
    assert not any(SECRET in t for t in texts)


def test_it_rotates_every_stored_secret_to_the_first_key(db, settings):
    from cryptography.fernet import Fernet
    from django.core.management import call_command

    from migrations_app import crypto
    from migrations_app.models import AuditEvent

    credential = Credential(name="c", username="u")
    credential.secret = SECRET
    credential.save()
    old_keys = list(settings.FERNET_KEYS)
    settings.FERNET_KEYS = [Fernet.generate_key().decode(), *old_keys]
    crypto._fernet.cache_clear()
    try:
        call_command("rotate_secrets", stdout=StringIO())
        settings.FERNET_KEYS = settings.FERNET_KEYS[:1]  # the old key removed
        crypto._fernet.cache_clear()
        assert Credential.objects.get(pk=credential.pk).secret == SECRET
        assert AuditEvent.objects.get(action="credential.rotate").data == {"credentials": 1}
        assert SECRET not in str(AuditEvent.objects.get(action="credential.rotate").data)
    finally:
        settings.FERNET_KEYS = old_keys
        crypto._fernet.cache_clear()
