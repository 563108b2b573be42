"""Phase 5 — after installation.

Its order (STEPS.md: phase 5 comes « after installation »; the procedure: « Une fois
l'installation terminée, … configurer dans cet ordre : le(s) lecteur(s) de carte, lire la/les
CPS, et configurer la boîte de télétransmission »): every step of the phase waits for the end of
phase 4 (`install.clients`, the last installation step); `post.readers` → `post.cps` →
`post.teletransmission`; the sign-off waits for every other step of the catalogue (each passed,
ticked, or skipped with its reason)."""

from migrations_app.steps.registry import ORDER, Step, register


@register
class PostCps(Step):
    key = "post.cps"
    phase = 5
    kind = "manual"
    title = "Lire la CPS de chaque cabinet"
    instructions = (
        "Pour chaque cabinet : Utilitaires / Fiche Cabinet / « Lecture Carte », puis Enregistrer. "
        "Le N° PS se remplit."
    )
    criteria = "N° PS relevé pour chaque cabinet."
    depends_on = ("post.readers",)


@register
class PostTeletransmission(Step):
    key = "post.teletransmission"
    phase = 5
    kind = "manual"
    title = "Configurer la télétransmission"
    instructions = (
        "Pour chaque cabinet, module Télétransmission : boîte aux lettres dédiée (BAL = adresse "
        "complète), paramètres du fournisseur ; RSS et NetMedicom demandent leur kit ou un VPN "
        "FortiClient. Tester avec « Mise en forme et Connexion » en cochant les trois cases "
        "(signer, mettre en lots, envoyer)."
    )
    criteria = "Résultat du test noté."
    depends_on = ("post.cps",)


@register
class PostServices(Step):
    key = "post.services"
    phase = 5
    kind = "manual"
    title = "Réinstaller les services associés"
    instructions = (
        "Réinstaller Backup, RDV, Tab, View demande que le service client mette à jour le jeton du "
        "serveur : noter l'appel ou le ticket. Le SMS ne demande rien de plus quand Sms.db a été "
        "repris."
    )
    criteria = "Référence du ticket."
    depends_on = ("install.clients",)


@register
class PostClientsRepoint(Step):
    key = "post.clients_repoint"
    phase = 5
    kind = "auto"
    title = "Postes clients pointés sur le nouveau serveur"
    instructions = (
        "Chaque poste client pointe sur le nouveau serveur (lecteur réseau ou UNC) ; l'ancien "
        "serveur n'est plus référencé. Lu dans la session de l'utilisateur du cabinet par "
        "l'agent du poste (jamais par WinRM) ; sans rapport de cette session : à vérifier."
    )
    criteria = "Chemin par poste client."
    depends_on = ("install.clients",)

    def run(self, ctx):
        from migrations_app.steps.installation import point_clients

        return point_clients(ctx, old_server=ctx.source.hostname)


@register
class PostSignoff(Step):
    key = "post.signoff"
    phase = 5
    kind = "manual"
    title = "Rapport final au cabinet"
    instructions = (
        "Remettre le rapport final au cabinet ; lister les incidents ouverts. Se fait une fois "
        "toutes les autres étapes réussies, cochées ou passées avec un motif."
    )
    criteria = "Rapport produit."
    depends_on = tuple(key for key in ORDER if key != "post.signoff")
