"""A job's field captures as one redacted bundle (a zip for the dev team), and their replay
through the verdicts.

The bundle (schema `julieops.field-capture`, version 1):
- `manifest.json`: the schema, the product version (`git describe`), when, a pseudonym of the
  job; per captured run: the step, its attempt, its context (parameters, the job's options and
  paths as the run found them, the machines), its verdict, and one entry per captured output
  naming the file that holds it;
- `outputs/<run>/<seq>-<name>.out` (and `.err`): each output as captured.

Redaction, because the bundle leaves the team: no customer, site, cabinet or job title (a
pseudonym of the job instead, the same for every export of that job, so two bundles of one
practice can be matched; their names, licence, address, N° PS and BAL are replaced by
placeholders wherever an output or a verdict repeats them), no addresses, ports, user names,
host-key fingerprints or credentials (captures already have the logged secrets and
secret-looking parameters masked, `execution.capture`); file and folder names below the
patient folders (DOCPATIENT, IMAGE, XRAY, XRAY3D, fscan, ARCH), and document or picture file
names anywhere (a letter in Datas/courrier), are replaced by a pseudonym keeping the
extension, in outputs, parameters and verdicts (a patient's name often names them), with a
salt drawn for each export and never written. Hostnames are kept: the verdicts name the
posts, and a replay needs them; they name machines, not patients. The site's workgroup is
kept too (target.network judges against it).

Replay: `replay_bundle()` rebuilds a job with the bundle's machines, then runs each captured
step again, in order, through the real runner, against `capture.ReplayTransport` (each script
answered by name and order with the captured output): the verdict must be the recorded one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import re
import secrets
import subprocess
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from julieops.julietree.layout import ALL_FOLDERS
from julieops.remote.powershell import RESULT_MARKER
from migrations_app.execution import capture

SCHEMA = "julieops.field-capture"
VERSION = 1
PATIENT_FOLDERS = {"docpatient", "image", "images", "xray", "xray3d", "fscan", "arch"}
KNOWN_FOLDERS = {name.casefold() for name in (*ALL_FOLDERS, "IMAGES", "pxdatas")}
SEPARATOR = re.compile(r"([\\/]+)")
# Documents and pictures: their names often name a patient (a letter, a scan).
DOCUMENT = re.compile(
    r"(?i)\.(docx?|odt|rtf|pdf|jpe?g|png|gif|bmp|tiff?|dcm|heic|webp|xlsx?|msg|eml|wav|mp[34]|avi)$"
)
LISTING_KEYS = {"n", "p", "name", "path", "relpath"}


def product_version() -> str:
    try:
        found = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"],  # noqa: S607
            cwd=settings.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return "inconnue"
    return found.stdout.strip() if found.returncode == 0 and found.stdout.strip() else "inconnue"


def job_pseudonym(job) -> str:
    digest = hmac.new(settings.SECRET_KEY.encode(), f"job:{job.pk}".encode(), hashlib.sha256)
    return "cabinet-" + digest.hexdigest()[:12]


class Redactor:
    """Pseudonyms for names below the patient folders, salted once per export."""

    def __init__(self, salt: bytes | None = None, names: dict[str, str] | None = None, keep=()):
        self.salt = salt or secrets.token_bytes(16)
        # The practice's own names (customer, site, cabinets, N° PS, BAL) -> a placeholder;
        # `keep` (the hostnames) match first and stay whole: « SRV-MELUN » keeps its « MELUN ».
        names = {n: m for n, m in (names or {}).items() if len(n) >= 3}
        names.update({h: None for h in keep if h})
        known = sorted(names, key=len, reverse=True)
        self.names = {n.casefold(): names[n] for n in known}
        self.named = re.compile("|".join(re.escape(n) for n in known), re.I) if known else None

    def words(self, text: str) -> str:
        if self.named is None or not text:
            return text

        def swap(match):
            mask = self.names.get(match.group(0).casefold(), "[masqué]")
            return match.group(0) if mask is None else mask

        return self.named.sub(swap, text)

    def name(self, segment: str) -> str:
        if not segment or segment.casefold() in KNOWN_FOLDERS:
            return segment
        stem, dot, ext = segment.rpartition(".")
        keep = dot + ext if stem and re.fullmatch(r"[A-Za-z0-9]{1,5}", ext) else ""
        digest = hmac.new(self.salt, segment.casefold().encode(), hashlib.sha256).hexdigest()
        return f"x-{digest[:10]}{keep}"

    def path(self, text: str, inside: bool = False, listed: bool = False) -> str:
        """Every segment after a patient folder pseudonymised (all of them when `inside`),
        and a document's or picture's file name wherever it ends a path (or a listed name)."""
        out = []
        for line in text.splitlines(keepends=True):
            body = line.rstrip("\r\n")
            parts = SEPARATOR.split(body)  # segments at even indexes, separators between
            below = inside
            for index in range(0, len(parts), 2):
                segment = parts[index]
                last = index == len(parts) - 1 and (index > 0 or listed)
                if segment and (below or (last and DOCUMENT.search(segment))):
                    parts[index] = self.name(segment)
                if segment.strip().casefold() in PATIENT_FOLDERS:
                    below = True
            out.append("".join(parts) + line[len(body) :])
        return self.words("".join(out))

    def value(self, value, inside: bool = False, key: str = ""):
        if key == "Chunk" and isinstance(value, str):  # robocopy's UTF-16 log, in base64
            return self.log_chunk(value)
        if isinstance(value, str):
            listed = key in LISTING_KEYS
            return self.path(value, inside=inside and listed, listed=listed)
        if isinstance(value, list):
            return [self.value(v, inside, key) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v, inside, k) for k, v in value.items()}
        return value

    def log_chunk(self, encoded: str) -> str:
        try:
            data = base64.b64decode(encoded, validate=True)
        except ValueError:
            return self.path(encoded)
        even = len(data) - len(data) % 2
        text = data[:even].decode("utf-16-le", errors="replace")
        return base64.b64encode(self.path(text).encode("utf-16-le") + data[even:]).decode()

    def output(self, text: str, inside: bool) -> str:
        """A PowerShell answer: its JSON walked; any other text line by line."""
        lines = text.splitlines(keepends=True)
        for index, line in enumerate(lines):
            bare = line.lstrip("\ufeff")
            if bare.startswith(RESULT_MARKER):
                end = bare[len(bare.rstrip("\r\n")) :]
                try:
                    payload = json.loads(bare[len(RESULT_MARKER) :])
                except ValueError:
                    lines[index] = self.path(line)
                    continue
                payload = self.value(payload, inside)
                lines[index] = RESULT_MARKER + json.dumps(payload, ensure_ascii=False) + end
            else:
                lines[index] = self.path(line)
        return "".join(lines)


def _has_patient(text: str) -> bool:
    return any(s.strip().casefold() in PATIENT_FOLDERS for s in SEPARATOR.split(text)[::2])


def _inside_patient(params: dict) -> bool:
    """A listing of a patient folder (or below one): every name it returns is pseudonymised."""
    path = str((params or {}).get("Path") or "")
    return _has_patient(path)


class _Sink:
    """What zipfile writes, handed out piece by piece (a zip streamed without seeking)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.position = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.position += len(data)
        return len(data)

    def tell(self) -> int:
        return self.position

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = b"".join(self.parts)
        self.parts.clear()
        return data


def _file_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name or "sortie")[:80]


def practice_names(job) -> dict[str, str]:
    """What names the practice, to mask in the bundle (hostnames are kept)."""
    names = {job.customer.name: "[client]", job.site.name: "[site]", job.title: "[titre]"}
    if job.customer.licence_number:
        names[job.customer.licence_number] = "[licence]"
    if job.site.address:
        names[job.site.address] = "[adresse]"
    for machine, _place in capture.job_places(job):
        if machine.address and machine.address.casefold() != "localhost":
            names[machine.address] = "[adresse]"
        if machine.credential_id and machine.credential.username:
            names[machine.credential.username] = "[identifiant]"
    for number, cabinet in enumerate(job.customer.cabinets.all(), start=1):
        names[cabinet.name] = f"[cabinet-{number}]"
        for value in (cabinet.ps_number, cabinet.bal_address):
            if value:
                names[value] = f"[cabinet-{number}-ps-bal]"
    return {name: mask for name, mask in names.items() if name}


def stream_bundle(job, *, redactor=None):
    """The job's bundle, as zip bytes in pieces (one output at a time in memory)."""
    from migrations_app.models import RawCapture, StepRun

    hostnames = [m.hostname for m, _place in capture.job_places(job)]
    redactor = redactor or Redactor(names=practice_names(job), keep=hostnames)
    sink = _Sink()
    archive = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED)
    runs_out = []
    runs = (
        StepRun.objects.filter(step__job=job, captures__seq=0)
        .select_related("step")
        .order_by("started_at", "pk")
    )
    for number, run in enumerate(runs, start=1):
        name = f"r{number:03d}"
        entries = []
        context = {}
        for row in RawCapture.objects.filter(run=run).order_by("seq").iterator(chunk_size=50):
            if row.kind == "context":
                context = redactor.value(row.params)
                continue
            inside = _inside_patient(row.params)
            base = f"outputs/{name}/{row.seq:04d}-{_file_name(row.name)}"
            entry = {
                "seq": row.seq,
                "at": row.at.isoformat(),
                "kind": row.kind,
                "name": row.name,
                "hostname": row.hostname,
                "machine": row.machine,
                "params": redactor.value(row.params),
                "exit_code": row.exit_code,
                "error": redactor.path(row.error),
                "size": row.size,
                "truncated": row.truncated,
                "withheld": row.withheld,
                "output": base + ".out",
            }
            archive.writestr(entry["output"], redactor.output(row.output, inside))
            if row.stderr:
                entry["stderr"] = base + ".err"
                archive.writestr(entry["stderr"], redactor.output(row.stderr, inside))
            entries.append(entry)
            yield sink.take()
        runs_out.append(
            {
                "run": name,
                "step": run.step.key,
                "attempt": run.attempt,
                "started_at": run.started_at.isoformat() if run.started_at else None,
                "status": run.status,
                "context": context,
                "verdict": context.get("verdict") or {},
                "captures": entries,
            }
        )
    manifest = {
        "schema": SCHEMA,
        "version": VERSION,
        "product_version": product_version(),
        "exported_at": timezone.now().isoformat(),
        "job": job_pseudonym(job),
        "caps": {
            "output_chars": capture.OUTPUT_CAP,
            "run_chars": capture.RUN_CAP,
            "captures_per_run": capture.MAX_CAPTURES,
        },
        "redaction": (
            "Secrets masqués (***) ; ni client, ni site, ni adresse, ni identifiant, ni "
            "empreinte ; noms sous les dossiers patients remplacés par des pseudonymes ; "
            "noms des postes conservés."
        ),
        "runs": runs_out,
    }
    archive.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    archive.close()
    yield sink.take()


# -- reading and replaying ----------------------------------------------------------------------


def load_bundle(path: str | Path) -> dict:
    """A bundle (zip, or the folder it was extracted to) with each entry's output read in."""
    path = Path(path)
    if path.is_dir():
        root = path.resolve()

        def read(name):  # bytes: "\r\n" as received, not turned into "\n"
            where = (root / name).resolve()
            if root not in where.parents:
                raise ValueError(f"chemin hors du lot : {name}")
            return where.read_bytes().decode("utf-8")

        manifest = json.loads(read("manifest.json"))
        return _filled(manifest, read)
    with zipfile.ZipFile(path) as archive:

        def read(name):
            return archive.read(name).decode("utf-8")

        return _filled(json.loads(read("manifest.json")), read)


def load_bundle_bytes(data: bytes) -> dict:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:

        def read(name):
            return archive.read(name).decode("utf-8")

        return _filled(json.loads(read("manifest.json")), read)


def _filled(manifest: dict, read) -> dict:
    if manifest.get("schema") != SCHEMA or manifest.get("version") != VERSION:
        raise ValueError(
            f"Ce n'est pas une capture de terrain JulieOps lisible ici (schéma "
            f"{manifest.get('schema')!r} version {manifest.get('version')!r})."
        )
    for run in manifest["runs"]:
        for entry in run["captures"]:
            entry["output"] = read(entry["output"]) if entry.get("output") else ""
            entry["stderr"] = read(entry["stderr"]) if entry.get("stderr") else ""
    return manifest


def verdict_lines(verdict: dict) -> list[tuple[str, str]]:
    return [(i.get("label", ""), i.get("status", "")) for i in verdict.get("items") or []]


@dataclass
class Comparison:
    run: str
    step: str
    hosts: list[str]
    before: dict
    after: dict
    unanswered: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    skipped: str = ""  # why the run cannot be replayed (its inputs were not all kept)

    @property
    def same(self) -> bool:
        return not self.differences


def compare(run: str, step: str, hosts: list[str], before: dict, after: dict) -> Comparison:
    result = Comparison(run, step, hosts, before, after)
    where = ", ".join(hosts) or "le cabinet"
    if before.get("status") != after.get("status"):
        result.differences.append(
            f"le verdict a changé pour {step} sur {where} : avant {before.get('status')}, "
            f"maintenant {after.get('status')}"
        )
    old, new = dict(verdict_lines(before)), dict(verdict_lines(after))
    for label in [*old, *(k for k in new if k not in old)]:
        if old.get(label) != new.get(label):
            host = label.split(" — ")[0] if " — " in label else where
            result.differences.append(
                f"le verdict a changé pour {step} sur {host} : avant « {label} : "
                f"{old.get(label, 'absent')} », maintenant « {label} : "
                f"{new.get(label, 'absent')} »"
            )
    return result


def _machines(manifest: dict) -> dict[str, dict]:
    """Every machine the bundle's runs knew, by hostname, with its place in the job."""
    machines: dict[str, dict] = {}
    for run in manifest["runs"]:
        for machine in (run.get("context") or {}).get("machines") or []:
            known = machines.setdefault(machine["hostname"], dict(machine))
            known.setdefault("places", set()).add(machine.get("place", ""))
    return machines


def build_replay_job(manifest: dict, user):
    """A job holding the bundle's machines (nothing reachable: the replay answers)."""
    from migrations_app import actions
    from migrations_app.models import Credential, Customer, Machine, Site

    label = f"Rejeu {manifest.get('job', '')} {uuid.uuid4().hex[:6]}"
    customer = Customer.objects.create(name=label)
    first = (manifest["runs"][0].get("context") or {}).get("job") or {} if manifest["runs"] else {}
    site = Site.objects.create(
        customer=customer, name=label, workgroup=first.get("site_workgroup") or ""
    )
    by_place: dict[str, list] = {"source": [], "target": [], "extra_host": [], "client": []}
    for number, (hostname, info) in enumerate(_machines(manifest).items(), start=1):
        machine = Machine(
            site=site,
            hostname=hostname,
            roles=info.get("roles") or [],
            transport=info.get("transport") or "winrm",
        )
        if machine.transport != "local":
            # Steps check a credential and a confirmed key before they ask anything (robocopy
            # passes the password as a secret): a throwaway one, and an address that is
            # never routed (RFC 5737); the replay answers, nothing is contacted.
            credential = Credential(name=f"{label} {hostname}", username="rejeu")
            credential.secret = secrets.token_urlsafe(16)
            credential.save()
            machine.credential = credential
            machine.address = f"192.0.2.{number}"
            machine.host_key_fingerprint = "rejeu"
        machine.save()
        for place in info["places"]:
            by_place.setdefault(place, []).append(machine)
    if not by_place["source"] or not by_place["target"]:
        raise ValueError("La capture ne nomme pas l'ancien et le nouveau serveur.")
    job = actions.create_job(
        user,
        customer=customer,
        site=site,
        source=by_place["source"][0],
        target=by_place["target"][0],
        clients=by_place["client"],
        title=label,
    )
    job.extra_hosts.set(by_place["extra_host"])
    return job


def not_replayable(run: dict) -> str:
    """Why a captured run cannot be played again from its captures alone, or ""."""
    for entry in run["captures"]:
        if entry.get("withheld"):
            return f"contenu non conservé ({entry['name']} sur {entry['hostname']})"
        if entry.get("truncated"):
            return f"sortie tronquée ({entry['name']} sur {entry['hostname']})"
        if entry["kind"] == "report":
            return f"rapport de l'agent lecteurs ({entry['hostname']}) : rejeu non pris en charge"
    if (run.get("context") or {}).get("dropped"):
        return "plafond de capture atteint : des sorties manquent"
    return ""


def replay_bundle(manifest: dict, user=None) -> list[Comparison]:
    """Each captured run played again, in order, against its captured outputs."""
    from migrations_app.execution import runner
    from migrations_app.models import StepRun

    if user is None:  # the command: runs are asked for by an inactive account of their own
        from django.contrib.auth import get_user_model

        user, created = get_user_model().objects.get_or_create(
            username="rejeu-captures", defaults={"is_active": False}
        )
        if created:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    job = build_replay_job(manifest, user)
    results = []
    for run in manifest["runs"]:
        context = run.get("context") or {}
        state = context.get("job") or {}
        job.options = state.get("options") or {}
        job.discovered_paths = state.get("discovered_paths") or {}
        job.source_kind = state.get("source_kind") or job.source_kind
        job.save(update_fields=["options", "discovered_paths", "source_kind"])
        hosts = sorted({e["hostname"] for e in run["captures"]})
        why = not_replayable(run)
        if why:
            verdict = run.get("verdict") or {}
            results.append(Comparison(run["run"], run["step"], hosts, verdict, {}, skipped=why))
            continue
        step = job.steps.get(key=run["step"])
        replayed = StepRun.objects.create(
            step=step,
            requested_by=user,
            queue="rejeu",
            params=context.get("params") or {},
            attempt=run.get("attempt") or 1,
        )
        answers = capture.Answers(run["captures"])
        with capture.replaying(answers):
            runner.execute(replayed.pk, "rejeu")
        replayed.refresh_from_db()
        after = {
            "status": replayed.status,
            "items": [
                {"label": i.get("label", ""), "status": i.get("status", "")}
                for i in (replayed.result or {}).get("items", [])
            ],
            "summary": replayed.summary,
            "error": replayed.error,
        }
        result = compare(run["run"], run["step"], hosts, run.get("verdict") or {}, after)
        result.unanswered = answers.missing
        results.append(result)
    return results


def report(results: list[Comparison]) -> str:
    """What `manage.py replay_capture` prints."""
    lines = []
    for result in results:
        if result.skipped:
            lines.append(f"{result.run} {result.step} : non rejouée — {result.skipped}")
        elif result.same:
            lines.append(
                f"{result.run} {result.step} : verdict inchangé ({result.after.get('status')})"
            )
        else:
            lines.extend(f"{result.run} {result.step} : {d}" for d in result.differences)
            if result.after.get("error"):
                lines.append(f"    erreur au rejeu : {result.after['error']}")
        lines.extend(f"    sans réponse enregistrée : {m}" for m in result.unanswered)
    changed = sum(not r.same for r in results)
    skipped = sum(bool(r.skipped) for r in results)
    lines.append(
        f"{len(results) - skipped} exécution(s) rejouée(s), {changed} verdict(s) changé(s), "
        f"{skipped} non rejouée(s)."
    )
    return "\n".join(lines)


def bundle_bytes(job, **kwargs) -> bytes:
    """The whole bundle at once (tests, small jobs)."""
    buffer = io.BytesIO()
    for piece in stream_bundle(job, **kwargs):
        buffer.write(piece)
    return buffer.getvalue()
