"""A job's field captures, downloaded by a superviseur as one redacted bundle (zip), with a
reason; the download is audited. The bundle is streamed: its size does not matter."""

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from migrations_app import audit, capture_bundle
from migrations_app.choices import AuditCategory
from migrations_app.models import RawCapture, StepRun
from migrations_app.web.access import get_job_for_user, permission


@permission("export_capture")
def capture_bundle_download(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_job_for_user(request, pk)
    captured = RawCapture.objects.filter(run__step__job=job)
    runs = StepRun.objects.filter(step__job=job, captures__seq=0).count()
    outputs = captured.exclude(kind="context").count()
    context = {"job": job, "runs": runs, "outputs": outputs, "reason": ""}
    if request.method != "POST":
        return render(request, "migrations_app/capture_bundle.html", context)
    reason = (request.POST.get("reason") or "").strip()
    if not reason:
        context["error"] = _("Say why the captures leave the dashboard.")
        return render(request, "migrations_app/capture_bundle.html", context, status=400)
    name = capture_bundle.job_pseudonym(job)
    audit.record(
        "capture.export",
        category=AuditCategory.SECURITY,
        actor=request.user,
        job=job,
        target=name,
        reason=reason,
        data={"runs": runs, "outputs": outputs},
    )
    response = StreamingHttpResponse(
        capture_bundle.stream_bundle(job), content_type="application/zip"
    )
    response["Content-Disposition"] = f'attachment; filename="captures-{name}.zip"'
    response["Cache-Control"] = "no-store"
    return response
