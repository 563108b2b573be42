"""The domain: customers, their sites and machines, migration jobs with their checklist,
step runs with their logs and evidence, the audit history and incidents."""

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from migrations_app import crypto
from migrations_app.choices import (
    AuditCategory,
    CutoverSlot,
    IncidentKind,
    IncidentStatus,
    JobStatus,
    LogLevel,
    MachineRole,
    RunStatus,
    SourceKind,
    StepKind,
    StepStatus,
    Transport,
)
from migrations_app.formatting import seconds_text


class Customer(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    licence_number = models.CharField(_("Julie licence number"), max_length=50, blank=True)
    contact_name = models.CharField(_("contact"), max_length=200, blank=True)
    contact_phone = models.CharField(_("phone"), max_length=50, blank=True)
    contact_email = models.EmailField(_("e-mail"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("customer_detail", args=[self.pk])


class Cabinet(models.Model):
    """A practitioner entity inside a customer; N° PS comes from its CPS."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="cabinets")
    name = models.CharField(_("name"), max_length=200)
    ps_number = models.CharField(_("N° PS"), max_length=20, blank=True)
    bal_address = models.EmailField(_("teletransmission mailbox (BAL)"), blank=True)
    cps_reader = models.CharField(_("CPS reader"), max_length=200, blank=True)

    class Meta:
        ordering = ["name"]
        unique_together = [("customer", "name")]
        verbose_name = _("cabinet")

    def __str__(self):
        return self.name


class Site(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="sites")
    name = models.CharField(_("name"), max_length=200)
    address = models.TextField(_("address"), blank=True)
    workgroup = models.CharField(_("workgroup or domain"), max_length=100, blank=True)
    worker_queue = models.SlugField(
        _("site worker queue"),
        max_length=100,
        blank=True,
        help_text=_("Runs go to this queue, served by a worker inside the practice's network."),
    )

    class Meta:
        ordering = ["customer__name", "name"]
        unique_together = [("customer", "name")]
        verbose_name = _("site")

    def __str__(self):
        return f"{self.customer} — {self.name}"

    def get_absolute_url(self):
        return reverse("site_detail", args=[self.pk])

    @property
    def queue(self) -> str:
        return self.worker_queue or settings.CELERY_TASK_DEFAULT_QUEUE


class Credential(models.Model):
    """Username + secret; the secret is Fernet-encrypted and never leaves through a page."""

    name = models.CharField(_("name"), max_length=200, unique=True)
    username = models.CharField(_("username"), max_length=200)
    secret_encrypted = models.TextField(editable=False, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("credential")

    def __str__(self):
        return self.name

    def __repr__(self):
        return f"<Credential {self.pk} {self.name!r} user={self.username!r} secret=***>"

    @property
    def secret(self) -> str:
        return crypto.decrypt(self.secret_encrypted) if self.secret_encrypted else ""

    @secret.setter
    def secret(self, value: str) -> None:
        self.secret_encrypted = crypto.encrypt(value) if value else ""

    @property
    def has_secret(self) -> bool:
        return bool(self.secret_encrypted)


class Machine(models.Model):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="machines")
    hostname = models.CharField(_("hostname"), max_length=100)
    address = models.CharField(_("address"), max_length=255, blank=True)
    roles = models.JSONField(_("roles"), default=list, blank=True)
    transport = models.CharField(
        _("transport"), max_length=10, choices=Transport.choices, default=Transport.WINRM
    )
    port = models.PositiveIntegerField(
        _("port"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(65535)],
    )
    root_path = models.CharField(
        _("C: drive folder (local transport)"),
        max_length=500,
        blank=True,
        help_text=_("For the local transport: the folder standing for this machine's C: drive."),
    )
    credential = models.ForeignKey(
        Credential,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="machines",
        verbose_name=_("credential"),
    )
    host_key_fingerprint = models.CharField(
        _("pinned host key / certificate fingerprint"), max_length=200, blank=True
    )
    # The transport, address and port the fingerprint was confirmed for: changing any of them
    # clears the confirmation (Machine.save), so no credential leaves for a host nobody
    # confirmed. SMB (no host key of its own) goes only to this confirmed address.
    confirmed_for = models.CharField(max_length=300, blank=True, editable=False)
    # Seen by "test the connection" and not (yet) confirmed by a supervisor.
    observed_fingerprint = models.CharField(
        _("observed host key / certificate fingerprint"), max_length=200, blank=True
    )
    last_inventory = models.JSONField(default=dict, blank=True)
    last_inventory_at = models.DateTimeField(null=True, blank=True)
    # A post of the training practice's simulator (`manage.py demo` sets it; no form edits it):
    # shown « simulé » everywhere, never in a real job, its files read from its simulator folder.
    simulated = models.BooleanField(_("simulated"), default=False, editable=False)

    class Meta:
        ordering = ["site", "hostname"]
        unique_together = [("site", "hostname")]
        verbose_name = _("machine")
        permissions = [("confirm_host_key", "Can confirm a machine's host key fingerprint")]

    def __str__(self):
        if self.simulated:
            return _("%(hostname)s (simulated)") % {"hostname": self.hostname}
        return self.hostname

    def save(self, *args, **kwargs):
        if self.host_key_fingerprint and not self.confirmed_for:
            # Pinned when created (or confirmed just now): for the identity it has.
            self.confirmed_for = self.identity()
        elif self.confirmed_for and self.confirmed_for != self.identity():
            # Address, port or transport changed: a superviseur must confirm again.
            self.host_key_fingerprint, self.confirmed_for = "", ""
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {
                *kwargs["update_fields"],
                "host_key_fingerprint",
                "confirmed_for",
            }
        super().save(*args, **kwargs)

    def get_absolute_url(self):
        return reverse("machine_detail", args=[self.pk])

    def identity(self) -> str:
        """What a confirmation covers: transport, address and port."""
        return f"{self.transport}|{(self.address or '').strip().casefold()}|{self.port or ''}"

    def is_confirmed(self) -> bool:
        return bool(self.host_key_fingerprint) and self.confirmed_for == self.identity()

    def clean(self):
        if not isinstance(self.roles or [], list) or not all(
            isinstance(r, str) for r in self.roles or []
        ):
            raise ValidationError({"roles": _("Roles are a list of role names.")})
        unknown = set(self.roles or []) - set(MachineRole.values)
        if unknown:
            raise ValidationError({"roles": _("Unknown role: %s") % ", ".join(sorted(unknown))})
        if self.transport == Transport.LOCAL and not self.root_path:
            raise ValidationError(
                {"root_path": _("A local machine needs the folder that stands for its C: drive.")}
            )

    def role_labels(self):
        labels = dict(MachineRole.choices)
        return [labels.get(role, role) for role in self.roles or []]


TRAINING_MIX = _(
    "A simulated post (training practice) cannot be part of a real job, nor a real post part "
    "of a training job."
)


def training_mix(machines) -> bool:
    """True when `machines` mix simulated posts and real ones."""
    return len({bool(m.simulated) for m in machines if m is not None}) > 1


class MigrationJob(models.Model):
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="jobs")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="jobs")
    title = models.CharField(_("title"), max_length=200, blank=True)
    source = models.ForeignKey(
        Machine,
        on_delete=models.PROTECT,
        related_name="jobs_as_source",
        verbose_name=_("old server"),
    )
    target = models.ForeignKey(
        Machine,
        on_delete=models.PROTECT,
        related_name="jobs_as_target",
        verbose_name=_("new server"),
    )
    clients = models.ManyToManyField(
        Machine, blank=True, related_name="jobs_as_client", verbose_name=_("client posts")
    )
    extra_hosts = models.ManyToManyField(
        Machine,
        blank=True,
        related_name="jobs_as_extra_host",
        verbose_name=_("other hosts (services, SMS)"),
    )
    discovered_paths = models.JSONField(default=dict, blank=True)
    # An incremental backup restored as the source resurrects FSE already sent (data.pxdatas).
    source_kind = models.CharField(
        _("source of the data"),
        max_length=20,
        choices=SourceKind.choices,
        default=SourceKind.LIVE,
    )
    options = models.JSONField(default=dict, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_jobs",
        verbose_name=_("assignee"),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=JobStatus.choices, default=JobStatus.DRAFT
    )
    # The planned cut-over (the final copy and the switch to the new server), for the team's
    # week view; the assignee above is the technician who does it.
    cutover_date = models.DateField(_("planned cut-over date"), null=True, blank=True)
    cutover_slot = models.CharField(
        _("cut-over slot"), max_length=10, choices=CutoverSlot.choices, blank=True
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("migration job")
        permissions = [
            ("run_step", "Can run, retry and cancel steps, tick manual steps"),
            ("approve_step", "Can approve steps that need a second person"),
        ]

    def __str__(self):
        return self.title or f"{self.customer} — {self.site.name}"

    def get_absolute_url(self):
        return reverse("job_detail", args=[self.pk])

    @property
    def is_training(self) -> bool:
        """A rehearsal on the training practice's simulated posts (never a real practice)."""
        return bool(self.source_id) and self.source.simulated

    def clean(self):
        errors = {}
        if self.source_id and self.target_id and self.source_id == self.target_id:
            errors["target"] = _("The new server must differ from the old server.")
        if self.source_id and self.target_id and self.source.simulated != self.target.simulated:
            errors["target"] = TRAINING_MIX
        for field in ("source", "target"):
            machine = getattr(self, field, None) if getattr(self, f"{field}_id") else None
            if machine and self.site_id and machine.site_id != self.site_id:
                errors[field] = _("This machine belongs to another site.")
        if self.site_id and self.customer_id and self.site.customer_id != self.customer_id:
            errors["site"] = _("This site belongs to another customer.")
        if errors:
            raise ValidationError(errors)

    def build_checklist(self):
        """Create one JobStep per catalogue entry (idempotent)."""
        from migrations_app.steps.registry import catalogue

        existing = set(self.steps.values_list("key", flat=True))
        JobStep.objects.bulk_create(
            [
                JobStep(job=self, key=step.key, phase=step.phase, order=step.order, kind=step.kind)
                for step in catalogue()
                if step.key not in existing
            ]
        )

    def progress(self) -> tuple[int, int]:
        steps = list(self.steps.all())
        done = sum(step.status in StepStatus.finished() for step in steps)
        return done, len(steps)


class JobStep(models.Model):
    job = models.ForeignKey(MigrationJob, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=100)
    phase = models.PositiveSmallIntegerField()
    order = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=10, choices=StepKind.choices)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.TODO)
    summary = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    done_at = models.DateTimeField(null=True, blank=True)
    note = models.TextField(blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    approval_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["phase", "order"]
        unique_together = [("job", "key")]
        # The overview reads the failed steps on every request: a few rows among millions.
        indexes = [
            models.Index(fields=["job"], name="jobstep_failed", condition=models.Q(status="failed"))
        ]

    def __str__(self):
        return f"{self.job_id}:{self.key}"

    def clean(self):
        from migrations_app.steps.registry import REGISTRY

        if self.key not in REGISTRY:
            raise ValidationError({"key": _("Unknown step: %s") % self.key})
        if self.kind not in StepKind.values:
            raise ValidationError({"kind": _("Unknown step kind: %s") % self.kind})

    @property
    def definition(self):
        from migrations_app.steps.registry import REGISTRY

        return REGISTRY[self.key]

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None


class StepRun(models.Model):
    step = models.ForeignKey(JobStep, on_delete=models.CASCADE, related_name="runs")
    attempt = models.PositiveIntegerField(default=1)
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    queue = models.CharField(max_length=100, default="default")
    worker = models.CharField(max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested = models.BooleanField(default=False)
    # What the person asked for this attempt (e.g. {"dry_run": true}); the step reads it.
    params = models.JSONField(default=dict, blank=True)
    summary = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    # Progress, written by the worker's flusher thread.
    done_units = models.BigIntegerField(default=0)
    total_units = models.BigIntegerField(default=0)
    done_bytes = models.BigIntegerField(default=0)
    total_bytes = models.BigIntegerField(default=0)
    progress_label = models.CharField(max_length=500, blank=True)
    eta_seconds = models.IntegerField(null=True, blank=True)
    last_seq = models.PositiveIntegerField(default=0)
    # When its progress or its log last moved (the heartbeat alone says the worker lives).
    progress_at = models.DateTimeField(null=True, blank=True)
    # [seconds since start, bytes done, files done], at most 500 (see execution.logbook):
    # the run's throughput chart. Left out of the lists that do not draw it.
    progress_samples = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "heartbeat_at"])]

    def __str__(self):
        return f"run {self.pk} of {self.step}"

    @property
    def is_active(self) -> bool:
        return self.status in RunStatus.active()

    @property
    def signal_age(self) -> int | None:
        """Seconds since the worker's last heartbeat, while the run is running."""
        if self.status != "running" or self.heartbeat_at is None:
            return None
        return max(0, int((timezone.now() - self.heartbeat_at).total_seconds()))

    @property
    def still_for(self) -> int | None:
        """Seconds since its progress or log last moved, while the run is running."""
        moved = self.progress_at or self.started_at
        if self.status != "running" or moved is None:
            return None
        return max(0, int((timezone.now() - moved).total_seconds()))

    @property
    def stalled(self) -> bool:
        """Running, heartbeat alive, but nothing moved for JULIEOPS_STALLED_AFTER."""
        still = self.still_for
        return still is not None and still >= settings.JULIEOPS_STALLED_AFTER

    @property
    def waiting_for(self) -> int | None:
        """Seconds since the run was asked for, while it is queued."""
        if self.status != "queued" or self.created_at is None:
            return None
        return max(0, int((timezone.now() - self.created_at).total_seconds()))

    @property
    def percent(self) -> int | None:
        if self.total_bytes:
            return min(100, int(self.done_bytes * 100 / self.total_bytes))
        if self.total_units:
            return min(100, int(self.done_units * 100 / self.total_units))
        return None

    @property
    def duration(self):
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def duration_text(self) -> str:
        """ "1 h 02 min", "3 min 05 s", "4,2 s" (the language's decimal separator)."""
        if self.duration is None:
            return ""
        return seconds_text(self.duration.total_seconds())


class LogLine(models.Model):
    run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="log_lines")
    seq = models.PositiveIntegerField()
    ts = models.DateTimeField()
    level = models.CharField(max_length=8, choices=LogLevel.choices, default=LogLevel.INFO)
    text = models.TextField()

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="logline_run_seq")]

    def __str__(self):
        return f"{self.seq} {self.text[:80]}"


class RawCapture(models.Model):
    """One raw output a step received from a practice machine during a run (field captures:
    `execution/capture.py`), secrets masked. seq 0 (kind "context") holds what the job looked
    like when the run started and, once it ended, the step's verdict."""

    run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="captures")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    kind = models.CharField(max_length=20)  # context, powershell, command, file
    name = models.CharField(max_length=200, blank=True)  # the script's name, or the operation
    hostname = models.CharField(max_length=100, blank=True)
    machine = models.JSONField(default=dict, blank=True)  # role(s), transport, simulated
    params = models.JSONField(default=dict, blank=True)
    output = models.TextField(blank=True)  # stdout as received (file text for kind "file")
    stderr = models.TextField(blank=True)
    exit_code = models.IntegerField(null=True, blank=True)
    error = models.TextField(blank=True)  # what the transport raised instead of an answer
    size = models.BigIntegerField(default=0)  # characters received, before the cap
    truncated = models.BooleanField(default=False)
    withheld = models.BooleanField(default=False)  # content not kept (binary/patient data)

    class Meta:
        ordering = ["run", "seq"]
        constraints = [models.UniqueConstraint(fields=["run", "seq"], name="rawcapture_run_seq")]
        permissions = [("export_capture", "Can download a job's field-capture bundle")]

    def __str__(self):
        return f"{self.seq} {self.kind} {self.name} {self.hostname}"


def evidence_path(instance, filename):
    return f"evidence/{instance.job_id}/{uuid.uuid4().hex}/{filename}"


class Evidence(models.Model):
    """A file a step produced; stored once with its hash, never rewritten."""

    job = models.ForeignKey(MigrationJob, on_delete=models.CASCADE, related_name="evidence")
    run = models.ForeignKey(
        StepRun, on_delete=models.SET_NULL, null=True, blank=True, related_name="evidence"
    )
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=50, blank=True)
    file = models.FileField(upload_to=evidence_path)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "evidence"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        if self.pk and not kwargs.pop("_allow_update", False):
            raise ValidationError("Evidence is never rewritten.")
        super().save(*args, **kwargs)


class AuditQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("The audit history is append-only.")

    def delete(self):
        raise PermissionError("The audit history is append-only.")


class AuditEvent(models.Model):
    """Append-only and hash-chained: each row stores its predecessor's hash and its own."""

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # PROTECT, never SET_NULL: the ids are part of the hashed content, so deleting a user or a
    # job that has audit rows is refused (a departed technician is deactivated instead).
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    action = models.CharField(max_length=100)
    category = models.CharField(max_length=10, choices=AuditCategory.choices)
    target = models.CharField(max_length=255, blank=True)
    job = models.ForeignKey(
        MigrationJob, on_delete=models.PROTECT, null=True, blank=True, related_name="audit_events"
    )
    reason = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    objects = AuditQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise PermissionError("The audit history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("The audit history is append-only.")


class Incident(models.Model):
    job = models.ForeignKey(MigrationJob, on_delete=models.PROTECT, related_name="incidents")
    kind = models.CharField(_("kind"), max_length=20, choices=IncidentKind.choices)
    cpam = models.CharField(_("CPAM concerned"), max_length=200, blank=True)
    description = models.TextField(_("description"))
    status = models.CharField(
        max_length=10, choices=IncidentStatus.choices, default=IncidentStatus.OPEN
    )
    resolution = models.TextField(_("resolution"), blank=True)
    evidence = models.ManyToManyField(Evidence, blank=True, related_name="incidents")
    audit_events = models.ManyToManyField(AuditEvent, blank=True, related_name="incidents")
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("incident")

    def __str__(self):
        return f"{self.get_kind_display()} — {self.job}"


class IncidentNote(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return self.text[:80]


class Notification(models.Model):
    """The outbox: one event to tell people about, written in the transaction that caused it
    and delivered by a worker (tasks.deliver_notification), so a slow mail server or webhook
    never slows a page. Each channel is marked done once it went through: a retry resends only
    what failed."""

    event = models.CharField(max_length=40)
    job_id = models.BigIntegerField(null=True, db_index=True)  # kept if the job goes
    payload = models.JSONField(default=dict)
    recipients = models.JSONField(default=list, blank=True)
    mail_done = models.BooleanField(default=False)
    webhook_done = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.event} (job {self.job_id})"


class Beacon(models.Model):
    """The last sign of life of a background duty (the reaper writes « reaper » at each
    pass) and what it saw then (the queues live workers consume), for the pages to warn
    when it stopped."""

    name = models.CharField(max_length=50, unique=True)
    at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)

    def __str__(self):
        return f"{self.name} at {self.at}"
