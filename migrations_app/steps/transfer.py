"""Phase 3 — data transfer from the old server to the new one.

Every step reads the old server and the services hosts through read-only trees and writes
only to the new server through `target_writer` (temporary name + rename). Each change is
recorded as an audit event (category fse, sms or data) with its evidence (manifests with
SHA-256)."""

import hashlib
import zipfile

from django.utils import timezone

from julieops.julietree import backups, layout, pxdatas, services_db
from julieops.julietree.reader import find_child, join, resolve, windows_path
from julieops.julietree.server_register import SMS_SERVICE
from migrations_app import fse
from migrations_app.choices import AuditCategory
from migrations_app.execution.machines import target_writer, tree_for
from migrations_app.steps.inventory import (
    as_json,
    evidence_ref,
    extras_paths,
    file_info,
    host_machine,
    manifest_document,
    manifest_sha256,
    missing_hosts_message,
    read_register,
    source_datas,
)
from migrations_app.steps.registry import Outcome, Step, StepError, register


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def target_datas(writer, hostname: str) -> str:
    roots = layout.find_julie_roots(writer.reader)
    datas = find_child(writer.reader, roots[0], "Datas") if roots else None
    if datas is None:
        raise StepError(
            f"Aucun dossier Juliew\\Datas sur {hostname} : lancez d'abord la copie miroir."
        )
    return datas


def compare_manifests(expected: list[dict], actual: list[dict]) -> dict:
    """Paths compare case-insensitively (Windows), contents by SHA-256."""
    want = {e["path"].casefold(): e for e in expected}
    have = {e["path"].casefold(): e for e in actual}
    return {
        "missing": [e for k, e in want.items() if k not in have],
        "changed": [
            {**have[k], "expected_sha256": e["sha256"]}
            for k, e in want.items()
            if k in have and have[k]["sha256"] != e["sha256"]
        ],
        "extras": [e for k, e in have.items() if k not in want],
        "equal": [e for k, e in want.items() if k in have and have[k]["sha256"] == e["sha256"]],
    }


@register
class DataMirror(Step):
    key = "data.mirror"
    phase = 3
    kind = "auto"
    title = "Copie miroir des données"
    instructions = (
        "Copie miroir des racines de données (Juliew avec ARCH, Datas, DOCPATIENT, fscan, IMAGE, "
        "XRAY, XRAY3D ; racines d'imagerie si elles sont ailleurs). Miroir et non incrémental : "
        "la destination doit finir identique à la source (fichiers en trop supprimés). Peut être "
        "lancée tôt puis relancée à la bascule : la deuxième passe ne copie que les différences. "
        "La passe finale se fait Julie fermé sur tous les postes et moteur Btrieve (w32mkde.exe) "
        "arrêté ; un fichier verrouillé est signalé, jamais ignoré en silence."
    )
    criteria = "Résumé façon robocopy ; destination vérifiée égale à la source ; source intacte."
    depends_on = ("source.locate",)
    supports_dry_run = True

    def run(self, ctx):
        from migrations_app.mirroring import mirror_job

        params = ctx.run.params or {}
        return mirror_job(ctx, dry_run=bool(params.get("dry_run")), force=bool(params.get("force")))


@register
class DataPxdatas(Step):
    key = "data.pxdatas"
    phase = 3
    kind = "approval"
    title = "pxdatas identique à la photographie (FSE)"
    instructions = (
        "Sur le nouveau serveur, pxdatas doit être exactement égal à la photographie de la source "
        "— ou vidé, sur décision d'une personne habilitée. Une sauvegarde incrémentale restaurée "
        "ici fait renaître des FSE déjà envoyées : les renvoyer provoque des litiges avec la CPAM."
    )
    criteria = "Égalité prouvée fichier par fichier, ou purge enregistrée avec qui et pourquoi."
    depends_on = ("source.pxdatas_snapshot", "data.mirror")

    # Equality is checked without approval; only a purge or keeping extra files needs one.
    @classmethod
    def needs_approval_for(cls, jobstep) -> bool:
        return fse.pending_decision(jobstep.job) is not None

    @classmethod
    def approvable(cls, jobstep) -> bool:
        return fse.pending_decision(jobstep.job) is not None and not jobstep.is_approved

    @classmethod
    def approval_data(cls, jobstep) -> dict:
        return {"decision": fse.pending_decision(jobstep.job)}

    def run(self, ctx):
        job, step = ctx.job, ctx.step
        snapshot = job.steps.get(key="source.pxdatas_snapshot").result or {}
        if "manifest" not in snapshot:
            raise StepError("Pas de photographie de pxdatas : lancez d'abord cette étape.")
        decision = job.options.get(fse.DECISION_KEY)
        pending = fse.pending_decision(job)
        if pending and not step.is_approved:
            raise StepError(
                f"Décision « {pending['label']} » en attente de l'approbation d'un superviseur."
            )
        writer = target_writer(job)
        datas = target_datas(writer, ctx.target.hostname)
        px = pxdatas.pxdatas_path(writer.reader, datas)
        ctx.check_cancel()
        target_manifest = pxdatas.manifest(writer.reader, px) if px else []
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
        if pending and pending["decision"] == fse.PURGE:
            return self._purge(ctx, writer, px, target_manifest, pending, base, data)
        if decision and decision.get("executed_run") and decision["decision"] == fse.PURGE:
            return self._after_purge(ctx, target_manifest, decision, base, data)
        return self._verify(ctx, tree_for(ctx.source), snapshot, diff, pending, base, data)

    def _verify(self, ctx, source, snapshot, diff, pending, base, data):
        step = ctx.step
        # The snapshot must still describe the source, or the proof proves nothing.
        px = pxdatas.pxdatas_path(source, source_datas(source, ctx.source.hostname))
        live = pxdatas.manifest(source, px) if px else []
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
        kept = False
        if diff["extras"]:
            approved = {
                (x["path"].casefold(), x["sha256"]) for x in (pending or {}).get("extras", [])
            }
            covered = (
                pending is not None
                and pending["decision"] == fse.KEEP_EXTRAS
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
        # The manifest of what is removed is already stored (evidence above).
        for entry in manifest:
            writer.remove_file(join(px, entry["path"]))
            ctx.log.info(f"FSE retirée de la cible : {entry['path']} (sha256 {entry['sha256']})")
        if px:
            writer.remove_empty_dirs(px)
        left = pxdatas.manifest(writer.reader, px) if px else []
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


@register
class DataServerRegister(Step):
    key = "data.server_register"
    phase = 3
    kind = "auto"
    title = "Retirer server.register du nouveau Datas"
    instructions = (
        "Supprimer server.register du nouveau dossier Datas (une copie est gardée comme preuve) ; "
        "les services le réécriront sur le nouvel hôte."
    )
    criteria = "Fichier absent sur la cible, copie conservée."
    depends_on = ("data.mirror",)

    def run(self, ctx):
        writer = target_writer(ctx.job)
        datas = target_datas(writer, ctx.target.hostname)
        path = find_child(writer.reader, datas, "server.register")
        if path is None:
            return Outcome(
                "passed",
                "server.register déjà absent du nouveau Datas.",
                [{"label": "server.register", "status": "ok", "detail": "absent"}],
            )
        content = writer.reader.read_bytes(path)
        evidence = ctx.evidence("server.register (nouveau serveur)", content, "server_register")
        writer.remove_file(path)
        if find_child(writer.reader, datas, "server.register") is not None:
            raise StepError("server.register est toujours présent sur la cible.")
        ctx.audit(
            "data.server_register.remove",
            AuditCategory.DATA,
            data={
                "machine": ctx.target.hostname,
                "path": windows_path(path),
                "sha256": sha256(content),
                "evidence": [evidence_ref(evidence)],
            },
        )
        ctx.log.info(f"{windows_path(path)} retiré ; copie conservée comme preuve")
        return Outcome(
            "passed",
            "server.register retiré du nouveau Datas (copie conservée).",
            [{"label": "server.register", "status": "ok", "detail": "retiré, copie en preuve"}],
            {"evidence": evidence_ref(evidence)},
        )


@register
class DataServices(Step):
    key = "data.services"
    phase = 3
    kind = "auto"
    title = "Copier les données des services (dont Sms.db)"
    instructions = (
        "Copier C:\\ProgramData\\Julie Software\\datas de chaque hôte de services (l'hôte SMS peut "
        "être un poste secondaire) vers le nouveau serveur. Sms.db contient l'historique des "
        "rappels : sans lui, les patients reçoivent des SMS en double. S'il manque ou s'il est plus "
        "ancien que le dernier zip de JulieServicesDb, le restaurer depuis ce zip. Arrêter les "
        "services Julie de l'hôte pendant la copie."
    )
    criteria = "Fichiers égaux à la source, intégrité vérifiée, fraîcheur relevée."
    depends_on = ("source.services_data",)

    # A restore of Sms.db from the JulieServicesDb zip needs a supervisor's approval; the
    # approval covers the zip copy the last run reported (`result["sms_restore"]`).
    @classmethod
    def needs_approval_for(cls, jobstep) -> bool:
        return False

    @classmethod
    def approvable(cls, jobstep) -> bool:
        wanted = (jobstep.result or {}).get("sms_restore")
        if not wanted:
            return False
        return not (jobstep.is_approved and cls._approved_zip(jobstep) == wanted["sha256"])

    @classmethod
    def approval_data(cls, jobstep) -> dict:
        return {"sms_restore": (jobstep.result or {}).get("sms_restore")}

    @staticmethod
    def _approved_zip(jobstep) -> str | None:
        # Which zip copy the approval was given for: the one the step reported at that time.
        from migrations_app.models import AuditEvent

        event = (
            AuditEvent.objects.filter(job=jobstep.job, target=jobstep.key, action="step.approve")
            .order_by("-id")
            .first()
        )
        restore = (event.data or {}).get("sms_restore") if event else None
        return restore.get("sha256") if restore else None

    def run(self, ctx):
        job, step = ctx.job, ctx.step
        source = tree_for(ctx.source)
        datas = source_datas(source, ctx.source.hostname)
        _path, _raw, register = read_register(source, datas)
        # Which machine holds which service; a host outside the job blocks the step.
        hosts, missing, sms_machine = {}, [], None
        for endpoint in register.services.values() if register else []:
            machine = host_machine(job, endpoint.host)
            if machine is None:
                missing.append(endpoint.host)
                continue
            hosts.setdefault(machine.pk, machine)
            if endpoint.service == SMS_SERVICE:
                sms_machine = machine
        if missing:
            raise StepError(missing_hosts_message(sorted(set(missing), key=str.casefold)))
        if not hosts:
            hosts[ctx.source.pk] = ctx.source
        sms_machine = sms_machine or ctx.source
        writer = target_writer(job)
        dest_dir = resolve(writer.reader, services_db.SERVICES_DATA_DIR)
        dest_dir = dest_dir or services_db.SERVICES_DATA_DIR

        # Plan: file name -> (machine, reader, path). Sms.db comes from the SMS host; the other
        # files from the first host holding them (the old server first).
        plan, items = {}, []
        ordered = sorted(hosts.values(), key=lambda m: (m.pk != ctx.source.pk, m.hostname))
        readers = {m.pk: (source if m.pk == ctx.source.pk else tree_for(m)) for m in ordered}
        for machine in ordered:
            reader = readers[machine.pk]
            folder = resolve(reader, services_db.SERVICES_DATA_DIR)
            if folder is None or not reader.is_dir(folder):
                items.append(
                    {
                        "label": machine.hostname,
                        "status": "warn",
                        "detail": "dossier des données des services absent",
                    }  # fmt: skip
                )
                continue
            for entry in reader.walk(folder):
                if entry.is_dir or entry.relpath.lower().endswith("-shm"):
                    continue
                key = entry.relpath.casefold()
                is_sms = key.split("/")[-1].startswith("sms.db")
                if is_sms and machine.pk != sms_machine.pk:
                    continue
                plan.setdefault(key, (machine, reader, join(folder, entry.relpath), entry))

        # Sms.db freshness against the newest JulieServicesDb zip.
        zips = backups.inspect_services_zips(source, datas)
        zipped = zips["newest"]["sms_db"] if zips["newest"] else None
        live = None
        if "sms.db" in plan:
            _m, reader, path, _e = plan["sms.db"]
            live = services_db.inspect_file(reader, path)
            if live["kind"] == "sqlite" and not live.get("ok"):
                live = None  # an unreadable live copy is as good as missing
        stale = backups.sms_db_stale(live, zipped)
        restore = None
        if stale:
            restore = {
                "zip": zips["newest"]["name"],
                "zip_path": zips["newest"]["path"],
                "member": zipped["member"],
                "sha256": zipped["sha256"],
                "mtime": zipped["mtime"],
                "live": {"sha256": live["sha256"], "mtime": live["mtime"]} if live else None,
            }
            for key in [k for k in plan if k.split("/")[-1].startswith("sms.db")]:
                plan.pop(key)  # the stale copy and its companions are not carried over

        copied, total = [], len(plan)
        for done, (_key, (machine, reader, path, entry)) in enumerate(sorted(plan.items())):
            ctx.check_cancel()
            ctx.progress(done=done, total=total, label=path.rsplit("/", 1)[-1])
            dest = join(dest_dir, entry.relpath)
            copied.append(self._copy(ctx, machine, reader, path, writer, dest))
        ctx.progress(done=total, total=total, label="")
        items += [c["item"] for c in copied]

        restored = None
        if restore:
            approved = step.is_approved and self._approved_zip(step) == restore["sha256"]
            if approved:
                restored = self._restore(ctx, source, writer, dest_dir, restore)
                items.append(restored["item"])
            else:
                state = "absent" if restore["live"] is None else f"du {restore['live']['mtime']}"
                items.append(
                    {
                        "label": "Sms.db",
                        "status": "fail",
                        "code": "sms_db_stale",
                        "detail": f"copie de {sms_machine.hostname} {state}, plus ancienne que "
                        f"celle de {restore['zip']} ({restore['mtime']}) : restauration depuis "
                        "le zip à faire approuver par un superviseur, puis relancer",
                    }
                )
        elif "sms.db" not in plan:
            items.append({"label": "Sms.db", "status": "warn",
                          "detail": f"absent de {sms_machine.hostname} et d'aucun zip"})  # fmt: skip

        manifest = [c["entry"] for c in copied] + ([restored["entry"]] if restored else [])
        document = {
            "target": ctx.target.hostname,
            "path": dest_dir,
            "taken_at": timezone.now().isoformat(),
            "files": manifest,
            "sms_restore": restore,
            "manifest_sha256": sha256(as_json(manifest)),
        }
        evidence = ctx.evidence("services-copie.json", as_json(document), "services_copy_manifest")
        refs = [evidence_ref(evidence)]
        sms_entries = [e for e in manifest if e["name"].lower().startswith("sms.db")]
        ctx.audit(
            "data.services.copy",
            AuditCategory.DATA,
            data={
                "files": len(manifest),
                "manifest_sha256": document["manifest_sha256"],
                "evidence": refs,
            },  # fmt: skip
        )
        if sms_entries:
            ctx.audit(
                "sms.restore" if restored else "sms.copy",
                AuditCategory.SMS,
                reason=step.approval_reason if restored else "",
                data={
                    "sms_host": sms_machine.hostname,
                    "files": sms_entries,
                    "restore": restore if restored else None,
                    "approved_by": step.approved_by.get_username()
                    if restored and step.approved_by
                    else None,
                    "evidence": refs,
                },
            )
        outcome = Outcome.from_items(
            items,
            "",
            {"evidence": evidence_ref(evidence), "sms_restore": restore if not restored else None},
        )
        outcome.summary = (
            f"{len(copied)} fichier(s) copié(s) ou déjà à jour vers {ctx.target.hostname}"
            + (" ; Sms.db restauré depuis " + restore["zip"] if restored else "")
            + (
                " ; Sms.db à restaurer depuis le zip (approbation requise)"
                if restore and not restored
                else ""
            )
            + "."
        )
        return outcome

    def _copy(self, ctx, machine, reader, path, writer, dest) -> dict:
        before = reader.stat(path)
        content = reader.read_bytes(path)
        after = reader.stat(path)
        digest = sha256(content)
        name = path.rsplit("/", 1)[-1]
        entry = {"name": name, "host": machine.hostname, "source": path, "target": dest,
                 "size": len(content), "sha256": digest}  # fmt: skip
        if (before.size, before.mtime) != (after.size, after.mtime) or len(content) != after.size:
            entry["error"] = "modifié pendant la copie"
            return {"entry": entry, "item": {"label": f"{machine.hostname} : {name}",
                    "status": "fail", "detail": "modifié pendant la copie : arrêtez les services "
                    "Julie de ce poste et relancez"}}  # fmt: skip
        current = resolve(writer.reader, dest)
        if current and not writer.reader.is_dir(current):
            unchanged = sha256(writer.reader.read_bytes(current)) == digest
        else:
            unchanged = False
        if not unchanged:
            writer.write_file(dest, content, mtime=after.mtime)
        self._drop_stale_companions(reader, path, writer, dest)
        written = writer.reader.read_bytes(resolve(writer.reader, dest))
        status, detail = (
            "ok",
            ("déjà à jour" if unchanged else "copié") + f", sha256 {digest[:12]}…",
        )
        if sha256(written) != digest:
            status, detail = "fail", "empreinte différente après copie"
        elif name.lower().endswith(".db"):
            with writer.reader.open_local_copy(resolve(writer.reader, dest)) as local:
                check = services_db.check_sqlite(local)
            entry["integrity"] = (
                check["integrity"] if check["ok"] else (check["error"] or check["integrity"])
            )
            if not check["ok"]:
                status, detail = "fail", f"base illisible après copie : {entry['integrity']}"
            else:
                detail += " ; intégrité ok"
        ctx.log.info(
            f"{machine.hostname} : {name} → {windows_path(dest, ctx.target.hostname)} : {detail}"
        )
        entry["unchanged"] = unchanged
        return {
            "entry": entry,
            "item": {"label": f"{machine.hostname} : {name}", "status": status, "detail": detail},
        }

    @staticmethod
    def _drop_stale_companions(reader, path, writer, dest) -> None:
        """A -wal/-journal left on the target from an earlier copy would be replayed into the
        new database: remove those the source does not have."""
        if not path.lower().endswith(".db"):
            return
        for suffix in ("-wal", "-journal", "-shm"):
            if resolve(reader, path + suffix) is None:
                writer.remove_file(dest + suffix)

    def _restore(self, ctx, source, writer, dest_dir, restore) -> dict:
        with source.open_local_copy(restore["zip_path"]) as local, zipfile.ZipFile(local) as z:
            content = z.read(restore["member"])
        digest = sha256(content)
        if digest != restore["sha256"]:
            raise StepError(f"Le zip {restore['zip']} a changé depuis l'approbation : relancez.")
        dest = join(dest_dir, "Sms.db")
        writer.write_file(dest, content)
        for suffix in ("-wal", "-journal", "-shm"):
            writer.remove_file(dest + suffix)
        written = resolve(writer.reader, dest)
        with writer.reader.open_local_copy(written) as local:
            check = services_db.check_sqlite(local)
        ok = check["ok"] and sha256(writer.reader.read_bytes(written)) == digest
        entry = {"name": "Sms.db", "host": "JulieServicesDb", "source": f"{restore['zip_path']}:{restore['member']}",
                 "target": dest, "size": len(content), "sha256": digest, "integrity": check["integrity"]}  # fmt: skip
        detail = f"restauré depuis {restore['zip']}, sha256 {digest[:12]}… ; intégrité " + (
            "ok" if ok else "EN ÉCHEC"
        )
        ctx.log.info(f"Sms.db : {detail}")
        return {
            "entry": entry,
            "item": {"label": "Sms.db", "status": "ok" if ok else "fail", "detail": detail},
        }


@register
class DataTeletransmission(Step):
    key = "data.teletransmission"
    phase = 3
    kind = "auto"
    title = "Copier Internet.par"
    instructions = "Copier Juliew\\Pyxvital\\Internet.par au même endroit sur le nouveau serveur."
    criteria = "Empreintes égales."
    depends_on = ("source.extras",)

    def run(self, ctx):
        return copy_extra(ctx, "internet_par")


@register
class DataWindowLayout(Step):
    key = "data.window_layout"
    phase = 3
    kind = "auto"
    title = "Copier Julieprf.ini"
    instructions = "Copier C:\\Windows\\Julieprf.ini (placement et taille des fenêtres de Julie)."
    criteria = "Empreintes égales."
    depends_on = ("source.extras",)

    def run(self, ctx):
        return copy_extra(ctx, "julieprf_ini")


def copy_extra(ctx, key: str) -> Outcome:
    """Copy one of the extras (Internet.par, Julieprf.ini) to the same place on the target;
    its content is not kept as evidence (Internet.par holds the mailbox credentials), only its
    hash."""
    source = tree_for(ctx.source)
    roots = layout.find_julie_roots(source)
    if not roots:
        raise StepError(f"Aucun dossier Juliew sur {ctx.source.hostname}.")
    _key, label, src_path = next(e for e in extras_paths(roots[0]) if e[0] == key)
    info = file_info(source, src_path)
    if not info["present"]:
        return Outcome(
            "warning",
            f"{label} absent de l'ancien serveur : rien à copier.",
            [{"label": label, "status": "warn", "detail": f"{windows_path(src_path)} absent"}],
        )
    writer = target_writer(ctx.job)
    if key == "internet_par":
        t_roots = layout.find_julie_roots(writer.reader)
        if not t_roots:
            raise StepError(
                f"Aucun dossier Juliew sur {ctx.target.hostname} : lancez d'abord la copie miroir."
            )
        dest = join(t_roots[0], info["path"][len(roots[0]) :].strip("/"))
    else:
        dest = info["path"]
    content = source.read_bytes(info["path"])
    current = file_info(writer.reader, dest)
    unchanged = current["present"] and current["sha256"] == info["sha256"]
    if not unchanged:
        dest = writer.write_file(dest, content, mtime=source.stat(info["path"]).mtime)
    after = file_info(writer.reader, dest)
    if after["sha256"] != info["sha256"]:
        raise StepError(f"{label} : empreinte différente après copie.")
    manifest = {
        "source": {"machine": ctx.source.hostname, **info},
        "target": {"machine": ctx.target.hostname, **after},
        "previous_target_sha256": current["sha256"],
        "copied": not unchanged,
    }
    evidence = ctx.evidence(f"{label}.json", as_json(manifest), "copy_manifest")
    if not unchanged:
        ctx.audit(
            f"data.{key}.copy",
            AuditCategory.DATA,
            data={**manifest, "evidence": [evidence_ref(evidence)]},
        )
    detail = ("déjà identique" if unchanged else "copié") + f", sha256 {info['sha256'][:12]}…"
    ctx.log.info(f"{label} : {windows_path(dest)} {detail}")
    return Outcome(
        "passed",
        f"{label} {'déjà identique' if unchanged else 'copié'} sur {ctx.target.hostname} "
        "(empreintes égales).",
        [{"label": label, "status": "ok", "detail": detail}],
        {"evidence": evidence_ref(evidence), "sha256": info["sha256"]},
    )


def _decision_executed(ctx, action: str, decision: dict, data: dict) -> None:
    """Mark the approved pxdatas decision as carried out by this run (it is applied once) and
    record it with who approved it and why."""
    job, step = ctx.job, ctx.step
    job.options[fse.DECISION_KEY] = {
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
