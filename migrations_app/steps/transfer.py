"""Phase 3 — data transfer from the old server to the new one."""

from .registry import Step, register


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


@register
class DataTeletransmission(Step):
    key = "data.teletransmission"
    phase = 3
    kind = "auto"
    title = "Copier Internet.par"
    instructions = "Copier Juliew\\Pyxvital\\Internet.par au même endroit sur le nouveau serveur."
    criteria = "Empreintes égales."
    depends_on = ("source.extras",)


@register
class DataWindowLayout(Step):
    key = "data.window_layout"
    phase = 3
    kind = "auto"
    title = "Copier Julieprf.ini"
    instructions = "Copier C:\\Windows\\Julieprf.ini (placement et taille des fenêtres de Julie)."
    criteria = "Empreintes égales."
    depends_on = ("source.extras",)
