from django.contrib import admin

from migrations_app.models import (
    AuditEvent,
    Cabinet,
    Credential,
    Customer,
    Evidence,
    Incident,
    JobStep,
    LogLine,
    Machine,
    MigrationJob,
    Site,
    StepRun,
)
from migrations_app.web.forms import CredentialForm


class CabinetInline(admin.TabularInline):
    model = Cabinet
    extra = 0


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "licence_number", "contact_name"]
    search_fields = ["name", "licence_number"]
    inlines = [CabinetInline]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "customer", "workgroup", "worker_queue"]
    list_filter = ["customer"]


@admin.register(Machine)
class MachineAdmin(admin.ModelAdmin):
    list_display = ["hostname", "site", "transport", "address"]
    list_filter = ["transport"]
    search_fields = ["hostname", "address"]


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """The secret is write-only here too: the form never renders it."""

    form = CredentialForm
    list_display = ["name", "username", "has_secret", "updated_at"]


class JobStepInline(admin.TabularInline):
    model = JobStep
    extra = 0
    fields = ["key", "phase", "kind", "status", "done_by", "approved_by"]
    readonly_fields = fields
    can_delete = False


@admin.register(MigrationJob)
class MigrationJobAdmin(admin.ModelAdmin):
    list_display = ["__str__", "customer", "site", "status", "assignee", "created_at"]
    list_filter = ["status"]
    inlines = [JobStepInline]


@admin.register(StepRun)
class StepRunAdmin(admin.ModelAdmin):
    list_display = ["pk", "step", "attempt", "status", "worker", "created_at"]
    list_filter = ["status"]


@admin.register(LogLine)
class LogLineAdmin(admin.ModelAdmin):
    list_display = ["run", "seq", "ts", "level", "text"]


@admin.register(Evidence)
class EvidenceAdmin(admin.ModelAdmin):
    list_display = ["name", "job", "kind", "size", "sha256", "created_at"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor_name", "action", "category", "job", "target"]
    list_filter = ["category"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Incident)
class IncidentAdmin(admin.ModelAdmin):
    list_display = ["job", "kind", "status", "opened_at"]
