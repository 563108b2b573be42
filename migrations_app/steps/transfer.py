"""Phase 3 — data transfer from the old server to the new one.

Every step reads the old server and the services hosts through read-only trees and writes
only to the new server through `target_writer` (temporary name + rename). Each change is
recorded as an audit event (category fse, sms or data) with its evidence (manifests with
SHA-256)."""

from julieops.julietree import layout
from julieops.julietree.reader import find_child, join, windows_path
from julieops.windows.verdict import item
from migrations_app.choices import AuditCategory
from migrations_app.execution.machines import target_writer, tree_for
from migrations_app.steps.common import (
    as_json,
    evidence_ref,
    extras_paths,
    file_info,
    read_register,
    sha256,
    source_datas,
    target_datas,
)
from migrations_app.steps.registry import Outcome, Step, StepError, register


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
    depends_on = ("cutover.freeze", "data.mirror")

    def run(self, ctx):
        # The source's copy is the evidence of what the services declared on the old hosts.
        source = tree_for(ctx.source)
        src_path, src_raw, _register = read_register(
            source, source_datas(source, ctx.source.hostname)
        )
        items, refs = [], []
        if src_raw is not None:
            kept = ctx.evidence("server.register (ancien serveur)", src_raw, "server_register")
            refs.append(evidence_ref(kept))
            items.append(
                item(
                    "server.register de l'ancien serveur",
                    "ok",
                    f"copie en preuve ({windows_path(src_path)})",
                )
            )
        else:
            items.append(item("server.register de l'ancien serveur", "ok", "absent de la source"))
        writer = target_writer(ctx.job)
        datas = target_datas(writer, ctx.target.hostname)
        path = find_child(writer.reader, datas, "server.register")
        removed = None
        if path is not None:
            # Left there by an installer or an older copy: the mirror itself never carries it.
            content = writer.reader.read_bytes(path)
            evidence = ctx.evidence("server.register (nouveau serveur)", content, "server_register")
            refs.append(evidence_ref(evidence))
            writer.remove_file(path)
            removed = {"path": windows_path(path), "sha256": sha256(content)}
            ctx.log.info(f"{windows_path(path)} retiré ; copie conservée comme preuve")
        if find_child(writer.reader, datas, "server.register") is not None:
            raise StepError("server.register est toujours présent sur la cible.")
        items.append(
            item(
                "server.register du nouveau Datas",
                "ok",
                "retiré, copie en preuve"
                if removed
                else "absent (la copie miroir ne le porte jamais)",
            )
        )
        ctx.audit(
            "data.server_register.remove",
            AuditCategory.DATA,
            data={
                "machine": ctx.target.hostname,
                # What was removed from the new Datas (None when the mirror had not carried it).
                "path": removed["path"] if removed else None,
                "sha256": removed["sha256"] if removed else None,
                "source_sha256": sha256(src_raw) if src_raw is not None else None,
                "absent_on_target": True,
                "evidence": refs,
            },
        )
        summary = (
            "server.register retiré du nouveau Datas (copie conservée)."
            if removed
            else "server.register déjà absent du nouveau Datas (la copie miroir ne le porte jamais) ; "
            "la copie de l'ancien serveur est gardée en preuve."
        )
        return Outcome("passed", summary, items, {"evidence": refs, "absent_on_target": True})


@register
class DataTeletransmission(Step):
    key = "data.teletransmission"
    phase = 3
    kind = "auto"
    title = "Copier Internet.par"
    instructions = "Copier Juliew\\Pyxvital\\Internet.par au même endroit sur le nouveau serveur."
    criteria = "Empreintes égales."
    depends_on = ("data.mirror", "source.extras")

    def run(self, ctx):
        return copy_extra(ctx, "internet_par")


@register
class DataWindowLayout(Step):
    key = "data.window_layout"
    phase = 3
    kind = "auto"
    title = "Copier Julieprf.ini"
    instructions = "Copier C:\\Windows\\Julieprf.ini (placement et taille des fenêtres de Julie)."
    criteria = "Empreintes égales."
    depends_on = ("data.mirror", "source.extras")

    def run(self, ctx):
        return copy_extra(ctx, "julieprf_ini")


def copy_extra(ctx, key: str) -> Outcome:
    """Copy one of the extras (Internet.par, Julieprf.ini) to the same place on the target;
    its content is not kept as evidence (Internet.par holds the mailbox credentials), only its
    hash."""
    source = tree_for(ctx.source)
    roots = layout.find_julie_roots(source)
    if not roots:
        raise StepError(f"Aucun dossier Juliew sur {ctx.source.hostname}.")
    _key, label, src_path = next(e for e in extras_paths(roots[0]) if e[0] == key)
    info = file_info(source, src_path)
    if not info["present"]:
        return Outcome(
            "warning",
            f"{label} absent de l'ancien serveur : rien à copier.",
            [{"label": label, "status": "warn", "detail": f"{windows_path(src_path)} absent"}],
        )
    writer = target_writer(ctx.job)
    if key == "internet_par":
        t_roots = layout.find_julie_roots(writer.reader)
        if not t_roots:
            raise StepError(
                f"Aucun dossier Juliew sur {ctx.target.hostname} : lancez d'abord la copie miroir."
            )
        dest = join(t_roots[0], info["path"][len(roots[0]) :].strip("/"))
    else:
        dest = info["path"]
    content = source.read_bytes(info["path"])
    current = file_info(writer.reader, dest)
    unchanged = current["present"] and current["sha256"] == info["sha256"]
    if not unchanged:
        dest = writer.write_file(dest, content, mtime=source.stat(info["path"]).mtime)
    after = file_info(writer.reader, dest)
    if after["sha256"] != info["sha256"]:
        raise StepError(f"{label} : empreinte différente après copie.")
    manifest = {
        "source": {"machine": ctx.source.hostname, **info},
        "target": {"machine": ctx.target.hostname, **after},
        "previous_target_sha256": current["sha256"],
        "copied": not unchanged,
    }
    evidence = ctx.evidence(f"{label}.json", as_json(manifest), "copy_manifest")
    if not unchanged:
        ctx.audit(
            f"data.{key}.copy",
            AuditCategory.DATA,
            data={**manifest, "evidence": [evidence_ref(evidence)]},
        )
    detail = ("déjà identique" if unchanged else "copié") + f", sha256 {info['sha256'][:12]}…"
    ctx.log.info(f"{label} : {windows_path(dest)} {detail}")
    return Outcome(
        "passed",
        f"{label} {'déjà identique' if unchanged else 'copié'} sur {ctx.target.hostname} "
        "(empreintes égales).",
        [{"label": label, "status": "ok", "detail": detail}],
        {"evidence": evidence_ref(evidence), "sha256": info["sha256"]},
    )
