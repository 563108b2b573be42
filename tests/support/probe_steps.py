"""Probe steps for the execution tests, outside the procedure's catalogue.

Loaded by the worker processes through JULIEOPS_EXTRA_STEP_MODULES. Their behaviour comes
from the job's options, so one worker serves every test."""

import time

from migrations_app.steps.registry import Outcome, Step, register


@register
class ProbeLog(Step):
    """Writes `probe_lines` log lines (default 100), then passes."""

    key = "probe.log"
    phase = 9
    kind = "auto"
    title = "Sonde : journal"
    in_catalogue = False

    def run(self, ctx):
        count = int(ctx.job.options.get("probe_lines", 100))
        for i in range(1, count + 1):
            ctx.log.info(f"ligne {i}")
            if i % 1000 == 0:
                ctx.progress(done=i, total=count)
        return Outcome("passed", f"{count} lignes écrites")


@register
class ProbeSleep(Step):
    """Logs a tick per `probe_tick` seconds for `probe_seconds`, honouring cancel."""

    key = "probe.sleep"
    phase = 9
    kind = "auto"
    title = "Sonde : attente"
    in_catalogue = False

    def run(self, ctx):
        seconds = float(ctx.job.options.get("probe_seconds", 60))
        tick = float(ctx.job.options.get("probe_tick", 0.2))
        deadline = time.monotonic() + seconds
        n = 0
        while time.monotonic() < deadline:
            ctx.check_cancel()
            n += 1
            ctx.log.info(f"tic {n}")
            ctx.progress(done=n, total=int(seconds / tick))
            time.sleep(tick)
        return Outcome("passed", f"{n} tics")


@register
class ProbeSecret(Step):
    """Logs the source machine's credential secret: the logger must mask it."""

    key = "probe.secret"
    phase = 9
    kind = "auto"
    title = "Sonde : secret"
    in_catalogue = False

    def run(self, ctx):
        credential = ctx.source.credential
        ctx.add_secret(credential.secret)
        ctx.log.info(f"connexion avec {credential.username} / {credential.secret}")
        return Outcome("passed", "ok")


@register
class ProbeHang(Step):
    """Blocks for `probe_hang` seconds without a log line, progress or cancel check: a read
    that never returns (the heartbeat, on the flusher's thread, goes on)."""

    key = "probe.hang"
    phase = 9
    kind = "auto"
    title = "Sonde : lecture bloquée"
    in_catalogue = False

    def run(self, ctx):
        ctx.log.info("lecture…")
        time.sleep(float(ctx.job.options.get("probe_hang", 3600)))
        return Outcome("passed", "lecture terminée")


@register
class ProbeEvidence(Step):
    """Logs a tick per 0.1 s for `probe_seconds`, then stores evidence and an audit event
    (what a mirror does at its end): the database writes a restart must not lose."""

    key = "probe.evidence"
    phase = 9
    kind = "auto"
    title = "Sonde : preuve"
    in_catalogue = False

    def run(self, ctx):
        deadline = time.monotonic() + float(ctx.job.options.get("probe_seconds", 3))
        n = 0
        while time.monotonic() < deadline:
            ctx.check_cancel()
            n += 1
            ctx.log.info(f"tic {n}")
            ctx.progress(done=n)
            time.sleep(0.1)
        evidence = ctx.evidence("sonde.json", b'{"tics": %d}' % n, "probe")
        ctx.audit("probe.evidence", "data", data={"evidence": evidence.pk, "tics": n})
        return Outcome("passed", f"{n} tics, preuve {evidence.pk}")
