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

    def format_text(self) -> str:
        """robocopy's closing block (English, /BYTES-like sizes with k/m/g units)."""
        head = " " * 15 + "".join(
            f"{h:>10}" for h in ("Total", "Copied", "Skipped", "Mismatch", "FAILED", "Extras")
        )

        def row(label, counts, fmt):
            return f"{label:>10} :" + "".join(f"{fmt(getattr(counts, k)):>10}" for k in COLUMNS)

        times = [self.elapsed, self.copy_seconds, None, None, self.wait_seconds, self.scan_seconds]
        time_row = "{:>10} :".format("Times") + "".join(
            f"{'' if t is None else hms(t):>10}" for t in times
        )
        speed = self.bytes.copied / self.copy_seconds if self.copy_seconds > 0 else 0
        ended = time.localtime(self.ended or time.time())
        lines = [
            "-" * 78,
            "",
            head,
            row("Dirs", self.dirs, str),
            row("Files", self.files, str),
            row("Bytes", self.bytes, human_bytes),
            time_row,
            "",
            f"{'Speed':>10} :{int(speed):>20} Bytes/sec.",
            f"{'Speed':>10} :{speed * 60 / 1e6:>20.3f} MegaBytes/min.",
            f"{'Ended':>10} : {time.strftime('%A, %B %d, %Y %H:%M:%S', ended)}",
        ]
        if self.dry_run:
            lines.append("  (dry run: nothing was changed)")
        if self.deletions_blocked:
            lines.append(f"  Deletions skipped: {self.deletions_blocked}")
        if self.fatal:
            lines.append(f"  FATAL: {self.fatal}")
        for f in self.failures:
            lines.append(f"  FAILED {f['action']}: {f['path']}: {f['error']}")
        return "\n".join(lines)


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
