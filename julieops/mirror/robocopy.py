"""Reading robocopy's job summary (English or French, any encoding it writes).

The summary's four rows (Dirs, Files, Bytes, Times) are found by their position, not by their
translated labels; each row is a label ending with ':' followed by 10-character right-aligned
columns. Wide values can touch their neighbours (`/BYTES` on multi-GB trees), and a translated
heading can overflow its column (`IgnoréDiscordance`), so nothing relies on the heading line.
The exit code stays the primary signal (it is not localized): see `exit_code_meaning`.
"""

from __future__ import annotations

import re

COLUMNS = ("total", "copied", "skipped", "mismatch", "failed", "extras")
UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_VALUE = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([kmgt]?)$", re.I)
_TOKEN = re.compile(r"\d+(?:[.,]\d+)?(?:\s[kmgt](?=\s|$))?", re.I)
COLUMN_WIDTH = 10


def decode_log(data: str | bytes) -> str:
    """Text of a robocopy log: UTF-16 (/UNILOG), UTF-8, else the OEM code page (cp850 covers
    the French and English labels; digits are the same in cp437)."""
    if isinstance(data, str):
        return data.lstrip("\ufeff")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    sample = data[:4000]
    if len(sample) > 8 and sample[1::2].count(0) > len(sample) // 4:
        return data.decode("utf-16-le", errors="replace")  # UTF-16LE without a BOM
    try:
        return data.decode("utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        return data.decode("cp850", errors="replace")


def _to_int(token: str) -> int | None:
    match = _VALUE.match(token.strip())
    if not match:
        return None
    number, unit = match.groups()
    value = float(number.replace(",", ".")) * UNITS[unit.lower()]
    return int(round(value))


def _row_values(line: str) -> list[int] | None:
    """The six counters of a Dirs/Files/Bytes row, or None if the line is not one."""
    colon = line.find(":")
    if colon < 0 or colon > 16:
        return None
    rest = line[colon + 1 :]
    tokens = _TOKEN.findall(rest)
    if len(tokens) == 6 and "".join(rest.split()) == "".join("".join(t.split()) for t in tokens):
        values = [_to_int(t) for t in tokens]
    else:
        # Values touching each other: fall back to the fixed 10-character columns.
        columns = [rest[i : i + COLUMN_WIDTH] for i in range(0, COLUMN_WIDTH * 6, COLUMN_WIDTH)]
        if len(rest.rstrip()) > COLUMN_WIDTH * 6:
            return None
        values = [_to_int(c) if c.strip() else None for c in columns]
    if any(v is None for v in values):
        return None
    return values


def parse_summary(data: str | bytes) -> dict:
    """{"dirs"|"files"|"bytes": {"total", "copied", "skipped", "mismatch", "failed", "extras"}}
    from the last job summary in the log (an appended log holds several jobs).

    Raises ValueError when no summary is found (job still running, or /NJS)."""
    lines = decode_log(data).splitlines()
    found: list[list[int]] | None = None
    for index in range(len(lines) - 2):
        rows = [_row_values(lines[index + k]) for k in range(3)]
        if all(rows) and (index == 0 or _row_values(lines[index - 1]) is None):
            found = rows
    if found is None:
        raise ValueError("Résumé robocopy introuvable dans le journal.")
    return {
        name: dict(zip(COLUMNS, values, strict=True))
        for name, values in zip(("dirs", "files", "bytes"), found, strict=True)
    }


EXIT_BITS = (
    (1, "des fichiers ont été copiés"),
    (2, "des fichiers ou dossiers en trop ont été trouvés dans la destination"),
    (
        4,
        "des éléments discordants (fichier d'un côté, dossier de l'autre) ont été trouvés",
    ),
    (8, "certains fichiers ou dossiers n'ont pas pu être copiés (limite de tentatives atteinte)"),
    (16, "erreur grave : robocopy n'a rien copié (syntaxe, source absente ou accès refusé)"),
)


def exit_code_meaning(code: int) -> str:
    """The robocopy exit code (a bitmask) explained in French; 0–7 is success, ≥ 8 failure."""
    if code < 0:
        return f"Code de sortie {code} : robocopy n'a pas terminé normalement."
    if code == 0:
        return "Code 0 : rien à copier, la destination était déjà identique à la source."
    parts = [text for bit, text in EXIT_BITS if code & bit]
    verdict = "échec" if code >= 8 else "réussite"
    return f"Code {code} ({verdict}) : " + " ; ".join(parts) + "."


def is_success(code: int) -> bool:
    return 0 <= code < 8
