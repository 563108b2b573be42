"""Shared fixtures: the four users of every test (alice technicien, bob superviseur,
carol auditeur, mallory outsider), a demo practice on generated Julie trees, and real
services (sshd here; others in tests/support/)."""

import os

import pytest
from django.contrib.auth.models import Group

from tests.support.sshd import start_sshd

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(scope="session")
def sshd(tmp_path_factory):
    server = start_sshd(tmp_path_factory.mktemp("sshd"))
    yield server
    server.stop()


@pytest.fixture(autouse=True, scope="session")
def _local_roots_in_tmp(tmp_path_factory):
    """`local` machines of the fixtures live under pytest's temporary folders: the only
    folders allowed to them, in this process and in the processes it starts."""
    from django.conf import settings

    roots = [str(tmp_path_factory.getbasetemp())]
    os.environ["JULIEOPS_LOCAL_ROOTS"] = ",".join(roots)
    settings.JULIEOPS_LOCAL_ROOTS = roots


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path, tmp_path_factory):
    """Evidence files go to the test's own folder, never to var/; `local` machines of the
    fixtures live under pytest's temporary folders, the only ones allowed to them."""
    settings.JULIEOPS_LOCAL_ROOTS = [str(tmp_path_factory.getbasetemp())]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
    }


def _user(django_user_model, username, group=None):
    user = django_user_model.objects.create_user(username=username, password=PASSWORD)
    if group:
        user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def alice(db, django_user_model):
    return _user(django_user_model, "alice", "technicien")


@pytest.fixture
def bob(db, django_user_model):
    return _user(django_user_model, "bob", "superviseur")


@pytest.fixture
def carol(db, django_user_model):
    return _user(django_user_model, "carol", "auditeur")


@pytest.fixture
def mallory(db, django_user_model):
    return _user(django_user_model, "mallory")


def client_for(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def practice(db, tmp_path):
    """A customer with a site, local old/new servers on generated Julie trees, a client post."""
    from tests.support.practice import make_practice

    return make_practice(tmp_path)


@pytest.fixture
def job(practice, alice):
    from migrations_app import actions

    return actions.create_job(
        alice,
        customer=practice.customer,
        site=practice.site,
        source=practice.source,
        target=practice.target,
        clients=[practice.client],
        title="Migration de test",
    )
