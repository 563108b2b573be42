"""The `data.mirror` step's work: mirror each data root of the job from the old server to
the new one with the mirror engine, feeding the run's log, progress and evidence."""

import tempfile
from pathlib import Path

from julieops.julietree.reader import windows_path
from julieops.mirror import MirrorOptions, open_endpoint, run_mirror

from .choices import AuditCategory
from .connections import endpoint_spec
from .steps.registry import Outcome, StepError

LEVELS = {"info", "warning", "error", "debug"}


def data_roots(job) -> list[str]:
    """The Julie root, then imaging roots that are not inside it ('/'-separated, from C:)."""
    paths = job.discovered_paths or {}
    julie_root = paths.get("julie_root")
    if julie_root is None:
        raise StepError(
            "Chemins des données inconnus : lancez d'abord « Localiser les données Julie »."
        )
    roots = [julie_root]
    for root in paths.get("imaging_roots", []):
        if root != julie_root and not root.startswith(julie_root.rstrip("/") + "/"):
            roots.append(root)
    return roots


def mirror_job(ctx, *, dry_run: bool = False, force: bool = False) -> Outcome:
    job = ctx.job
    roots = data_roots(job)
    items, summaries = [], []
    for root in roots:
        ctx.check_cancel()
        summary, manifest_sha256 = _mirror_root(ctx, root, dry_run=dry_run, force=force)
        summaries.append({"root": root, **summary.as_json(), "manifest_sha256": manifest_sha256})
        items.append(_item(root, summary))
    data = {"roots": summaries, "dry_run": dry_run}
    if not dry_run:
        ctx.audit(
            "data.mirror",
            AuditCategory.DATA,
            data={
                "roots": [
                    {k: s[k] for k in ("root", "files", "bytes", "exit_code", "manifest_sha256")}
                    for s in summaries
                ]
            },
        )
    copied = sum(s["files"]["copied"] for s in summaries)
    extras = sum(s["files"]["extras"] for s in summaries)
    failed = sum(s["files"]["failed"] for s in summaries)
    verb = "à copier" if dry_run else "copiés"
    text = (
        f"{len(roots)} racine(s) : {copied} fichier(s) {verb}, {extras} en trop "
        f"{'à supprimer' if dry_run else 'supprimés'}, {failed} échec(s)."
    )
    return Outcome.from_items(items, text, data)


def _mirror_root(ctx, root: str, *, dry_run: bool, force: bool):
    source_url, source_kwargs = endpoint_spec(ctx.source, root, on_secret=ctx.add_secret)
    target_url, target_kwargs = endpoint_spec(ctx.target, root, on_secret=ctx.add_secret)
    shown = windows_path(root)
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
        for line in summary.format_text().splitlines():
            ctx.log.info(line)
        manifest_sha = None
        if not dry_run and Path(manifest).exists():
            content = Path(manifest).read_bytes()
            name = f"manifeste-miroir-{root.replace('/', '_')}.jsonl"
            manifest_sha = ctx.evidence(name, content, kind="mirror-manifest").sha256
    return summary, manifest_sha


def _item(root: str, summary) -> dict:
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
    return {"label": windows_path(root), "status": status, "detail": detail}
