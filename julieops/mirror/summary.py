"""The outcome of a mirror: robocopy's table, its exit bitmask and a JSON form."""

import time

from .records import Record

COLUMNS = ("total", "copied", "skipped", "mismatch", "failed", "extras")
COPIED, EXTRAS, MISMATCH, FAILED, FATAL = 1, 2, 4, 8, 16


class Counts(Record):
    total: int = 0
    copied: int = 0
    skipped: int = 0
    mismatch: int = 0
    failed: int = 0
    extras: int = 0

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in COLUMNS}


class Summary(Record):
    _factories = {
        "dirs": Counts,
        "files": Counts,
        "bytes": Counts,
        "failures": list,
        "links": list,
        "started": time.time,
    }

    source: str = ""
    dest: str = ""
    dirs: Counts
    files: Counts
    bytes: Counts
    failures: list[dict]  # {"path", "action", "error"}
    links: list[str]  # links recorded and skipped (like /XJ)
    fatal: str | None = None
    cancelled: bool = False
    dry_run: bool = False
    deletions_blocked: str | None = None
    started: float
    ended: float = 0.0
    copy_seconds: float = 0.0
    wait_seconds: float = 0.0  # time spent waiting between retries
    scan_seconds: float = 0.0

    @property
    def exit_code(self) -> int:
        if self.fatal:
            return FATAL
        code = 0
        if self.files.copied or self.dirs.copied:
            code |= COPIED
        if self.files.extras or self.dirs.extras:
            code |= EXTRAS
        if self.files.mismatch or self.dirs.mismatch:
            code |= MISMATCH
        if self.files.failed or self.dirs.failed or self.failures or self.cancelled:
            code |= FAILED
        return code

    @property
    def elapsed(self) -> float:
        return (self.ended or time.time()) - self.started

    def fail(self, path: str, action: str, error: str) -> None:
        self.failures.append({"path": path, "action": action, "error": error})

    def as_json(self) -> dict:
        return {
            "source": self.source,
            "dest": self.dest,
            "dirs": self.dirs.as_dict(),
            "files": self.files.as_dict(),
            "bytes": self.bytes.as_dict(),
            "exit_code": self.exit_code,
            "failures": list(self.failures),
            "links_skipped": list(self.links),
            "fatal": self.fatal,
            "cancelled": self.cancelled,
            "dry_run": self.dry_run,
            "deletions_blocked": self.deletions_blocked,
            "seconds": {
                "total": round(self.elapsed, 3),
                "copy": round(self.copy_seconds, 3),
                "failed": round(self.wait_seconds, 3),
                "scan": round(self.scan_seconds, 3),
            },
        }

    def format_text(self, labels: dict | None = None) -> str:
        """robocopy's closing block: in English like robocopy by default (the command line
        compares with it), in French with labels=FRENCH (the run's log that technicians read;
        this library has no Django, so the French labels are literals here)."""
        t = labels or ENGLISH
        size = t["size"]
        head = " " * 14 + "".join(f"{h:>11}" for h in t["columns"])

        def row(label, counts, fmt):
            return f"{label:>12} :" + "".join(f"{fmt(getattr(counts, k)):>11}" for k in COLUMNS)

        times = [self.elapsed, self.copy_seconds, None, None, self.wait_seconds, self.scan_seconds]
        time_row = "{:>12} :".format(t["times"]) + "".join(
            f"{'' if x is None else hms(x):>11}" for x in times
        )
        speed = self.bytes.copied / self.copy_seconds if self.copy_seconds > 0 else 0
        ended = time.localtime(self.ended or time.time())
        lines = [
            "-" * 80,
            "",
            head,
            row(t["dirs"], self.dirs, str),
            row(t["files"], self.files, str),
            row(t["bytes"], self.bytes, size),
            time_row,
            "",
            f"{t['speed']:>12} :{int(speed):>20} {t['bytes_per_s']}",
            f"{t['speed']:>12} :{t['decimal'](speed * 60 / 1e6, 3):>20} {t['mb_per_min']}",
            f"{t['ended']:>12} : {t['date'](ended)}",
        ]
        if self.dry_run:
            lines.append(t["dry_run"])
        if self.deletions_blocked:
            lines.append(f"  {t['deletions_blocked']} {self.deletions_blocked}")
        if self.fatal:
            lines.append(f"  {t['fatal']} {self.fatal}")
        for f in self.failures:
            lines.append(f"  {t['failed']} {f['action']} : {f['path']} : {f['error']}")
        return "\n".join(lines)


DAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
          "septembre", "octobre", "novembre", "décembre")  # fmt: skip


def french_date(t: time.struct_time) -> str:
    """ "mardi 1 décembre 2026 19:27:05" (local time of the machine that copied)."""
    return (
        f"{DAYS[t.tm_wday]} {t.tm_mday} {MONTHS[t.tm_mon - 1]} {t.tm_year} "
        f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )


def decimal_fr(value: float, digits: int) -> str:
    """A number with the French decimal comma: 3,70."""
    return f"{value:.{digits}f}".replace(".", ",")


def hms(seconds: float) -> str:
    s = int(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"


def human_bytes(n: int) -> str:
    """robocopy's k/m/g/t (binary multiples) notation."""
    if n < 1024:
        return str(n)
    for unit in "kmgt":
        n /= 1024
        if n < 1024 or unit == "t":
            return f"{n:.2f} {unit}" if n < 100 else f"{n:.1f} {unit}"
    return str(n)


def french_bytes(n: int) -> str:
    """The same sizes with French units and the decimal comma: "3,70 Mo"."""
    if n < 1024:
        return str(n)
    for unit in ("Ko", "Mo", "Go", "To"):
        n /= 1024
        if n < 1024 or unit == "To":
            return f"{decimal_fr(n, 2)} {unit}" if n < 100 else f"{decimal_fr(n, 1)} {unit}"
    return str(n)


ENGLISH = {
    "columns": ("Total", "Copied", "Skipped", "Mismatch", "FAILED", "Extras"),
    "dirs": "Dirs", "files": "Files", "bytes": "Bytes", "times": "Times", "speed": "Speed",
    "ended": "Ended", "bytes_per_s": "Bytes/sec.", "mb_per_min": "MegaBytes/min.",
    "dry_run": "  (dry run: nothing was changed)", "deletions_blocked": "Deletions skipped:",
    "fatal": "FATAL:", "failed": "FAILED",
    "size": human_bytes,
    "decimal": lambda value, digits: f"{value:.{digits}f}",
    "date": lambda t: time.strftime("%A, %B %d, %Y %H:%M:%S", t),
}  # fmt: skip
FRENCH = {
    "columns": ("Total", "Copiés", "Ignorés", "Différents", "ÉCHECS", "En trop"),
    "dirs": "Répertoires", "files": "Fichiers", "bytes": "Octets", "times": "Durées",
    "speed": "Débit", "ended": "Fin", "bytes_per_s": "octets/s", "mb_per_min": "Mo/min",
    "dry_run": "  (simulation : rien n'a été modifié)",
    "deletions_blocked": "Suppressions non faites :", "fatal": "ERREUR FATALE :",
    "failed": "ÉCHEC",
    "size": french_bytes,
    "decimal": decimal_fr,
    "date": french_date,
}  # fmt: skip
