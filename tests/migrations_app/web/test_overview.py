"""The overview page: figures, what needs a person, running steps, incidents, filters."""

from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from migrations_app import actions
from migrations_app.models import Customer, Incident, JobStep, MigrationJob, Site, StepRun
from migrations_app.steps import pxdatas
from tests.conftest import client_for


def pass_steps(job, *keys):
    JobStep.objects.filter(job=job, key__in=keys).update(status="passed")


def other_job(practice, user, *, customer_name="Centre dentaire du Parc", assignee=None):
    customer = Customer.objects.create(name=customer_name)
    site = Site.objects.create(customer=customer, name="Melun")
    source = practice.source
    source.pk, source.site, source.hostname = None, site, "VIEUX"
    source.save()
    target = practice.target
    target.pk, target.site, target.hostname = None, site, "NEUF"
    target.save()
    job = actions.create_job(
        user, customer=customer, site=site, source=source, target=target, title="Migration du Parc"
    )
    if assignee:
        MigrationJob.objects.filter(pk=job.pk).update(assignee=assignee)
    return job


def test_it_is_the_home_page(job, alice):
    response = client_for(alice).get("/")
    assert response.status_code == 302 and response["Location"] == "/overview/"


def test_it_lists_failed_steps_awaited_approvals_and_waiting_manual_steps(job, alice):
    pass_steps(
        job,
        "source.locate",
        "source.pxdatas_snapshot",
        "cutover.freeze",
        "data.mirror",
        "cutover.retire_old",
    )
    JobStep.objects.filter(job=job, key="source.server_register").update(
        status="failed", summary="server.register introuvable"
    )
    pxdatas.request_decision(job.steps.get(key="data.pxdatas"), alice, "purge", "ARL reçus")
    page = client_for(alice).get("/overview/").content.decode()
    base = f"/jobs/{job.pk}/?step="
    assert f'{base}source.server_register"' in page and "server.register introuvable" in page
    # data.pxdatas: a decision to approve, dependencies (freeze, snapshot, mirror) passed.
    assert f'{base}data.pxdatas"' in page
    # install.server is manual and its dependency (cutover.retire_old) passed; post.cps waits for
    # post.readers, the sign-off for every other step.
    assert f'{base}install.server"' in page
    assert f'{base}source.associated_services"' in page
    assert f'{base}post.cps"' not in page
    assert f'{base}post.signoff"' not in page


def test_it_stops_listing_an_approval_once_given(job, alice, bob):
    pass_steps(job, "source.pxdatas_snapshot", "cutover.freeze", "data.mirror")
    client = client_for(alice)
    assert '?step=data.pxdatas"' not in client.get("/overview/").content.decode()
    pxdatas.request_decision(job.steps.get(key="data.pxdatas"), alice, "purge", "ARL tous reçus")
    assert '?step=data.pxdatas"' in client.get("/overview/").content.decode()
    actions.approve_step(job.steps.get(key="data.pxdatas"), bob, "Politique choisie : reprise")
    assert '?step=data.pxdatas"' not in client.get("/overview/").content.decode()


def test_it_shows_running_steps_with_progress_and_time_left(job, alice):
    step = job.steps.get(key="data.mirror")
    StepRun.objects.create(
        step=step, status="running", worker="site-evry@laptop", started_at=timezone.now(),
        done_bytes=3 * 2**30, total_bytes=12 * 2**30, eta_seconds=3725,
        progress_label="Datas/PATIENT.DAT",
    )  # fmt: skip
    page = client_for(alice).get("/overview/").content.decode()
    assert 'value="25"' in page and "25 %" in page
    assert "1 h 02 min" in page
    assert "site-evry@laptop" in page and "Datas/PATIENT.DAT" in page


def test_it_lists_open_incidents_only(job, alice):
    Incident.objects.create(
        job=job, kind="fse_resent", cpam="CPAM de l'Essonne", description="Lot 412 renvoyé"
    )
    Incident.objects.create(
        job=job, kind="sms_duplicate", description="Rappels en double", status="closed"
    )
    page = client_for(alice).get("/overview/").content.decode()
    assert "Lot 412 renvoyé" in page and "CPAM de l&#x27;Essonne" in page
    assert "Rappels en double" not in page


def test_it_filters_by_customer_and_technician(practice, job, alice, bob):
    other = other_job(practice, alice, assignee=bob)
    JobStep.objects.filter(job=job, key="source.locate").update(status="failed")
    JobStep.objects.filter(job=other, key="source.extras").update(status="failed")
    client = client_for(alice)
    mine = f"/jobs/{job.pk}/?step=source.locate"
    theirs = f"/jobs/{other.pk}/?step=source.extras"
    page = client.get("/overview/").content.decode()
    assert mine in page and theirs in page
    page = client.get(f"/overview/?customer={other.customer_id}").content.decode()
    assert mine not in page and theirs in page
    page = client.get(f"/overview/?assignee={bob.pk}").content.decode()
    assert mine not in page and theirs in page


def test_it_counts_jobs_by_status(practice, job, alice):
    other = other_job(practice, alice)
    MigrationJob.objects.filter(pk=other.pk).update(status="done")
    response = client_for(alice).get("/overview/")
    counts = {c["status"]: c["count"] for c in response.context["status_counts"]}
    assert counts["draft"] == 1 and counts["done"] == 1 and counts["blocked"] == 0
    phase_one = response.context["matrix"][0]
    assert phase_one["number"] == 1 and phase_one["total"] == 1


def test_it_refreshes_its_figures_through_an_htmx_fragment(job, alice):
    client = client_for(alice)
    page = client.get("/overview/?customer=").content.decode()
    assert 'hx-trigger="every 5s"' in page and 'hx-get="/overview/?customer="' in page
    fragment = client.get("/overview/", HTTP_HX_REQUEST="true").content.decode()
    assert fragment.startswith('<div id="overview-live"')
    assert "<html" not in fragment and 'hx-swap="outerHTML"' in fragment
    # A change shows at the next poll.
    JobStep.objects.filter(job=job, key="target.network").update(status="failed", summary="DNS KO")
    assert "DNS KO" in client.get("/overview/", HTTP_HX_REQUEST="true").content.decode()


def test_it_needs_the_view_permission(job, mallory):
    assert client_for(mallory).get("/overview/").status_code == 403


def _queries(client, url, **headers):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url, **headers).status_code == 200
    return len(ctx.captured_queries)


def test_it_does_a_fixed_number_of_queries_whatever_the_number_of_jobs(practice, alice, bob):
    def add(n):
        for i in range(n):
            job = actions.create_job(
                alice, customer=practice.customer, site=practice.site, source=practice.source,
                target=practice.target, title=f"job {i}",
            )  # fmt: skip
            MigrationJob.objects.filter(pk=job.pk).update(assignee=bob)
            steps = list(job.steps.all()[:3])
            JobStep.objects.filter(pk=steps[0].pk).update(status="failed")
            StepRun.objects.create(step=steps[1], status="running", started_at=timezone.now())
            Incident.objects.create(job=job, kind="other", description="x")

    client = client_for(alice)
    add(2)
    few = _queries(client, "/overview/"), _queries(client, "/overview/", HTTP_HX_REQUEST="true")
    add(15)
    many = _queries(client, "/overview/"), _queries(client, "/overview/", HTTP_HX_REQUEST="true")
    assert many == few
    assert get_user_model().objects.count() >= 2


def test_its_slow_part_is_cached_briefly_and_says_how_old_it_is(job, alice, bob):
    from datetime import timedelta

    from django.core.cache import cache

    from migrations_app.web import overview

    cache.clear()
    # install.server waits for a person once cutover.retire_old (its dependency) is passed.
    pass_steps(job, "source.pxdatas_snapshot", "data.mirror", "cutover.retire_old")
    client = client_for(alice)
    first = _queries(client, "/overview/", HTTP_HX_REQUEST="true")
    again = _queries(client, "/overview/", HTTP_HX_REQUEST="true")
    assert again < first  # the second request reads the cached part
    # A change nobody audited (written straight to the database) waits for the cache...
    JobStep.objects.filter(job=job, key="install.server").update(status="done")
    page = client.get("/overview/", HTTP_HX_REQUEST="true").content.decode()
    assert f"/jobs/{job.pk}/?step=install.server" in page
    # ...and the page says how old its figures are.
    key = overview._cache_key(Q_ALL(), overview.role_key(alice))
    slow = cache.get(key)
    slow["computed_at"] -= timedelta(seconds=7)
    cache.set(key, slow, 60)
    page = client.get("/overview/", HTTP_HX_REQUEST="true").content.decode()
    assert "il y a 7 secondes" in page
    # Any audited action (a tick, an approval, a run's end) computes it again at once.
    actions.tick_step(job.steps.get(key="source.associated_services"), alice, "Aucun service")
    page = client.get("/overview/", HTTP_HX_REQUEST="true").content.decode()
    assert f"/jobs/{job.pk}/?step=install.server" not in page
    assert "Chiffres à jour" in page


def test_a_failure_shows_at_once_even_with_the_cached_part(job, alice):
    from django.core.cache import cache

    cache.clear()
    client = client_for(alice)
    client.get("/overview/", HTTP_HX_REQUEST="true")
    JobStep.objects.filter(job=job, key="target.network").update(status="failed", summary="DNS KO")
    assert "DNS KO" in client.get("/overview/", HTTP_HX_REQUEST="true").content.decode()


def Q_ALL():
    from django.db.models import Q

    return Q()


def test_it_shows_this_weeks_cut_overs_the_late_ones_and_those_without_pre_copy(
    practice, job, alice, bob
):
    from datetime import timedelta

    today = timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    MigrationJob.objects.filter(pk=job.pk).update(
        cutover_date=today, cutover_slot="evening", assignee=bob, title="Bascule Évry"
    )
    late = other_job(practice, alice, customer_name="Cabinet en retard")
    MigrationJob.objects.filter(pk=late.pk).update(
        cutover_date=today - timedelta(days=8), title="Bascule oubliée"
    )
    ready = other_job(practice, alice, customer_name="Cabinet prêt")
    MigrationJob.objects.filter(pk=ready.pk).update(
        cutover_date=today + timedelta(days=2), title="Bascule préparée"
    )
    pass_steps(ready, "data.mirror")
    page = client_for(alice).get("/overview/").content.decode()
    section = page[page.index('id="cutovers"') :]
    section = section[: section.index("</section>")]
    assert "Bascules de la semaine" in section
    assert monday.strftime("%d/%m").lstrip("0") in section or str(monday.day) in section
    week = section[: section.index("</table>")]
    assert "Bascule Évry" in week and "bob" in week and "soir (après la fermeture)" in week
    late_part = section[section.index("En retard") :]
    assert "Bascule oubliée" in late_part
    near = section[section.index("pré-copie non faite") :]
    assert "Bascule Évry" in near  # today, data.mirror not run
    assert f"/jobs/{ready.pk}/?step=data.mirror" not in near  # its pre-copy ran


def test_its_cached_part_is_shared_by_a_role_never_across_roles_nor_with_outsiders(
    practice, job, alice, bob, carol, mallory, django_user_model
):
    from django.contrib.auth.models import Group
    from django.core.cache import cache

    from migrations_app.web import overview

    cache.clear()
    other_tech = django_user_model.objects.create_user("dave", password="x" * 16)
    other_tech.groups.add(Group.objects.get(name="technicien"))
    roles = {u.username: overview.role_key(u) for u in (alice, bob, carol, other_tech)}
    assert roles["alice"] == roles["dave"]  # the same role: one cached copy
    assert len({roles["alice"], roles["bob"], roles["carol"]}) == 3
    assert client_for(alice).get("/overview/").status_code == 200
    assert cache.get(overview._cache_key(Q_ALL(), roles["alice"])) is not None
    assert cache.get(overview._cache_key(Q_ALL(), roles["bob"])) is None
    # Someone without the permission gets nothing, however warm the cache.
    response = client_for(mallory).get("/overview/", HTTP_HX_REQUEST="true")
    assert response.status_code == 403 and b"overview-live" not in response.content
    # Logged out: the log-in page, not the cached overview.
    from django.test import Client

    response = Client().get("/overview/", HTTP_HX_REQUEST="true")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_while_another_process_renders_it_again_the_stale_copy_is_served_with_its_age(job, alice):
    from datetime import timedelta

    from django.core.cache import cache

    from migrations_app.web import overview

    cache.clear()
    pass_steps(job, "source.pxdatas_snapshot", "data.mirror", "cutover.retire_old")
    client = client_for(alice)
    client.get("/overview/", HTTP_HX_REQUEST="true")
    key = overview._cache_key(Q_ALL(), overview.role_key(alice))
    stale = cache.get(key)
    stale["computed_at"] -= timedelta(seconds=3)
    cache.set(key + ":stale", stale, 60)
    cache.delete(key)  # expired
    JobStep.objects.filter(job=job, key="install.server").update(status="done")
    assert cache.add(key + ":lock", 1, 30)  # another process is rendering it
    page = client.get("/overview/", HTTP_HX_REQUEST="true").content.decode()
    assert f"/jobs/{job.pk}/?step=install.server" in page and "il y a 3 secondes" in page
    cache.delete(key + ":lock")
    page = client.get("/overview/", HTTP_HX_REQUEST="true").content.decode()
    assert f"/jobs/{job.pk}/?step=install.server" not in page and "Chiffres à jour" in page


def test_its_lists_are_limited_with_the_full_count_and_a_link(practice, alice):
    from migrations_app.web import overview

    for i in range(overview.OVERVIEW_ROWS + 2):
        job = actions.create_job(
            alice, customer=practice.customer, site=practice.site, source=practice.source,
            target=practice.target, title=f"job {i}",
        )  # fmt: skip
        step = job.steps.get(key="source.locate")
        StepRun.objects.create(step=step, status="running", started_at=timezone.now())
    page = client_for(alice).get("/overview/").content.decode()
    total, shown = overview.OVERVIEW_ROWS + 2, overview.OVERVIEW_ROWS
    assert f'En cours <span class="muted">({total})</span>' in page
    assert f"Les {shown} premières sur {total}." in page
    assert '/jobs/?status=in_progress">Migrations en cours</a>' in page
    assert page.count("?step=source.locate&amp;run=") == shown
