"""Agent tokens (one per post, stored hashed) and the readers reports the agent sends."""

import datetime
import hashlib
import secrets

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from migrations_app.models import Machine

# Reports kept per machine: the latest is what counts; a few older ones show the history.
REPORTS_KEPT = 20


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class AgentTokenQuerySet(models.QuerySet):
    def active(self):
        return self.filter(revoked_at__isnull=True)

    def find_active(self, token: str):
        """The live token matching `token`, or None. The lookup is by SHA-256 of the presented
        value, so the comparison never runs over the secret itself character by character."""
        if not token:
            return None
        return self.active().select_related("machine").filter(token_hash=hash_token(token)).first()


class AgentToken(models.Model):
    """Lets the readers agent of one post send its reports. Only the hash is stored: the token
    is shown once, when issued."""

    machine = models.ForeignKey(
        Machine, on_delete=models.CASCADE, related_name="agent_tokens", verbose_name=_("machine")
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    objects = AgentTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("agent token")

    def __str__(self):
        return f"{self.machine} {self.prefix}…"

    def __repr__(self):
        return f"<AgentToken {self.pk} machine={self.machine_id} prefix={self.prefix!r}>"

    @classmethod
    def issue(cls, machine: Machine, user=None) -> tuple["AgentToken", str]:
        """Create a token for `machine`; return it with the clear value (never stored)."""
        value = secrets.token_urlsafe(32)
        token = cls.objects.create(
            machine=machine, token_hash=hash_token(value), prefix=value[:8], created_by=user
        )
        return token, value

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self, user=None) -> bool:
        """Revoke once; False when it already was."""
        updated = AgentToken.objects.filter(pk=self.pk, revoked_at__isnull=True).update(
            revoked_at=timezone.now(), revoked_by=user
        )
        self.refresh_from_db(fields=["revoked_at", "revoked_by"])
        return bool(updated)


class ReaderReport(models.Model):
    """One report as received (validated against readers.agent.report.SCHEMA), with the fields the
    pages list without opening the JSON."""

    machine = models.ForeignKey(Machine, on_delete=models.CASCADE, related_name="reader_reports")
    token = models.ForeignKey(
        AgentToken, on_delete=models.SET_NULL, null=True, blank=True, related_name="reports"
    )
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    payload = models.JSONField()
    generated_at = models.DateTimeField()
    hostname = models.CharField(max_length=512)
    pcsc_status = models.CharField(max_length=20)
    reader_count = models.PositiveIntegerField()
    galss_mode = models.CharField(max_length=10, blank=True)
    galss_files = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at", "-pk"]
        verbose_name = _("readers report")

    def __str__(self):
        return f"{self.machine} {self.received_at:%Y-%m-%d %H:%M}"

    @classmethod
    def record(cls, token: AgentToken, payload: dict, remote_addr: str | None = None):
        """Store a validated report for the token's machine; keep the REPORTS_KEPT latest."""
        galss = payload.get("galss") or {}
        files = payload.get("windows_ga_files")
        with transaction.atomic():
            report = cls.objects.create(
                machine=token.machine,
                token=token,
                remote_addr=remote_addr,
                payload=payload,
                generated_at=datetime.datetime.fromisoformat(
                    payload["generated_at"].replace("Z", "+00:00")
                ),
                hostname=payload["host"]["hostname"],
                pcsc_status=payload["pcsc"]["status"],
                reader_count=len(payload["pcsc"]["readers"]),
                galss_mode=galss.get("mode") or "",
                galss_files=None if files is None else len(files),
            )
            AgentToken.objects.filter(pk=token.pk).update(last_used_at=report.received_at)
            old = cls.objects.filter(machine=token.machine).order_by("-received_at", "-pk")
            stale = list(old.values_list("pk", flat=True)[REPORTS_KEPT:])
            if stale:
                cls.objects.filter(pk__in=stale).delete()
        return report

    @classmethod
    def latest_for(cls, machine: Machine):
        return cls.objects.filter(machine=machine).order_by("-received_at", "-pk").first()

    @property
    def readers(self) -> list[dict]:
        return (self.payload.get("pcsc") or {}).get("readers") or []

    @property
    def hostname_matches(self) -> bool:
        return self.hostname.strip().casefold() == self.machine.hostname.strip().casefold()
