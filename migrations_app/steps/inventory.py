"""Phase 1 — inventory of the old server (nothing is changed)."""

from .registry import Step, register


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
