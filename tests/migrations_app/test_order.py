"""The procedure's order (STEPS.md, « Order »): a step runs or is ticked only once the steps it
depends on are passed, warned, ticked or skipped; otherwise 409 with the French list of what is
missing; a supervisor may override with a written reason (a derogation, audited, shown on the
job page and in the sign-off report). And approvals: offered only when something awaits one,
never given by the person who asked."""

import pytest
from django.contrib.auth.models import Group

from migrations_app import actions, status
from migrations_app.actions import ActionRefused
from migrations_app.models import AuditEvent, JobStep
from migrations_app.steps import pxdatas
from migrations_app.steps.registry import REGISTRY
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

# Every step of the catalogue (STEPS.md's tables), in its order.
CATALOGUE = [
    "source.locate", "source.server_register", "source.services_data",
    "source.pxdatas_snapshot", "source.associated_services", "source.extras",
    "target.hardware", "target.network", "target.share", "target.firewall", "target.antivirus",
    "target.admin_rights", "cutover.freeze", "data.mirror", "data.pxdatas",
    "data.server_register", "data.services", "data.teletransmission", "data.window_layout",
    "cutover.retire_old", "install.server", "install.verify", "install.clients", "post.readers",
    "post.cps", "post.teletransmission", "post.services", "post.clients_repoint", "post.signoff",
]  # fmt: skip

# The Order section of ../shared/procedure/STEPS.md, step by step: what each cut-over step
# waits for. Pre-copies of data.mirror may run any time after source.locate.
ORDER = {
    "cutover.freeze": {"source.locate", "source.server_register"},
    "data.mirror": {"source.locate"},
    "data.pxdatas": {"cutover.freeze", "data.mirror", "source.pxdatas_snapshot"},
    "data.services": {"cutover.freeze", "data.mirror", "source.services_data"},
    "data.server_register": {"cutover.freeze", "data.mirror"},
    "data.teletransmission": {"data.mirror", "source.extras"},
    "data.window_layout": {"data.mirror", "source.extras"},
    "cutover.retire_old": {
        "data.pxdatas",
        "data.services",
        "data.server_register",
        "data.teletransmission",
        "data.window_layout",
    },
    "install.server": {"cutover.retire_old"},
    "install.verify": {"install.server"},
    "install.clients": {"install.verify"},
    # Phase 5, « after installation » (the procedure: once the installation is over, the
    # readers, then the CPS, then the teletransmission); the sign-off after everything else.
    "post.readers": {"install.clients"},
    "post.cps": {"post.readers"},
    "post.teletransmission": {"post.cps"},
    "post.services": {"install.clients"},
    "post.clients_repoint": {"install.clients"},
    "post.signoff": set(CATALOGUE) - {"post.signoff"},
    "cutover.unfreeze": {"cutover.freeze"},
}


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    sent = []
    monkeypatch.setattr("migrations_app.tasks.enqueue", sent.append)
    return sent


@pytest.fixture
def dave(db, django_user_model):
    """A second supervisor (four eyes)."""
    user = django_user_model.objects.create_user(username="dave", password="x")
    user.groups.add(Group.objects.get(name="superviseur"))
    return user


def done(job, *keys, by=None):
    for key in keys:
        status.finish_step_by_hand(job.steps.get(key=key), by, "done", "fait")


def act(step, user, **kwargs):
    """Run an automated step, tick a manual one (the two actions the order gates)."""
    if step.definition.is_automated():
        return actions.start_run(step, user, **kwargs)
    return actions.tick_step(step, user, "fait à la main", **kwargs)


def test_the_catalogue_follows_the_order_of_the_procedure():
    for key, wanted in ORDER.items():
        assert set(REGISTRY[key].depends_on) == wanted, key


@pytest.mark.parametrize("key", [k for k in ORDER if k not in ("cutover.unfreeze", "data.pxdatas")])
def test_each_rule_refuses_before_and_allows_after(job, alice, key):
    step = job.steps.get(key=key)
    with pytest.raises(ActionRefused) as refused:
        act(step, alice)
    assert refused.value.status == 409
    message = str(refused.value)
    assert message.startswith("Terminez d'abord ces étapes")
    for dep in ORDER[key]:
        assert f"« {REGISTRY[dep].title} » (à faire)" in message
    # One missing is still refused; all done (a skip with its reason counts) lets it go.
    deps = sorted(ORDER[key])
    done(job, *deps[:-1], by=alice)
    with pytest.raises(ActionRefused):
        act(step, alice)
    actions.skip_step(job.steps.get(key=deps[-1]), alice, "sans objet dans ce cabinet")
    act(job.steps.get(key=key), alice)
    assert not AuditEvent.objects.filter(action="step.derogation").exists()


def test_pxdatas_waits_for_the_freeze_the_final_mirror_and_the_snapshot(job, alice):
    step = job.steps.get(key="data.pxdatas")
    done(job, "source.locate", "source.pxdatas_snapshot", "data.mirror", by=alice)
    with pytest.raises(ActionRefused) as refused:
        actions.start_run(step, alice)
    assert refused.value.status == 409 and "Geler l'ancien serveur" in str(refused.value)
    done(job, "cutover.freeze", by=alice)
    # A mirror done before the freeze is no final pass: the freeze sent it back to do.
    with pytest.raises(ActionRefused) as refused:
        actions.start_run(step, alice)
    assert "« Copie miroir des données » (à faire)" in str(refused.value)
    done(job, "data.mirror", by=alice)
    assert actions.start_run(step, alice).status == "queued"


def test_a_failed_or_running_dependency_is_not_done(job, alice):
    JobStep.objects.filter(job=job, key="source.locate").update(status="failed")
    with pytest.raises(ActionRefused) as refused:
        actions.start_run(job.steps.get(key="data.mirror"), alice)
    assert "« Localiser les données Julie » (échec)" in str(refused.value)


def test_a_simulation_runs_in_any_order(job, alice):
    run = actions.start_run(job.steps.get(key="data.mirror"), alice, params={"dry_run": True})
    assert run.params == {"dry_run": True}


def test_only_a_supervisor_derogates_with_a_reason_audited_and_shown(job, alice, bob):
    step = job.steps.get(key="data.teletransmission")
    with pytest.raises(ActionRefused) as refused:
        actions.start_run(step, alice, derogation="pressé")
    assert refused.value.status == 403
    with pytest.raises(ActionRefused) as refused:
        actions.start_run(step, bob, derogation="   ")
    assert refused.value.status == 409
    run = actions.start_run(step, bob, derogation="Internet.par recopié d'une clé USB du cabinet")
    assert run.status == "queued"
    event = AuditEvent.objects.get(action="step.derogation")
    assert event.actor_name == "bob" and event.target == "data.teletransmission"
    assert event.reason == "Internet.par recopié d'une clé USB du cabinet"
    assert {m["key"] for m in event.data["missing"]} == {"data.mirror", "source.extras"}
    assert event.data["action"] == "run" and event.category == "data"
    page = client_for(alice).get(f"/jobs/{job.pk}/").content.decode()
    assert "Dérogations à l'ordre des étapes" in page and "clé USB du cabinet" in page
    report = client_for(alice).get(f"/jobs/{job.pk}/report/").content.decode()
    assert "clé USB du cabinet" in report and "data.mirror, source.extras" in report


def test_the_page_and_htmx_answer_409_with_the_french_list(job, alice, bob):
    step = job.steps.get(key="install.server")
    url = f"/jobs/{job.pk}/steps/{step.pk}/tick/"
    response = client_for(alice).post(url, {"note": "installé"})
    assert response.status_code == 409
    page = response.content.decode()
    assert "Terminez d&#x27;abord ces étapes" in page and "Retirer l&#x27;ancien serveur" in page
    response = client_for(alice).post(url, {"note": "installé"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert response.content.decode().startswith("Terminez d'abord ces étapes")
    # The step panel says what it waits for; only a supervisor gets the derogation field.
    panel = client_for(alice).get(f"/jobs/{job.pk}/?step=install.server").content.decode()
    assert "Cette étape attend" in panel and 'name="derogation"' not in panel
    panel = client_for(bob).get(f"/jobs/{job.pk}/?step=install.server").content.decode()
    assert 'name="derogation"' in panel
    response = client_for(bob).post(
        url, {"note": "installé", "derogation": "Serveur déjà installé par le revendeur"}
    )
    assert response.status_code == 302
    assert job.steps.get(key="install.server").status == "done"


def test_the_demo_reaches_its_data_steps_by_ticking_and_skipping(job, alice):
    """Local machines (the demo): the Windows steps are ticked or skipped with a reason, in
    order, up to the data steps."""
    for key in ("source.locate", "source.server_register"):
        actions.tick_step(job.steps.get(key=key), alice, "relevé à la main")
    actions.tick_step(job.steps.get(key="cutover.freeze"), alice, "Julie fermé, services arrêtés")
    actions.skip_step(job.steps.get(key="source.services_data"), alice, "pas de services")
    actions.tick_step(job.steps.get(key="data.mirror"), alice, "copie faite à la main")
    assert actions.start_run(job.steps.get(key="data.services"), alice).status == "queued"


# -- approvals ---------------------------------------------------------------------------------


def test_approve_is_offered_only_when_something_awaits_it(job, alice, bob):
    done(job, "source.locate", "cutover.freeze", "source.pxdatas_snapshot", "data.mirror", by=alice)
    url = f"/jobs/{job.pk}/?step=data.pxdatas"
    assert ">Approuver<" not in client_for(bob).get(url).content.decode()
    pxdatas.request_decision(job.steps.get(key="data.pxdatas"), alice, "purge", "ARL reçus")
    assert ">Approuver<" in client_for(bob).get(url).content.decode()


def test_four_eyes_the_requester_cannot_approve(job, bob, dave):
    step = job.steps.get(key="data.pxdatas")
    pxdatas.request_decision(step, bob, "purge", "Sauvegarde incrémentale restaurée")
    with pytest.raises(ActionRefused) as refused:
        actions.approve_step(step, bob, "je valide ma propre décision")
    assert refused.value.status == 403 and "Quatre yeux" in str(refused.value)
    step.refresh_from_db()
    assert not step.is_approved
    actions.approve_step(step, dave, "ARL reçus pour tous les lots")
    step.refresh_from_db()
    assert step.approved_by == dave
    assert AuditEvent.objects.get(action="step.approve").actor_name == "dave"


def test_four_eyes_on_the_sms_restore_too(job, alice, bob, dave):
    step = job.steps.get(key="data.services")
    # bob's run proposed restoring Sms.db from the newest JulieServicesDb zip.
    JobStep.objects.filter(pk=step.pk).update(
        status="failed",
        result={"sms_restore": {"sha256": "ab" * 32, "zip": "JulieServicesDb/x.zip"}},
    )
    step.runs.create(requested_by=bob, queue="test", status="failed")
    step.refresh_from_db()
    with pytest.raises(ActionRefused) as refused:
        actions.approve_step(step, bob, "restaurer")
    assert refused.value.status == 403
    actions.approve_step(step, dave, "Sms.db du serveur vieux de 45 jours")
