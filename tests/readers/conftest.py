"""Fixtures for the dashboard side of the readers: agent tokens, reports, a private pcscd."""

import pytest

from readers.agent.atr import classify_atr
from readers.agent.galss import parse_galss
from readers.agent.report import build_report
from readers.models import AgentToken
from tests.support.pcsc import start_pcscd

VITALE_2 = "3B 75 13 00 00 47 09 EA 90 00"
CPS3 = "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"
READER_A = "Gemalto PC Twin Reader 00 00"
READER_B = "Gemalto PC Twin Reader 01 00"

# Two serial SESAM-Vitale readers declared in galss.ini; the second on COM12.
PSS_COM12 = """[CONFIG]
NbCanaux=2

[CANAL1]
TCanal=1
Index=3
Protocole=1
NbPAD=1

[CANAL1.PAD1]
NbLAD=2

[CANAL1.PAD1.LAD1]
NomLAD=CPS

[CANAL1.PAD1.LAD2]
NomLAD=Vitale

[CANAL2]
TCanal=1
Index=12
Protocole=1
NbPAD=1

[CANAL2.PAD1]
NbLAD=1

[CANAL2.PAD1.LAD1]
NomLAD=CPS

[PROTOCOLE1]
NomLib=PSSINW32
"""


def reader(name: str, atr: str | None) -> dict:
    if atr is None:
        return {
            "name": name,
            "state": ["empty"],
            "atr": None,
            "card": None,
            "label": None,
            "descriptions": [],
        }
    info = classify_atr(atr, smartcard_list=None)
    return {
        "name": name,
        "state": ["present"],
        "atr": info.atr,
        "card": info.card,
        "label": info.label,
        "descriptions": [],
    }


def a_report(
    hostname: str,
    readers=((READER_A, VITALE_2), (READER_B, CPS3)),
    *,
    galss_ini: str | None = None,
    ga_files: list[str] | None = (),
    galss_installed: bool | None = False,
) -> dict:
    """A report as the agent builds it, for `hostname`; default: a good PC/SC post."""
    scan = {
        "status": "ok",
        "message": f"{len(readers)} lecteur(s) PC/SC détecté(s).",
        "readers": [reader(name, atr) for name, atr in readers],
    }
    galss = parse_galss(galss_ini).as_dict() if galss_ini else None
    report = build_report(
        scan,
        galss=galss,
        galss_path=r"C:\Windows\galss.ini" if galss_ini else None,
        windows_ga_files=None if ga_files is None else list(ga_files),
        galss_installed=galss_installed,
    )
    report["host"]["hostname"] = hostname
    return report


def issue(machine, user=None) -> str:
    return AgentToken.issue(machine, user)[1]


@pytest.fixture(scope="session")
def agent_pcscd(tmp_path_factory):
    """A private pcscd for the agent subprocesses (their own PCSCLITE_CSOCK_NAME)."""
    daemon = start_pcscd(tmp_path_factory.mktemp("pcscd"))
    yield daemon
    daemon.stop()
