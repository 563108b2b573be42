"""Synthetic but realistic Julie trees, for the demo, the tests and the benchmarks.

A tree is a folder standing for a machine's `C:` drive. Everything is derived from a seed:
the same options give the same files with the same bytes; `now` (default: the current time)
anchors the modification times, spread over months (pxdatas: the last days).

What is invented, because Julie's internals are not public:
- the Btrieve file names in `Datas` (PATIENT.DAT, ACTES.DAT, ...) are plausible guesses, and
  their content only looks like Btrieve (4 KiB pages, fixed-length records, a made-up header);
- the FSE/lot file names in `pxdatas` and `ARCH`, and the SQLite schemas of the services
  databases (table names such as `reminders` in Sms.db).
What follows the vendor procedure: the folder layout, `server.register` lines, the services
data folder and its file names, the `JulieServicesDb` zips, `Internet.par` and `Julieprf.ini`.

    python -m julieops.julietree.generate DEST [--patients N] [--image-bytes B] [--backup] ...
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sqlite3
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path

DAY = 86400.0
PAGE = 4096

FIRST_NAMES = [
    "Élodie", "Gaël", "Loïc", "Hélène", "Jérôme", "Noémie", "François", "Zoé", "Anaïs",
    "Mathéo", "Cécile", "Benoît", "Maëlle", "Raphaël", "Léa", "Chloé", "Théo", "Inès", "Joël",
    "Agnès", "Frédéric", "Aurélie", "Clément", "Solène", "Grégoire", "Bérénice", "Océane",
    "Josué", "Marie-Thérèse", "Jean-Noël",
]  # fmt: skip
LAST_NAMES = [
    "Durand", "Lefèvre", "Moreau", "Girard", "Bérard", "Dupré", "Fournier", "Rousseau",
    "Garçon", "Lemaître", "Cœur", "Noël", "Le Goff", "De La Tour", "Saint-Éloi", "Ménard",
    "Bréhat", "Lévêque", "Da Silva", "Ngô", "Perrot", "Château", "Hervé", "Brûlé",
]  # fmt: skip
XRAY_KINDS = ["Panoramique", "Rétro-alvéolaire 36", "Rétro-alvéolaire 11", "Bite-wing gauche"]
IMAGE_KINDS = ["Photo intra-buccale", "Sourire de face", "Empreinte optique"]
DOC_KINDS = ["Devis prothèse", "Consentement éclairé", "Questionnaire médical", "Ordonnance"]
SCAN_KINDS = ["Scan ordonnance", "Scan courrier correspondant", "Scan carte mutuelle"]

# Invented Btrieve file names (Julie's real ones are not public); (name, record length).
BTRIEVE_FILES = [
    ("PATIENT.DAT", 512), ("ACTES.DAT", 128), ("RDV.DAT", 96), ("REGLEMT.DAT", 80),
    ("FSE.DAT", 256), ("PRATICIE.DAT", 384), ("MUTUELLE.DAT", 192), ("DEVIS.DAT", 256),
    ("NGAP.BTR", 64), ("CCAM.BTR", 160), ("AGENDA.BTR", 96), ("COURRIER.BTR", 128),
]  # fmt: skip
BTRIEVE_PER_PATIENT = {
    "PATIENT.DAT": 1, "ACTES.DAT": 14, "RDV.DAT": 9, "REGLEMT.DAT": 6,
    "FSE.DAT": 5, "DEVIS.DAT": 1, "AGENDA.BTR": 9, "COURRIER.BTR": 2,
}  # fmt: skip
NUM_PS = "10001234567"  # a fake practitioner number (N° PS) used as pxdatas/ARCH sub-folder

SERVICES_DATA_DIR = "ProgramData/Julie Software/datas"


@dataclass(frozen=True)
class TreeOptions:
    host: str = "SERVEUR"  # the machine's Windows name
    seed: int = 2024
    patients: int = 8
    image_bytes: int = 20_000  # size of one radio/photo; documents are a quarter of it
    now: float | None = None  # anchor of all mtimes; None = current time
    data_root: str = "Juliew"  # "partage/Juliew"; one with spaces injects datas_path_has_spaces
    imaging_root: str | None = None  # folder holding XRAY/IMAGE/XRAY3D when not in data_root
    register_host: str | None = None  # host written in server.register (default: host, lower)
    server_register: bool = True  # False injects server_register_missing
    services: bool = True  # this machine hosts the services (ProgramData datas)
    sms_host: str | None = None  # JULIEONLINESERVICE on another post (see generate_sms_host)
    sms_db_stale: bool = False  # live Sms.db older than the copy in the newest zip
    corrupt_db: str | None = None  # name of a services SQLite file to corrupt, e.g. "messenger.db"
    pending_fse: int = 6  # FSE waiting in pxdatas
    backup: bool = False  # an incremental backup of the Juliew folder: adds sent FSE, old docs
    sent_fse: int = 5  # FSE already sent (only in a backup tree)
    zips: int = 6  # JulieServicesDb zips, one every 4 hours


# ---------------------------------------------------------------------------------------------
# Small helpers


class _Writer:
    """Writes files under a root and remembers their mtimes, applied at the end (folders get
    the newest mtime of their content, as Windows would show after the last write)."""

    def __init__(self, root: Path):
        self.root = root
        self.mtimes: dict[Path, float] = {}

    def file(self, relpath: str, data: bytes, mtime: float) -> Path:
        path = self.root / relpath
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        self.mtimes[path] = mtime
        return path

    def dir(self, relpath: str) -> Path:
        path = self.root / relpath
        path.mkdir(parents=True, exist_ok=True)
        return path

    def finish(self, default_mtime: float) -> None:
        for path, mtime in self.mtimes.items():
            os.utime(path, (mtime, mtime))
        for dirpath, _dirs, _files in sorted(os.walk(self.root), key=lambda t: -len(t[0])):
            children = [os.path.join(dirpath, n) for n in os.listdir(dirpath)]
            newest = max((os.stat(c).st_mtime for c in children), default=default_mtime)
            os.utime(dirpath, (newest, newest))


def _rng(seed: int, *key: object) -> random.Random:
    # String seeds are hashed with SHA-512 by `random`: stable across runs and platforms.
    return random.Random(f"{seed}:" + ":".join(map(str, key)))


def _day(ts: float) -> str:
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def _jpeg(rng: random.Random, size: int) -> bytes:
    head = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x48\x00\x48\x00\x00"
    return head + rng.randbytes(max(0, size - len(head) - 2)) + b"\xff\xd9"


def _pdf(rng: random.Random, size: int) -> bytes:
    head, tail = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", b"\n%%EOF\n"
    return head + rng.randbytes(max(0, size - len(head) - len(tail))) + tail


def _dicom(rng: random.Random, size: int) -> bytes:
    head = b"\x00" * 128 + b"DICM"
    return head + rng.randbytes(max(0, size - len(head)))


def _ole(rng: random.Random, size: int) -> bytes:  # .doc / .dot (Word 97-2003 container)
    head = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
    return head + rng.randbytes(max(0, size - len(head)))


def _exe(rng: random.Random, size: int) -> bytes:  # placeholder, not a runnable program
    return b"MZ\x90\x00" + rng.randbytes(max(0, size - 4))


def patient_names(seed: int, count: int) -> list[str]:
    rng = _rng(seed, "patients")
    names: list[str] = []
    seen: set[str] = set()
    while len(names) < count:
        name = f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"
        if name in seen:
            name = f"{name} ({sum(n.startswith(name) for n in names) + 2})"
        seen.add(name)
        names.append(name)
    return names


def _btrieve(
    name: str, reclen: int, records: int, rng: random.Random, patients: list[str]
) -> bytes:
    """A page-structured binary that looks like a Btrieve file (not a readable one)."""
    header = bytearray(PAGE)
    header[0:4] = b"FC\x00\x00"
    header[8:10] = PAGE.to_bytes(2, "little")
    header[10:12] = reclen.to_bytes(2, "little")
    header[12:16] = records.to_bytes(4, "little")
    header[16 : 16 + len(name)] = name.encode("ascii")
    body = bytearray()
    for i in range(records):
        record = bytearray(rng.randbytes(reclen))
        record[0:4] = (i + 1).to_bytes(4, "little")
        if patients:
            label = patients[i % len(patients)].encode("cp1252", errors="replace")[: reclen - 8]
            record[4 : 4 + len(label)] = label
        body += record
    pad = (-len(body)) % PAGE
    return bytes(header) + bytes(body) + b"\x00" * pad


# ---------------------------------------------------------------------------------------------
# Services databases (real SQLite files)


def _sqlite_bytes(build: Callable[[sqlite3.Connection], None], wal: bool = False) -> bytes:
    with tempfile.TemporaryDirectory(prefix="julietree-gen-") as tmp:
        path = Path(tmp) / "db.sqlite"
        conn = sqlite3.connect(path)
        try:
            if wal:
                conn.execute("PRAGMA journal_mode=WAL")
            build(conn)
            conn.commit()
        finally:
            conn.close()
        return path.read_bytes()


def _reminders(seed: int, patients: list[str], now: float) -> list[tuple]:
    rng = _rng(seed, "sms")
    rows = []
    for i in range(max(10, len(patients) * 8)):
        appointment = now - rng.uniform(-20, 300) * DAY
        sent = appointment - 2 * DAY
        rows.append(
            (
                i + 1,
                rng.choice(patients) if patients else "Patient",
                f"06{rng.randrange(10**8):08d}",
                _day(appointment),
                sent,
                "envoyé" if sent < now else "planifié",
                f"Rappel : rendez-vous le {_day(appointment)} au cabinet dentaire.",
            )
        )
    rows.sort(key=lambda r: r[4])
    return rows


def sms_db_bytes(seed: int, patients: list[str], now: float, until: float | None = None) -> bytes:
    """Sms.db with its reminder history; `until` keeps only reminders sent before it (an old
    copy of the base)."""
    rows = [r for r in _reminders(seed, patients, now) if until is None or r[4] <= until]

    def build(conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE reminders (id INTEGER PRIMARY KEY, patient TEXT, phone TEXT, "
            "appointment_day TEXT, sent_at REAL, status TEXT, message TEXT)"
        )
        conn.execute("CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT)")
        conn.executemany("INSERT INTO reminders VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
        conn.executemany(
            "INSERT INTO settings VALUES (?, ?)",
            [("delai_rappel_heures", "48"), ("expediteur", "CABINET"), ("actif", "1")],
        )

    return _sqlite_bytes(build)


def _services_files(seed: int, patients: list[str], now: float) -> dict[str, bytes]:
    rng = _rng(seed, "services")

    def smartcontact(conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE waiting_list (id INTEGER PRIMARY KEY, patient TEXT, phone TEXT, "
            "wish TEXT, created_at REAL)"
        )
        conn.execute("CREATE TABLE favorite_acts (id INTEGER PRIMARY KEY, code TEXT, label TEXT)")
        conn.executemany(
            "INSERT INTO waiting_list (patient, phone, wish, created_at) VALUES (?, ?, ?, ?)",
            [
                (
                    p,
                    f"07{rng.randrange(10**8):08d}",
                    "Plutôt le matin",
                    now - rng.uniform(1, 60) * DAY,
                )
                for p in patients[: max(1, len(patients) // 3)]
            ],
        )
        conn.executemany(
            "INSERT INTO favorite_acts (code, label) VALUES (?, ?)",
            [
                ("HBJD001", "Détartrage"),
                ("HBMD038", "Restauration 2 faces"),
                ("HBLD036", "Couronne"),
            ],
        )

    def messenger(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, login TEXT, post TEXT)")
        conn.execute(
            "CREATE TABLE messages (id INTEGER PRIMARY KEY, sender INTEGER, recipient INTEGER, "
            "body TEXT, sent_at REAL)"
        )
        conn.executemany(
            "INSERT INTO accounts (login, post) VALUES (?, ?)",
            [("secretariat", "ACCUEIL"), ("dr.martin", "SALLE1"), ("assistante", "SALLE2")],
        )
        conn.executemany(
            "INSERT INTO messages (sender, recipient, body, sent_at) VALUES (?, ?, ?, ?)",
            [
                (
                    1 + i % 3,
                    1 + (i + 1) % 3,
                    f"Patient {p} arrivé en salle d'attente.",
                    now - i * 3600,
                )
                for i, p in enumerate(patients * 3)
            ],
        )

    def rdv(conn: sqlite3.Connection) -> None:
        conn.execute(
            "CREATE TABLE online_appointments (id INTEGER PRIMARY KEY, patient TEXT, slot TEXT, "
            "reason TEXT, status TEXT)"
        )
        conn.executemany(
            "INSERT INTO online_appointments (patient, slot, reason, status) VALUES (?, ?, ?, ?)",
            [
                (p, _day(now + rng.uniform(1, 40) * DAY) + " 09:30", "Contrôle", "confirmé")
                for p in patients
            ],
        )

    def myjulie(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE tokens (service TEXT PRIMARY KEY, token TEXT, expires_at REAL)")
        conn.executemany(
            "INSERT INTO tokens VALUES (?, ?, ?)",
            [
                (s, rng.randbytes(24).hex(), now + 300 * DAY)
                for s in ("backup", "rdv", "tab", "view")
            ],
        )

    dynamik = {
        "Abonnements": [
            {"Id": 1, "Titre": "Actualités Julie", "Actif": True},
            {"Id": 2, "Titre": "Nomenclature CCAM — mises à jour", "Actif": True},
        ],
        "DerniereSynchronisation": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now - DAY)),
    }
    return {
        "smartcontact.db": _sqlite_bytes(smartcontact),
        "messenger.db": _sqlite_bytes(messenger, wal=True),
        "JulieRdv.db": _sqlite_bytes(rdv),
        "MyJulie.db": _sqlite_bytes(myjulie),
        "ListDynamikActuLocal.json": json.dumps(dynamik, ensure_ascii=False, indent=2).encode(),
    }


def corrupt_sqlite(data: bytes, seed: int = 0) -> bytes:
    """Overwrite the root page of the first table: the header still says SQLite, but
    `integrity_check` (or any read of that table) fails."""
    with tempfile.TemporaryDirectory(prefix="julietree-gen-") as tmp:
        path = Path(tmp) / "db.sqlite"
        path.write_bytes(data)
        conn = sqlite3.connect(path)
        try:
            page_size = conn.execute("PRAGMA page_size").fetchone()[0]
            root = conn.execute(
                "SELECT min(rootpage) FROM sqlite_master WHERE type = 'table' AND rootpage > 1"
            ).fetchone()[0]
        finally:
            conn.close()
    out = bytearray(data)
    start = (root - 1) * page_size
    out[start : start + page_size] = _rng(seed, "corrupt").randbytes(page_size)
    return bytes(out)


# ---------------------------------------------------------------------------------------------
# Trees


def windows_skeleton(c_root: Path, now: float, *, seed: int = 0) -> None:
    w = _Writer(c_root)
    for folder in ("Program Files", "Program Files (x86)", "ProgramData", "Users/Public/Documents",
                   "Windows/System32", "Windows/Temp"):  # fmt: skip
        w.dir(folder)
    w.file(
        "Windows/win.ini",
        b"; for 16-bit app support\r\n[fonts]\r\n[extensions]\r\n",
        now - 400 * DAY,
    )
    w.finish(now - 400 * DAY)


def _julieprf(rng: random.Random) -> bytes:
    lines = ["[Fenetres]"]
    for window in ("Agenda", "FichePatient", "Schema", "Teletransmission", "Imagerie"):
        x, y = rng.randrange(0, 200), rng.randrange(0, 120)
        lines.append(f"{window}={x},{y},{x + 1280},{y + 900},0")
    lines += ["[Ecran]", "Resolution=1920x1080"]
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def _program_files(w: _Writer, julie: str, rng: random.Random, now: float) -> None:
    installed = now - rng.uniform(500, 900) * DAY
    for exe, size in (("Julie.exe", 48_000), ("w32mkde.exe", 12_000), ("Servcle.exe", 6_000),
                      ("Pyxvital/pyxvital.exe", 20_000), ("Pyxvital/pyxrss.exe", 4_000),
                      ("Pyxvital/pyxnet.exe", 4_000)):  # fmt: skip
        w.file(f"{julie}/{exe}", _exe(rng, size), installed)


def generate_julie_tree(
    c_root: Path | str, options: TreeOptions | None = None, **overrides
) -> dict:
    """Write a data server's tree (or, with backup=True, a backup of its Juliew folder) under
    `c_root`. Returns a summary: paths written and the names a test needs."""
    opts = replace(options or TreeOptions(), **overrides)
    now = opts.now if opts.now is not None else float(int(time.time()))
    c_root = Path(c_root)
    c_root.mkdir(parents=True, exist_ok=True)
    if not opts.backup:
        windows_skeleton(c_root, now, seed=opts.seed)
    w = _Writer(c_root)
    seed = opts.seed
    names = patient_names(seed, opts.patients)
    julie = opts.data_root.strip("/")
    imaging = (opts.imaging_root or julie).strip("/")
    datas = f"{julie}/Datas"
    doc_bytes = max(2048, opts.image_bytes // 4)
    summary: dict = {
        "c_root": c_root,
        "julie_root": c_root / julie,
        "datas": c_root / datas,
        "patients": names,
        "pending_fse": [],
        "sent_fse": [],
        "deleted_documents": [],
        "services_data": None,
        "zips": [],
    }

    # Program, teletransmission settings, window layout.
    _program_files(w, julie, _rng(seed, "exe"), now)
    w.file(
        f"{julie}/Pyxvital/Internet.par",
        (
            "[Internet]\r\nFournisseur=Messagerie sécurisée\r\n"
            "ServeurPOP=pop.bal-exemple.invalid\r\nServeurSMTP=smtp.bal-exemple.invalid\r\n"
            "AdresseBAL=cabinet.dentaire@bal-exemple.invalid\r\n"
            f"Identifiant={NUM_PS}\r\nMotDePasseChiffre={_rng(seed, 'par').randbytes(16).hex()}\r\n"
        ).encode("cp1252"),
        now - 200 * DAY,
    )
    if not opts.backup:
        w.file("Windows/Julieprf.ini", _julieprf(_rng(seed, "prf")), now - 3 * DAY)

    # Datas: Btrieve-like files, courrier, Word, pxdatas, server.register, JulieServicesDb.
    for fname, reclen in BTRIEVE_FILES:
        rng = _rng(seed, "btr", fname)
        records = max(8, BTRIEVE_PER_PATIENT.get(fname, 0) * opts.patients)
        with_names = fname in ("PATIENT.DAT", "RDV.DAT", "AGENDA.BTR", "DEVIS.DAT")
        data = _btrieve(fname, reclen, records, rng, names if with_names else [])
        w.file(f"{datas}/{fname}", data, now - rng.uniform(0.01, 2) * DAY)
    for i, name in enumerate(names[: max(1, len(names) // 2)]):
        rng = _rng(seed, "courrier", name)
        ts = now - rng.uniform(5, 400) * DAY
        w.file(f"{datas}/courrier/Courrier {name} {_day(ts)}.doc", _ole(rng, doc_bytes), ts)
        if i == 0:
            w.dir(f"{datas}/iris")
    for model in ("Lettre de relance.dot", "Devis prothèse.dot", "Compte rendu opératoire.dot"):
        rng = _rng(seed, "word", model)
        w.file(f"{datas}/Word/{model}", _ole(rng, doc_bytes), now - rng.uniform(300, 700) * DAY)

    rng = _rng(seed, "fse")
    first_pending = 1000 + opts.sent_fse
    for n in range(opts.pending_fse):
        number = first_pending + n
        rel = f"{datas}/pxdatas/{NUM_PS}/F{number:07d}.fse"
        w.file(rel, rng.randbytes(rng.randrange(1500, 6000)), now - rng.uniform(0.05, 3) * DAY)
        summary["pending_fse"].append(rel)
    if opts.backup:
        # Sent since the backup was taken: the ARL came back and Julie deleted them live.
        for n in range(opts.sent_fse):
            rel = f"{datas}/pxdatas/{NUM_PS}/F{1000 + n:07d}.fse"
            w.file(rel, rng.randbytes(rng.randrange(1500, 6000)), now - rng.uniform(6, 40) * DAY)
            summary["sent_fse"].append(rel)

    if opts.server_register and not opts.backup:
        host = (opts.register_host or opts.host).lower()
        sms = (opts.sms_host or host).lower()
        text = (
            f"SMARTCONTACT      http://{host}:8097\r\n"
            f"JULIEONSITE http://{host}:8095\r\n"
            f"JULIEONLINESERVICE\tnet.tcp://{sms}:9001\r\n"
        )
        w.file(f"{datas}/server.register", text.encode("ascii"), now - 180 * DAY)

    services = _services_files(seed, names, now)
    sms_full = sms_db_bytes(seed, names, now)
    if not opts.backup:
        last_zip = now - _rng(seed, "zip").uniform(0.5, 3.5) * 3600
        for i in range(opts.zips):
            t = last_zip - i * 4 * 3600
            stamp = time.strftime("%Y%m%d_%H%M", time.localtime(t))
            zpath = c_root / f"{datas}/JulieServicesDb/JulieServicesDb_{stamp}.zip"
            zpath.parent.mkdir(parents=True, exist_ok=True)
            with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED) as archive:
                members = {**services, "Sms.db": sms_full}
                for member, data in sorted(members.items()):
                    info = zipfile.ZipInfo(f"datas/{member}", date_time=time.localtime(t - 600)[:6])
                    info.compress_type = zipfile.ZIP_DEFLATED
                    archive.writestr(info, data)
            w.mtimes[zpath] = t
            summary["zips"].append(zpath)

    if opts.services and not opts.backup:
        on_this_host = opts.sms_host is None or opts.sms_host.casefold() == opts.host.casefold()
        files = dict(services)
        if on_this_host:
            files["Sms.db"] = (
                sms_db_bytes(seed, names, now, until=now - 45 * DAY)
                if opts.sms_db_stale
                else sms_full
            )
        summary["services_data"] = _write_services(w, files, opts, now)

    # Patient folders.
    for name in names:
        rng = _rng(seed, "patient", name)
        for kind in rng.sample(XRAY_KINDS, 2):
            ts = now - rng.uniform(1, 700) * DAY
            w.file(f"{imaging}/XRAY/{name}/{kind} {_day(ts)}.jpg", _jpeg(rng, opts.image_bytes), ts)
        ts = now - rng.uniform(1, 700) * DAY
        w.file(
            f"{imaging}/IMAGE/{name}/{rng.choice(IMAGE_KINDS)} {_day(ts)}.jpg",
            _jpeg(rng, opts.image_bytes),
            ts,
        )
        if rng.random() < 0.3:
            ts = now - rng.uniform(1, 700) * DAY
            w.file(
                f"{imaging}/XRAY3D/{name}/Cone beam {_day(ts)}.dcm",
                _dicom(rng, opts.image_bytes * 3),
                ts,
            )
        for kind in rng.sample(DOC_KINDS, 2):
            ts = now - rng.uniform(1, 700) * DAY
            w.file(f"{julie}/DOCPATIENT/{name}/{kind} {_day(ts)}.pdf", _pdf(rng, doc_bytes), ts)
        ts = now - rng.uniform(1, 700) * DAY
        w.file(
            f"{julie}/fscan/{name}/{rng.choice(SCAN_KINDS)} {_day(ts)}.pdf",
            _pdf(rng, doc_bytes),
            ts,
        )
        if opts.backup and rng.random() < 0.5:
            ts = now - rng.uniform(800, 1200) * DAY
            rel = f"{julie}/DOCPATIENT/{name}/Ancien devis {_day(ts)}.pdf"
            w.file(rel, _pdf(rng, doc_bytes), ts)
            summary["deleted_documents"].append(rel)
    w.dir(f"{imaging}/XRAY3D")
    # Teletransmission archives: a few lots a month over the last year.
    rng = _rng(seed, "arch")
    for n in range(max(6, opts.patients * 2)):
        ts = now - (n * 365 / max(6, opts.patients * 2) + rng.uniform(0, 5)) * DAY
        w.file(
            f"{julie}/ARCH/{NUM_PS}/{_day(ts)[:7]}/LOT{900 - n:05d}.arc",
            rng.randbytes(rng.randrange(800, 4000)),
            ts,
        )

    w.finish(now - 400 * DAY)
    return summary


def _write_services(w: _Writer, files: dict[str, bytes], opts: TreeOptions, now: float) -> Path:
    rng = _rng(opts.seed, "services-mtime", opts.host)
    for name, data in files.items():
        if opts.corrupt_db and name.casefold() == opts.corrupt_db.casefold():
            data = corrupt_sqlite(data, opts.seed)
        if name == "Sms.db" and opts.sms_db_stale:
            mtime = now - 45 * DAY
        else:
            mtime = now - rng.uniform(0.01, 0.3) * 3600  # written minutes ago by the services
        w.file(f"{SERVICES_DATA_DIR}/{name}", data, mtime)
    return w.root / SERVICES_DATA_DIR


def generate_sms_host(c_root: Path | str, options: TreeOptions | None = None, **overrides) -> dict:
    """A secondary post hosting JULIEONLINESERVICE: Windows skeleton, Julie program, and
    `ProgramData\\Julie Software\\datas\\Sms.db` consistent with the data server generated from
    the same options (same seed, patients and `now`)."""
    opts = replace(options or TreeOptions(), **overrides)
    now = opts.now if opts.now is not None else float(int(time.time()))
    c_root = Path(c_root)
    c_root.mkdir(parents=True, exist_ok=True)
    windows_skeleton(c_root, now, seed=opts.seed)
    names = patient_names(opts.seed, opts.patients)
    w = _Writer(c_root)
    _program_files(w, "Juliew", _rng(opts.seed, "exe"), now)
    w.file("Windows/Julieprf.ini", _julieprf(_rng(opts.seed, "prf", "sms")), now - 10 * DAY)
    until = now - 45 * DAY if opts.sms_db_stale else None
    sms_opts = replace(opts, host=opts.sms_host or opts.host)
    path = _write_services(w, {"Sms.db": sms_db_bytes(opts.seed, names, now, until)}, sms_opts, now)
    w.finish(now - 400 * DAY)
    return {"c_root": c_root, "services_data": path}


def generate_client_post(c_root: Path | str, *, seed: int = 2024, now: float | None = None) -> dict:
    """A client post: Julie program installed locally, data on the server's share."""
    now = now if now is not None else float(int(time.time()))
    c_root = Path(c_root)
    c_root.mkdir(parents=True, exist_ok=True)
    windows_skeleton(c_root, now, seed=seed)
    w = _Writer(c_root)
    _program_files(w, "Juliew", _rng(seed, "exe"), now)
    w.file("Windows/Julieprf.ini", _julieprf(_rng(seed, "prf", "client")), now - 5 * DAY)
    w.finish(now - 400 * DAY)
    return {"c_root": c_root}


def build_demo_practice(
    root: Path | str,
    *,
    patients: int = 12,
    image_bytes: int = 60_000,
    seed: int = 2024,
    replace_existing: bool = False,
) -> dict:
    """The embedded demo's practice: `ancien-serveur/C` (data, services, SMS), an empty
    `nouveau-serveur/C` and a client post `poste-accueil/C`. Returns their C: paths by name."""
    root = Path(root)
    paths = {
        name: root / name / "C" for name in ("ancien-serveur", "nouveau-serveur", "poste-accueil")
    }
    for path in paths.values():
        if path.exists() and any(path.iterdir()):
            if not replace_existing:
                raise FileExistsError(f"{path} existe déjà et n'est pas vide")
            shutil.rmtree(path)
    now = float(int(time.time()))
    opts = TreeOptions(host="ANCIEN-SERVEUR", seed=seed, patients=patients, image_bytes=image_bytes,
                       now=now, data_root="partage/Juliew")  # fmt: skip
    generate_julie_tree(paths["ancien-serveur"], opts)
    windows_skeleton(paths["nouveau-serveur"], now, seed=seed)
    generate_client_post(paths["poste-accueil"], seed=seed, now=now)
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Génère une arborescence Julie synthétique (C:).")
    parser.add_argument("dest", type=Path)
    for f in fields(TreeOptions):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            parser.add_argument(flag, action="store_true", default=f.default)
        elif f.type in ("int", int):
            parser.add_argument(flag, type=int, default=f.default)
        elif "float" in str(f.type):
            parser.add_argument(flag, type=float, default=f.default)
        else:
            parser.add_argument(flag, default=f.default)
    parser.add_argument("--no-server-register", dest="server_register", action="store_false")
    parser.add_argument("--sms-tree", type=Path, help="aussi générer le poste SMS ici")
    args = vars(parser.parse_args(argv))
    dest, sms_tree = args.pop("dest"), args.pop("sms_tree")
    opts = TreeOptions(**args)
    summary = generate_julie_tree(dest, opts)
    if sms_tree is not None:
        generate_sms_host(sms_tree, opts)
    print(json.dumps(summary, default=str, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
