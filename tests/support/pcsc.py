"""A private pcscd with the two virtual readers of vsmartcard-vpcd, and emulated cards.

pcscd 1.9.9 has its socket path compiled in (/run/pcscd/pcscd.comm), but it accepts a socket
passed by systemd-style activation (LISTEN_FDS), and the client library reads
PCSCLITE_CSOCK_NAME. So each test session gets its own socket and its own vpcd TCP ports
(a private reader.conf.d), and never disturbs a system pcscd. pcscd still writes and removes
/run/pcscd/pcscd.pid; nothing else is shared.

Emulated cards run Debian's `python3-virtualsmartcard` with the system Python, patched at run
time for its two packaging defects (reference/smartcards.md §3.3): the module directory is not
on sys.path, and it imports `Crypto` while Debian's python3-pycryptodome ships `Cryptodome`.
"""

import re
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PCSCD = "/usr/sbin/pcscd"
VPCD_DRIVER = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
SYSTEM_PYTHON = "/usr/bin/python3"
VICC_PATH = "/usr/lib/python3/site-packages/virtualsmartcard"
# vpcd names its two slots "<FRIENDLYNAME> 00 00" and "<FRIENDLYNAME> 00 01".
FRIENDLY_NAME = "Virtual PCD"
READER_NAMES = (f"{FRIENDLY_NAME} 00 00", f"{FRIENDLY_NAME} 00 01")

# Run by the system Python: alias Crypto.* to Cryptodome.* (a meta-path finder, so that
# submodules such as Crypto.Hash.SHA resolve too), then present a card with the given ATR.
VICC_BOOT = r"""
import importlib, importlib.abc, importlib.util, logging, sys

class CryptoAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name == "Crypto" or name.startswith("Crypto."):
            return importlib.util.spec_from_loader(name, self)
        return None
    def create_module(self, spec):
        return importlib.import_module("Cryptodome" + spec.name[len("Crypto"):])
    def exec_module(self, module):
        pass

sys.meta_path.insert(0, CryptoAlias())
sys.path.insert(0, sys.argv[1])
from virtualsmartcard.VirtualSmartcard import VirtualICC

vicc = VirtualICC(None, "iso7816", "127.0.0.1", int(sys.argv[2]), logginglevel=logging.INFO)
vicc.os.atr = bytes.fromhex(sys.argv[3])
print("vicc ready", flush=True)
vicc.run()
"""


def free_port_pair() -> int:
    """A port p such that p and p + 1 are both free on this host (vpcd uses both)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("", 0))
            port = probe.getsockname()[1]
        if port >= 65535:
            continue
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("", port))
                b.bind(("", port + 1))
        except OSError:
            continue
        return port
    raise RuntimeError("no pair of free TCP ports")


@dataclass
class VirtualCard:
    atr: str
    port: int
    process: subprocess.Popen

    def remove(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


@dataclass
class PcscDaemon:
    """pcscd on a private socket; `env` is what a client process needs to reach it."""

    workdir: Path
    socket_path: Path
    base_port: int
    process: subprocess.Popen | None = None
    with_readers: bool = True
    cards: dict[int, VirtualCard] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {"PCSCLITE_CSOCK_NAME": str(self.socket_path)}

    @property
    def log_path(self) -> Path:
        return self.workdir / "pcscd.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, with_readers: bool = True) -> None:
        """Start pcscd; `with_readers=False` gives a pcscd that knows no reader at all."""
        if self.running:
            return
        self.with_readers = with_readers
        confdir = self.workdir / ("reader.conf.d" if with_readers else "no-reader.conf.d")
        confdir.mkdir(parents=True, exist_ok=True)
        if with_readers:
            (confdir / "vpcd").write_text(
                f'FRIENDLYNAME "{FRIENDLY_NAME}"\n'
                f"DEVICENAME   /dev/null:0x{self.base_port:04X}\n"
                f"LIBPATH      {VPCD_DRIVER}\n"
                f"CHANNELID    0x{self.base_port:04X}\n"
            )
        offset = len(self.log())
        self.socket_path.unlink(missing_ok=True)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.socket_path))
        self.socket_path.chmod(0o666)
        listener.listen(16)
        fd = listener.fileno()
        env = {"PATH": "/usr/sbin:/usr/bin:/bin", "LISTEN_FDS": "1", "LISTENER_FD": str(fd)}
        log = self.log_path.open("ab")
        try:
            # pcscd wants the listening socket as fd 3 (SD_LISTEN_FDS_START) and LISTEN_PID set
            # to its own pid: bash moves the fd, sets LISTEN_PID to $$ and `exec`s pcscd.
            script = (
                'if [ "$LISTENER_FD" != 3 ]; then exec 3<&"$LISTENER_FD" {LISTENER_FD}<&-; fi; '
                'unset LISTENER_FD; export LISTEN_PID=$$; exec "$0" "$@"'
            )
            self.process = subprocess.Popen(
                [
                    "/bin/bash",
                    "-c",
                    script,
                    PCSCD,
                    "--foreground",
                    "--info",
                    "--config",
                    str(confdir),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(fd,),
            )
        finally:
            listener.close()
            log.close()
        self._wait_for(lambda: "daemon ready" in self.log()[offset:], "pcscd")

    def stop(self) -> None:
        for slot in list(self.cards):
            self.remove_card(slot)
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self.process = None
        self.socket_path.unlink(missing_ok=True)

    def insert_card(self, slot: int, atr: str) -> VirtualCard:
        """Present an emulated card with `atr` in reader READER_NAMES[slot]; return once
        pcscd has seen it."""
        self.remove_card(slot)
        atr_hex = "".join(atr.split())
        port = self.base_port + slot
        offset = len(self.log())
        log = (self.workdir / f"vicc{slot}.log").open("ab")
        try:
            process = subprocess.Popen(
                [SYSTEM_PYTHON, "-c", VICC_BOOT, VICC_PATH, str(port), atr_hex],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={"PATH": "/usr/bin:/bin"},
            )
        finally:
            log.close()
        card = VirtualCard(atr=atr, port=port, process=process)
        self.cards[slot] = card
        spaced = " ".join(atr_hex[i : i + 2] for i in range(0, len(atr_hex), 2)).upper()
        seen = re.compile(
            rf"Card inserted into {re.escape(READER_NAMES[slot])}\n\S+ Card ATR: {spaced}"
        )
        self._wait_for(
            lambda: seen.search(self.log()[offset:]), f"card in slot {slot}", card.process
        )
        return card

    def remove_card(self, slot: int) -> None:
        card = self.cards.pop(slot, None)
        if card is None:
            return
        offset = len(self.log())
        card.remove()
        gone = f"Card Removed From {READER_NAMES[slot]}"
        self._wait_for(lambda: gone in self.log()[offset:], f"removal from slot {slot}")

    def _wait_for(self, ready, what: str, child: subprocess.Popen | None = None) -> None:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if ready():
                return
            for proc in (self.process, child):
                if proc is not None and proc.poll() is not None:
                    raise RuntimeError(f"{what}: process exited\n{self.log()}")
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {what}\n{self.log()}")


def start_pcscd(workdir: Path, socket_path: Path | None = None) -> PcscDaemon:
    """Start a private pcscd. Clients reach it with PCSCLITE_CSOCK_NAME=socket_path, which
    libpcsclite reads once per process: set it before the first PC/SC call."""
    workdir.mkdir(parents=True, exist_ok=True)
    daemon = PcscDaemon(
        workdir=workdir,
        socket_path=socket_path or workdir / "pcscd.comm",
        base_port=free_port_pair(),
    )
    daemon.start()
    return daemon
