from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.shortcuts import redirect
from django.utils.translation import gettext as _

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

    # Read-only: the checklist changes through the dashboard's actions (audited), never here.
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class NoDeleteMixin:
    """Users and jobs are named by audit rows (their ids are hashed into the chain): they are
    never deleted here, a departed technician is deactivated, a job is cancelled."""

    delete_refused = ""

    def has_delete_permission(self, request, obj=None):
        return False

    def delete_view(self, request, object_id, extra_context=None):
        self.message_user(request, self.delete_refused, level=messages.ERROR)
        opts = self.model._meta
        return redirect(f"admin:{opts.app_label}_{opts.model_name}_changelist")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class ProtectedUserAdmin(NoDeleteMixin, UserAdmin):
    @property
    def delete_refused(self):
        return _("A user is never deleted (the audit trail names them): deactivate the account.")


@admin.register(MigrationJob)
class MigrationJobAdmin(NoDeleteMixin, admin.ModelAdmin):
    @property
    def delete_refused(self):
        return _("A job is never deleted (the audit trail names it): cancel it instead.")

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
