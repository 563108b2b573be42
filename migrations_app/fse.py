"""FSE (pxdatas) decisions and the FSE timeline of a job, for CPAM disputes.

The pxdatas decision lives in `job.options["pxdatas_decision"]`: a technician (or supervisor)
asks for a purge or for keeping extra files, with a written reason; a supervisor approves it
through `actions.approve_step` (the approval covers exactly that decision); `data.pxdatas`
then applies it once. Without a decision, `data.pxdatas` only proves equality.
"""

import hashlib
import json

from migrations_app import csvexport
from migrations_app.choices import AuditCategory
from migrations_app.models import AuditEvent, Evidence, MigrationJob

# ---------------------------------------------------------------- timeline and export


def evidence_ids(event: AuditEvent) -> list[int]:
    refs = (event.data or {}).get("evidence") or []
    if isinstance(refs, dict):
        refs = [refs]
    return [r["id"] for r in refs if isinstance(r, dict) and isinstance(r.get("id"), int)]


def timeline(job: MigrationJob) -> list[dict]:
    """The FSE events of a job in order, each with its evidence (manifests)."""
    events = list(AuditEvent.objects.filter(job=job, category=AuditCategory.FSE).order_by("id"))
    ids = {i for e in events for i in evidence_ids(e)}
    evidence = {e.pk: e for e in Evidence.objects.filter(pk__in=ids, job=job)}
    return [
        {"event": e, "evidence": [evidence[i] for i in evidence_ids(e) if i in evidence]}
        for e in events
    ]


def read_manifest(evidence: Evidence) -> dict | None:
    """A manifest evidence parsed, with `verified` telling whether its bytes still match the
    SHA-256 recorded when it was stored."""

    try:
        with evidence.file.open("rb") as f:
            content = f.read()
    except OSError:
        return None
    try:
        document = json.loads(content)
    except ValueError:
        return None
    if not isinstance(document, dict):
        return None
    document["verified"] = hashlib.sha256(content).hexdigest() == evidence.sha256
    return document


CSV_HEADER = [
    "customer",
    "job_id",
    "job",
    "event_id",
    "when",
    "who",
    "action",
    "step",
    "reason",
    "decision",
    "files",
    "manifest_sha256",
    "evidence",
    "event_hash",
]


def timeline_csv(jobs) -> str:
    """One line per FSE event of the given jobs, then one line per manifest entry (who, why,
    which file with its hash), so the spreadsheet alone answers a CPAM dispute."""
    writer = csvexport.SafeWriter()
    writer.writerow(CSV_HEADER)
    files_rows = []
    for job in jobs:
        for row in timeline(job):
            e = row["event"]
            data = e.data or {}
            decision = data.get("decision") or {}
            writer.writerow(
                [
                    job.customer.name,
                    job.pk,
                    str(job),
                    e.pk,
                    e.created_at.isoformat(),
                    e.actor_name,
                    e.action,
                    e.target,
                    e.reason,
                    decision.get("decision", "") if isinstance(decision, dict) else "",
                    data.get("files", ""),
                    data.get("manifest_sha256", ""),
                    " ".join(f"{ev.name}:{ev.sha256}" for ev in row["evidence"]),
                    e.hash,
                ]
            )
            for ev in row["evidence"]:
                document = read_manifest(ev)
                for entry in (document or {}).get("manifest", []):
                    files_rows.append(
                        [
                            job.pk,
                            e.pk,
                            ev.name,
                            entry.get("path"),
                            entry.get("size"),
                            entry.get("mtime"),
                            entry.get("sha256"),
                        ]  # fmt: skip
                    )
    writer.writerow([])
    writer.writerow(["job_id", "event_id", "manifest", "path", "size", "mtime", "sha256"])
    writer.writerows(files_rows)
    return writer.getvalue()
