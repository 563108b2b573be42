"""Read GALSS's `galss.ini` and say what is wrong with it.

GALSS (the SESAM-Vitale reader access layer) reads `C:\\Windows\\galss.ini`: `[CONFIG] NbCanaux`,
one `[CANALn]` per channel (serial PSS reader: `TCanal=1`, `Index` = COM port number; PC/SC
through GALSS: `TCanal=3`, `Caracteristiques` = the PC/SC reader name), `[PROTOCOLEk]` naming
the protocol library, and `[CANALn.PADm.LADk]` logical devices (`NomLAD=CPS`, `Vitale` …).
Windows writes it in the ANSI code page; names are case-insensitive. See smartcards.md §4.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

# GALSS does not detect a reader on COM10 or above (Julie procedure §3.1).
MAX_COM_PORT = 9
# Logical device names and aliases are limited to 8 characters (GALSS error 32785).
MAX_LAD_NAME = 8
# File names GALSS installs in C:\Windows (smartcards.md §4.1, §4.5).
KNOWN_GALSS_FILES = {"galss.ini", "galsvw32.exe", "galsvw64.exe", "galclw32.dll", "galinw32.dll"}

PROBLEM_MESSAGES = {
    "com_above_9": "Canal {channel} sur COM{com} : GALSS ne détecte pas les lecteurs au-delà "
    "de COM9. Attribuer au lecteur un port COM1 à COM9 (Gestionnaire de périphériques → "
    "Paramètres du port → Avancé) puis corriger Index= dans galss.ini.",
    "missing_channel": "[CONFIG] NbCanaux annonce {announced} canal(aux) mais la section "
    "[CANAL{channel}] est absente.",
    "extra_channel": "La section [CANAL{channel}] dépasse NbCanaux={announced} : GALSS l'ignore.",
    "missing_channel_count": "[CONFIG] NbCanaux est absent (erreur GALSS 32781).",
    "no_channel": "Aucun canal déclaré (NbCanaux=0, erreur GALSS 32771).",
    "missing_protocol": "Canal {channel} : Protocole= absent (erreur GALSS 32772).",
    "unknown_protocol": "Canal {channel} : la section [PROTOCOLE{protocol}] est absente.",
    "missing_library": "[PROTOCOLE{protocol}] : NomLib= absent (erreur GALSS 32774).",
    "bad_com_port": "Canal {channel} : port série invalide (Index={value}).",
    "duplicate_com_port": "COM{com} est déclaré par plusieurs canaux ({channels}).",
    "missing_reader_name": "Canal {channel} (PC/SC) : nom du lecteur absent (Caracteristiques=).",
    "unknown_channel_type": "Canal {channel} : type de canal non reconnu (TCanal={value}).",
    "missing_lad": "Canal {channel} : {announced} périphérique(s) logique(s) annoncé(s) "
    "pour le PAD{pad}, section [{section}] absente.",
    "no_lad": "Canal {channel} : aucun périphérique logique (CPS, Vitale…) déclaré.",
    "lad_name_too_long": "Canal {channel} : le nom « {name} » dépasse 8 caractères "
    "(erreur GALSS 32785).",
    "bad_number": "[{section}] {key}={value} n'est pas un nombre.",
}


@dataclass
class Channel:
    index: int  # n of [CANALn]
    kind: str  # pss | pcsc | unknown
    com_port: int | None = None  # serial channels
    reader_name: str | None = None  # PC/SC channels
    library: str | None = None  # NomLib of its protocol
    lads: list[str] = field(default_factory=list)  # NomLAD values, e.g. ["CPS", "Log_SV"]

    def as_dict(self) -> dict:
        return {
            "index": self.index,
            "kind": self.kind,
            "com_port": self.com_port,
            "reader_name": self.reader_name,
            "library": self.library,
            "lads": list(self.lads),
        }


@dataclass
class GalssConfig:
    mode: str | None  # pss | pcsc | mixed | None (no channel)
    channels: list[Channel]
    problems: list[dict]  # {"code", "message"} in file order

    def as_dict(self) -> dict:
        codes: list[str] = []
        for problem in self.problems:
            if problem["code"] not in codes:
                codes.append(problem["code"])
        return {
            "mode": self.mode,
            "channels": [channel.as_dict() for channel in self.channels],
            "problems": codes,
            "messages": [dict(problem) for problem in self.problems],
        }


def decode_ini(data: bytes) -> str:
    """UTF-8 (with or without BOM) when valid, else Windows-1252, else Latin-1."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_ini(text: str) -> dict[str, dict[str, str]]:
    """Sections and keys lower-cased; values stripped; first value of a repeated key kept
    (like GetPrivateProfileString); `;` and `#` comment lines ignored; no interpolation."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in ";#":
            continue
        if line.startswith("["):
            name = line[1 : line.index("]")] if "]" in line else line[1:]
            current = sections.setdefault(name.strip().lower(), {})
            continue
        if current is None or "=" not in line:
            continue
        key, value = line.split("=", 1)
        current.setdefault(key.strip().lower(), value.strip())
    return sections


def parse_galss(source: str | Path | bytes) -> GalssConfig:
    """Parse galss.ini from a path, its raw bytes, or already-decoded text (str with a newline
    or an `[`; any other str is taken as a path). OSError if the file cannot be read."""
    if isinstance(source, bytes):
        text = decode_ini(source)
    elif isinstance(source, str) and ("\n" in source or source.lstrip().startswith("[")):
        text = source
    else:
        text = decode_ini(Path(source).read_bytes())
    return _analyse(read_ini(text))


def _number(sections, section: str, key: str, problems: list[dict]) -> int | None:
    value = sections.get(section, {}).get(key)
    if value is None:
        return None
    try:
        return int(value, 10)
    except ValueError:
        _problem(problems, "bad_number", section=section.upper(), key=key, value=value)
        return None


def _problem(problems: list[dict], code: str, **values) -> None:
    problems.append({"code": code, "message": PROBLEM_MESSAGES[code].format(**values)})


def _analyse(sections: dict[str, dict[str, str]]) -> GalssConfig:
    problems: list[dict] = []
    announced = _number(sections, "config", "nbcanaux", problems)
    present = sorted(
        int(m.group(1)) for name in sections if (m := re.fullmatch(r"canal(\d+)", name))
    )
    if announced is None and "nbcanaux" not in sections.get("config", {}):
        _problem(problems, "missing_channel_count")
    elif announced == 0:
        _problem(problems, "no_channel")
    if announced is not None:
        for n in range(1, announced + 1):
            if n not in present:
                _problem(problems, "missing_channel", announced=announced, channel=n)
        for n in present:
            if n > announced:
                _problem(problems, "extra_channel", announced=announced, channel=n)
        considered = [n for n in present if n <= announced]
    else:
        considered = present

    channels = [_channel(sections, n, problems) for n in considered]

    by_com: dict[int, list[int]] = {}
    for channel in channels:
        if channel.com_port is not None:
            by_com.setdefault(channel.com_port, []).append(channel.index)
    for com, indexes in sorted(by_com.items()):
        if len(indexes) > 1:
            listed = ", ".join(str(i) for i in indexes)
            _problem(problems, "duplicate_com_port", com=com, channels=listed)

    kinds = {channel.kind for channel in channels if channel.kind != "unknown"}
    mode = None
    if kinds == {"pss"}:
        mode = "pss"
    elif kinds == {"pcsc"}:
        mode = "pcsc"
    elif kinds:
        mode = "mixed"
    return GalssConfig(mode=mode, channels=channels, problems=problems)


def _channel(sections, n: int, problems: list[dict]) -> Channel:
    name = f"canal{n}"
    section = sections[name]
    channel = Channel(index=n, kind="unknown")

    protocol = _number(sections, name, "protocole", problems)
    if protocol is None:
        _problem(problems, "missing_protocol", channel=n)
    elif f"protocole{protocol}" not in sections:
        _problem(problems, "unknown_protocol", channel=n, protocol=protocol)
    else:
        channel.library = sections[f"protocole{protocol}"].get("nomlib") or None
        if channel.library is None:
            _problem(problems, "missing_library", protocol=protocol)

    # TCanal says the channel type; the protocol library is the fallback.
    channel_type = section.get("tcanal")
    library = (channel.library or "").upper()
    if channel_type == "1" or (channel_type is None and library.startswith("PSSIN")):
        channel.kind = "pss"
    elif channel_type == "3" or (channel_type is None and library.startswith("PCSC")):
        channel.kind = "pcsc"
    else:
        _problem(problems, "unknown_channel_type", channel=n, value=channel_type)

    if channel.kind == "pss":
        value = section.get("index")
        if value is not None and value.isdigit() and int(value) > 0:
            channel.com_port = int(value)
            if channel.com_port > MAX_COM_PORT:
                _problem(problems, "com_above_9", channel=n, com=channel.com_port)
        else:
            _problem(problems, "bad_com_port", channel=n, value=value)
    elif channel.kind == "pcsc":
        channel.reader_name = section.get("caracteristiques") or None
        if channel.reader_name is None:
            _problem(problems, "missing_reader_name", channel=n)

    pads = _number(sections, name, "nbpad", problems) or 0
    for p in range(1, pads + 1):
        pad_name = f"{name}.pad{p}"
        lads = _number(sections, pad_name, "nblad", problems) or 0
        for k in range(1, lads + 1):
            lad_section = sections.get(f"{pad_name}.lad{k}")
            if lad_section is None:
                _problem(
                    problems,
                    "missing_lad",
                    channel=n,
                    pad=p,
                    announced=lads,
                    section=f"{pad_name}.lad{k}".upper(),
                )
                continue
            lad_name = lad_section.get("nomlad")
            if lad_name:
                channel.lads.append(lad_name)
            names = [lad_name] + [v for key, v in lad_section.items() if key.startswith("nomalias")]
            for long_name in (x for x in names if x and len(x) > MAX_LAD_NAME):
                _problem(problems, "lad_name_too_long", channel=n, name=long_name)
    if not channel.lads:
        _problem(problems, "no_lad", channel=n)
    return channel


def find_galss_leftovers(windows_dir: str | Path) -> list[str]:
    """Names of the files `ga*` directly in the Windows folder (the Julie procedure §3.2 has
    them removed once GALSS is uninstalled), sorted."""
    folder = Path(windows_dir)
    try:
        return sorted(
            p.name for p in folder.iterdir() if p.name.lower().startswith("ga") and p.is_file()
        )
    except OSError:
        return []


def is_known_galss_file(name: str) -> bool:
    lowered = name.lower()
    return lowered in KNOWN_GALSS_FILES or bool(
        re.fullmatch(r"gal[a-z]{2,3}w(32|64)\.(exe|dll)", lowered)
    )
