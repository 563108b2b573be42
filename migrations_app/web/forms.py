from django import forms
from django.contrib.auth import get_user_model
from django.forms.utils import flatatt
from django.urls import reverse_lazy
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy
from django.utils.translation import gettext_lazy as _

from migrations_app.actions import ActionRefused
from migrations_app.choices import CutoverSlot, MachineRole, SourceKind, Transport
from migrations_app.models import (
    TRAINING_MIX,
    Cabinet,
    Credential,
    Customer,
    Incident,
    Machine,
    Site,
    training_mix,
)

# The largest id a column holds (BigAutoField on PostgreSQL and SQLite alike).
ID_MAX = 2**63 - 1


def read_int(value, *, minimum: int = 0, maximum: int = ID_MAX) -> int | None:
    """The one way to read an integer or an id from a query string or a form: None when
    absent or empty; ASCII digits within [minimum, maximum] (no `²`, no `٣`, no sign, nothing
    beyond 64 bits); anything else raises ActionRefused(400) with a French message."""
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(maximum)):
        raise ActionRefused(_("Expected a whole number written with the digits 0 to 9."), 400)
    number = int(text)
    if not minimum <= number <= maximum:
        raise ActionRefused(
            _("The number must be between %(min)s and %(max)s.") % {"min": minimum, "max": maximum},
            400,
        )
    return number


def refuse_bad_text(value: str) -> None:
    """NUL bytes and lone surrogates (neither can be stored nor shown) are refused."""
    if "\x00" in value:
        raise forms.ValidationError(_("The text contains a NUL character."))
    if any("\ud800" <= c <= "\udfff" for c in value):
        raise forms.ValidationError(_("The text contains an invalid character."))


class IdField(forms.Field):
    """An id read with read_int (one value)."""

    def to_python(self, value):
        try:
            return read_int(value, minimum=1)
        except ActionRefused as exc:
            raise forms.ValidationError(str(exc)) from exc


class IdListField(forms.Field):
    """Several ids (a multiple select or checkboxes), each read with read_int."""

    widget = forms.SelectMultiple

    def to_python(self, value):
        if value in (None, ""):
            return []
        values = value if isinstance(value, list | tuple) else [value]
        if len(values) > 1000:
            raise forms.ValidationError(_("Too many identifiers."))
        try:
            ids = [read_int(v, minimum=1) for v in values]
        except ActionRefused as exc:
            raise forms.ValidationError(str(exc)) from exc
        return [i for i in ids if i is not None]


class TextField(forms.CharField):
    """A CharField that also refuses lone surrogates (NUL is refused by Django already)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.validators.append(refuse_bad_text)


class StepActionForm(forms.Form):
    """Every POST on a step: the note (the reason), a supervisor's derogation to the order, a
    run to cancel or mark lost, a dry-run flag."""

    note = TextField(max_length=5000, required=False)
    derogation = TextField(max_length=5000, required=False)
    run = IdField(required=False)
    dry_run = forms.CharField(max_length=1, required=False)


class IncidentActionForm(forms.Form):
    """Every POST on an incident: a note, links, a resolution."""

    text = TextField(max_length=5000, required=False)
    resolution = TextField(max_length=5000, required=False)
    evidence = IdListField(required=False)
    events = IdListField(required=False)


def form_error(form: forms.Form) -> str:
    """The form's errors as one French sentence (for a refusal page)."""
    return " ".join(f"{e}" for errors in form.errors.values() for e in errors)


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "name",
            "licence_number",
            "contact_name",
            "contact_phone",
            "contact_email",
            "notes",
        ]

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        others = Customer.objects.filter(name__iexact=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("A customer with this name already exists."))
        return name


class CabinetForm(forms.ModelForm):
    class Meta:
        model = Cabinet
        fields = ["name", "ps_number", "bal_address", "cps_reader"]

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_name(self):
        name = self.cleaned_data["name"]
        others = Cabinet.objects.filter(customer=self.customer, name=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("This customer already has a cabinet with this name."))
        return name

    def clean_ps_number(self):
        value = self.cleaned_data["ps_number"].strip()
        if value and not (value.isascii() and value.isdigit() and 8 <= len(value) <= 11):
            raise forms.ValidationError(_("A N° PS is made of 8 to 11 digits."))
        return value


class SiteForm(forms.ModelForm):
    class Meta:
        model = Site
        fields = ["name", "address", "workgroup", "worker_queue"]

    def __init__(self, *args, customer=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer

    def clean_name(self):
        name = self.cleaned_data["name"]
        others = Site.objects.filter(customer=self.customer, name=name)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("This customer already has a site with this name."))
        return name


class MachineForm(forms.ModelForm):
    roles = forms.MultipleChoiceField(
        label=_("roles"),
        choices=MachineRole.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = Machine
        fields = ["hostname", "address", "roles", "transport", "port", "root_path", "credential"]

    def __init__(self, *args, site=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site
        self.instance.site = site

    def clean_hostname(self):
        hostname = self.cleaned_data["hostname"].strip()
        if not hostname or any(c in hostname for c in ' \\/:*?"<>|'):
            raise forms.ValidationError(
                _('A hostname cannot contain spaces or \\ / : * ? " < > |.')
            )
        others = Machine.objects.filter(site=self.site, hostname__iexact=hostname)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("This site already has a machine with this name."))
        return hostname

    def clean_port(self):
        port = self.cleaned_data.get("port")
        if port is not None and not 1 <= port <= 65535:
            raise forms.ValidationError(_("A port is a number from 1 to 65535."))
        return port

    def clean(self):
        data = super().clean()
        if data.get("transport") in (Transport.WINRM, Transport.SSH) and not data.get("address"):
            self.add_error("address", _("A remote machine needs an address."))
        if data.get("transport") == Transport.LOCAL:
            # Imported here: execution.machines loads the steps, which load these forms.
            from migrations_app.execution.machines import local_root_allowed

            try:
                local_root_allowed(data.get("root_path") or "")
            except ValueError as exc:
                self.add_error("root_path", str(exc))
        return data


class CredentialForm(forms.ModelForm):
    secret = forms.CharField(
        label=_("password or key"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Write-only: never shown again. Leave empty to keep the current one."),
    )

    class Meta:
        model = Credential
        fields = ["name", "username"]

    def clean(self):
        data = super().clean()
        if not self.instance.pk and not data.get("secret"):
            self.add_error("secret", _("A new credential needs its password or key."))
        return data

    def save(self, commit=True):
        credential = super().save(commit=False)
        if self.cleaned_data.get("secret"):
            credential.secret = self.cleaned_data["secret"]
        if commit:
            credential.save()
        return credential


def _dependent(target: str) -> dict:
    """htmx attributes of a select whose choice narrows the next ones: the form's fields are
    fetched again (GET, only the customer and the site are sent) and swapped in place."""
    return {
        "hx-get": reverse_lazy("job_create"),
        "hx-trigger": "change",
        "hx-include": "[name=customer],[name=site]",
        "hx-target": target,
        "hx-select": target,
        "hx-swap": "outerHTML",
    }


class JobForm(forms.Form):
    """A new job. The sites offered are the chosen customer's, the machines the chosen site's
    (the page fetches the fields again when either changes); a mismatch is named on its field."""

    customer = forms.ModelChoiceField(
        label=_("customer"),
        queryset=Customer.objects.all(),
        widget=forms.Select(_dependent("#job-fields")),
    )
    site = forms.ModelChoiceField(
        label=_("site"),
        queryset=Site.objects.select_related("customer"),
        widget=forms.Select(_dependent("#job-fields")),
    )
    source = forms.ModelChoiceField(
        label=_("old server"), queryset=Machine.objects.select_related("site")
    )
    target = forms.ModelChoiceField(
        label=_("new server"), queryset=Machine.objects.select_related("site")
    )
    clients = forms.ModelMultipleChoiceField(
        label=_("client posts"),
        queryset=Machine.objects.select_related("site"),
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    # hx-preserve: what was typed here survives the swap of the dependent selects.
    title = forms.CharField(
        label=_("title"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"hx-preserve": "true"}),
    )
    source_kind = forms.ChoiceField(
        label=_("source of the data"),
        choices=SourceKind.choices,
        initial=SourceKind.LIVE,
        required=False,
        widget=forms.Select(attrs={"hx-preserve": "true"}),
    )
    assignee = forms.ModelChoiceField(
        label=_("assignee"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=forms.Select(attrs={"hx-preserve": "true"}),
    )
    cutover_date = forms.DateField(
        label=_("planned cut-over date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date", "hx-preserve": "true"}, format="%Y-%m-%d"),
        input_formats=["%Y-%m-%d", "%d/%m/%Y"],
    )
    cutover_slot = forms.ChoiceField(
        label=_("cut-over slot"),
        choices=[("", "—"), *CutoverSlot.choices],
        required=False,
        widget=forms.Select(attrs={"hx-preserve": "true"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        customer_id = self._chosen("customer")
        site_id = self._chosen("site")
        # Only the chosen customer's sites, only the chosen site's machines (none before).
        self.fields["site"].queryset = Site.objects.filter(customer_id=customer_id or 0)
        machines = Machine.objects.filter(site_id=site_id or 0).select_related("site")
        for name in ("source", "target", "clients"):
            self.fields[name].queryset = machines
        # A choice outside those lists (another practice's machine) is named on its field.
        other_site = _("This machine belongs to another site.")
        self.fields["site"].error_messages["invalid_choice"] = _(
            "This site belongs to another customer."
        )
        self.fields["source"].error_messages["invalid_choice"] = other_site
        self.fields["target"].error_messages["invalid_choice"] = other_site
        self.fields["clients"].error_messages["invalid_choice"] = _(
            "Machine %(value)s belongs to another site."
        )

    def _chosen(self, name: str) -> int | None:
        raw = self.data.get(name) if self.is_bound else None
        if raw is None:
            value = self.initial.get(name)
            raw = getattr(value, "pk", value)
        try:
            return read_int(raw)
        except ActionRefused:  # the field itself then says what is wrong
            return None

    def clean_source_kind(self):
        return self.cleaned_data.get("source_kind") or SourceKind.LIVE

    def clean(self):
        data = super().clean()
        customer, site = data.get("customer"), data.get("site")
        if site and customer and site.customer_id != customer.pk:
            self.add_error("site", _("This site belongs to another customer."))
        source, target = data.get("source"), data.get("target")
        if source and target and source == target:
            self.add_error("target", _("The new server must differ from the old server."))
        if source and target and {source, target} & set(data.get("clients", [])):
            self.add_error("clients", _("The servers cannot also be client posts."))
        clients = list(data.get("clients") or [])
        if training_mix([source, target]):
            self.add_error("target", TRAINING_MIX)
        elif training_mix([source or target, *clients]):
            self.add_error("clients", TRAINING_MIX)
        if not data.get("cutover_slot"):
            data["cutover_slot"] = ""
        return data


class NoteForm(forms.Form):
    note = forms.CharField(label=_("note"), max_length=5000, widget=forms.Textarea)


class PlainSelect(forms.Select):
    """A select written in one pass. The stock widget renders a template per option:
    with a team's 2,000 customers that alone took about 80 ms per page."""

    def render(self, name, value, attrs=None, renderer=None):
        selected = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (key, " selected" if str(key) in selected else "", label)
                for key, label in self.choices
            ),
        )
        attrs = {**self.build_attrs(self.attrs, attrs), "name": name}
        return format_html("<select{}>{}</select>", flatatt(attrs), options)


class JobFilterForm(forms.Form):
    q = forms.CharField(label=_("search"), required=False, max_length=100)
    status = forms.ChoiceField(label=_("status"), required=False)
    customer = forms.ModelChoiceField(
        label=_("customer"),
        queryset=Customer.objects.only("id", "name"),
        required=False,
        widget=PlainSelect,
    )
    assignee = forms.ModelChoiceField(
        label=_("assignee"),
        queryset=get_user_model().objects.filter(is_active=True).order_by("username"),
        required=False,
        widget=PlainSelect,
    )

    def __init__(self, *args, **kwargs):
        from migrations_app.choices import JobStatus

        super().__init__(*args, **kwargs)
        self.fields["status"].choices = [("", "—"), *JobStatus.choices]


def _pxdatas_decisions() -> list[tuple[str, str]]:
    # Imported when a form is built: the admin imports this module at every start-up.
    from migrations_app.steps import pxdatas

    return [
        (pxdatas.PURGE, gettext_lazy("Empty pxdatas on the new server")),
        (pxdatas.KEEP_EXTRAS, gettext_lazy("Keep the extra files")),
        (pxdatas.WITHDRAW, gettext_lazy("Withdraw the decision")),
    ]


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=_pxdatas_decisions)
    reason = forms.CharField(widget=forms.Textarea, max_length=2000)


class IncidentForm(forms.ModelForm):
    class Meta:
        model = Incident
        fields = ["kind", "cpam", "description"]


class SourceKindForm(forms.Form):
    """What the job copies from, changed with a written reason (audited)."""

    source_kind = forms.ChoiceField(label=_("source of the data"), choices=SourceKind.choices)
    note = forms.CharField(label=_("reason"), max_length=2000)
