"""Phase 1 — inventory of the old server (nothing is changed)."""

from django.utils import timezone

from julieops.julietree import layout, pxdatas
from julieops.julietree.inspect import inspect_tree
from julieops.julietree.reader import find_child, join, windows_path
from julieops.julietree.server_register import (
    SMS_SERVICE,
    same_host,
)
from migrations_app.choices import AuditCategory
from migrations_app.execution.machines import drive_trees, tree_for
from migrations_app.steps.common import (
    as_json,
    evidence_ref,
    extras_paths,
    file_info,
    host_machine,
    manifest_document,
    missing_hosts_message,
    pyxvital_candidates,
    read_register,
    source_datas,
)
from migrations_app.steps.registry import Outcome, Step, StepError, register


def _size(n: int) -> str:
    for unit in ("o", "Ko", "Mo", "Go"):
        if n < 1024 or unit == "Go":
            return f"{n:.0f} {unit}" if unit == "o" else f"{n:.1f} {unit}".replace(".", ",")
        n /= 1024
    return str(n)


# Folders whose absence a person must confirm before the copy (a practice without radios is
# possible; imaging left behind on another disk is the usual mistake).
CONFIRM_IF_MISSING = ("DOCPATIENT", "IMAGE", "XRAY")
SPACES_INSTRUCTION = (
    "Le chemin des données ne doit pas contenir d'espaces (procédure Julie, partage), et la "
    "copie miroir reproduit le chemin à l'identique sur le nouveau serveur : elle est refusée "
    "tant que ce chemin a des espaces. Sur l'ancien serveur, Julie fermé sur tous les postes, "
    "renommer ou déplacer le dossier vers un chemin sans espace (par exemple "
    "C:\\partage\\Juliew) ; corriger les chemins si la recherche ne le trouve pas, et relancer "
    "cette recherche. Sur le nouveau serveur, « Emplacement des fichiers » pointera sur ce chemin."
)


@register
class SourceLocate(Step):
    """Drives searched: every fixed drive of the old server (WinRM: Win32_LogicalDisk, type
    3). On a local or SSH machine (the demo, a stand-in), the folder standing for C: is named
    `C` and the other drives are its sibling folders named with one letter (`D`, `E`…), see
    `machines.drive_trees`. The search goes `layout.MAX_DEPTH` folders deep."""

    key = "source.locate"
    phase = 1
    kind = "check"
    title = "Localiser les données Julie"
    instructions = (
        "Trouver le dossier Datas (données principales Btrieve) et les racines d'imagerie qui "
        "contiennent XRAY et IMAGE. Par défaut C:\\Juliew, souvent C:\\partage\\Juliew ; "
        "l'imagerie peut être ailleurs (l'écran « à propos » de Julie montre les deux). "
        "Tous les disques fixes sont parcourus (4 niveaux de dossiers, hors Windows, Program "
        "Files, ProgramData et Users) ; pour un poste de démonstration, les disques sont les "
        "dossiers D, E… voisins du dossier C. Un chemin avec des espaces est refusé. "
        "Le technicien peut corriger les chemins trouvés (tracé dans l'historique). "
        "L'absence de XRAY, IMAGE ou DOCPATIENT doit être confirmée par une personne avant la "
        "copie."
    )
    criteria = (
        "Chemins enregistrés ; taille et nombre de fichiers de ARCH, Datas, DOCPATIENT, fscan, "
        "IMAGE, XRAY, XRAY3D ; absences confirmées."
    )

    def run(self, ctx):
        job = ctx.job
        drives = drive_trees(ctx.source)
        ctx.log.info(
            f"Recherche de Julie sur {ctx.source.hostname} : "
            + ", ".join(f"{d} ({t.location})" for d, t in drives)
        )
        trees = dict(drives)
        override = (job.discovered_paths or {}).get("override") or {}
        found = []  # (mtime, drive, relpath)
        for drive, tree in drives:
            ctx.check_cancel()
            found += [(m, drive, path) for m, path in layout.scan_julie_roots(tree)]
        found.sort(key=lambda r: -r[0])
        if override.get("julie_root"):
            chosen = layout.parse_drive_path(override["julie_root"])
            if chosen is None or chosen[0] not in trees:
                raise StepError(
                    f"Chemin corrigé « {override['julie_root']} » : lecteur absent de "
                    f"{ctx.source.hostname}."
                )
            if not find_child(trees[chosen[0]], chosen[1], "Datas"):
                raise StepError(
                    f"Chemin corrigé « {override['julie_root']} » : aucun dossier Datas dedans."
                )
            ctx.log.info(f"Chemin corrigé par {override.get('by')} : {override['julie_root']}")
        elif found:
            chosen = (found[0][1], found[0][2])
        else:
            raise StepError(
                f"Aucune installation Julie (dossier Datas) sur les disques de "
                f"{ctx.source.hostname} ({', '.join(trees)}). Indiquez le chemin relevé dans "
                "l'écran « à propos » de Julie."
            )
        drive, julie_root = chosen
        tree = trees[drive]
        shown_all = [layout.drive_path(d, p) for _m, d, p in found]
        if len(found) > 1:
            ctx.log.warning(
                f"Plusieurs installations Julie : {', '.join(shown_all)} ; retenue : "
                f"{layout.drive_path(drive, julie_root)}"
            )
        imaging = self._imaging(drives, drive, julie_root, override)
        shown = ", ".join(layout.drive_path(d, p) for d, p in imaging) or "—"
        ctx.log.info(f"Données : {layout.drive_path(drive, julie_root)} ; imagerie : {shown}")
        located = layout.locate_folders(tree, julie_root, [p for d, p in imaging if d == drive])
        where = {name: (drive, path) for name, path in located.items() if path is not None}
        for other, other_tree in drives:
            roots = [p for d, p in imaging if d == other and other != drive]
            if roots:
                for name, path in layout.locate_folders(other_tree, None, roots).items():
                    if path is not None and name not in where:
                        where[name] = (other, path)
        confirmed = (job.discovered_paths or {}).get("confirmed_absent") or {}
        items = self._spaces_items(drive, julie_root)
        folders = layout.ALL_FOLDERS
        for done, name in enumerate(folders, start=1):
            ctx.check_cancel()
            ctx.progress(done=done - 1, total=len(folders), label=name)
            on, path = where.get(name, (drive, None))
            stats = layout.folder_stats(trees[on], path)
            line = {"label": name, **stats, "drive": on}
            if stats["exists"]:
                line["windows_path"] = layout.drive_path(on, path)
                line |= {
                    "status": "ok",
                    "detail": f"{stats['files']} fichiers, {_size(stats['size'])}",
                }
                if on != drive:
                    line["detail"] += f" ({line['windows_path']})"
            elif name == "Datas":
                line |= {"status": "fail", "detail": "absent"}
            elif name in CONFIRM_IF_MISSING and name in confirmed:
                who = confirmed[name]
                line |= {
                    "status": "ok",
                    "code": "folder_absence_confirmed",
                    "detail": f"absent, absence confirmée par {who.get('by')} le "
                    f"{who.get('at', '')[:10]} : {who.get('reason')}",
                }
            elif name in CONFIRM_IF_MISSING:
                line |= {
                    "status": "fail",
                    "code": "folder_missing_unconfirmed",
                    "detail": "absent sur tous les disques : vérifier l'écran « à propos » de "
                    "Julie (imagerie sur un autre disque ?) puis corriger les chemins, ou "
                    "confirmer l'absence avant la copie",
                }
            else:
                line |= {"status": "warn", "detail": "absent"}
            ctx.log.info(f"{name} : {line['detail']}")
            items.append(line)
        ctx.progress(done=len(folders), total=len(folders), label="")
        for d, p in imaging:
            if d != drive:
                items.append(
                    {
                        "label": f"Imagerie sur {d}",
                        "status": "warn",
                        "code": "imaging_on_other_drive",
                        "detail": f"{layout.drive_path(d, p)} : racine d'imagerie sur un autre "
                        f"disque ; la copie miroir la copie au même endroit du nouveau serveur, "
                        f"qui doit avoir un lecteur {d}",
                    }
                )
        paths = {
            "julie_root": julie_root,
            "julie_drive": drive,
            "julie_root_windows": layout.drive_path(drive, julie_root),
            # Roots on the Julie root's drive, '/'-separated (what the copy reads).
            "imaging_roots": [p for d, p in imaging if d == drive],
            "imaging_locations": [
                {"drive": d, "path": p, "windows": layout.drive_path(d, p)} for d, p in imaging
            ],
            "installations": shown_all,
            "datas_path_has_spaces": layout.has_spaces(julie_root),
        }
        job.discovered_paths = {**job.discovered_paths, **paths}
        job.save(update_fields=["discovered_paths", "updated_at"])
        total = sum(item.get("size", 0) for item in items)
        summary = f"Données trouvées dans {layout.drive_path(drive, julie_root)} ; {_size(total)} au total."
        unconfirmed = [i["label"] for i in items if i.get("code") == "folder_missing_unconfirmed"]
        if paths["datas_path_has_spaces"]:
            summary += " Chemin avec espaces : refusé."
        if unconfirmed:
            summary += f" Absent(s) à confirmer avant la copie : {', '.join(unconfirmed)}."
        return Outcome.from_items(items, summary, {"paths": paths})

    @staticmethod
    def _imaging(drives, drive, julie_root, override) -> list[tuple[str, str]]:
        """(drive, folder) of every folder holding XRAY or IMAGE(S): the Julie root's drive
        first, then the other drives; the technician's correction replaces them."""
        if override.get("imaging_roots"):
            return [p for p in map(layout.parse_drive_path, override["imaging_roots"]) if p]
        found = []
        for d, tree in drives:
            for path in layout.find_imaging_roots(tree, julie_root if d == drive else None):
                found.append((d, path))
        return found

    @staticmethod
    def _spaces_items(drive, julie_root) -> list[dict]:
        if not layout.has_spaces(julie_root):
            return []
        return [
            {
                "label": "Chemin des données",
                "status": "fail",
                "code": "datas_path_has_spaces",
                "detail": f"{layout.drive_path(drive, julie_root)} contient des espaces. "
                + SPACES_INSTRUCTION,
            }
        ]


@register
class SourceServerRegister(Step):
    key = "source.server_register"
    phase = 1
    kind = "check"
    title = "Lire server.register"
    instructions = (
        "Lire Datas\\server.register (lignes « NOM URL » : SMARTCONTACT http://hôte:8097, "
        "JULIEONSITE http://hôte:8095, JULIEONLINESERVICE net.tcp://hôte:9001). Il indique le "
        "poste qui héberge les services. JULIEONLINESERVICE (SMS) peut être sur un poste "
        "secondaire : ce poste doit alors être ajouté à la migration pour récupérer sa base SMS."
    )
    criteria = "Services et hôtes relevés ; avertissement si l'hôte SMS n'est pas l'ancien serveur."
    depends_on = ("source.locate",)

    def run(self, ctx):
        job = ctx.job
        tree = tree_for(ctx.source)
        datas = source_datas(tree, ctx.source.hostname)
        path, raw, register = read_register(tree, datas)
        if register is None:
            ctx.log.warning(f"{windows_path(join(datas, 'server.register'))} absent")
            return Outcome(
                "warning",
                "server.register absent : vérifier sur chaque poste lequel héberge les services "
                "(SMS, RDV…).",
                [
                    {
                        "label": "server.register",
                        "status": "warn",
                        "code": "server_register_missing",
                        "detail": f"absent de {windows_path(datas)}",
                    }
                ],
            )
        evidence = ctx.evidence("server.register", raw, "server_register")
        ctx.log.info(f"server.register lu ({len(raw)} octets), copie conservée comme preuve")
        items, missing, services = [], [], {}
        for name, endpoint in sorted(register.services.items()):
            machine = host_machine(job, endpoint.host)
            services[name] = {"host": endpoint.host, "machine": machine.pk if machine else None}
            if machine is None:
                status, detail = "fail", f"{endpoint.host} : absent de la migration"
                missing.append(endpoint.host)
                code = "sms_host_not_in_job" if name == SMS_SERVICE else "services_host_not_in_job"
            elif name == SMS_SERVICE and machine.pk != job.source.pk:
                status, code = "warn", "sms_on_secondary_host"
                detail = (
                    f"SMS sur le poste secondaire {machine.hostname} : sa base Sms.db sera "
                    "récupérée sur ce poste"
                )
            else:
                status, code, detail = "ok", None, f"{endpoint.url} → {machine.hostname}"
            ctx.log.info(f"{name} : {detail}")
            items.append({"label": name, "status": status, "code": code, "detail": detail})
        for line in register.unparsed:
            items.append({"label": "ligne illisible", "status": "warn", "detail": line[:200]})
        sms_host = register.host_of(SMS_SERVICE)
        job.discovered_paths = {
            **job.discovered_paths,
            "datas": datas,
            "services": {k: v["host"] for k, v in services.items()},
            "sms_host": sms_host,
        }
        job.save(update_fields=["discovered_paths", "updated_at"])
        missing = sorted(set(missing), key=str.casefold)
        summary = (
            missing_hosts_message(missing)
            if missing
            else f"{len(services)} service(s) relevé(s) ; SMS sur {sms_host or '—'}."
        )
        return Outcome.from_items(
            items,
            summary,
            {
                "register": register.as_dict(),
                "missing_hosts": missing,
                "evidence": evidence_ref(evidence),
            },
        )


@register
class SourceServicesData(Step):
    key = "source.services_data"
    phase = 1
    kind = "check"
    title = "Relever les données des services"
    instructions = (
        "Sur chaque poste hébergeant des services : lister C:\\ProgramData\\Julie Software\\datas "
        "(smartcontact.db, messenger.db, Sms.db, JulieRdv.db, MyJulie.db, "
        "ListDynamikActuLocal.json) et le .zip le plus récent de Datas\\JulieServicesDb "
        "(Julie y sauvegarde ce dossier toutes les quatre heures)."
    )
    criteria = "Liste des fichiers avec taille, date et empreinte ; âge du zip le plus récent."
    depends_on = ("source.server_register",)

    # Problem codes of the inspection this step reports, with their verdict.
    PROBLEMS = {
        "sms_host_not_provided": "fail",
        "services_host_not_provided": "fail",
        "services_data_missing": "warn",
        "services_db_corrupt": "fail",
        "sms_db_stale": "warn",
        "sms_on_secondary_host": "ok",
        "server_register_missing": "warn",
    }

    def run(self, ctx):
        job = ctx.job
        tree = tree_for(ctx.source)
        datas = source_datas(tree, ctx.source.hostname)
        _path, _raw, register = read_register(tree, datas)
        hosts, missing = {}, []
        for endpoint in register.services.values() if register else []:
            machine = host_machine(job, endpoint.host)
            if machine is None:
                missing.append(endpoint.host)
            elif machine.pk != job.source.pk:
                hosts[endpoint.host] = tree_for(machine)
        ctx.check_cancel()
        ctx.progress(done=0, total=1, label="inspection")
        report = inspect_tree(tree, hosts, name=ctx.source.hostname)
        ctx.progress(done=1, total=1, label="")
        items = []
        for host, info in report["services_hosts"].items():
            for f in info["files"]:
                ok = f.get("ok", True)
                detail = f"{_size(f['size'])}, modifié {f['mtime']}, sha256 {f['sha256'][:12]}…"
                if f["kind"] == "sqlite":
                    detail += " ; intégrité ok" if ok else f" ; ILLISIBLE ({f.get('error') or ''})"
                items.append(
                    {
                        "label": f"{host} : {f['relpath']}",
                        "status": "ok" if ok else "fail",
                        "detail": detail,
                    }
                )
            is_sms = same_host(host, report["sms_host"] or ctx.source.hostname)
            is_main = same_host(host, ctx.source.hostname)
            for name in info["missing"]:
                # Sms.db is expected on the SMS host, the other files on the old server.
                if (is_sms if name == "Sms.db" else is_main) is False:
                    continue
                items.append({"label": f"{host} : {name}", "status": "warn", "detail": "absent"})
        newest = report["services_zips"]["newest"]
        if newest:
            items.append(
                {
                    "label": f"JulieServicesDb : {newest['name']}",
                    "status": "warn" if newest["error"] or newest["age_hours"] > 24 else "ok",
                    "detail": f"âge {newest['age_hours']} h ; {_size(newest['size'])}"
                    + (f" ; zip illisible : {newest['error']}" if newest["error"] else ""),
                }
            )
        else:
            items.append({"label": "JulieServicesDb", "status": "warn", "detail": "aucun zip"})
        for problem in report["problems"]:
            verdict = self.PROBLEMS.get(problem["code"])
            if verdict:
                items.append(
                    {
                        "label": problem["code"],
                        "status": verdict,
                        "code": problem["code"],
                        "detail": problem["message"],
                    }
                )
                ctx.log.write("info" if verdict == "ok" else "warning", problem["message"])
        document = {
            "machine": ctx.source.hostname,
            "taken_at": timezone.now().isoformat(),
            "services_hosts": report["services_hosts"],
            "services_zips": report["services_zips"],
            "sms_host": report["sms_host"],
        }
        evidence = ctx.evidence("services-manifest.json", as_json(document), "services_manifest")
        live = report["services_zips"].get("sms_db_live")
        ctx.audit(
            "sms.snapshot",
            AuditCategory.SMS,
            data={
                "evidence": [evidence_ref(evidence)],
                "sms_host": report["sms_host"],
                "sms_db": live,
                "sms_db_stale": report["services_zips"].get("sms_db_stale"),
                "zip": newest and {"name": newest["name"], "sms_db": newest["sms_db"]},
            },
        )
        codes = sorted(
            {p["code"] for p in report["problems"]}
            & {code for code, verdict in self.PROBLEMS.items() if verdict != "ok"}
        )
        files = sum(len(i["files"]) for i in report["services_hosts"].values())
        summary = f"{files} fichier(s) relevé(s) sur {len(report['services_hosts'])} poste(s)"
        if missing:
            summary = missing_hosts_message(sorted(set(missing), key=str.casefold))
        elif codes:
            summary += " ; à traiter : " + ", ".join(codes)
        return Outcome.from_items(
            items,
            summary + ".",
            {"problems": codes, "evidence": evidence_ref(evidence), "sms_db_live": live},
        )


@register
class SourcePxdatasSnapshot(Step):
    key = "source.pxdatas_snapshot"
    phase = 1
    kind = "check"
    title = "Photographier pxdatas (FSE en attente)"
    instructions = (
        "Relever le contenu de Datas\\pxdatas : les feuilles de soins électroniques (FSE) encore "
        "en attente d'envoi. Les fichiers disparaissent à la réception de l'ARL."
    )
    criteria = (
        "Manifeste (nom, taille, date, empreinte) conservé comme preuve ; événement d'audit FSE."
    )
    depends_on = ("source.locate",)

    def run(self, ctx):
        tree = tree_for(ctx.source)
        datas = source_datas(tree, ctx.source.hostname)
        px = pxdatas.pxdatas_path(tree, datas)
        ctx.check_cancel()
        manifest = pxdatas.manifest(tree, px) if px else []
        document = manifest_document(ctx.source.hostname, px, manifest, "snapshot")
        evidence = ctx.evidence("pxdatas-source.json", as_json(document), "pxdatas_manifest")
        ctx.audit(
            "fse.snapshot",
            AuditCategory.FSE,
            data={
                "machine": ctx.source.hostname,
                "path": windows_path(px) if px else None,
                "files": len(manifest),
                "bytes": document["bytes"],
                "manifest_sha256": document["manifest_sha256"],
                "evidence": [evidence_ref(evidence)],
            },
        )
        for entry in manifest:
            ctx.log.info(f"FSE en attente : {entry['path']} ({entry['size']} o)")
        if px is None:
            ctx.log.warning(f"Pas de dossier pxdatas dans {windows_path(datas)}")
        items = [
            {"label": e["path"], "status": "ok", "detail": f"{e['size']} o, {e['mtime']}"}
            for e in manifest[:500]
        ]
        if px is None:
            items.append({"label": "pxdatas", "status": "warn", "detail": "dossier absent"})
        return Outcome.from_items(
            items,
            f"{len(manifest)} FSE en attente photographiée(s) ({_size(document['bytes'])}).",
            {
                "manifest": manifest,
                "pxdatas_path": px,
                "manifest_sha256": document["manifest_sha256"],
                "evidence": evidence_ref(evidence),
            },
        )


@register
class SourceAssociatedServices(Step):
    key = "source.associated_services"
    phase = 1
    kind = "manual"
    title = "Services associés utilisés par le cabinet"
    instructions = (
        "Demander au cabinet quels services associés il utilise : Julie Backup, SMS, RDV, "
        "Webagenda, Tab, View, Messenger, Labconnect, Vidal, Meditel, Feedji. Noter la liste : "
        "elle conditionne les étapes suivantes."
    )
    criteria = "Liste cochée."


@register
class SourceExtras(Step):
    key = "source.extras"
    phase = 1
    kind = "check"
    title = "Fichiers annexes (Internet.par, Julieprf.ini)"
    instructions = (
        "Vérifier la présence de Juliew\\Pyxvital\\Internet.par (paramètres du fournisseur de "
        "télétransmission) et de C:\\Windows\\Julieprf.ini (placement des fenêtres)."
    )
    criteria = "Présence, taille et empreinte."
    depends_on = ("source.locate",)

    def run(self, ctx):
        drives = dict(drive_trees(ctx.source))
        tree = drives["C:"]
        roots = [("C:", r) for r in layout.find_julie_roots(tree)]
        candidates = pyxvital_candidates(ctx.job, roots)
        if not candidates:
            raise StepError(f"Aucun dossier Juliew sur {ctx.source.hostname}.")
        items, extras, copies = [], {}, []
        for drive, root in candidates:
            on = drives.get(drive)
            pyx = find_child(on, root, "Pyxvital") if on is not None else None
            info = file_info(on, join(pyx, "Internet.par")) if pyx else None
            if info and info["present"]:
                copies.append(
                    {**info, "drive": drive, "windows": layout.drive_path(drive, info["path"])}
                )
        for key, label, rel in extras_paths(candidates[0][1]):
            if key == "internet_par":
                continue
            info = file_info(tree, rel)
            extras[key] = info
            items.append(self._line(ctx, label, info, rel))
        if copies:
            first = copies[0]
            extras["internet_par"] = {k: first[k] for k in ("path", "present", "size", "sha256")}
            for copy in copies:
                items.insert(
                    len(items) - 1,
                    self._line(
                        ctx,
                        f"Internet.par ({copy['windows']})",
                        copy,
                        copy["path"],
                        copy["windows"],
                    ),
                )
            if len({c["sha256"] for c in copies}) > 1:
                items.append(
                    {
                        "label": "Internet.par",
                        "status": "warn",
                        "code": "internet_par_differ",
                        "detail": "plusieurs Internet.par différents : vérifier dans le module "
                        "Télétransmission lequel Julie utilise",
                    }
                )
        else:
            looked = ", ".join(layout.drive_path(d, join(r, "Pyxvital")) for d, r in candidates)
            extras["internet_par"] = {"path": None, "present": False, "size": None, "sha256": None}
            items.insert(
                0, {"label": "Internet.par", "status": "warn", "detail": f"absent de {looked}"}
            )
        extras["internet_par_all"] = copies
        present = sorted({i["label"].split(" (")[0] for i in items if i["status"] == "ok"})
        return Outcome.from_items(
            items, f"Présents : {', '.join(present) or 'aucun'}.", {"extras": extras}
        )

    @staticmethod
    def _line(ctx, label, info, rel, shown=None) -> dict:
        shown = shown or windows_path(info["path"] if info["present"] else rel)
        detail = (
            f"{shown} : {info['size']} o, sha256 {info['sha256'][:12]}…"
            if info["present"]
            else f"{shown} absent"
        )
        ctx.log.info(f"{label} : {detail}")
        return {"label": label, "status": "ok" if info["present"] else "warn", "detail": detail}
