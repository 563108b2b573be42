"""The three roles, as Django groups with permissions (kept in sync after each migrate)."""

from django.contrib.auth.models import Group, Permission

TECHNICIAN, SUPERVISOR, AUDITOR = "technicien", "superviseur", "auditeur"

_VIEW = [
    "view_customer",
    "view_cabinet",
    "view_site",
    "view_machine",
    "view_credential",
    "view_migrationjob",
    "view_jobstep",
    "view_steprun",
    "view_logline",
    "view_evidence",
    "view_auditevent",
    "view_incident",
]
_WORK = [
    "add_customer",
    "change_customer",
    "add_cabinet",
    "change_cabinet",
    "add_site",
    "change_site",
    "add_machine",
    "change_machine",
    "add_migrationjob",
    "change_migrationjob",
    "run_step",
    "add_incident",
    "change_incident",
]
_SUPERVISE = [
    "approve_step",
    "confirm_host_key",
    "add_credential",
    "change_credential",
    "delete_credential",
    "export_capture",
]

ROLE_PERMISSIONS = {
    TECHNICIAN: _VIEW + _WORK,
    SUPERVISOR: _VIEW + _WORK + _SUPERVISE,
    AUDITOR: _VIEW,
}


def ensure_roles(**kwargs) -> None:
    for name, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=name)
        perms = Permission.objects.filter(
            content_type__app_label="migrations_app", codename__in=codenames
        )
        group.permissions.set(perms)
