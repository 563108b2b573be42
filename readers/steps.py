"""`post.readers`, the catalogue step this app adds to phase 5 (ReadersConfig.ready()
has the registry import it with the catalogue; its place in the phase comes from the catalogue's ORDER)."""

from migrations_app.steps.registry import Outcome, Step, register
from readers.evaluation import cabinets_of, evaluate_job


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
        "la carte Vitale et un avec la CPS (chaque cabinet peut avoir son lecteur CPS). "
        "GALSS installé avec un galss.ini vide : les lecteurs SESAM-Vitale restent à créer à la "
        "main (Utilitaires → SESAM-vitale → « Installer », puis « Réparer » GALSS). Le mode est "
        "déduit de ce qui est installé et configuré sur chaque poste ; un poste qui n'a envoyé "
        "aucun rapport de l'agent est en échec."
    )
    criteria = "Liste des lecteurs et type de carte ; erreurs COM>9, restes de GALSS, < 2 lecteurs."
    # « Une fois l'installation terminée » (the procedure): readers, then the CPS, then the
    # teletransmission; the installation ends with the client posts.
    depends_on = ("install.clients",)

    def run(self, ctx):
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
