"""Phase 5 — after installation."""

from migrations_app.steps.registry import Outcome, Step, register


@register
class PostReaders(Step):
    key = "post.readers"
    phase = 5
    kind = "check"
    title = "Lecteurs de cartes"
    instructions = (
        "Lecteurs SESAM-Vitale (PSS) : passent par GALSS, un par port COM ; un lecteur sur un port "
        "COM supérieur à 9 n'est pas détecté. Lecteurs PC/SC : désinstaller GALSS et supprimer les "
        "fichiers C:\\Windows\\ga* restants ; ils sont monofente, il en faut au moins deux, un avec "
        "la carte Vitale et un avec la CPS (chaque cabinet peut avoir son lecteur CPS)."
    )
    criteria = "Liste des lecteurs et type de carte ; erreurs COM>9, restes de GALSS, < 2 lecteurs."

    def run(self, ctx):
        # readers depends on migrations_app, not the reverse: imported here, at run time.
        from readers.evaluation import cabinets_of, evaluate_job

        cabinets = cabinets_of(ctx.job.customer)
        ctx.log.info(
            f"Lecteurs : nouveau serveur et {len(ctx.clients)} poste(s) client ; "
            f"{len(cabinets)} cabinet(s)."
        )
        result = evaluate_job(ctx.job, cabinets, log=ctx.log, evidence=ctx.evidence)
        for item in result["items"]:
            if item["status"] != "ok":
                ctx.log.warning(f"{item['label']} : {item['detail']}")
        return Outcome.from_items(result["items"], result["summary"], result["data"])


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
    depends_on = ("install.verify",)


@register
class PostClientsRepoint(Step):
    key = "post.clients_repoint"
    phase = 5
    kind = "auto"
    title = "Postes clients pointés sur le nouveau serveur"
    instructions = (
        "Chaque poste client pointe sur le nouveau serveur (lecteur réseau ou UNC) ; l'ancien "
        "serveur n'est plus référencé."
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
    instructions = "Remettre le rapport final au cabinet ; lister les incidents ouverts."
    criteria = "Rapport produit."
