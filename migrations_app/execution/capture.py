"""Field captures: every raw output a step receives from a practice machine, kept with its run,
so that a bundle of them can travel to the dev team and replay through the verdicts.

What is captured, per run (`RawCapture` rows, written once when the run ends):
- seq 0, kind "context": the step, its parameters, the job's options and discovered paths as
  the run found them, the job's machines (hostname, place in the job, roles, transport,
  simulated), and at the end the step's verdict (status, summary, items);
- kind "powershell": each script run on a machine — its name (`# julieops-script:` line), its
  parameters, stdout as received (the result JSON before we parse it: robocopy logs, `quser`
  text, file contents read over WinRM all arrive inside it), stderr, exit code, or the error
  the transport raised instead;
- kind "command": any other command run through a transport;
- kind "file": a file read without PowerShell (SFTP), e.g. galss.ini or server.register;
- kind "report": the card-reader agent's report `post.readers` judged (`note()`).

Where it is hooked: `machines.transport_for` hands every transport it opens to `watch()`,
which records at the transport's `run()` (the one door every PowerShell script goes through,
WinRM's own file operations included) and its SFTP `read_file`. It records only while the
runner has made a run's recorder current (`recording()`, a context variable): a connection
test or a page never records. Nothing of this changes what the steps receive.

Caps: each output (stdout, stderr, file text) is kept up to OUTPUT_CAP characters (1 MB,
`truncated` set beyond); a run keeps up to RUN_CAP characters (16 MB) and MAX_CAPTURES rows
(5,000: a long robocopy poll), the rest is counted, not kept; each parameter value up to
PARAM_CAP characters (file chunks being written are never kept, only their size).

Masked: the values the run's log masks (the credentials `transport_for` decrypted,
`ctx.add_secret`), replaced by `***` everywhere; parameters and secrets passed on stdin whose
name looks like a secret (password, token, key…); `key = value` lines and JSON members whose
key looks like a secret in file texts. File contents are withheld (size and SHA-256 only)
unless they are small configuration text outside the patient folders (DOCPATIENT, IMAGE,
XRAY…): a database read over WinRM (Sms.db) never lands here.

Replay (`replaying()`): `transport_for` then returns a `ReplayTransport` answering each
script, per machine, by its name and in its order, with the captured output.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import hashlib
import json
import logging
import re
import threading
from collections import defaultdict, deque
from contextvars import ContextVar
from typing import Any

from django.utils import timezone

from julieops.remote import powershell as ps
from julieops.remote.base import CommandResult, RemoteError

logger = logging.getLogger(__name__)

OUTPUT_CAP = 1_000_000
RUN_CAP = 16_000_000
MAX_CAPTURES = 5_000
PARAM_CAP = 4_000
FILE_TEXT_CAP = 256_000  # file contents larger than this are withheld, not truncated

MASK = "***"
SECRET_NAME = re.compile(
    r"pass(word|wd|phrase)?|pwd|mdp|secret|token|credential|api_?key|private_?key|"
    r"fingerprint|empreinte",
    re.I,
)
# `Password=…` lines of .ini/.par files, and "password": "…" members of JSON documents.
SECRET_LINE = re.compile(
    r"(?im)^([ \t]*[^=:\r\n]*(?:pass|pwd|mdp|secret|token)[^=:\r\n]*[=:][ \t]*)([^\r\n]+)"
)
SECRET_MEMBER = re.compile(
    r'(?i)("[^"]*(?:pass|pwd|mdp|secret|token|apikey|api_key)[^"]*"\s*:\s*)"(?:[^"\\]|\\.)*"'
)
# The practice's patient folders: file names there can name patients.
PATIENT_FOLDER = re.compile(
    r"(?i)(^|[\\/])(docpatient|image|images|xray|xray3d|fscan|arch)([\\/]|$)"
)
TEXT_FILE = re.compile(r"(?i)\.(ini|register|par|log|txt|xml|json|cfg|conf)$")
# Parameters that carry file contents being written.
CONTENT_PARAMS = {"Data", "Content", "Bytes"}
READ_SCRIPT = "files.read"

_session: ContextVar[Any] = ContextVar("julieops_capture", default=None)


def machine_info(machine, place: str = "") -> dict:
    info = {
        "hostname": machine.hostname,
        "roles": list(machine.roles or []),
        "transport": machine.transport,
        "simulated": bool(getattr(machine, "simulated", False)),
    }
    if place:
        info["place"] = place
    return info


def job_places(job) -> list[tuple[Any, str]]:
    """The job's machines with their place in it (source, target, extra_host, client)."""
    places = [(job.source, "source"), (job.target, "target")]
    places += [(m, "extra_host") for m in job.extra_hosts.all()]
    places += [(m, "client") for m in job.clients.all()]
    return places


def mask_text(text: str, secrets) -> str:
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def mask_file_text(text: str) -> str:
    text = SECRET_LINE.sub(lambda m: m.group(1) + MASK, text)
    return SECRET_MEMBER.sub(lambda m: m.group(1) + f'"{MASK}"', text)


def mask_params(params: dict | None, secrets) -> dict:
    """Parameters as kept: secret-looking names masked, logged secrets masked, file contents
    replaced by their size, long values capped."""
    kept = {}
    for name, value in (params or {}).items():
        if SECRET_NAME.search(name):
            kept[name] = MASK
        elif name in CONTENT_PARAMS and isinstance(value, str):
            kept[name] = f"<{len(value)} caractères non conservés>"
        else:
            text = json.dumps(value, ensure_ascii=False, default=str)
            text = mask_text(text, secrets)
            if len(text) > PARAM_CAP:
                kept[name] = text[:PARAM_CAP] + "…"
            else:
                kept[name] = json.loads(text)
    return kept


def file_text(path: str, data: bytes) -> str | None:
    """The text of a file worth keeping, or None (withheld): configuration text only."""
    if PATIENT_FOLDER.search(path or "") or not TEXT_FILE.search(path or ""):
        return None
    if len(data) > FILE_TEXT_CAP or b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


class Recorder:
    """What one run received; kept in memory (bounded) and written when the run ends."""

    def __init__(self, run, secrets: set[str]):
        self.run = run
        self.secrets = secrets  # the log's set: filled as credentials are decrypted
        self.entries: list[dict] = []
        self.kept_chars = 0
        self.dropped = 0
        self.lock = threading.Lock()
        job = run.step.job
        # As the run found them: a step may change them (source.locate writes the paths).
        self.job_state = {
            "options": copy.deepcopy(job.options or {}),
            "discovered_paths": copy.deepcopy(job.discovered_paths or {}),
            "source_kind": job.source_kind,
            "site_workgroup": job.site.workgroup,  # target.network judges against it
        }
        self.params = copy.deepcopy(run.params or {})

    def add(self, machine, kind: str, name: str, params: dict, **fields) -> None:
        entry = {
            "at": timezone.now(),
            "kind": kind,
            "name": name[:200],
            "hostname": machine.hostname,
            "machine": machine_info(machine),
            "params": params,
            **fields,
        }
        with self.lock:
            size = sum(len(entry.get(k) or "") for k in ("output", "stderr"))
            if len(self.entries) >= MAX_CAPTURES or self.kept_chars + size > RUN_CAP:
                self.dropped += 1
                return
            self.kept_chars += size
            self.entries.append(entry)

    def rows(self, status: str, summary: str, result: dict):
        secrets = set(self.secrets)
        job = self.run.step.job
        verdict = {
            "status": status,
            "summary": mask_text(summary or "", secrets),
            "items": [
                {
                    "label": mask_text(str(i.get("label", "")), secrets),
                    "status": i.get("status", ""),
                    "detail": mask_text(str(i.get("detail", "")), secrets),
                }
                for i in (result or {}).get("items", [])
            ],
        }
        context = {
            "step": self.run.step.key,
            "attempt": self.run.attempt,
            "params": mask_params(self.params, secrets),
            "job": json.loads(mask_text(json.dumps(self.job_state, default=str), secrets)),
            "machines": [machine_info(m, place) for m, place in job_places(job)],
            "verdict": verdict,
            "dropped": self.dropped,
            "caps": {"output": OUTPUT_CAP, "run": RUN_CAP, "captures": MAX_CAPTURES},
        }
        from migrations_app.models import RawCapture

        yield RawCapture(run=self.run, seq=0, kind="context", params=context)
        for seq, entry in enumerate(self.entries, start=1):
            entry = dict(entry)
            entry["params"] = mask_params(entry["params"], secrets)
            for key in ("output", "stderr", "error"):
                entry[key] = mask_text(entry.get(key) or "", secrets)
            yield RawCapture(run=self.run, seq=seq, **entry)

    def save(self, status: str, summary: str, result: dict) -> None:
        """Write the run's captures with its verdict; a failure here never fails the run."""
        from migrations_app.execution.context import with_db_retry
        from migrations_app.models import RawCapture

        try:
            rows = list(self.rows(status, summary, result))
            with_db_retry(
                lambda: RawCapture.objects.bulk_create(rows, batch_size=200),
                f"run {self.run.pk}: saving captures",
                attempts=5,
            )
        except Exception:
            logger.exception("run %s: field captures not saved", self.run.pk)


def _capped(text: str) -> tuple[str, bool]:
    if len(text) > OUTPUT_CAP:
        return text[:OUTPUT_CAP], True
    return text, False


def _powershell_job(command, stdin) -> dict | None:
    if stdin is None or isinstance(command, str) or list(command) != ps.bootstrap_argv():
        return None
    try:
        return ps.decode_stdin(stdin)
    except (ValueError, UnicodeDecodeError):
        return None


def _read_output(stdout: str, path: str) -> tuple[str, bool, dict]:
    """A files.read answer as kept: its file text masked and re-encoded, or withheld."""
    for line in reversed(stdout.splitlines()):
        if line.lstrip("\ufeff").startswith(ps.RESULT_MARKER):
            try:
                payload = json.loads(line.lstrip("\ufeff")[len(ps.RESULT_MARKER) :])
                data = base64.b64decode(payload.get("result") or "") if payload.get("ok") else None
            except (ValueError, TypeError):
                return stdout, False, {}
            if data is None:
                return stdout, False, {}
            text = file_text(path, data)
            facts = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            if text is None:
                return "", True, facts
            kept = mask_file_text(text)
            if kept != text:
                encoded = base64.b64encode(kept.encode("utf-8")).decode("ascii")
                line = ps.RESULT_MARKER + json.dumps({"ok": True, "result": encoded})
                return line + "\r\n", False, facts
            return stdout, False, facts
    return stdout, False, {}


def watch(transport, machine):
    """The transport, recording what it receives into the current run's recorder (if any)."""
    recorder = _session.get()
    if recorder is None or not isinstance(recorder, Recorder):
        return transport
    original_run = transport.run

    def run(command, **kwargs):
        job = _powershell_job(command, kwargs.get("stdin"))
        if job is not None:
            kind, name = "powershell", ps.script_name(job.get("script") or "") or "sans-nom"
            params = dict(job.get("params") or {})
            for secret_name in job.get("secrets") or {}:
                params[secret_name] = MASK
        else:
            line = command if isinstance(command, str) else " ".join(map(str, command))
            kind, name, params = "command", line.split(" ", 1)[0], {"command": line}
        try:
            result = original_run(command, **kwargs)
        except RemoteError as exc:
            recorder.add(machine, kind, name, params, error=str(exc))
            raise
        stdout, withheld, facts = result.stdout, False, {}
        if name == READ_SCRIPT:
            stdout, withheld, facts = _read_output(stdout, str(params.get("Path", "")))
        output, cut_out = _capped(stdout)
        stderr, cut_err = _capped(result.stderr)
        recorder.add(
            machine,
            kind,
            name,
            {**params, **({"_file": facts} if facts else {})},
            output=output,
            stderr=stderr,
            exit_code=result.exit_code,
            size=len(result.stdout) + len(result.stderr),
            truncated=cut_out or cut_err,
            withheld=withheld,
        )
        return result

    transport.run = run
    if getattr(transport, "kind", "") != "winrm":  # WinRM reads files through run() already
        original_read = transport.read_file

        def read_file(path):
            try:
                data = original_read(path)
            except RemoteError as exc:
                recorder.add(machine, "file", READ_SCRIPT, {"Path": path}, error=str(exc))
                raise
            text = file_text(path, data)
            facts = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
            recorder.add(
                machine,
                "file",
                READ_SCRIPT,
                {"Path": path, "_file": facts},
                output=mask_file_text(text) if text is not None else "",
                size=len(data),
                withheld=text is None,
            )
            return data

        transport.read_file = read_file
    return transport


def note(machine, kind: str, name: str, output: str, params: dict | None = None) -> None:
    """Record an input a step read other than through a transport (the card-reader agent's
    report, from the database), when a run is recording."""
    recorder = _session.get()
    if isinstance(recorder, Recorder):
        text, cut = _capped(output)
        recorder.add(
            machine, kind, name, params or {}, output=text, size=len(output), truncated=cut
        )


@contextlib.contextmanager
def recording(recorder: Recorder):
    """Record what the transports opened inside this block receive (inside a replay, the
    replay stays current: the run answers from the capture and records nothing)."""
    if isinstance(_session.get(), Replay):
        yield recorder
        return
    token = _session.set(recorder)
    try:
        yield recorder
    finally:
        _session.reset(token)


# -- replay ---------------------------------------------------------------------------------


class Answers:
    """The captured outputs of one run, per (hostname, kind, name), in their order."""

    def __init__(self, entries: list[dict]):
        self.queues: dict[tuple, deque] = defaultdict(deque)
        for entry in entries:
            key = (entry["hostname"].casefold(), entry["kind"], entry["name"])
            self.queues[key].append(entry)
        self.missing: list[str] = []

    def next(self, hostname: str, kind: str, name: str) -> dict:
        queue = self.queues.get((hostname.casefold(), kind, name))
        if not queue:
            message = f"aucune sortie enregistrée pour « {name} » sur {hostname}"
            self.missing.append(message)
            raise RemoteError(f"Rejeu : {message}.")
        entry = queue.popleft()
        if entry.get("withheld"):
            raise RemoteError(f"Rejeu : contenu non conservé dans la capture ({name}).")
        if entry.get("error"):
            raise RemoteError(entry["error"])
        return entry

    def left(self) -> list[str]:
        return [f"{name} sur {host}" for (host, _k, name), q in self.queues.items() for _ in q]


class ReplayTransport:
    """Answers what a step asks a machine with what that machine answered in the capture."""

    def __init__(self, machine, answers: Answers):
        self.kind = machine.transport  # as the step saw it (trees name their location by it)
        self.machine = machine
        self.host = machine.hostname
        self.answers = answers

    def run(self, command, *, on_line=None, cancel=None, stdin=None, timeout=None):
        job = _powershell_job(command, stdin)
        if job is not None:
            kind, name = "powershell", ps.script_name(job.get("script") or "") or "sans-nom"
        else:
            line = command if isinstance(command, str) else " ".join(map(str, command))
            kind, name = "command", line.split(" ", 1)[0]
        entry = self.answers.next(self.host, kind, name)
        stdout, stderr = entry.get("output") or "", entry.get("stderr") or ""
        if on_line:
            for line in stdout.splitlines():
                on_line("stdout", line)
            for line in stderr.splitlines():
                on_line("stderr", line)
        code = entry.get("exit_code")
        return CommandResult(0 if code is None else code, stdout, stderr)

    def powershell(self, script, params=None, *, secrets=None):
        return ps.run_script(self, script, params, secrets)

    def read_file(self, path):
        if self.machine.transport == "winrm":
            return self._winrm("read_file", path)
        entry = self.answers.next(self.host, "file", READ_SCRIPT)
        return (entry.get("output") or "").encode("utf-8")

    def _winrm(self, method, *args, **kwargs):
        from julieops.remote.winrm import WinRMTransport

        return getattr(WinRMTransport, method)(self, *args, **kwargs)

    def write_file(self, path, data, mtime=None):
        return self._winrm("write_file", path, data, mtime)

    def make_dirs(self, path):
        return self._winrm("make_dirs", path)

    def remove_file(self, path):
        return self._winrm("remove_file", path)

    def remove_dir(self, path):
        return self._winrm("remove_dir", path)

    def set_mtime(self, path, mtime):
        return self._winrm("set_mtime", path, mtime)

    def stat(self, path):
        return self._winrm("stat", path)

    def list_tree(self, path):
        return self._winrm("list_tree", path)

    def close(self):
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class Replay:
    """Made current by `replaying()`: `transport_for` answers from the capture."""

    def __init__(self, answers: Answers):
        self.answers = answers

    def transport(self, machine):
        return ReplayTransport(machine, self.answers)


def replacement(machine):
    """The replay transport for `machine` while a replay is current, else None."""
    session = _session.get()
    return session.transport(machine) if isinstance(session, Replay) else None


@contextlib.contextmanager
def replaying(answers: Answers):
    token = _session.set(Replay(answers))
    try:
        yield
    finally:
        _session.reset(token)
