from django.urls import path

from migrations_app import views, views_fse, views_machines, views_overview

urlpatterns = [
    path("", views.home, name="home"),
    path("jobs/", views.job_list, name="job_list"),
    path("jobs/new/", views.job_create, name="job_create"),
    path("jobs/<int:pk>/", views.job_detail, name="job_detail"),
    path(
        "jobs/<int:pk>/steps/<int:step_pk>/<slug:action>/",
        views.step_action,
        name="step_action",
    ),
    path("jobs/<int:pk>/runs/<int:run_pk>/log/", views.run_log, name="run_log"),
    path("jobs/<int:pk>/phases/<int:phase>/verify/", views.phase_verify, name="phase_verify"),
    path("jobs/<int:pk>/tools/<slug:tool>/", views.job_tool, name="job_tool"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/new/", views.customer_create, name="customer_create"),
    path("customers/<int:pk>/", views.customer_detail, name="customer_detail"),
    path("customers/<int:pk>/edit/", views.customer_edit, name="customer_edit"),
    path("customers/<int:pk>/cabinets/new/", views.cabinet_create, name="cabinet_create"),
    path("customers/<int:pk>/sites/new/", views.site_create, name="site_create"),
    path("sites/<int:pk>/", views.site_detail, name="site_detail"),
    path("sites/<int:pk>/edit/", views.site_edit, name="site_edit"),
    path("sites/<int:pk>/machines/new/", views.machine_create, name="machine_create"),
    path("machines/<int:pk>/", views.machine_detail, name="machine_detail"),
    path("machines/<int:pk>/edit/", views.machine_edit, name="machine_edit"),
    path("credentials/", views.credential_list, name="credential_list"),
    path("credentials/new/", views.credential_create, name="credential_create"),
    path("credentials/<int:pk>/edit/", views.credential_edit, name="credential_edit"),
    path("audit/", views.audit_list, name="audit_list"),
]

# FSE timeline and CPAM export, pxdatas decision, evidence, incidents (views_fse).
urlpatterns += [
    path("customers/<int:pk>/fse/", views_fse.fse_timeline, name="fse_timeline"),
    path("customers/<int:pk>/fse/export.csv", views_fse.fse_export, name="fse_export"),
    path("customers/<int:pk>/fse/print/", views_fse.fse_print, name="fse_print"),
    path("jobs/<int:pk>/fse/decision/", views_fse.fse_decision, name="fse_decision"),
    path("jobs/<int:pk>/incidents/new/", views_fse.incident_create, name="incident_create"),
    path("evidence/<int:pk>/", views_fse.evidence_download, name="evidence_download"),
    path("incidents/", views_fse.incident_list, name="incident_list"),
    path("incidents/<int:pk>/", views_fse.incident_detail, name="incident_detail"),
    path("incidents/<int:pk>/<slug:action>/", views_fse.incident_action, name="incident_action"),
    path("overview/", views_overview.overview, name="overview"),
    path("workers/", views_overview.workers, name="workers"),
    path("jobs/<int:pk>/report/", views_overview.job_report, name="job_report"),
    path("jobs/<int:pk>/report.pdf", views_overview.job_report_pdf, name="job_report_pdf"),
]

# Machine connection: test (through a worker), result panel, host key confirmation.
urlpatterns += [
    path(
        "machines/<int:pk>/test-connection/",
        views_machines.machine_test_connection,
        name="machine_test_connection",
    ),
    path(
        "machines/<int:pk>/connection/",
        views_machines.machine_connection,
        name="machine_connection",
    ),
    path(
        "machines/<int:pk>/confirm-key/",
        views_machines.machine_confirm_key,
        name="machine_confirm_key",
    ),
]
