"""A job's sign-off report, as a page and as a PDF."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from migrations_app.signoff import build_report, pdf_available, render_pdf
from migrations_app.web.access import get_job_for_user, permission


@permission("view_migrationjob")
def job_report(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    context = {**build_report(job), "pdf_available": pdf_available()}
    return render(request, "migrations_app/report.html", context)


@permission("view_migrationjob")
def job_report_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    if not pdf_available():
        return HttpResponse(
            _("PDF export is not available on this server: print the HTML report instead."),
            status=501,
            content_type="text/plain; charset=utf-8",
        )
    context = {**build_report(job), "pdf": True}
    html = render_to_string("migrations_app/report.html", context, request=request)
    response = HttpResponse(render_pdf(html), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="julieops-signoff-{job.pk}.pdf"'
    return response
