from django.urls import path

from migrations_app.web import (
    audit,
    captures,
    connection,
    cutover,
    directory,
    fse,
    incidents,
    jobs,
    locate,
    overview,
    signoff,
)

jobs_urls = [
    path("", jobs.home, name="home"),
    path("jobs/", jobs.job_list, name="job_list"),
    path("jobs/new/", jobs.job_create, name="job_create"),
    path("jobs/<int:pk>/", jobs.job_detail, name="job_detail"),
    path("jobs/<int:pk>/steps/<int:step_pk>/<slug:action>/", jobs.step_action, name="step_action"),
    path("jobs/<int:pk>/runs/<int:run_pk>/log/", jobs.run_log, name="run_log"),
    path("jobs/<int:pk>/runs/<int:run_pk>/chart/", jobs.run_chart, name="run_chart"),
    path("jobs/<int:pk>/runs/<int:run_pk>/log.txt", jobs.run_log_download, name="run_log_download"),
    path("jobs/<int:pk>/phases/<int:phase>/verify/", jobs.phase_verify, name="phase_verify"),
    path("jobs/<int:pk>/tools/<slug:tool>/", jobs.job_tool, name="job_tool"),
    path("jobs/<int:pk>/freeze/confirm/", cutover.freeze_confirm, name="freeze_confirm"),
    path("jobs/<int:pk>/locate/<slug:action>/", locate.locate_paths, name="locate_paths"),
    path("jobs/<int:pk>/source-kind/", jobs.job_source_kind, name="job_source_kind"),
    path("jobs/<int:pk>/report/", signoff.job_report, name="job_report"),
    path("jobs/<int:pk>/report.pdf", signoff.job_report_pdf, name="job_report_pdf"),
    path("jobs/<int:pk>/captures/", captures.capture_bundle_download, name="capture_bundle"),
]

directory_urls = [
    path("customers/", directory.customer_list, name="customer_list"),
    path("customers/new/", directory.customer_create, name="customer_create"),
    path("customers/<int:pk>/", directory.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", directory.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/cabinets/new/", directory.cabinet_create, name="cabinet_create"),
    path("customers/<int:pk>/sites/new/", directory.site_create, name="site_create"),
    path("sites/<int:pk>/", directory.site_detail, name="site_detail"),
    path("sites/<int:pk>/edit/", directory.site_edit, name="site_edit"),
    path("sites/<int:pk>/machines/new/", directory.machine_create, name="machine_create"),
    path("machines/<int:pk>/", directory.machine_detail, name="machine_detail"),
    path("machines/<int:pk>/edit/", directory.machine_edit, name="machine_edit"),
    path("credentials/", directory.credential_list, name="credential_list"),
    path("credentials/new/", directory.credential_create, name="credential_create"),
    path("credentials/<int:pk>/edit/", directory.credential_edit, name="credential_edit"),
]

# Machine connection: test (through a worker), result panel, host key confirmation.
connection_urls = [
    path(
        "machines/<int:pk>/test-connection/",
        connection.machine_test_connection,
        name="machine_test_connection",
    ),
    path("machines/<int:pk>/connection/", connection.machine_connection, name="machine_connection"),
    path(
        "machines/<int:pk>/confirm-key/", connection.machine_confirm_key, name="machine_confirm_key"
    ),
]

# FSE timeline and CPAM export, the pxdatas decision, evidence.
fse_urls = [
    path("customers/<int:pk>/fse/", fse.fse_timeline, name="fse_timeline"),
    path("customers/<int:pk>/fse/export.csv", fse.fse_export, name="fse_export"),
    path("customers/<int:pk>/fse/print/", fse.fse_print, name="fse_print"),
    path("jobs/<int:pk>/fse/decision/", fse.fse_decision, name="fse_decision"),
    path("evidence/<int:pk>/", fse.evidence_download, name="evidence_download"),
]

incidents_urls = [
    path("jobs/<int:pk>/incidents/new/", incidents.incident_create, name="incident_create"),
    path("incidents/", incidents.incident_list, name="incident_list"),
    path("incidents/<int:pk>/", incidents.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/<slug:action>/", incidents.incident_action, name="incident_action"),
]

team_urls = [
    path("overview/", overview.overview, name="overview"),
    path("workers/", overview.workers, name="workers"),
    path("audit/", audit.audit_list, name="audit_list"),
]

urlpatterns = jobs_urls + directory_urls + connection_urls + fse_urls + incidents_urls + team_urls
