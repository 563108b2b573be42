"""Panels other apps add to the job and machine pages: a template name each, rendered with the
page's context (`job` or `machine`). The readers app adds its card readers here from its
AppConfig.ready(); migrations_app itself knows no other app."""

JOB_PANELS: list[str] = []
MACHINE_PANELS: list[str] = []


def add_job_panel(template: str) -> None:
    if template not in JOB_PANELS:
        JOB_PANELS.append(template)


def add_machine_panel(template: str) -> None:
    if template not in MACHINE_PANELS:
        MACHINE_PANELS.append(template)
