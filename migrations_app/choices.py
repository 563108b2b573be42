"""Status and kind vocabularies. Each status set names which values are active or terminal."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StepKind(models.TextChoices):
    AUTO = "auto", _("automatic")
    CHECK = "check", _("check")
    MANUAL = "manual", _("manual")
    APPROVAL = "approval", _("approval")


class StepStatus(models.TextChoices):
    TODO = "todo", _("to do")
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    PASSED = "passed", _("passed")
    WARNING = "warning", _("passed with warnings")
    FAILED = "failed", _("failed")
    DONE = "done", _("done by hand")
    SKIPPED = "skipped", _("skipped")

    @classmethod
    def active(cls):
        return {cls.QUEUED, cls.RUNNING}

    @classmethod
    def finished(cls):
        return {cls.PASSED, cls.WARNING, cls.DONE, cls.SKIPPED}


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    PASSED = "passed", _("passed")
    WARNING = "warning", _("passed with warnings")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")
    LOST = "lost", _("lost")

    @classmethod
    def active(cls):
        return {cls.QUEUED, cls.RUNNING}

    @classmethod
    def terminal(cls):
        return {cls.PASSED, cls.WARNING, cls.FAILED, cls.CANCELLED, cls.LOST}


class JobStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    IN_PROGRESS = "in_progress", _("in progress")
    BLOCKED = "blocked", _("blocked")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")

    @classmethod
    def active(cls):
        return {cls.DRAFT, cls.IN_PROGRESS, cls.BLOCKED}


class CutoverSlot(models.TextChoices):
    """When in the day the cut-over is planned (the practice closed: lunch, evening)."""

    MORNING = "morning", _("morning")
    LUNCH = "lunch", _("lunch break")
    AFTERNOON = "afternoon", _("afternoon")
    EVENING = "evening", _("evening (after closing)")


class Transport(models.TextChoices):
    WINRM = "winrm", "WinRM"
    SSH = "ssh", "SSH"
    LOCAL = "local", _("local (worker's own disk)")


class MachineRole(models.TextChoices):
    DATA_SERVER = "data_server", _("data server")
    KEY_HOST = "key_host", _("HASP key host")
    SERVICES_HOST = "services_host", _("services host")
    SMS_HOST = "sms_host", _("SMS host")
    CLIENT = "client", _("client post")


class LogLevel(models.TextChoices):
    DEBUG = "debug", "debug"
    INFO = "info", "info"
    WARNING = "warning", "warning"
    ERROR = "error", "error"


class AuditCategory(models.TextChoices):
    FSE = "fse", _("FSE")
    SMS = "sms", _("SMS")
    DATA = "data", _("data")
    SECURITY = "security", _("security")
    JOB = "job", _("job")
    CONFIG = "config", _("configuration")


class IncidentKind(models.TextChoices):
    FSE_RESENT = "fse_resent", _("FSE re-sent / duplicate")
    FSE_MISSING = "fse_missing", _("FSE missing")
    SMS_DUPLICATE = "sms_duplicate", _("duplicate SMS")
    DATA_MISSING = "data_missing", _("missing data")
    OTHER = "other", _("other")


class IncidentStatus(models.TextChoices):
    OPEN = "open", _("open")
    CLOSED = "closed", _("closed")


class SourceKind(models.TextChoices):
    """What the job copies from: the live old server, or a backup restored because it died."""

    LIVE = "live", _("the live old server")
    MIRROR_BACKUP = "mirror_backup", _("a mirror backup")
    INCREMENTAL_BACKUP = "incremental_backup", _("an incremental backup")
