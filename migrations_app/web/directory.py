"""The practices' directory: customers and their cabinets, sites, machines, credentials."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from migrations_app import audit
from migrations_app.choices import AuditCategory
from migrations_app.models import (
    Credential,
    Customer,
    Machine,
    Site,
)
from migrations_app.web.access import permission
from migrations_app.web.connection import machine_page
from migrations_app.web.forms import (
    CabinetForm,
    CredentialForm,
    CustomerForm,
    MachineForm,
    SiteForm,
)


@permission("view_customer")
def customer_list(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "").strip()
    customers = Customer.objects.annotate(
        n_sites=Count("sites", distinct=True), n_jobs=Count("jobs", distinct=True)
    )
    if q:
        customers = customers.filter(Q(name__icontains=q) | Q(licence_number__icontains=q))
    # Aggregation drops Meta.ordering: order again, or pages may overlap.
    page = Paginator(customers.order_by("name", "pk"), 50).get_page(request.GET.get("page"))
    return render(request, "migrations_app/customer_list.html", {"page": page, "q": q})


@permission("view_customer")
def customer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    context = {
        "customer": customer,
        "cabinets": customer.cabinets.all(),
        "sites": customer.sites.annotate(n_machines=Count("machines")),
        "jobs": customer.jobs.select_related("site")[:50],
    }
    return render(request, "migrations_app/customer_detail.html", context)


def _save_form(
    request,
    form,
    context,
    *,
    action,
    category=AuditCategory.CONFIG,
    template="migrations_app/form.html",
):
    """Shared POST handling for the simple edit pages: 400 on errors, audit on success."""
    if request.method == "POST":
        if form.is_valid():
            obj = form.save()
            audit.record(
                action,
                category=category,
                actor=request.user,
                target=f"{obj._meta.model_name}:{obj.pk} {obj}",
                data={"fields": sorted(form.changed_data)},
            )
            messages.success(request, _("Saved."))
            return redirect(context.get("next") or obj.get_absolute_url())
        return render(request, template, {"form": form, **context}, status=400)
    return render(request, template, {"form": form, **context})


@permission("add_customer")
def customer_create(request: HttpRequest) -> HttpResponse:
    form = CustomerForm(request.POST or None)
    return _save_form(
        request,
        form,
        {"title": _("New customer")},
        action="customer.create",
    )


@permission("change_customer")
def customer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = CustomerForm(request.POST or None, instance=customer)
    return _save_form(
        request,
        form,
        {"title": customer.name},
        action="customer.change",
    )


@permission("add_cabinet")
def cabinet_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = CabinetForm(request.POST or None, customer=customer)
    form.instance.customer = customer
    context = {
        "title": _("New cabinet for %(customer)s") % {"customer": customer},
        "next": customer.get_absolute_url(),
    }
    return _save_form(request, form, context, action="cabinet.create")


@permission("add_site")
def site_create(request: HttpRequest, pk: int) -> HttpResponse:
    customer = get_object_or_404(Customer, pk=pk)
    form = SiteForm(request.POST or None, customer=customer)
    form.instance.customer = customer
    context = {"title": _("New site for %(customer)s") % {"customer": customer}}
    return _save_form(request, form, context, action="site.create")


@permission("view_site")
def site_detail(request: HttpRequest, pk: int) -> HttpResponse:
    site = get_object_or_404(Site.objects.select_related("customer"), pk=pk)
    context = {
        "site": site,
        "machines": site.machines.select_related("credential"),
        "jobs": site.jobs.select_related("source", "target")[:50],
    }
    return render(request, "migrations_app/site_detail.html", context)


@permission("change_site")
def site_edit(request: HttpRequest, pk: int) -> HttpResponse:
    site = get_object_or_404(Site, pk=pk)
    form = SiteForm(request.POST or None, instance=site, customer=site.customer)
    return _save_form(request, form, {"title": str(site)}, action="site.change")


@permission("add_machine")
def machine_create(request: HttpRequest, pk: int) -> HttpResponse:
    site = get_object_or_404(Site, pk=pk)
    form = MachineForm(request.POST or None, site=site)
    context = {"title": _("New machine on %(site)s") % {"site": site}}
    return _save_form(request, form, context, action="machine.create")


@permission("view_machine")
def machine_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return machine_page(request, pk)


@permission("change_machine")
def machine_edit(request: HttpRequest, pk: int) -> HttpResponse:
    machine = get_object_or_404(Machine, pk=pk)
    form = MachineForm(request.POST or None, instance=machine, site=machine.site)
    return _save_form(
        request,
        form,
        {"title": machine.hostname},
        action="machine.change",
    )


@permission("view_credential")
def credential_list(request: HttpRequest) -> HttpResponse:
    credentials = Credential.objects.annotate(n_machines=Count("machines"))
    return render(request, "migrations_app/credential_list.html", {"credentials": credentials})


@permission("add_credential")
def credential_create(request: HttpRequest) -> HttpResponse:
    form = CredentialForm(request.POST or None)
    return _save_form(
        request,
        form,
        {"title": _("New credential"), "next": "/credentials/"},
        action="credential.create",
        category=AuditCategory.SECURITY,
    )


@permission("change_credential")
def credential_edit(request: HttpRequest, pk: int) -> HttpResponse:
    credential = get_object_or_404(Credential, pk=pk)
    form = CredentialForm(request.POST or None, instance=credential)
    return _save_form(
        request,
        form,
        {"title": credential.name, "next": "/credentials/"},
        action="credential.change",
        category=AuditCategory.SECURITY,
    )
