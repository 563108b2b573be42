"""Tell a Carte Vitale or a CPS from its ATR (answer to reset).

Our own short table (facts in reference/smartcards.md §1): exact patterns for the known cards,
plus two deliberate wildcards: later Vitale 2 batches only change the sixth byte, and every CPS
generation so far carries the historical bytes `00 12 25 00 64 80` after five bytes.
Look-alikes (bank, parking, telecom cards of the Bull CP8 `3F 65 25 …` family, hospital
badges shaped like a contactless CPS) are named so that a technician knows what is in the
reader.

pcsc-tools' `smartcard_list.txt` (GPL) is read at run time when the machine has it, only to add
its descriptions as extra information; it never decides the classification.
"""

import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

VITALE = "vitale"
CPS = "cps"
UNKNOWN = "unknown"

# (regex on the normalised "3B 75 13 …" form, card, French label), first match wins.
_TABLE = [
    (r"3F 65 25 00 (2[2C] 09 [F6]9|52 09 6A|A[34] 09 6A) 90 00", VITALE, "Carte Vitale 1"),
    (r"3B 75 13 00 00 [45][0-9A-F] 09 [EF]A 90 00", VITALE, "Carte Vitale 2"),
    (r"3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00", CPS, "CPS3"),
    (
        r"3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00",
        CPS,
        "CPS (génération non précisée, probablement CPS2ter)",
    ),
    (
        r"3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E",
        CPS,
        "CPS3 sans contact",
    ),
    (r"3B 9B 18 80 01 00 12 25 00 64 80 (04 01 00|00 04 01) 00 90 44", CPS, "CPS4"),
    (r"3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00", CPS, "CPS4"),
    # Any other ATR with the CPS historical bytes: a CPS generation we do not know yet.
    (r"3B (.. ){4}00 12 25 00 64 80( ..)*", CPS, "CPS (génération non reconnue)"),
    # Named look-alikes.
    (
        r"3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 FF FF FF E3",
        UNKNOWN,
        "Carte d'établissement hospitalier (ressemble à une CPS sans contact, n'en est pas une)",
    ),
    (
        r"3B 67 00 00 2D 20 16 01 78 90 00",
        UNKNOWN,
        "Carte d'agent CNAMTS/CPAM (ni Vitale ni CPS)",
    ),
    (
        r"3F 65 25( ..)*",
        UNKNOWN,
        "Carte inconnue de la famille Bull CP8 (cartes bancaires, parking, téléphone…), "
        "pas une carte Vitale",
    ),
    (
        r"3B 75 13 00 00( ..)*",
        UNKNOWN,
        "Carte inconnue (même début d'ATR que la Vitale 2, mais ce n'en est pas une)",
    ),
]
_COMPILED = [(re.compile(pattern), card, label) for pattern, card, label in _TABLE]
UNKNOWN_LABEL = "Carte inconnue (ni Vitale ni CPS)"

# Where pcsc-tools looks for its list, in its own order.
_SYSTEM_LISTS = (
    "/usr/local/pcsc/smartcard_list.txt",
    "/usr/share/pcsc/smartcard_list.txt",
    "/usr/local/share/pcsc/smartcard_list.txt",
)


@dataclass(frozen=True)
class AtrInfo:
    atr: str  # normalised: upper-case bytes separated by one space
    card: str  # vitale | cps | unknown
    label: str  # French
    descriptions: list[str] = field(default_factory=list)  # from smartcard_list.txt

    def as_dict(self) -> dict:
        return {
            "atr": self.atr,
            "card": self.card,
            "label": self.label,
            "descriptions": list(self.descriptions),
        }


def normalize_atr(atr: str | bytes | bytearray | list[int]) -> str:
    """'3b751300…', '3B:75:13 …', bytes or [0x3B, …] → '3B 75 13 …'; ValueError if not an ATR."""
    if isinstance(atr, (bytes, bytearray)):
        raw = bytes(atr)
    elif isinstance(atr, list):
        if not all(isinstance(b, int) and 0 <= b <= 255 for b in atr):
            raise ValueError("ATR invalide : octets hors de 0–255")
        raw = bytes(atr)
    else:
        text = re.sub(r"0[xX]", "", str(atr))
        text = re.sub(r"[\s:,;.\-]", "", text)
        if not re.fullmatch(r"[0-9A-Fa-f]*", text) or len(text) % 2:
            raise ValueError(f"ATR invalide : « {atr} » n'est pas une suite d'octets hexadécimaux")
        raw = bytes.fromhex(text)
    # ISO 7816-3: TS plus at least T0, at most 33 bytes.
    if not 2 <= len(raw) <= 33:
        raise ValueError(f"ATR invalide : {len(raw)} octet(s), il en faut de 2 à 33")
    return raw.hex(" ").upper()


def classify_atr(
    atr: str | bytes | bytearray | list[int], smartcard_list: Path | str | None | bool = True
) -> AtrInfo:
    """Classify an ATR. `smartcard_list`: True = look for pcsc-tools' list on this machine,
    a path = use that file, None/False = no extra descriptions."""
    normalised = normalize_atr(atr)
    card, label = UNKNOWN, UNKNOWN_LABEL
    for pattern, table_card, table_label in _COMPILED:
        if pattern.fullmatch(normalised):
            card, label = table_card, table_label
            break
    if smartcard_list is True:
        smartcard_list = find_smartcard_list()
    descriptions = describe_from_list(normalised, Path(smartcard_list)) if smartcard_list else []
    return AtrInfo(atr=normalised, card=card, label=label, descriptions=descriptions)


def find_smartcard_list() -> Path | None:
    """pcsc-tools' list if this machine has one (pcsc-tools' search order)."""
    home = Path.home()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    for candidate in (cache / "smartcard_list.txt", home / ".smartcard_list.txt", *_SYSTEM_LISTS):
        if Path(candidate).is_file():
            return Path(candidate)
    return None


def describe_from_list(atr: str, path: Path) -> list[str]:
    """Descriptions of every entry of a smartcard_list.txt matching `atr` (normalised form).
    The file's ATR lines are regular expressions matched whole and case-insensitively."""
    try:
        stat = path.stat()
    except OSError:
        return []
    entries = _load_list(str(path), stat.st_mtime_ns, stat.st_size)
    found: list[str] = []
    for pattern, lines in entries:
        if pattern.fullmatch(atr):
            found.extend(line for line in lines if line not in found)
    return found


@functools.lru_cache(maxsize=4)
def _load_list(path: str, _mtime: int, _size: int) -> list[tuple[re.Pattern, list[str]]]:
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    entries: list[tuple[re.Pattern, list[str]]] = []
    current: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("\t"):
            if current is not None and line.strip():
                current.append(line.strip())
            continue
        if not line.strip():
            current = None
            continue
        try:
            pattern = re.compile(line.strip(), re.IGNORECASE)
        except re.error:
            current = None
            continue
        current = []
        entries.append((pattern, current))
    return entries
