"""`data.services`: the services databases (Sms.db and the others) from each services host to
the new server, with their integrity checked on arrival and a restore from the newest
JulieServicesDb zip when Sms.db is missing or stale."""

import zipfile

from django.utils import timezone

from julieops.julietree import backups, services_db
from julieops.julietree.reader import join, resolve, windows_path
from julieops.julietree.server_register import SMS_SERVICE
from migrations_app.choices import AuditCategory
from migrations_app.execution.machines import target_writer, tree_for
from migrations_app.steps.common import (
    as_json,
    evidence_ref,
    host_machine,
    missing_hosts_message,
    read_register,
    sha256,
    source_datas,
)
from migrations_app.steps.cutover import require_frozen
from migrations_app.steps.registry import Outcome, Step, StepError, register


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
        "ancien que le dernier zip de JulieServicesDb, le restaurer depuis ce zip. Refusé avant "
        "« Geler l'ancien serveur » : une copie prise plus tôt manque les rappels envoyés depuis, "
        "et le gel arrête les services Julie de chaque hôte pendant la copie."
    )
    criteria = "Fichiers égaux à la source, intégrité vérifiée, fraîcheur relevée."
    depends_on = ("cutover.freeze", "data.mirror", "source.services_data")

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

    @classmethod
    def approval_requester(cls, jobstep) -> str | None:
        # The restore is asked for by whoever ran the step that proposed it.
        run = jobstep.runs.exclude(requested_by=None).order_by("-pk").first()
        return run.requested_by.get_username() if run else None

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
        # A copy taken before the freeze misses the reminders sent since: duplicate SMS.
        require_frozen(ctx, "La copie des données des services")
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
            # Audited before the write (log line written at once): a worker killed right
            # after it leaves the write in the trail, though its retry finds it unchanged.
            ctx.audit(
                "data.services.write",
                AuditCategory.DATA,
                data={**entry, "replaces": bool(current)},
            )
            ctx.log.info(
                f"{machine.hostname} : écriture de {name} sur la cible (sha256 {digest[:12]}…)"
            )
            ctx.log.flush()
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
