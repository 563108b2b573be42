"""run_mirror: plan, copy in parallel, delete extras last, fix directory times, verify."""

import errno
import threading
import time
from collections.abc import Callable

from .endpoints import Endpoint, LocalEndpoint
from .endpoints.local import file_mode
from .entry import DIR, FILE
from .guards import GuardError, check_destination
from .plan import CHANGED, LONELY, NEWER, OLDER, Copy, Plan, build_plan
from .records import Record
from .summary import Summary

FAT_WINDOW_NS = 2_000_000_000
BATCH_FILES, BATCH_BYTES = 32, 16 * 1024 * 1024
# A first copy of many files shares the work with a helper process (the GIL serialises the
# syscalls of threads). Below this count, starting it costs more than it saves.
HELPER_MIN_FILES = 1000
HELPER_FILE_COST = 64 * 1024  # a file's fixed cost in "bytes", to split the work evenly

# Per-line tags: robocopy's English words for the CLI, French ones for the technician's log.
TAGS = {
    LONELY: ("New File", "Nouveau fichier"),
    NEWER: ("Newer", "Plus récent"),
    OLDER: ("Older", "Plus ancien"),
    CHANGED: ("Changed", "Modifié"),
    "mismatch": ("*MISMATCH", "*DISCORDANCE"),
    "new_dir": ("New Dir", "Nouveau rép."),
    "extra_file": ("*EXTRA File", "*FICHIER EN TROP"),
    "extra_dir": ("*EXTRA Dir", "*RÉP. EN TROP"),
    "link": ("Link skipped", "Lien ignoré"),
    "failed": ("ERROR", "ÉCHEC"),
    "retry": ("Retrying", "Nouvelle tentative"),
    "verify": ("VERIFY FAILED", "VÉRIFICATION ÉCHOUÉE"),
    "blocked": ("Deletions skipped", "Suppressions annulées"),
    "listing": ("ERROR listing", "ÉCHEC lecture du dossier"),
    "cancel": ("Cancelled", "Annulé"),
}


# A destination that cannot take more bytes (full, read-only, over quota) fails the whole run
# at once: retrying each file, then the next, only wastes hours before the same verdict.
NO_ROOM_ERRNOS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT}
NO_ROOM_TEXTS = ("no space left on device", "read-only file system", "disk quota exceeded")


def no_room(exc: BaseException) -> bool:
    if isinstance(exc, OSError) and exc.errno in NO_ROOM_ERRNOS:
        return True
    return any(text in str(exc).lower() for text in NO_ROOM_TEXTS)


def size_text(n: int) -> str:
    """French units, one decimal: "30,0 Mo", "1,4 Go", "512 o"."""
    for unit, factor in (("To", 1 << 40), ("Go", 1 << 30), ("Mo", 1 << 20), ("Ko", 1 << 10)):
        if abs(n) >= factor:
            return f"{n / factor:.1f} {unit}".replace(".", ",")
    return f"{n} o"


def disk_full_text(dest, free: int | None, needed: int, detail: str = "") -> str:
    free_text = "espace libre inconnu" if free is None else f"{size_text(free)} libres"
    text = f"disque plein sur {dest} : {free_text}, {size_text(needed)} nécessaires"
    return f"{text} ({detail})" if detail else text


class MirrorOptions(Record):
    _factories = {"exclude": list}

    threads: int | None = None  # None: the endpoints' default
    dry_run: bool = False
    verify: bool = False  # hash every copied file on both sides
    verify_all: bool = False  # hash the whole tree on both sides
    max_delete: int | None = None
    confirm_delete: Callable[[int], bool] | None = None  # asked when max_delete is exceeded
    force: bool = False  # accept a non-empty destination without a Julie marker
    exclude: list[str]
    retries: int = 2
    retry_wait: float = 5.0
    modify_window: float | None = None  # seconds; None: 0 between local POSIX trees, else 2
    manifest: str | None = None  # write path/size/mtime/hash of the destination here
    language: str = "fr"  # "fr" for the technician's log, "en" for robocopy-style CLI lines
    progress_interval: float = 0.25  # seconds between progress callbacks (0: every chunk)


class Progress(Record):
    files_done: int
    files_total: int
    bytes_done: int
    bytes_total: int
    current: str
    rate: float  # bytes per second since the copy phase began
    eta: float | None  # seconds


class _Tracker:
    """Counts done work and calls the progress callback at most every `interval` seconds."""

    def __init__(self, callback, files_total, bytes_total, interval=0.25):
        self.callback, self.interval = callback, interval
        self.files_total, self.bytes_total = files_total, bytes_total
        self.files_done = self.bytes_done = 0
        self.current = ""
        self.lock = threading.Lock()
        self.start = self.last = time.monotonic()

    def add(self, nbytes=0, files=0, current=None, force=False):
        with self.lock:
            self.bytes_done += nbytes
            self.files_done += files
            if current is not None:
                self.current = current
            now = time.monotonic()
            if not self.callback or (not force and now - self.last < self.interval):
                return
            self.last = now
            snapshot = self.snapshot(now)
        self.callback(snapshot)

    def snapshot(self, now):
        elapsed = max(now - self.start, 1e-6)
        rate = self.bytes_done / elapsed
        left = self.bytes_total - self.bytes_done
        eta = left / rate if rate > 0 else None
        return Progress(
            self.files_done,
            self.files_total,
            self.bytes_done,
            self.bytes_total,
            self.current,
            rate,
            eta,
        )


def default_threads(source: Endpoint, dest: Endpoint) -> int:
    return max(source.default_threads, dest.default_threads)


def mtime_window_ns(source: Endpoint, dest: Endpoint, options: MirrorOptions) -> int:
    if options.modify_window is not None:
        return int(options.modify_window * 1e9)
    return 0 if source.exact_times and dest.exact_times else FAT_WINDOW_NS


def run_mirror(
    source: Endpoint,
    dest: Endpoint,
    options: MirrorOptions | None = None,
    *,
    progress: Callable[[Progress], None] | None = None,
    log: Callable[[str, str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
) -> Summary:
    """Mirror `source` onto `dest` (robocopy /MIR). Never writes to `source`."""
    options = options or MirrorOptions()
    threads = options.threads or default_threads(source, dest)
    with _LazyPool(threads) as pool:
        return _Run(source, dest, options, pool, progress, log, cancel).run()


class _LazyPool:
    """Threads started at the first task: a re-run with nothing to copy needs none (nor the
    import of concurrent.futures, which pulls in logging)."""

    def __init__(self, threads: int):
        self.threads, self.pool = threads, None
        self.lock = threading.Lock()

    def submit(self, fn, *args):
        with self.lock:
            if self.pool is None:
                from concurrent.futures import ThreadPoolExecutor

                self.pool = ThreadPoolExecutor(self.threads, thread_name_prefix="mirror")
        return self.pool.submit(fn, *args)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=False)


class _Run:
    def __init__(self, source, dest, options, pool, progress, log, cancel):
        self.source, self.dest, self.options, self.pool = source, dest, options, pool
        self.progress_cb, self.log_cb = progress, log
        self.cancel_cb = cancel or (lambda: False)
        self.summary = Summary(source=str(source), dest=str(dest), dry_run=options.dry_run)
        self.lang = 1 if options.language == "fr" else 0
        self.lock = threading.Lock()
        self.touched: set[str] = set()  # destination dirs whose content changed
        self.cancelled = False
        self.needed_bytes = 0

    # --- helpers ------------------------------------------------------------------------------
    def log(self, level: str, tag: str, path: str, size: int | None = None, extra: str = ""):
        if not self.log_cb:
            return
        words = TAGS[tag][self.lang]
        text = f"{words}\t{'' if size is None else size}\t{path}"
        self.log_cb(level, f"{text}\t{extra}" if extra else text)

    def is_cancelled(self) -> bool:
        if not self.cancelled and self.cancel_cb():
            self.cancelled = True
            self.summary.cancelled = True
            self.log("warning", "cancel", "")
        return self.cancelled

    def with_retries(
        self, what: str, rel: str, action: Callable[[], None], failed: Exception | None = None
    ) -> str | None:
        """Run `action`; on error wait and retry. Returns the last error, or None. `failed`:
        the first attempt was already made (a pipelined store) and failed with this."""
        for attempt in range(self.options.retries + 1):
            try:
                if failed is not None:
                    first, failed = failed, None
                    raise first
                action()
                return None
            except Exception as exc:
                error = f"{type(exc).__name__}: {exc}"
                if no_room(exc):
                    self.halt_no_room(error)
                    return error
                if attempt == self.options.retries or self.is_cancelled():
                    return error
                self.log("warning", "retry", rel, extra=error)
                started = time.monotonic()
                while time.monotonic() - started < self.options.retry_wait:
                    if self.is_cancelled():
                        return error
                    time.sleep(min(0.2, self.options.retry_wait))
                with self.lock:
                    self.summary.wait_seconds += time.monotonic() - started
        return None

    def halt_no_room(self, error: str) -> None:
        """Stop every copy (as a cancel does: deletions and verification skipped, files not
        attempted counted failed), with the destination's free and needed space."""
        with self.lock:
            if self.summary.fatal:
                return
            self.summary.fatal = disk_full_text(
                self.dest, self.dest.free_space(), self.needed_bytes, error
            )
            self.cancelled = True
        if self.log_cb:
            self.log_cb("error", self.summary.fatal)

    def touch(self, rel: str):
        with self.lock:
            self.touched.add(rel.rpartition("/")[0])

    # --- phases -------------------------------------------------------------------------------
    def run(self) -> Summary:
        s = self.summary
        try:
            check_destination(self.source, self.dest, force=self.options.force)
            started = time.monotonic()
            window = mtime_window_ns(self.source, self.dest, self.options)
            dest_existed = self.dest.exists()
            plan = build_plan(
                self.source, self.dest, self.pool, window_ns=window, exclude=self.options.exclude
            )
            s.scan_seconds = time.monotonic() - started
        except GuardError as exc:
            return self.fatal(str(exc))
        except Exception as exc:
            return self.fatal(f"lecture de la source impossible: {type(exc).__name__}: {exc}")
        for side, rel, message in plan.errors:
            self.log("error", "listing", f"{side}:{rel or '.'}", extra=message)
            s.fail(rel, f"list {side}", message)
        for rel in plan.links:
            self.log("info", "link", rel)
        s.links = sorted(plan.links)
        # Checked before copying: every byte to copy (a replaced file's old version stays
        # until its new one is renamed in place, so this errs on the safe side).
        self.needed_bytes = plan.bytes_to_copy
        self.count_plan(plan, dest_existed, self.needed_bytes)
        if not self.options.dry_run and self.needed_bytes:
            free = self.dest.free_space()
            if free is not None and free < self.needed_bytes:
                return self.fatal(disk_full_text(self.dest, free, self.needed_bytes))
        # Nothing of ours is written into the tree: a mirrored tree holds its source's files and
        # nothing else (the memory of a previous run is the caller's, outside the data).
        if not self.options.dry_run and not dest_existed:
            self.dest.makedirs("")
        copy_started = time.monotonic()
        self.resolve_mismatches(plan)
        self.make_dirs(plan)
        copied = self.copy_files(plan)
        s.copy_seconds = time.monotonic() - copy_started
        self.delete_extras(plan)
        self.fix_dir_times(plan)
        if not self.options.dry_run and not self.cancelled:
            self.verify(plan, copied)
        s.ended = time.time()
        return s

    def fatal(self, message: str) -> Summary:
        self.summary.fatal = message
        self.summary.ended = time.time()
        if self.log_cb:
            self.log_cb("error", message)
        return self.summary

    def count_plan(self, plan: Plan, dest_existed: bool, bytes_to_copy: int):
        s = self.summary
        s.dirs.total = plan.dirs_total
        new_dirs = len(plan.dirs_new) + (0 if dest_existed else 1)
        mismatched_dirs = sum(1 for _, src, _ in plan.mismatches if src.kind == DIR)
        s.dirs.copied = new_dirs - mismatched_dirs
        s.dirs.mismatch = mismatched_dirs
        s.dirs.skipped = plan.dirs_total - new_dirs
        s.files.total, s.files.skipped = plan.files_total, plan.files_same
        s.bytes.skipped = plan.bytes_same  # summed once: a re-run holds every file here
        s.bytes.total = s.bytes.skipped + bytes_to_copy
        s.files.extras = len(plan.extra_files)
        s.bytes.extras = sum(size for _, size in plan.extra_files)
        s.dirs.extras = len(plan.extra_dirs)

    def resolve_mismatches(self, plan: Plan):
        """Remove a destination entry of the wrong kind so the source entry can take its place."""
        for rel, src, _dst in plan.mismatches:
            self.log("warning", "mismatch", rel, src.size if src.kind == FILE else None)
        if self.options.dry_run:
            return
        for rel, size in plan.mismatch_files:
            self.remove(rel, "file", size, quiet=True)
        for rel in sorted(plan.mismatch_dirs, key=lambda r: -r.count("/")):
            self.remove(rel, "dir", None, quiet=True)
        for rel, _src, dst in plan.mismatches:
            if dst.kind != DIR:
                self.remove(rel, "file", dst.size, quiet=True)

    def make_dirs(self, plan: Plan):
        mismatched = {rel for rel, src, _ in plan.mismatches if src.kind == DIR}
        for rel in plan.dirs_new:
            if rel not in mismatched:
                self.log("info", "new_dir", rel)
            if self.options.dry_run:
                continue
            error = self.with_retries("mkdir", rel, lambda rel=rel: self.dest.makedirs(rel))
            self.touch(rel)
            if error:
                self.summary.fail(rel, "mkdir", error)
                self.log("error", "failed", rel, extra=error)
                with self.lock:
                    self.summary.dirs.failed += 1
                    if rel in mismatched:
                        self.summary.dirs.mismatch -= 1
                    else:
                        self.summary.dirs.copied -= 1

    def copy_files(self, plan: Plan) -> list[tuple[str, int]]:
        s = self.summary
        total_bytes = sum(c.entry.size for c in plan.copies)
        tracker = _Tracker(
            self.progress_cb, len(plan.copies), total_bytes, self.options.progress_interval
        )
        copied: list[tuple[str, int]] = []
        both_local = isinstance(self.source, LocalEndpoint) and isinstance(self.dest, LocalEndpoint)

        track = tracker.callback is not None  # without a progress display: no counting
        dry_run = self.options.dry_run

        def copy_one(c: Copy, failed: Exception | None = None) -> None:
            if self.is_cancelled():
                return
            size = c.entry.size
            if c.reason != "mismatch" and failed is None:  # else already logged
                self.log("info", c.reason, c.rel, size)
            sent = [0]
            on_bytes = None
            if track:
                tracker.add(current=c.rel)

                def on_bytes(n):
                    sent[0] += n
                    tracker.add(n)

            def attempt():
                if track:
                    tracker.add(-sent[0])  # a retry starts over
                    sent[0] = 0
                if dry_run:
                    return
                if both_local:
                    self.dest.store_from_local(c.rel, self.source.path(c.rel), c.entry, on_bytes)
                else:
                    chunks = self.source.read_chunks(c.rel, size)
                    self.dest.store(c.rel, chunks, c.entry, on_bytes)

            error = self.with_retries("copy", c.rel, attempt, failed)
            record(c, error)
            if track:
                tracker.add(size - sent[0] if dry_run else 0, files=1)

        def record(c: Copy, error: str | None) -> None:
            size = c.entry.size
            column = "mismatch" if c.reason == "mismatch" else "copied"
            with self.lock:
                if error:
                    s.fail(c.rel, "copy", error)
                    s.files.failed += 1
                    s.bytes.failed += size
                else:
                    setattr(s.files, column, getattr(s.files, column) + 1)
                    setattr(s.bytes, column, getattr(s.bytes, column) + size)
                    copied.append((c.rel, size))
                self.touched.add(c.rel.rpartition("/")[0])
            if error:
                self.log("error", "failed", c.rel, size, error)

        store_many = None if dry_run or both_local else getattr(self.dest, "store_many", None)

        def pipelined(batch: list[Copy]) -> list[tuple[Copy, Exception | None]]:
            """The batch's files in flight together on the destination's channel (SFTP:
            dest.store_many); each outcome is recorded as it arrives. Returns what is left for
            copy_one: the failed files with their first error (their retries follow there)
            and any the pipeline did not report on."""
            outcome: dict[int, Exception | None] = {}
            sent = [0] * len(batch)

            def jobs():
                for i, c in enumerate(batch):
                    if c.reason != "mismatch":  # else already logged
                        self.log("info", c.reason, c.rel, c.entry.size)
                    on_bytes = None
                    if track:
                        tracker.add(current=c.rel)

                        def on_bytes(n, i=i):
                            sent[i] += n
                            tracker.add(n)

                    def chunks(c=c):
                        return self.source.read_chunks(c.rel, c.entry.size)

                    yield c.rel, c.entry, chunks, on_bytes

            def done(i: int, error: Exception | None) -> None:
                outcome[i] = error
                if error is None:
                    record(batch[i], None)
                    if track:
                        tracker.add(files=1)
                elif track:
                    tracker.add(-sent[i])  # copy_one starts over

            unreported = None
            try:
                store_many(jobs(), done, self.is_cancelled)
            except Exception as exc:  # the channel could not be opened: a failed attempt
                unreported = exc
            return [
                (c, outcome.get(i, unreported))
                for i, c in enumerate(batch)
                if i not in outcome or outcome[i] is not None
            ]

        def copy_batch(batch):
            for c, failed in pipelined(batch) if store_many else ((c, None) for c in batch):
                copy_one(c, failed)

        mine, helped = plan.copies, []
        if both_local and not dry_run and type(self.source) is type(self.dest) is LocalEndpoint:
            mine, helped = split_for_helper(plan.copies)
        futures = [self.pool.submit(copy_batch, b) for b in batches(mine)]
        if helped:
            done = self.copy_in_helper(helped, record, tracker if track else None)
            for c in helped:  # a helper that failed to start or died: copy the rest here
                if c.rel not in done and not self.cancelled:
                    futures.append(self.pool.submit(copy_one, c))
        for fut in futures:
            fut.result()
        tracker.add(force=True)
        if self.cancelled:  # files never attempted are not "skipped": count them as failed
            done = {rel for rel, _ in copied} | {f["path"] for f in s.failures}
            for c in plan.copies:
                if c.rel not in done:
                    s.files.failed += 1
                    s.bytes.failed += c.entry.size
        return copied

    def copy_in_helper(self, jobs: list[Copy], record, tracker) -> set[str]:
        """Copy `jobs` in a helper process (localcopy.py); returns the paths it reported."""
        import marshal
        import subprocess
        import sys

        from . import localcopy

        reported: set[str] = set()
        by_rel = {c.rel: c for c in jobs}
        options = self.options
        payload = marshal.dumps(
            (
                self.source.root,
                self.dest.root,
                options.retries,
                options.retry_wait,
                [(c.rel, c.entry.name, c.entry.mtime_ns, file_mode(c.entry)) for c in jobs],
            )
        )
        try:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", localcopy.__file__],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
        except (OSError, ValueError):
            return reported
        stop_watch = threading.Event()

        def watch_cancel():  # a cancel (or a full disk) stops the helper within 0.2 s
            while not stop_watch.wait(0.2):
                if self.is_cancelled():
                    if proc.poll() is None:
                        proc.terminate()  # it removes the temporary file it was writing
                    return

        threading.Thread(target=watch_cancel, name="mirror-helper-cancel", daemon=True).start()
        try:
            proc.stdin.write(payload)
            proc.stdin.close()
            while not self.is_cancelled():
                try:
                    results = marshal.load(proc.stdout)  # noqa: S302 - our own helper's output
                except (EOFError, ValueError, TypeError):
                    break
                for rel, error, retried in results:
                    c = by_rel[rel]
                    if c.reason != "mismatch":
                        self.log("info", c.reason, rel, c.entry.size)
                    for text in retried:
                        self.log("warning", "retry", rel, extra=text)
                    with self.lock:
                        self.summary.wait_seconds += len(retried) * options.retry_wait
                    if error and any(t in error.lower() for t in NO_ROOM_TEXTS):
                        self.halt_no_room(error)
                    record(c, error)
                    reported.add(rel)
                    if tracker:
                        tracker.add(c.entry.size, files=1, current=rel)
        except OSError:
            pass  # a broken pipe: what was not reported is copied here
        finally:
            stop_watch.set()
            if proc.poll() is None and self.cancelled:
                proc.terminate()  # it removes the temporary file it was writing
            proc.stdout.close()
            proc.wait()
        return reported

    def remove(self, rel: str, kind: str, size, quiet=False) -> bool:
        if not quiet:
            self.log("info", "extra_file" if kind == "file" else "extra_dir", rel, size)
        if self.options.dry_run:
            return True
        action = self.dest.remove_file if kind == "file" else self.dest.remove_dir
        error = self.with_retries("delete", rel, lambda: action(rel))
        self.touch(rel)
        if error:
            self.summary.fail(rel, f"delete {kind}", error)
            self.log("error", "failed", rel, size, error)
        return error is None

    def delete_extras(self, plan: Plan):
        s = self.summary
        count = len(plan.extra_files) + len(plan.extra_dirs)
        if not count:
            return
        reason = None
        if self.cancelled:
            reason = "miroir annulé"
        elif plan.source_errors:
            reason = "la lecture de la source a rencontré des erreurs: aucune suppression"
        elif self.options.max_delete is not None and count > self.options.max_delete:
            confirm = self.options.confirm_delete
            if not (confirm and confirm(count)):
                reason = f"{count} suppressions dépassent --max-delete {self.options.max_delete}"
                s.fail("", "delete", reason)
        if reason:
            s.deletions_blocked = reason
            self.log("warning", "blocked", "", count, reason)
            return
        sizes = dict(plan.extra_files)
        futures = [
            self.pool.submit(lambda b: [self.remove(r, "file", sizes[r]) for r in b], b)
            for b in _chunks(list(sizes), BATCH_FILES)
        ]
        for fut in futures:
            fut.result()
        for rel in sorted(plan.extra_dirs, key=lambda r: (-r.count("/"), r)):
            self.remove(rel, "dir", None)

    def fix_dir_times(self, plan: Plan):
        if self.options.dry_run or self.cancelled:
            return
        wanted = set(plan.dirs_new) | plan.dirs_differing | self.touched
        for rel in sorted(wanted, key=lambda r: (-r.count("/"), r)):
            mtime = plan.dir_times.get(rel)
            if mtime is None:
                continue
            error = self.with_retries(
                "utime", rel, lambda rel=rel, m=mtime: self.dest.set_mtime(rel, m)
            )
            if error:
                self.summary.fail(rel, "set time", error)

    def verify(self, plan: Plan, copied: list[tuple[str, int]]):
        s = self.summary
        copied_set = {rel for rel, _ in copied}
        # The unchanged files' paths, built once for both uses (none on a plain run).
        same = plan.same() if self.options.verify_all or self.options.manifest else []
        if self.options.verify_all:
            items = sorted(copied + [(rel, e[2]) for rel, e in same])
        elif self.options.verify:
            items = sorted(copied)
        else:
            items = []
        hashes: dict[str, str] = {}
        if items or self.options.manifest:
            from .verify import compare_trees, hash_many, write_manifest  # blake3, hashlib
        if items:
            hashes, problems = compare_trees(self.source, self.dest, items, self.pool)
            sizes = dict(items)
            for rel, problem in problems:
                s.fail(rel, "verify", problem)
                self.log("error", "verify", rel, sizes[rel], problem)
                column = "copied" if rel in copied_set else "skipped"
                setattr(s.files, column, getattr(s.files, column) - 1)
                setattr(s.bytes, column, getattr(s.bytes, column) - sizes[rel])
                s.files.failed += 1
                s.bytes.failed += sizes[rel]
        if self.options.manifest:
            entries = {c.rel: c.entry for c in plan.copies} | dict(same)
            missing = [(rel, e[2]) for rel, e in entries.items() if rel not in hashes]
            for rel, value in hash_many(self.dest, missing, self.pool).items():
                if isinstance(value, Exception):
                    s.fail(rel, "manifest", str(value))
                else:
                    hashes[rel] = value
            records = [
                {
                    "path": rel,
                    "size": entries[rel][2],  # Entry or plain record: same field order
                    "mtime_ns": entries[rel][3],
                    "blake3": hashes[rel],
                }
                for rel in sorted(hashes)
            ]
            write_manifest(
                self.options.manifest, records, source=str(self.source), dest=str(self.dest)
            )


def split_for_helper(copies: list[Copy]) -> tuple[list[Copy], list[Copy]]:
    """Many files: the second half by estimated cost goes to a helper (sorted paths: mostly
    other folders than ours, so the two processes rarely lock the same directory)."""
    if len(copies) < HELPER_MIN_FILES:
        return copies, []
    costs = [HELPER_FILE_COST + c.entry.size for c in copies]
    half, total = sum(costs) / 2, 0
    for i, cost in enumerate(costs):
        total += cost
        if total >= half:
            return copies[: i + 1], copies[i + 1 :]
    return copies, []


def batches(copies: list[Copy]):
    """Group small files so one task carries several (less per-task overhead)."""
    batch, size = [], 0
    for c in copies:
        batch.append(c)
        size += c.entry.size if c.entry else 0
        if len(batch) >= BATCH_FILES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _chunks(items: list, n: int):
    for i in range(0, len(items), n):
        yield items[i : i + n]
