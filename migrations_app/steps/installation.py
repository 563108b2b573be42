"""Phase 4 — installation (guided)."""

from .registry import Step, register


@register
class InstallServer(Step):
    key = "install.server"
    phase = 4
    kind = "manual"
    title = "Installer Julie sur le serveur"
    instructions = (
        "Lancer l'installation depuis le CD livré avec la clé (il copie le fichier de licence dans "
        "Datas). « Emplacement des fichiers » doit pointer sur le dossier datas lui-même ; les "
        "emplacements des radios et images pointent sur le dossier qui contient XRAY / IMAGES. "
        "Serveur de clé « installé » uniquement sur le poste où la clé est branchée."
    )
    criteria = "Coché par le technicien avec une note ; puis vérification de l'installation."
    depends_on = ("data.mirror",)


@register
class InstallVerify(Step):
    key = "install.verify"
    phase = 4
    kind = "check"
    title = "Vérifier l'installation"
    instructions = (
        "Julie.exe présent ; chemin des données configuré ; serveur de clé (Servcle.exe) lancé et "
        "port 1947 à l'écoute sur le poste de la clé seulement."
    )
    criteria = "Tout est présent."
    depends_on = ("install.server",)


@register
class InstallClients(Step):
    key = "install.clients"
    phase = 4
    kind = "auto"
    title = "Installer les postes clients"
    instructions = (
        "Sur chaque poste client : connecter un lecteur réseau sur la racine du partage du serveur "
        "(le dossier qui contient Juliew, jamais Juliew ni datas), ou indiquer le chemin UNC "
        "(\\\\serveur\\c\\juliew\\datas) ; vérifier l'accès. L'installation peut redémarrer le "
        "poste (correctif Windows 10). Erreur 0xBD1 : contacter le service client."
    )
    criteria = "Chaque client atteint le chemin des données."
    depends_on = ("install.verify",)
