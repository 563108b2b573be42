"""Phase 2 — prerequisites of the new server and the network."""

from .registry import Step, register


@register
class TargetHardware(Step):
    key = "target.hardware"
    phase = 2
    kind = "check"
    title = "Matériel des postes"
    instructions = (
        "Pour chaque poste : processeur de classe i5 ou mieux, mémoire ≥ 4 Go, disque ≥ 500 Go, "
        "carte réseau 1 Gb/s, Windows 10 ou plus récent (32 ou 64 bits)."
    )
    criteria = "Tableau par poste, attention/échec par ligne."


@register
class TargetNetwork(Step):
    key = "target.network"
    phase = 2
    kind = "check"
    title = "Réseau : groupe de travail, NetBIOS, bureau à distance"
    instructions = (
        "Tous les postes dans le même groupe de travail ou domaine (la clé HASP est partagée par "
        "NetBIOS, qui doit être activé sur chaque carte réseau). Wi-Fi et CPL ralentissent Julie. "
        "Une session Bureau à distance active sur le poste de la clé bloque la détection de la "
        "clé HASP (TeamViewer et VNC ne gênent pas)."
    )
    criteria = "Valeurs par poste ; échec si une session Bureau à distance est active."


@register
class TargetShare(Step):
    key = "target.share"
    phase = 2
    kind = "auto"
    title = "Créer le partage C:\\partage"
    instructions = (
        "Créer C:\\partage sur le nouveau serveur, partagé en contrôle total (autorisations de "
        "partage et NTFS « Tout le monde »). Ne jamais partager seulement Datas. Le chemin des "
        "données ne doit pas contenir d'espaces. Les données sur un NAS sont proscrites."
    )
    criteria = "Partage présent avec les bons droits ; refus clair si espaces ou NAS."


@register
class TargetFirewall(Step):
    key = "target.firewall"
    phase = 2
    kind = "auto"
    title = "Règles du pare-feu"
    instructions = (
        "Règles entrantes : serveur de clé 1947, JulieWebServices 8097, JulieOnlineService (SMS) "
        "9001, JulieOnsite 8095, JulieLink 8099, JulieWebApp 8093, JulieWebAgenda 43310, "
        "JulieRDV 8091, JulieTab 8082 et 8765, JulieView 8080 ; autoriser Julie.exe en entrée "
        "et en sortie."
    )
    criteria = "Règles présentes."


@register
class TargetAntivirus(Step):
    key = "target.antivirus"
    phase = 2
    kind = "auto"
    title = "Exclusions de l'antivirus"
    instructions = (
        "Exclure de l'analyse : Juliew\\Julie.exe, Juliew\\w32mkde.exe (Btrieve), "
        "Juliew\\pyxvital\\pyxvital.exe, pyxrss.exe, pyxnet.exe, le dossier C:\\Juliew et le "
        "dossier C:\\partage\\Juliew\\pyxvital."
    )
    criteria = "Exclusions présentes."


@register
class TargetAdminRights(Step):
    key = "target.admin_rights"
    phase = 2
    kind = "check"
    title = "Droits administrateur, mode de compatibilité"
    instructions = (
        "Julie doit s'exécuter avec les droits d'administrateur (Btrieve) ; le mode de "
        "compatibilité doit rester désactivé pour Julie.exe."
    )
    criteria = "Indicateurs relevés ; correction proposée."
