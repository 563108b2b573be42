from django.contrib import admin

from readers.models import AgentToken, ReaderReport


@admin.register(AgentToken)
class AgentTokenAdmin(admin.ModelAdmin):
    """Read-only here: tokens are issued and revoked from the machine page (audited)."""

    list_display = ["machine", "prefix", "created_by", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["machine__hostname", "prefix"]
    exclude = ["token_hash"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ReaderReport)
class ReaderReportAdmin(admin.ModelAdmin):
    list_display = ["machine", "received_at", "hostname", "pcsc_status", "reader_count"]
    list_filter = ["pcsc_status", "galss_mode"]
    search_fields = ["machine__hostname", "hostname"]
    date_hierarchy = "received_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
