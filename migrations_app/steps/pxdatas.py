"""`data.pxdatas`, the FSE guard, and the decision it may carry out.

The decision lives in `job.options["pxdatas_decision"]`: a technician (or supervisor) asks for
a purge or for keeping extra files, with a written reason; a supervisor approves it through
`actions.approve_step` (the approval covers exactly that decision); the step then applies it
once. Without a decision, the step only proves equality with the snapshot."""

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from julieops.julietree.pxdatas import compare as compare_pxdatas
from julieops.julietree.pxdatas import manifest as pxdatas_manifest
from julieops.julietree.pxdatas import pxdatas_path
from julieops.julietree.reader import join, windows_path
from migrations_app import audit
from migrations_app.actions import ActionRefused
from migrations_app.choices import AuditCategory, MachineRole, SourceKind, StepStatus
from migrations_app.execution.machines import target_writer, tree_for
from migrations_app.models import JobStep, MigrationJob
from migrations_app.steps.common import (
    as_json,
    compare_manifests,
    evidence_ref,
    manifest_document,
    manifest_sha256,
    source_datas,
    target_datas,
)
from migrations_app.steps.cutover import last_success, require_frozen
from migrations_app.steps.registry import Outcome, Step, StepError, register

SNAPSHOT_KEY = "source.pxdatas_snapshot"
DECISION_KEY = "pxdatas_decision"
PURGE = "purge"
PURGE_BATCH = 50  # files removed between two audit events of a purge
KEEP_EXTRAS = "keep_extras"
WITHDRAW = "withdraw"
DECISIONS = {
    PURGE: "vider pxdatas sur le nouveau serveur",
    KEEP_EXTRAS: "garder les fichiers en trop sur le nouveau serveur",
}


def live_server(job: MigrationJob):
    """When the job copies from a restored backup and the old server still runs: that live
    server, given as another host of the job with the data-server role (else None)."""
    if job.source_kind == SourceKind.LIVE:
        return None
    for machine in job.extra_hosts.all():
        if MachineRole.DATA_SERVER in (machine.roles or []) and machine.pk != job.target_id:
            return machine
    return None


def backup_already_sent(job: MigrationJob) -> dict | None:
    """With a backup source and the live server both given: the backup's FSE that the live
    server no longer holds (already sent, the ARL received) — never to be copied — and the
    live FSE the backup lacks. Paths relative to pxdatas; `pxdatas` is its path under the
    Julie root ('/'-separated). None without a live server. Reads only."""
    live = live_server(job)
    if live is None:
        return None
    backup_tree, live_tree = tree_for(job.source), tree_for(live)
    b_px = pxdatas_path(backup_tree, source_datas(backup_tree, job.source.hostname))
    l_px = pxdatas_path(live_tree, source_datas(live_tree, live.hostname))
    backup = pxdatas_manifest(backup_tree, b_px) if b_px else []
    current = pxdatas_manifest(live_tree, l_px) if l_px else []
    diff = compare_pxdatas(current, backup)
    julie_root = (job.discovered_paths or {}).get("julie_root") or ""
    rel = b_px[len(julie_root) :].strip("/") if b_px and b_px.startswith(julie_root) else None
    return {
        "live": live.hostname,
        "pxdatas": rel,
        "already_sent": diff["already_sent"],
        "new_since_backup": diff["new_since_backup"],
    }


def pending_decision(job: MigrationJob) -> dict | None:
    """The decision not applied yet, or None."""
    decision = job.options.get(DECISION_KEY)
    if decision and not decision.get("executed_run"):
        return decision
    return None


def request_decision(step: JobStep, user, decision: str, reason: str) -> dict | None:
    """Record (or withdraw) a purge / keep-extras decision on data.pxdatas. Any earlier
    approval is cleared: a supervisor must approve this decision itself."""
    reason = (reason or "").strip()
    if not user.has_perm("migrations_app.run_step"):
        raise ActionRefused(_("You may not change this job."), 403)
    if decision not in (*DECISIONS, WITHDRAW):
        raise ActionRefused(_("Unknown decision."), 400)
    if not reason:
        raise ActionRefused(_("A written reason is required."), 400)
    with transaction.atomic():
        step = JobStep.objects.select_for_update().get(pk=step.pk)
        if step.key != "data.pxdatas":
            raise ActionRefused(_("Decisions apply to the pxdatas step only."), 400)
        if step.status in StepStatus.active():
            raise ActionRefused(_("This step is running; cancel it first."))
        job = MigrationJob.objects.select_for_update().get(pk=step.job_id)
        last = step.result or {}
        record = None
        if decision == WITHDRAW:
            if DECISION_KEY not in job.options:
                raise ActionRefused(_("There is no decision to withdraw."), 400)
            job.options.pop(DECISION_KEY)
        else:
            extras = last.get("extras") or []
            if decision == KEEP_EXTRAS and not extras:
                raise ActionRefused(
                    _("The last verification found no extra file: run the step first."), 409
                )
            record = {
                "decision": decision,
                "label": DECISIONS[decision],
                "reason": reason,
                "requested_by": user.get_username(),
                "requested_at": timezone.now().isoformat(),
                # What the requester saw: the approval covers these files, nothing more.
                "extras": [{"path": e["path"], "sha256": e["sha256"]} for e in extras]
                if decision == KEEP_EXTRAS
                else [],
                "target_manifest_sha256": last.get("target_manifest_sha256"),
            }
            job.options[DECISION_KEY] = record
        job.save(update_fields=["options", "updated_at"])
        step.approved_by, step.approved_at, step.approval_reason = None, None, ""
        step.save(update_fields=["approved_by", "approved_at", "approval_reason", "updated_at"])
        audit.record(
            "fse.decision.withdraw" if decision == WITHDRAW else "fse.decision.request",
            category=AuditCategory.FSE,
            actor=user,
            job=job,
            target=step.key,
            reason=reason,
            data={"decision": record},
        )
        if record is not None:
            from migrations_app.notifications import announce_if_awaited

            step.job = job
            announce_if_awaited(step)
    return record


@register
class DataPxdatas(Step):
    key = "data.pxdatas"
    phase = 3
    kind = "approval"
    title = "pxdatas identique à la photographie (FSE)"
    instructions = (
        "Sur le nouveau serveur, pxdatas doit être exactement égal à la photographie de la source "
        "— ou vidé, sur décision d'une personne habilitée. Une sauvegarde incrémentale restaurée "
        "ici fait renaître des FSE déjà envoyées : les renvoyer provoque des litiges avec la CPAM. "
        "Se fait après « Geler l'ancien serveur » et la passe finale de la copie miroir, contre "
        "une photographie de pxdatas prise après le gel. Quand la source est une sauvegarde "
        "incrémentale, une purge approuvée est exigée (ou la déclaration d'un superviseur que "
        "c'est une sauvegarde miroir)."
    )
    criteria = "Égalité prouvée fichier par fichier, ou purge enregistrée avec qui et pourquoi."
    depends_on = ("cutover.freeze", "data.mirror", "source.pxdatas_snapshot")

    # Equality is checked without approval; only a purge or keeping extra files needs one.
    @classmethod
    def needs_approval_for(cls, jobstep) -> bool:
        return pending_decision(jobstep.job) is not None

    @classmethod
    def approvable(cls, jobstep) -> bool:
        return pending_decision(jobstep.job) is not None and not jobstep.is_approved

    @classmethod
    def approval_data(cls, jobstep) -> dict:
        return {"decision": pending_decision(jobstep.job)}

    @classmethod
    def approval_requester(cls, jobstep) -> str | None:
        return (pending_decision(jobstep.job) or {}).get("requested_by")

    def run(self, ctx):
        job, step = ctx.job, ctx.step
        snapshot = job.steps.get(key=SNAPSHOT_KEY).result or {}
        if "manifest" not in snapshot:
            raise StepError("Pas de photographie de pxdatas : lancez d'abord cette étape.")
        frozen = require_frozen(ctx, "La preuve de pxdatas")
        decision = job.options.get(DECISION_KEY)
        pending = pending_decision(job)
        taken = last_success(job, SNAPSHOT_KEY)
        purging = (decision or {}).get("decision") == PURGE
        if not purging and (taken is None or taken < frozen):
            raise StepError(
                "La photographie de pxdatas date d'avant le gel : les FSE en attente changent "
                "chaque jour jusqu'au gel. Relancez « Photographier pxdatas » maintenant que "
                "l'ancien serveur est gelé, puis cette étape."
            )
        if job.source_kind == SourceKind.INCREMENTAL_BACKUP and not _purge_decided(job, step):
            ctx.audit("fse.verify", AuditCategory.FSE, data={"result": "incremental_backup"})
            raise StepError(
                "La source est une sauvegarde incrémentale restaurée : l'égalité avec la "
                "photographie ne prouve rien (elle fait renaître des FSE déjà envoyées). Demandez "
                "une décision « vider pxdatas », approuvée par un autre superviseur — ou qu'un "
                "superviseur déclare, avec un motif, que c'est une sauvegarde miroir."
            )
        if pending and not step.is_approved:
            raise StepError(
                f"Décision « {pending['label']} » en attente de l'approbation d'un superviseur."
            )
        writer = target_writer(job)
        datas = target_datas(writer, ctx.target.hostname)
        px = pxdatas_path(writer.reader, datas)
        ctx.check_cancel()
        target_manifest = pxdatas_manifest(writer.reader, px) if px else []
        diff = compare_manifests(snapshot["manifest"], target_manifest)
        document = manifest_document(ctx.target.hostname, px, target_manifest, "target_before")
        document.update(
            snapshot_evidence=snapshot.get("evidence"),
            snapshot_manifest_sha256=snapshot.get("manifest_sha256"),
            decision=decision,
            differences={k: v for k, v in diff.items() if k != "equal"},
        )
        evidence = ctx.evidence("pxdatas-cible.json", as_json(document), "pxdatas_manifest")
        refs = [evidence_ref(evidence)]
        if snapshot.get("evidence"):
            refs.append(snapshot["evidence"])
        base = {
            "machine": ctx.target.hostname,
            "path": windows_path(px) if px else None,
            "files": len(target_manifest),
            "manifest_sha256": document["manifest_sha256"],
            "snapshot_manifest_sha256": snapshot.get("manifest_sha256"),
            "evidence": refs,
        }
        data = {
            "extras": diff["extras"],
            "target_manifest_sha256": document["manifest_sha256"],
            "evidence": evidence_ref(evidence),
        }
        if pending and pending["decision"] == PURGE:
            return self._purge(ctx, writer, px, target_manifest, pending, base, data)
        if decision and decision.get("executed_run") and decision["decision"] == PURGE:
            return self._after_purge(ctx, target_manifest, decision, base, data)
        sent = backup_already_sent(job)
        if sent is not None:
            diff = self._without_sent(ctx, snapshot, target_manifest, sent, base, data)
        return self._verify(ctx, tree_for(ctx.source), snapshot, diff, pending, base, data, sent)

    def _without_sent(self, ctx, snapshot, target_manifest, sent, base, data):
        """The backup's already-sent FSE named, kept as FSE evidence (timeline, CPAM export),
        and taken out of what the target must hold."""
        gone = {e["path"].casefold() for e in sent["already_sent"]}
        document = manifest_document(
            sent["live"], sent["pxdatas"], sent["already_sent"], "backup_already_sent"
        )
        evidence = ctx.evidence("pxdatas-deja-envoyees.json", as_json(document), "pxdatas_manifest")
        ctx.audit(
            "fse.backup_already_sent",
            AuditCategory.FSE,
            data={
                **base,
                "live": sent["live"],
                "files": len(sent["already_sent"]),
                "manifest_sha256": document["manifest_sha256"],
                "already_sent": [
                    {"path": e["path"], "sha256": e["sha256"]} for e in sent["already_sent"]
                ],
                "evidence": [evidence_ref(evidence)],
            },
        )
        data["already_sent"] = [
            {"path": e["path"], "sha256": e["sha256"]} for e in sent["already_sent"]
        ]
        expected = [e for e in snapshot["manifest"] if e["path"].casefold() not in gone]
        return compare_manifests(expected, target_manifest)

    def _verify(self, ctx, source, snapshot, diff, pending, base, data, sent=None):
        step = ctx.step
        # The snapshot must still describe the source, or the proof proves nothing.
        px = pxdatas_path(source, source_datas(source, ctx.source.hostname))
        live = pxdatas_manifest(source, px) if px else []
        if manifest_sha256(live) != manifest_sha256(snapshot["manifest"]):
            ctx.audit("fse.verify", AuditCategory.FSE, data={**base, "result": "stale_snapshot"})
            raise StepError(
                "pxdatas de l'ancien serveur a changé depuis la photographie (FSE envoyées ou "
                "créées) : relancez la photographie, Julie fermé, puis la copie miroir."
            )
        items = []
        for e in diff["missing"]:
            items.append({"label": e["path"], "status": "fail", "detail": "absent de la cible"})
        for e in diff["changed"]:
            items.append(
                {"label": e["path"], "status": "fail", "detail": "contenu différent de la source"}
            )
        if sent is not None:
            for e in sent["already_sent"]:
                copied = e["path"].casefold() in {x["path"].casefold() for x in diff["extras"]}
                items.append(
                    {
                        "label": e["path"],
                        "status": "fail" if copied else "ok",
                        "detail": f"FSE déjà envoyée (absente de {sent['live']}, l'ancien serveur "
                        "en service) : "
                        + ("copiée sur la cible, à retirer" if copied else "jamais copiée"),
                    }
                )
            for e in sent["new_since_backup"]:
                items.append(
                    {
                        "label": e["path"],
                        "status": "fail",
                        "detail": f"FSE en attente sur {sent['live']}, absente de la sauvegarde : "
                        "à reprendre de l'ancien serveur",
                    }
                )
        kept = False
        if diff["extras"]:
            approved = {
                (x["path"].casefold(), x["sha256"]) for x in (pending or {}).get("extras", [])
            }
            covered = (
                pending is not None
                and pending["decision"] == KEEP_EXTRAS
                and step.is_approved
                and all((e["path"].casefold(), e["sha256"]) in approved for e in diff["extras"])
            )
            for e in diff["extras"]:
                items.append(
                    {
                        "label": e["path"],
                        "status": "warn" if covered else "fail",
                        "detail": "en trop sur la cible (FSE déjà envoyée ?)"
                        + (" ; gardé sur décision approuvée" if covered else ""),
                    }
                )
            kept = covered
        equal = len(diff["equal"])
        items.insert(
            0,
            {
                "label": "pxdatas",
                "status": "ok",
                "detail": f"{equal} fichier(s) identique(s) à la photographie (SHA-256)",
            },
        )
        data["proof"] = [{"path": e["path"], "sha256": e["sha256"]} for e in diff["equal"]]
        outcome = Outcome.from_items(items, "", data)
        if outcome.status == "passed":
            ctx.audit("fse.equality_proven", AuditCategory.FSE, data={**base, "equal": equal})
            outcome.summary = (
                f"Égalité prouvée : les {equal} fichier(s) de pxdatas sont identiques à la "
                "photographie."
            )
        elif kept and not diff["missing"] and not diff["changed"]:
            _decision_executed(
                ctx,
                "fse.keep_extras",
                pending,
                {
                    **base,
                    "kept": [{"path": e["path"], "sha256": e["sha256"]} for e in diff["extras"]],
                },
            )
            outcome.summary = (
                f"{equal} fichier(s) identique(s) ; {len(diff['extras'])} fichier(s) en trop "
                f"gardé(s) sur décision approuvée par {step.approved_by} : {step.approval_reason}"
            )
        else:
            ctx.audit(
                "fse.verify",
                AuditCategory.FSE,
                data={
                    **base,
                    "result": "different",
                    "missing": len(diff["missing"]),
                    "changed": len(diff["changed"]),
                    "extras": len(diff["extras"]),
                },
            )
            parts = []
            if diff["missing"] or diff["changed"]:
                parts.append(
                    f"{len(diff['missing'])} absent(s), {len(diff['changed'])} différent(s) : "
                    "relancez la copie miroir"
                )
            if diff["extras"]:
                parts.append(
                    f"{len(diff['extras'])} fichier(s) en trop (FSE déjà envoyées restaurées ?) : "
                    "demandez une décision (vider ou garder), approuvée par un superviseur"
                )
            outcome.summary = "pxdatas diffère de la photographie : " + " ; ".join(parts) + "."
        for item in items[1:]:
            ctx.log.warning(f"{item['label']} : {item['detail']}")
        ctx.log.info(outcome.summary)
        return outcome

    def _purge(self, ctx, writer, px, manifest, decision, base, data):
        step = ctx.step
        # The manifest of what is removed is already stored (evidence above). The trail is
        # written before the first deletion and before each batch (its log lines written at
        # once): a worker killed in the middle leaves every removed file named.
        ctx.audit(
            "fse.purge.start",
            AuditCategory.FSE,
            reason=step.approval_reason,
            data={**base, "to_remove": len(manifest)},
        )
        for start in range(0, len(manifest), PURGE_BATCH):
            batch = manifest[start : start + PURGE_BATCH]
            ctx.audit(
                "fse.purge.batch",
                AuditCategory.FSE,
                data={
                    "machine": base["machine"],
                    "manifest_sha256": base["manifest_sha256"],
                    "removing": [{"path": e["path"], "sha256": e["sha256"]} for e in batch],
                    "removed_before": start,
                },
            )
            for entry in batch:
                writer.remove_file(join(px, entry["path"]))
                ctx.log.info(
                    f"FSE retirée de la cible : {entry['path']} (sha256 {entry['sha256']})"
                )
            ctx.log.flush()
        if px:
            writer.remove_empty_dirs(px)
        left = pxdatas_manifest(writer.reader, px) if px else []
        _decision_executed(
            ctx, "fse.purge", decision, {**base, "removed": len(manifest), "left": len(left)}
        )
        if left:
            raise StepError(f"{len(left)} fichier(s) n'ont pas pu être retirés de pxdatas.")
        return Outcome(
            "passed",
            f"pxdatas vidé sur {ctx.target.hostname} : {len(manifest)} fichier(s) retiré(s), "
            f"manifeste conservé ; décision de {decision['requested_by']} approuvée par "
            f"{step.approved_by} : {step.approval_reason}",
            [{"label": e["path"], "status": "ok", "detail": "retiré"} for e in manifest],
            {**data, "removed": manifest},
        )

    def _after_purge(self, ctx, manifest, decision, base, data):
        if not manifest:
            return Outcome(
                "passed",
                f"pxdatas vide, comme décidé (purge du {decision['executed_at'][:10]}).",
                [],
                data,
            )
        ctx.audit("fse.verify", AuditCategory.FSE, data={**base, "result": "not_empty"})
        return Outcome(
            "failed",
            f"pxdatas contient de nouveau {len(manifest)} fichier(s) depuis la purge : "
            "une nouvelle décision est requise.",
            [{"label": e["path"], "status": "fail", "detail": "réapparu"} for e in manifest],
            data,
        )


def _purge_decided(job: MigrationJob, step: JobStep) -> bool:
    """An approved purge waits to be applied, or one was applied."""
    decision = job.options.get(DECISION_KEY) or {}
    if decision.get("decision") != PURGE:
        return False
    return bool(decision.get("executed_run")) or step.is_approved


def _decision_executed(ctx, action: str, decision: dict, data: dict) -> None:
    """Mark the approved pxdatas decision as carried out by this run (it is applied once) and
    record it with who approved it and why."""
    job, step = ctx.job, ctx.step
    job.options[DECISION_KEY] = {
        **decision,
        "executed_run": ctx.run.pk,
        "executed_at": timezone.now().isoformat(),
    }
    job.save(update_fields=["options", "updated_at"])
    ctx.audit(
        action,
        AuditCategory.FSE,
        reason=step.approval_reason,
        data={
            **data,
            "decision": decision,
            "approved_by": step.approved_by.get_username() if step.approved_by else None,
        },
    )
