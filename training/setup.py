"""The training practice's posts, made once: their Julie trees (the demo's generator), their
certificates and accounts, and their Windows state as a practice would have it the evening
before its migration (Julie closed everywhere, the new server freshly installed)."""

from __future__ import annotations

import dataclasses
import secrets
import shutil
import socket
import time
from pathlib import Path

from julieops.julietree.generate import (
    TreeOptions,
    generate_client_post,
    generate_julie_tree,
    generate_sms_host,
    windows_skeleton,
)
from training.agent import CPS_ATR, VITALE_ATR
from training.certs import self_signed_certificate
from training.state import State

EVERYONE = "Tout le monde"  # a French Windows names S-1-1-0 so
JULIE_EXE = r"C:\Juliew\Julie.exe"
NO_SESSION = "Aucun utilisateur pour *\r\n"  # quser's answer (French) when nobody is logged on

# (key, Windows name, loopback address, what it is). Each post has its own loopback address:
# the dashboard refuses a new server with the same address as the old one, and robocopy's
# \\address\C$ names the old server by its address.
POSTS = (
    ("ancien-serveur", "ANCIEN-SERVEUR", "127.0.0.11", "old server"),
    ("nouveau-serveur", "NOUVEAU-SERVEUR", "127.0.0.12", "new server"),
    ("poste-sms", "POSTE-SMS", "127.0.0.13", "SMS host"),
    ("poste-accueil", "POSTE-ACCUEIL", "127.0.0.14", "reception (card readers)"),
    ("poste-soins", "POSTE-SOINS", "127.0.0.15", "treatment room"),
)
SEED = 2026


def _free_port(address: str) -> int:
    with socket.socket() as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def _service(name: str, display: str, running: bool = True) -> dict:
    return {"Name": name, "DisplayName": display, "Status": "Running" if running else "Stopped",
            "StartType": "Automatic"}  # fmt: skip


def _rule(name: str, port) -> dict:
    return {"DisplayName": name, "Direction": "Inbound", "Protocol": "TCP",
            "LocalPort": [str(port)], "Program": "Any"}  # fmt: skip


ADMIN_SHARES = [
    {"Name": name, "Path": path, "Description": "", "Special": True, "Access": []}
    for name, path in (("ADMIN$", "C:\\Windows"), ("C$", "C:\\"), ("IPC$", ""))
]


def _post(key, hostname, address, port, lan) -> dict:
    return {
        "hostname": hostname,
        "address": address,
        "port": port,
        "lan_address": lan,
        "username": "julie-admin",
        "password": secrets.token_urlsafe(18),
        "drives": {"C:": f"posts/{key}/C"},
        "everyone_name": EVERYONE,
        "hardware": {
            "cpu": "Intel(R) Core(TM) i5-10500 CPU @ 3.10GHz",
            "cores": 6,
            "memory": 8 * 1024**3,
            "disk": 1000 * 1000**3,
            "os": {
                "Caption": "Microsoft Windows 10 Professionnel",
                "Version": "10.0.19045",
                "BuildNumber": "19045",
                "OSArchitecture": "64 bits",
            },
        },  # fmt: skip
        "network": {
            "workgroup": "CABINET",
            "netbios": 1,
            "adapters": [
                {
                    "Name": "Ethernet",
                    "InterfaceDescription": "Intel(R) Ethernet I219-V",
                    "LinkSpeed": "1 Gbps",
                    "MediaType": "802.3",
                    "PhysicalMediaType": "802.3",
                }
            ],
            "quser": NO_SESSION,
            "remote_logons": [],
        },  # fmt: skip
        "firewall": [],
        "shares": [dict(s, Access=[]) for s in ADMIN_SHARES],
        "acl": {},
        "defender": {"ExclusionPath": [], "ExclusionProcess": []},
        "services": [],
        "processes": [],
        "compat_layers": {"HKCU": {}, "HKLM": {JULIE_EXE: "~ RUNASADMIN"}},
        "registry": {},
        "readers": {},
        "tasks": {},
    }


def prepare(
    folder: Path | str, *, replace: bool = False, image_bytes: int = 20_000, port: int = 0
) -> State:
    """Create the practice's posts under `folder` (refused when it exists, unless `replace`).
    `port`: every post's WinRM port (each has its own address), 0 for a free one each."""
    folder = Path(folder)
    if State.exists(folder):
        if not replace:
            raise FileExistsError(f"{folder} contient déjà un cabinet d'entraînement")
        shutil.rmtree(folder / "posts", ignore_errors=True)
        shutil.rmtree(folder / "certs", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    now = float(int(time.time()))
    posts = {}
    for index, (key, hostname, address, _what) in enumerate(POSTS, start=1):
        posts[key] = _post(
            key, hostname, address, port or _free_port(address), f"192.168.1.{10 + index}"
        )
        certfile, keyfile, der = self_signed_certificate(
            folder / "certs", hostname, addresses=(address,)
        )
        posts[key]["cert"] = str(certfile.relative_to(folder))
        posts[key]["key"] = str(keyfile.relative_to(folder))
        posts[key]["certificate_der"] = der.hex()
    c = {key: folder / "posts" / key / "C" for key in posts}
    options = TreeOptions(host="ANCIEN-SERVEUR", seed=SEED, patients=10, now=now,
                          image_bytes=image_bytes, data_root="partage/Juliew",
                          sms_host="POSTE-SMS")  # fmt: skip
    generate_julie_tree(c["ancien-serveur"], options)
    # Cone-beam images on a second disk, as practices often keep them.
    d = folder / "posts" / "ancien-serveur" / "D"
    (d / "IMAGERIE").mkdir(parents=True)
    shutil.move(c["ancien-serveur"] / "partage/Juliew/XRAY3D", d / "IMAGERIE" / "XRAY3D")
    posts["ancien-serveur"]["drives"]["D:"] = "posts/ancien-serveur/D"
    # The SMS post's Sms.db is older than the newest JulieServicesDb zip (its service stopped
    # writing weeks ago): data.services proposes the zip's copy, which a superviseur approves.
    generate_sms_host(c["poste-sms"], dataclasses.replace(options, sms_db_stale=True))
    windows_skeleton(c["nouveau-serveur"], now, seed=SEED)
    # Julie's installer has run on the new server (a manual step the simulator cannot watch):
    # its program folder, its key server and the paths it was given.
    (c["nouveau-serveur"] / "Juliew").mkdir(parents=True)
    (c["nouveau-serveur"] / "Juliew" / "Julie.exe").write_bytes(b"MZ" + b"\0" * 510)
    for key in ("poste-accueil", "poste-soins"):
        generate_client_post(c[key], seed=SEED, now=now)
    _windows_state(posts)
    state = State(folder, {"posts": posts, "created_at": now})
    state.save()
    return state


def _windows_state(posts: dict) -> None:
    old, new, sms = posts["ancien-serveur"], posts["nouveau-serveur"], posts["poste-sms"]
    old["shares"].append(
        {"Name": "partage", "Path": r"C:\partage", "Description": "", "Special": False,
         "Access": [{"AccountName": EVERYONE, "AccessControlType": "Allow",
                     "AccessRight": "Full"}]}
    )  # fmt: skip
    old["services"] = [
        _service("JulieWebServices", "Julie Web Services"),
        _service("JulieOnsite", "Julie Onsite"),
        _service("Servcle", "Servcle - serveur de clé Julie"),
    ]
    old["firewall"] = [_rule("Julie - serveur de clé", 1947), _rule("Julie - services", 8097),
                       _rule("Julie - Onsite", 8095)]  # fmt: skip
    sms["services"] = [_service("JulieOnlineService", "Julie Online Service (SMS)")]
    from julieops.windows.firewall import SERVICES_PORTS

    sms["firewall"] = [_rule(f"Julie - {name}", port) for name, port in SERVICES_PORTS]
    for post in (sms, posts["poste-accueil"], posts["poste-soins"]):
        post["firewall"] += [
            {"DisplayName": f"Julie.exe ({d})", "Direction": d, "Protocol": "Any",
             "LocalPort": ["Any"], "Program": JULIE_EXE}
            for d in ("Inbound", "Outbound")
        ]  # fmt: skip
    # The key moves to the new server: its key server runs there once Julie is installed.
    new["processes"] = [{"Name": "Servcle", "Id": 2116}]
    new["registry"] = {
        r"HKLM:\SOFTWARE\WOW6432Node\Julie Solutions\Julie": {
            "CheminDonnees": r"C:\partage\Juliew\Datas",
            "CheminRadios": r"C:\partage\Juliew",
            "CheminImages": r"C:\partage\Juliew",
        }
    }
    for key in ("poste-accueil", "poste-soins"):
        posts[key]["processes"] = [{"Name": "hasplms", "Id": 1820}]  # the Sentinel runtime
    # PC/SC readers, one with the Vitale card and one with the CPS (GALSS not installed);
    # the practice user's session maps J: on the old server's share.
    # post.readers reads the new server too: the practice's server is also a desk here.
    for key in ("nouveau-serveur", "poste-accueil", "poste-soins"):
        posts[key]["readers"] = {
            "pcsc": [
                ("Gemalto USB Smart Card Reader 0", VITALE_ATR),
                ("Gemalto USB Smart Card Reader 1", CPS_ATR),
            ]
        }
    for key in ("poste-accueil", "poste-soins"):
        posts[key]["session"] = {
            "user": "secretariat",
            "drives": [{"letter": "J:", "remote": r"\\ANCIEN-SERVEUR\partage"}],
            "enable_linked_connections": True,
        }
