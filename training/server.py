"""The simulator process: one WS-Management endpoint per post (HTTPS on its own loopback
address and port, HTTP Basic with the post's account), each command's script name looked up in
`training.scripts` and run against the shared state."""

from __future__ import annotations

import contextlib
import logging
import threading

from julieops.remote.powershell import decode_stdin, script_name
from training.scripts import ScriptFailure, Simulator
from training.state import State
from training.wsman import (
    ReceivedCommand,
    Reply,
    WsmanEndpoint,
    powershell_failure,
    powershell_reply,
)

log = logging.getLogger("training")


def responder(sim: Simulator, post: str):
    def respond(command: ReceivedCommand) -> Reply:
        try:
            job = decode_stdin(command.stdin)
        except ValueError:
            return powershell_failure("commande sans script PowerShell : refusée par le simulateur")
        name = script_name(job.get("script") or "")
        try:
            result = sim.run(post, name, job.get("params") or {}, job.get("secrets") or {})
        except ScriptFailure as exc:
            log.info("%s : %s → échec : %s", post, name, exc)
            return powershell_failure(str(exc), where=f"simulateur, script {name}")
        except Exception as exc:  # a handler's bug is a failed script, never a hung request
            log.exception("%s : %s", post, name)
            return powershell_failure(f"erreur du simulateur ({type(exc).__name__}: {exc})")
        log.info("%s : %s", post, name)
        return powershell_reply(result)

    return respond


class TrainingServer:
    """Every post of the state folder served until `stop()` (a context manager too)."""

    def __init__(self, folder):
        self.state = State.load(folder)
        self.sim = Simulator(self.state)
        self.endpoints: dict[str, WsmanEndpoint] = {}
        for key, post in self.state.posts.items():
            self.endpoints[key] = WsmanEndpoint(
                responder(self.sim, key),
                username=post["username"],
                password=post["password"],
                certfile=self.state.folder / post["cert"],
                keyfile=self.state.folder / post["key"],
                host=post["address"],
                port=post["port"],
                keep_history=False,
            )
        self.stopped = threading.Event()

    def start(self) -> TrainingServer:
        for endpoint in self.endpoints.values():
            endpoint.thread.start()
        return self

    def stop(self) -> None:
        for endpoint in self.endpoints.values():
            with contextlib.suppress(Exception):
                endpoint.__exit__(None, None, None)
        self.stopped.set()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
