"""Jobs whose machines are Windows posts reached by WinRM: each post is a WS-Management
endpoint on loopback (HTTPS, certificate pinned like a confirmed machine) replaying recorded
PowerShell answers; steps run in-process through the real runner."""

import contextlib
import json
from pathlib import Path

import pytest

from julieops.remote.hostkeys import certificate_fingerprint
from migrations_app.execution import runner
from migrations_app.models import Credential, StepRun
from tests.support.wsman import WsmanEndpoint, powershell_reply, self_signed_certificate

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).parents[3] / "fixtures" / "windows"
PASSWORD = "Pa55-w0rd!"  # what the test endpoint checks (HTTP Basic)


def load(name: str):
    folder = FIXTURES if (FIXTURES / name).exists() else SHARED
    return json.loads((folder / name).read_text(encoding="utf-8"))


def run_step(job, key, user, **params) -> StepRun:
    step = job.steps.get(key=key)
    run = StepRun.objects.create(step=step, requested_by=user, queue="test", params=params)
    runner.execute(run.pk, "test")
    run.refresh_from_db()
    return run


def replay(answers: dict):
    """A responder: script text -> value, or callable(params) -> value."""

    def respond(command):
        job = command.powershell_job()
        answer = answers[job["script"]]
        return powershell_reply(answer(job["params"]) if callable(answer) else answer)

    return respond


def scripts(endpoint) -> list[tuple[str, dict]]:
    """(script, params) of every PowerShell call the endpoint received."""
    return [
        (job["script"], job["params"]) for job in (c.powershell_job() for c in endpoint.commands)
    ]


class WindowsPosts:
    def __init__(self, stack, certfile, keyfile, fingerprint):
        self.stack, self.certfile, self.keyfile = stack, certfile, keyfile
        self.fingerprint = fingerprint
        self.endpoints = {}

    def serve(self, machine, answers: dict, *, password: str = PASSWORD) -> WsmanEndpoint:
        endpoint = WsmanEndpoint(
            replay(answers), password=password, certfile=self.certfile, keyfile=self.keyfile
        )
        self.stack.enter_context(endpoint)
        credential = Credential(name=f"admin {machine.hostname}", username="julie-admin")
        credential.secret = password
        credential.save()
        machine.transport, machine.address, machine.port = "winrm", "127.0.0.1", endpoint.port
        machine.credential, machine.host_key_fingerprint = credential, self.fingerprint
        machine.root_path = ""
        machine.save()
        self.endpoints[machine.hostname] = endpoint
        return endpoint

    def bodies(self) -> bytes:
        return b"".join(b for e in self.endpoints.values() for b in e.bodies)


@pytest.fixture
def windows(settings, tmp_path):
    settings.JULIEOPS_WINRM_OPTIONS = {
        "scheme": "https",
        "auth": "basic",
        "operation_timeout": 1,
        "read_timeout": 5,
        "retries": 0,
    }
    settings.JULIEOPS_ROBOCOPY_POLL_SECONDS = 0
    certfile, keyfile, der = self_signed_certificate(tmp_path / "tls")
    with contextlib.ExitStack() as stack:
        yield WindowsPosts(stack, certfile, keyfile, certificate_fingerprint(der))
