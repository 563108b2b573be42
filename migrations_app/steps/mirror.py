"""The `data.mirror` step's work: mirror each data root of the job from the old server to
the new one with the mirror engine, feeding the run's log, progress and evidence.

The data roots are the Julie root and every imaging root `source.locate` found, on any fixed
drive of the old server; each goes to the same drive and folder of the new server (a new server
without that drive is refused before anything is copied)."""

import tempfile
from datetime import datetime
from pathlib import Path

from django.conf import settings

from julieops.julietree import layout
from julieops.mirror import MirrorOptions, open_endpoint, run_mirror
from julieops.mirror.robocopy import COLUMNS
from julieops.mirror.summary import FRENCH
from julieops.remote import RemoteError
from julieops.windows import robocopy_job
from migrations_app.choices import AuditCategory, RunStatus, Transport
from migrations_app.execution.machines import (
    access_for,
    confirmed_address,
    drive_letters,
    endpoint_spec,
    transport_for,
)
from migrations_app.steps.cutover import frozen_at
from migrations_app.steps.pxdatas import backup_already_sent
from migrations_app.steps.registry import Outcome, Step, StepError, register

LEVELS = {"info", "warning", "error", "debug"}

# Never carried by the mirror, relative to the Julie root: data.server_register removes it from
# the new Datas (the services rewrite it on their new host) and a re-run must not bring it back.
NEVER_CARRIED = ("Datas/server.register",)


def julie_drive(job) -> str:
    """The drive of the Julie root on the old server (C: unless source.locate found it on
    another fixed drive)."""
    return _drive((job.discovered_paths or {}).get("julie_drive") or "C:")


def _drive(text: str) -> str:
    return text.upper().rstrip(":") + ":"


def exclusions(job, root: str, drive: str = "C:") -> list[str]:
    """The engine's exclude patterns for one data root ('/'-separated, relative): never
    server.register; from a backup, never the FSE the live old server already sent."""
    julie_root = (job.discovered_paths or {}).get("julie_root")
    if root != julie_root or _drive(drive) != julie_drive(job):
        return []
    patterns = list(NEVER_CARRIED)
    sent = backup_already_sent(job)
    if sent and sent["pxdatas"]:
        patterns += [f"{sent['pxdatas']}/{e['path']}" for e in sent["already_sent"]]
    return patterns


def data_roots(job) -> list[tuple[str, str]]:
    """(drive, folder) of every data root: the Julie root, then every imaging root that
    source.locate found outside it, on any fixed drive (folders '/'-separated, relative to
    their drive). Each is copied to the same drive and folder on the new server."""
    paths = job.discovered_paths or {}
    julie_root = paths.get("julie_root")
    if julie_root is None:
        raise StepError(
            "Chemins des données inconnus : lancez d'abord « Localiser les données Julie »."
        )
    home = julie_drive(job)
    # imaging_roots: those on the Julie root's drive (all that older results recorded).
    located = [{"drive": home, "path": p} for p in paths.get("imaging_roots") or []]
    located += paths.get("imaging_locations") or []
    roots = [(home, julie_root)]
    inside = julie_root.rstrip("/") + "/"
    for entry in located:
        drive, path = _drive(entry.get("drive") or home), (entry.get("path") or "").strip("/")
        if drive == home and (path == julie_root or path.startswith(inside)):
            continue
        if (drive, path) not in roots:
            roots.append((drive, path))
    return roots


def shown_root(drive: str, root: str) -> str:
    return layout.drive_path(drive, root)


def _slug(drive: str, root: str) -> str:
    """A file-name part for a root's evidence (C: roots keep their earlier names)."""
    name = root.replace("/", "_")
    return name if drive == "C:" else f"{drive[0]}_{name}"


def check_target_drives(ctx, roots: list[tuple[str, str]]) -> None:
    """Every root lands on the same drive of the new server: refuse, before anything is
    copied, a root whose drive the new server lacks (naming it and what to do)."""
    wanted = sorted({d for d, _r in roots if d != "C:"})
    if not wanted:
        return
    have = set(drive_letters(ctx.target))
    missing = [(d, r) for d, r in roots if d != "C:" and d not in have]
    if missing:
        listed = ", ".join(shown_root(d, r) for d, r in missing)
        drives = ", ".join(sorted({d for d, _r in missing}))
        raise StepError(
            f"Le nouveau serveur {ctx.target.hostname} n'a pas de lecteur {drives} : "
            f"{listed} (racine de données de l'ancien serveur) ne peut pas y être copié au même "
            "endroit, et rien n'a été copié. Ajoutez ce disque au nouveau serveur (démo : un "
            "dossier de cette lettre à côté du dossier C), ou corrigez les chemins d'imagerie "
            "(« Corriger les chemins ») puis relancez « Localiser les données Julie » ; ne "
            "laissez jamais l'imagerie sur l'ancien serveur."
        )


def uses_robocopy(ctx, *, dry_run: bool = False) -> bool:
    """Both ends are Windows machines reached by WinRM: robocopy.exe runs on the new server
    (unless the run asks for the built-in engine, or is a dry run: the engine lists changes)."""
    engine = (ctx.run.params or {}).get("engine")
    both = ctx.source.transport == Transport.WINRM and ctx.target.transport == Transport.WINRM
    return both and not dry_run and engine != "julieops"


def mirrored_before(ctx, root: str, drive: str = "C:") -> bool:
    """An earlier real run of this job's mirror copied `root` (the guard's memory, kept in the
    database rather than as a marker file inside the migrated tree)."""
    runs = ctx.step.runs.exclude(pk=ctx.run.pk).filter(
        status__in=[RunStatus.PASSED, RunStatus.WARNING]
    )
    for run in runs.only("params", "result"):
        result = run.result or {}
        if not (run.params or {}).get("dry_run") and any(
            r.get("root") == root and _drive(r.get("drive") or "C:") == drive
            for r in result.get("roots") or []
        ):
            return True
    return False


def check_paths_in_force(ctx) -> None:
    """The copy uses the paths source.locate validated: a correction recorded after its last
    success is not taken into account yet — refuse, saying to run the search again."""
    from migrations_app.steps.cutover import last_success

    override = (ctx.job.discovered_paths or {}).get("override") or {}
    if not override.get("at"):
        return
    located = last_success(ctx.job, "source.locate")
    if located is None or located < datetime.fromisoformat(override["at"]):
        raise StepError(
            f"Les chemins ont été corrigés par {override.get('by')} après la dernière recherche "
            "des données : relancez « Localiser les données Julie » pour qu'elle les vérifie, puis "
            "cette copie (elle copie les chemins vérifiés par la recherche). Rien n'a été copié."
        )


def check_no_spaces(roots: list[tuple[str, str]]) -> None:
    """The mirror keeps each root at the same path on the new server; the procedure forbids
    spaces in the data path: refuse, before anything is copied, with what to do."""
    spaced = [shown_root(d, r) for d, r in roots if layout.has_spaces(r)]
    if spaced:
        raise StepError(
            f"Chemin avec espaces : {', '.join(spaced)}. La copie miroir reproduit chaque chemin "
            "à l'identique sur le nouveau serveur, et la procédure Julie interdit les espaces dans "
            "le chemin des données : rien n'a été copié. À faire : sur l'ancien serveur, Julie "
            "fermé sur tous les postes, renommer ou déplacer le dossier vers un chemin sans espace "
            "(par exemple C:\\partage\\Juliew) ; puis corriger les chemins (« Corriger les "
            "chemins ») si la recherche ne le trouve pas d'elle-même, relancer « Localiser les "
            "données Julie », et relancer cette copie."
        )


def mirror_job(ctx, *, dry_run: bool = False, force: bool = False) -> Outcome:
    job = ctx.job
    check_paths_in_force(ctx)
    roots = data_roots(job)
    check_no_spaces(roots)
    check_target_drives(ctx, roots)
    items, summaries = [], []
    robocopy = uses_robocopy(ctx, dry_run=dry_run)
    for drive, root in roots:
        ctx.check_cancel()
        confirmed = force or mirrored_before(ctx, root, drive)
        if robocopy:
            result = robocopy_root(ctx, root, force=confirmed, drive=drive)
            summaries.append(result)
            items.append(_robocopy_item(result))
            continue
        summary, manifest_sha256 = _mirror_root(
            ctx, root, dry_run=dry_run, force=confirmed, drive=drive
        )
        summaries.append(
            {
                "root": root,
                "drive": drive,
                "windows": shown_root(drive, root),
                **summary.as_json(),
                "manifest_sha256": manifest_sha256,
            }
        )
        items.append(_item(shown_root(drive, root), summary))
    data = {
        "roots": summaries,
        "dry_run": dry_run,
        "engine": "robocopy" if robocopy else "julieops",
    }
    if not dry_run:
        ctx.audit(
            "data.mirror",
            AuditCategory.DATA,
            data={
                "roots": [
                    {
                        k: s.get(k)
                        for k in ("root", "drive", "files", "bytes", "exit_code", "manifest_sha256")
                    }
                    for s in summaries
                ]
            },
        )
    copied = sum(s["files"]["copied"] for s in summaries)
    extras = sum(s["files"]["extras"] for s in summaries)
    failed = sum(s["files"]["failed"] for s in summaries)
    verb = "à copier" if dry_run else "copiés"
    text = (
        f"{len(roots)} racine(s) ({', '.join(shown_root(d, r) for d, r in roots)}) : "
        f"{copied} fichier(s) {verb}, {extras} en trop "
        f"{'à supprimer' if dry_run else 'supprimés'}, {failed} échec(s)."
    )
    return Outcome.from_items(items, text, data)


def _mirror_root(ctx, root: str, *, dry_run: bool, force: bool, drive: str = "C:"):
    source_url, source_kwargs = endpoint_spec(
        ctx.source, root, drive=drive, on_secret=ctx.add_secret
    )
    target_url, target_kwargs = endpoint_spec(
        ctx.target, root, drive=drive, on_secret=ctx.add_secret
    )
    shown = shown_root(drive, root)
    ctx.log.info(
        f"{'Simulation du miroir' if dry_run else 'Miroir'} de {shown} : "
        f"{ctx.source.hostname} → {ctx.target.hostname}"
    )
    with tempfile.TemporaryDirectory(prefix="julieops-mirror-") as tmp:
        manifest = str(Path(tmp) / "manifest.jsonl")
        options = MirrorOptions(
            dry_run=dry_run,
            verify=not dry_run,
            force=force,
            manifest=None if dry_run else manifest,
            language="fr",
            exclude=exclusions(ctx.job, root, drive),
        )

        def progress(p):
            ctx.progress(
                done=p.files_done,
                total=p.files_total,
                done_bytes=p.bytes_done,
                total_bytes=p.bytes_total,
                label=f"{shown} : {p.current}",
            )

        def log(level, text):
            ctx.log.write(level if level in LEVELS else "info", " ".join(text.split("\t")))

        with (
            open_endpoint(source_url, **source_kwargs) as source,
            open_endpoint(target_url, **target_kwargs) as target,
        ):
            summary = run_mirror(
                source, target, options, progress=progress, log=log, cancel=lambda: ctx.cancelled
            )
        ctx.check_cancel()
        for line in summary.format_text(FRENCH).splitlines():
            ctx.log.info(line)
        manifest_sha = None
        if not dry_run and Path(manifest).exists():
            content = Path(manifest).read_bytes()
            name = f"manifeste-miroir-{_slug(drive, root)}.jsonl"
            manifest_sha = ctx.evidence(name, content, kind="mirror-manifest").sha256
    return summary, manifest_sha


def _item(label: str, summary) -> dict:
    """A failure, a mismatch or a fatal refusal fails the root; never passed over."""
    data = summary.as_json()
    files, dirs = data["files"], data["dirs"]
    failed = summary.fatal or files["failed"] or files["mismatch"] or dirs["failed"]
    status = "fail" if failed or data["failures"] else "ok"
    detail = (
        f"{files['copied']} copiés, {files['skipped']} identiques, {files['extras']} en trop, "
        f"{files['failed']} échecs ; code {data['exit_code']}"
    )
    if summary.fatal:
        detail = f"{summary.fatal} ({detail})"
    return {"label": label, "status": status, "detail": detail}


def _source_unc(machine, root: str, drive: str = "C:") -> tuple[str, str]:
    """(share root, folder) of the old server's data as the new server reaches it: the
    administrative share of its drive, C$, D$… (the WinRM account is an administrator there)."""
    host = confirmed_address(machine)  # never a host nobody confirmed
    share = rf"\\{host}\{drive[0]}$"
    return share, share + "\\" + root.strip("/").replace("/", "\\")


def robocopy_root(ctx, root: str, *, force: bool = False, drive: str = "C:") -> dict:
    """One data root copied by robocopy.exe on the new server, started detached and followed
    until it ends; the old server's share is mapped with the old server's credential, whose
    password only travels as a PowerShell secret and is masked in the run's log."""
    source, target = ctx.source, ctx.target
    access = access_for(source)
    if not access.password:
        raise StepError(
            f"{source.hostname} : robocopy a besoin d'un mot de passe pour connecter le partage "
            "de l'ancien serveur (une clé SSH ne suffit pas)."
        )
    ctx.add_secret(access.password)
    share, source_path = _source_unc(source, root, drive)
    target_path = shown_root(drive, root)
    ctx.log.info(f"robocopy sur {target.hostname} : {source_path} → {target_path}")
    transport = transport_for(target, on_secret=ctx.add_secret)
    try:
        _guard_destination(ctx, transport, target_path, force)
    except RemoteError as exc:
        transport.close()
        raise StepError(f"robocopy sur {target.hostname} : {exc}") from None
    lines = {"n": 0}

    def on_line(line: str) -> None:
        lines["n"] += 1
        if line.strip():
            ctx.log.info(line)
        ctx.progress(done=lines["n"], label=f"{target_path} : robocopy")

    try:
        handle = robocopy_job.start(
            transport,
            source_path,
            target_path,
            share_root=share,
            username=access.username,
            password=access.password,
            exclude_files=[
                source_path + "\\" + rel.replace("/", "\\")
                for rel in exclusions(ctx.job, root, drive)
            ],
        )
        ctx.log.info(f"Tâche planifiée {handle['task']} lancée ; journal {handle['log']}")
        try:
            result = robocopy_job.follow(
                transport,
                handle,
                on_line=on_line,
                cancel=lambda: ctx.cancelled,
                poll_seconds=getattr(settings, "JULIEOPS_ROBOCOPY_POLL_SECONDS", 5.0),
            )
        except InterruptedError:
            ctx.log.warning(f"robocopy arrêté sur {target.hostname} (annulation).")
            ctx.check_cancel()
            raise
    except RemoteError as exc:
        raise StepError(f"robocopy sur {target.hostname} : {exc}") from None
    finally:
        transport.close()
    ctx.log.info(result["meaning"])
    log = result["log"].encode("utf-8")
    name = f"journal-robocopy-{_slug(drive, root)}.log"
    evidence = ctx.evidence(name, log, kind="robocopy-log")
    empty = dict.fromkeys(COLUMNS, 0)
    summary = result["summary"] or {}
    return {
        "root": root,
        "drive": drive,
        "windows": target_path,
        "source": source_path,
        "dest": target_path,
        "dirs": summary.get("dirs", empty),
        "files": summary.get("files", empty),
        "bytes": summary.get("bytes", empty),
        "exit_code": result["exit_code"],
        "meaning": result["meaning"],
        "summary_found": bool(result["summary"]),
        "log_sha256": evidence.sha256,
        "manifest_sha256": None,
    }


# What the destination holds before /MIR may delete in it.
DESTINATION_STATE = r"""
# julieops-script: mirror.destination_state
param([string]$Path)
$exists = Test-Path -LiteralPath $Path -PathType Container
@{
    Exists = $exists
    Entries = if ($exists) { @(Get-ChildItem -LiteralPath $Path -Force).Count } else { 0 }
    Julie = $exists -and (Test-Path -LiteralPath (Join-Path $Path 'Datas'))
}
"""


def _guard_destination(ctx, transport, target_path: str, force: bool) -> None:
    """robocopy /MIR deletes what the source lacks: refuse a non-empty destination that holds
    no Julie data, unless the run was confirmed with `force` (the engine's own guard)."""
    state = transport.powershell(DESTINATION_STATE, {"Path": target_path}) or {}
    if state.get("Entries") and not state.get("Julie") and not force:
        raise StepError(
            f"{target_path} sur {ctx.target.hostname} contient déjà {state['Entries']} élément(s) "
            "sans données Julie : le miroir les supprimerait. Vérifiez la destination, puis "
            "relancez en confirmant."
        )


def _robocopy_item(result: dict) -> dict:
    """Exit code 8 and above, or any failed file, fails the root; a log without its summary
    too (the copy's end is not proven)."""
    files, dirs = result["files"], result["dirs"]
    failed = result["exit_code"] >= 8 or files["failed"] or dirs["failed"] or files["mismatch"]
    status = "fail" if failed or not result["summary_found"] else "ok"
    detail = (
        f"{files['copied']} copiés, {files['skipped']} identiques, {files['extras']} en trop, "
        f"{files['failed']} échecs ; {result['meaning']}"
    )
    if not result["summary_found"]:
        detail += " Résumé absent du journal robocopy."
    return {"label": result["windows"], "status": status, "detail": detail}


@register
class DataMirror(Step):
    key = "data.mirror"
    phase = 3
    kind = "auto"
    title = "Copie miroir des données"
    instructions = (
        "Copie miroir des racines de données (Juliew avec ARCH, Datas, DOCPATIENT, fscan, IMAGE, "
        "XRAY, XRAY3D ; racines d'imagerie si elles sont ailleurs, y compris sur un autre disque "
        "de l'ancien serveur : chacune est copiée au même lecteur et au même chemin sur le "
        "nouveau serveur, qui doit donc avoir ce lecteur — sinon rien n'est copié et l'étape dit "
        "quoi faire). Miroir et non incrémental : "
        "la destination doit finir identique à la source (fichiers en trop supprimés). Peut être "
        "lancée tôt puis relancée à la bascule : la deuxième passe ne copie que les différences. "
        "La passe finale se fait Julie fermé sur tous les postes et moteur Btrieve (w32mkde.exe) "
        "arrêté ; un fichier verrouillé est signalé, jamais ignoré en silence. Seule une passe "
        "lancée après « Geler l'ancien serveur » valide l'étape (passe finale) ; les passes "
        "d'avant sont des pré-copies. Datas\\server.register n'est jamais copié (voir « Retirer "
        "server.register ») : une nouvelle passe ne le ramène pas. La fenêtre de bascule (page du "
        "dossier) est estimée d'après les pré-copies, en supposant que le cabinet modifie ses "
        "données à un rythme régulier entre deux copies, nuits comprises (l'estimation est alors "
        "plutôt longue)."
    )
    criteria = "Résumé façon robocopy ; destination vérifiée égale à la source ; source intacte."
    depends_on = ("source.locate",)
    supports_dry_run = True

    def run(self, ctx):
        params = ctx.run.params or {}
        dry_run = bool(params.get("dry_run"))
        frozen = frozen_at(ctx.job)
        pre_copy = not dry_run and frozen is None
        if pre_copy:
            ctx.log.info(
                "Pré-copie : l'ancien serveur n'est pas gelé ; la passe finale viendra après le gel."
            )
        outcome = mirror_job(ctx, dry_run=dry_run, force=bool(params.get("force")))
        if not dry_run and not pre_copy and frozen_at(ctx.job) != frozen:
            # The freeze was redone (or undone) while this pass copied: it is not the pass
            # after the freeze in force.
            ctx.log.warning("Le gel a changé pendant cette passe : elle compte comme pré-copie.")
            pre_copy = True
        if not dry_run:
            # A pre-copy leaves the step to do (status.sync_step_status): only the final pass,
            # after the freeze, lets the steps that depend on the mirror go.
            outcome.data["pre_copy"] = pre_copy
            outcome.data["frozen_at"] = frozen.isoformat() if frozen else None
            word = "Pré-copie (avant le gel)" if pre_copy else "Passe finale (après le gel)"
            outcome.summary = f"{word} : {outcome.summary}"
        return outcome
