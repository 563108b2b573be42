"""Phase 1 — inventory of the old server (nothing is changed)."""

from julieops.julietree import layout
from julieops.julietree.reader import windows_path

from ..machines import tree_for
from .registry import Outcome, Step, StepError, register


def _size(n: int) -> str:
    for unit in ("o", "Ko", "Mo", "Go"):
        if n < 1024 or unit == "Go":
            return f"{n:.0f} {unit}" if unit == "o" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


@register
class SourceLocate(Step):
    key = "source.locate"
    phase = 1
    kind = "check"
    title = "Localiser les données Julie"
    instructions = (
        "Trouver le dossier Datas (données principales Btrieve) et les racines d'imagerie qui "
        "contiennent XRAY et IMAGE. Par défaut C:\\Juliew, souvent C:\\partage\\Juliew ; "
        "l'imagerie peut être ailleurs (l'écran « à propos » de Julie montre les deux). "
        "Le technicien peut corriger les chemins trouvés."
    )
    criteria = (
        "Chemins enregistrés ; taille et nombre de fichiers de ARCH, Datas, DOCPATIENT, fscan, "
        "IMAGE, XRAY, XRAY3D."
    )

    def run(self, ctx):
        tree = tree_for(ctx.source)
        ctx.log.info(f"Recherche de Juliew sur {ctx.source.hostname} ({tree.location})")
        roots = layout.find_julie_roots(tree)
        if not roots:
            raise StepError(
                f"Aucun dossier Juliew contenant Datas sur {ctx.source.hostname}. "
                "Indiquez le chemin relevé dans l'écran « à propos » de Julie."
            )
        julie_root = roots[0]
        if len(roots) > 1:
            ctx.log.warning(
                f"Plusieurs dossiers Juliew trouvés : {', '.join(roots)} ; retenu : {julie_root}"
            )
        imaging = layout.find_imaging_roots(tree, julie_root)
        shown = ", ".join(windows_path(p) for p in imaging) or "—"
        ctx.log.info(f"Données : {windows_path(julie_root)} ; imagerie : {shown}")
        items = []
        located = layout.locate_folders(tree, julie_root, imaging)
        folders = layout.ALL_FOLDERS
        for done, name in enumerate(folders, start=1):
            ctx.check_cancel()
            ctx.progress(done=done - 1, total=len(folders), label=name)
            stats = layout.folder_stats(tree, located[name])
            status = "ok" if stats["exists"] else ("fail" if name == "Datas" else "warn")
            detail = (
                f"{stats['files']} fichiers, {_size(stats['size'])}"
                if stats["exists"]
                else "absent"
            )
            ctx.log.info(f"{name} : {detail}")
            items.append({"label": name, "status": status, "detail": detail, **stats})
        ctx.progress(done=len(folders), total=len(folders), label="")
        paths = {"julie_root": julie_root, "imaging_roots": imaging}
        job = ctx.job
        job.discovered_paths = {**job.discovered_paths, **paths}
        job.save(update_fields=["discovered_paths", "updated_at"])
        total = sum(item.get("size", 0) for item in items)
        return Outcome.from_items(
            items,
            f"Données trouvées dans {windows_path(julie_root)} ; {_size(total)} au total.",
            {"paths": paths},
        )


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
