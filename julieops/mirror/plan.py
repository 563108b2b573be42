"""Walk both trees in parallel and sort every name into robocopy's classes."""

import errno
from typing import NamedTuple

from .endpoints import Endpoint
from .entry import DIR, FILE, LINK, Entry, join
from .records import Record
from .treewalk import excluded, gc_paused

LONELY, NEWER, OLDER, CHANGED = "lonely", "newer", "older", "changed"


class Copy(NamedTuple):  # one per file to copy: a tuple is the cheapest to build
    rel: str
    entry: Entry
    reason: str  # LONELY, NEWER, OLDER, CHANGED; or "mismatch"


class Plan(Record):
    _factories = {
        "dirs_new": list,
        "dir_times": dict,
        "dirs_differing": set,
        "copies": list,
        "same_groups": list,
        "mismatches": list,
        "mismatch_files": list,
        "mismatch_dirs": list,
        "extra_files": list,
        "extra_dirs": list,
        "links": list,
        "errors": list,
    }

    dirs_total: int = 0
    dirs_new: list[str]  # parents before children
    dir_times: dict[str, int]  # every source dir -> mtime_ns
    dirs_differing: set[str]  # existing dirs whose time differs
    copies: list[Copy]
    # Unchanged files by folder: (prefix, [records]), prefix "" or "folder/", each record an
    # Entry or a plain tuple in Entry's field order. Grouped: a re-run finds most folders
    # unchanged and keeps their listing as it came, with no per-file path or tuple built.
    same_groups: list[tuple[str, list]]
    files_same: int = 0
    # Destination entries in the way of a source entry of another kind: removed, then copied.
    mismatches: list[tuple[str, Entry, Entry]]
    mismatch_files: list[tuple[str, int]]  # inside mismatched dirs
    mismatch_dirs: list[str]
    extra_files: list[tuple[str, int]]
    extra_dirs: list[str]  # every extra dir, any depth
    links: list[str]
    errors: list[tuple[str, str, str]]  # (side, rel, message)

    @property
    def source_errors(self) -> bool:
        return any(side == "source" for side, _, _ in self.errors)

    @property
    def files_total(self) -> int:
        return len(self.copies) + self.files_same

    @property
    def bytes_same(self) -> int:
        return sum(e[2] for _, records in self.same_groups for e in records)

    def same(self) -> list[tuple[str, tuple]]:
        """Unchanged files as (rel, record): built on demand (verifying, the manifest)."""
        return [(prefix + e[0], e) for prefix, records in self.same_groups for e in records]

    @property
    def bytes_to_copy(self) -> int:
        return sum(c.entry.size for c in self.copies)


def classify(src: Entry, dst: Entry, window_ns: int) -> str | None:
    """robocopy's rule: copy when the times differ (either way) or the sizes differ."""
    delta = src.mtime_ns - dst.mtime_ns
    if delta > window_ns:
        return NEWER
    if delta < -window_ns:
        return OLDER
    if src.size != dst.size:
        return CHANGED
    return None


def build_plan(
    source: Endpoint,
    dest: Endpoint,
    executor,
    *,
    window_ns: int,
    exclude: list[str] | None = None,
) -> Plan:
    plan = Plan()
    patterns = list(exclude or [])
    dest_exists = dest.exists()
    trees = _walk_both(source, dest, patterns, dest_exists)
    if trees:
        executor = _Immediate()  # everything is listed already: no threads to wait for

    def listing(endpoint: Endpoint, side: str, rel: str):
        try:
            if trees:
                listings, errors = trees[0 if endpoint is source else 1]
                if rel in listings:
                    return listings[rel]
                if rel in errors:
                    raise OSError(*errors[rel])
            return endpoint.list_dir(rel)
        except OSError as exc:
            if side == "destination" and exc.errno == errno.ENOENT:
                return []
            plan_errors.append((side, rel, f"{type(exc).__name__}: {exc}"))
            return None
        except Exception as exc:  # recorded: a failed source listing forbids deletions
            plan_errors.append((side, rel, f"{type(exc).__name__}: {exc}"))
            return None

    plan_errors: list[tuple[str, str, str]] = []

    def list_pair(rel: str, dst_exists: bool):
        src_entries = listing(source, "source", rel)
        dst_entries = listing(dest, "destination", rel) if dst_exists else []
        return "pair", rel, src_entries, dst_entries

    def list_extra(rel: str, purpose: str):
        return purpose, rel, listing(dest, "destination", rel), None

    if trees and "" in trees[0][1]:
        raise OSError(*trees[0][1][""])  # a missing or unreadable root is fatal
    root_entries = trees[0][0][""] if trees else source.list_dir("")
    plan.dirs_total = 1

    def list_root():
        return "pair", "", root_entries, listing(dest, "destination", "") if dest_exists else []

    # Answers are taken in the order they come, from a queue the futures feed: waiting on the
    # whole pending set for each answer (concurrent.futures.wait) cost O(pending) per folder,
    # quadratic on a wide tree.
    done = _Completions(executor)
    done.submit(list_root)
    with gc_paused(trees is not None):  # whole local trees: the comparison ends soon
        while done.outstanding:
            purpose, rel, first, second = done.next()
            if purpose == "pair":
                _compare_dir(
                    plan, rel, first, second, patterns, window_ns, done, list_pair, list_extra
                )
            else:
                _collect_subtree(plan, purpose, rel, first, patterns, done, list_extra)
    plan.errors = plan_errors
    plan.dirs_new.sort(key=lambda r: (r.count("/"), r))
    plan.copies.sort(key=lambda c: c.rel)
    return plan


def _walk_both(source: Endpoint, dest: Endpoint, patterns: list[str], dest_exists: bool):
    """Both local trees listed whole: the destination in a child process meanwhile."""
    src_walker, dst_walker = source.tree_walker(), dest.tree_walker()
    if src_walker is None or dst_walker is None:
        return None
    finish = dst_walker.in_child(patterns) if dest_exists else None
    with gc_paused():  # the child's answer too: 50,000 tuples unmarshalled at once
        try:
            src_tree = src_walker.here(patterns)
        except BaseException:
            if finish:
                finish()  # the child (or thread) is reaped, never left behind in a worker
            raise
        return src_tree, finish() if finish else ({}, {})


class _Immediate:
    """An executor that runs each task at once (the listings are already in memory)."""

    def submit(self, fn, *args):
        return _Done(fn(*args))


class _Done:
    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value

    def result(self):
        return self.value


class _Completions:
    """Submits to `executor` and hands back results as they complete (one queue, O(1) each)."""

    def __init__(self, executor):
        import queue

        self.executor = executor
        self.queue = queue.SimpleQueue()
        self.outstanding = 0

    def submit(self, fn, *args):
        self.outstanding += 1
        fut = self.executor.submit(fn, *args)
        if isinstance(fut, _Done):
            self.queue.put(fut)
        else:
            fut.add_done_callback(self.queue.put)
        return fut

    def next(self):
        fut = self.queue.get()
        self.outstanding -= 1
        return fut.result()


def _compare_dir(
    plan, rel, src_entries, dst_entries, patterns, window_ns, executor, list_pair, list_extra
):
    # The hot loop of a re-run. Destination records may be plain tuples (from the child
    # lister): indexed, not named.
    if src_entries is None:  # unreadable source dir: leave its destination alone
        return
    prefix = f"{rel}/" if rel else ""
    if not patterns and dst_entries is not None and _identical(src_entries, dst_entries):
        _unchanged_dir(plan, prefix, src_entries, executor, list_pair)
        return
    check_names = bool(patterns) or not rel
    dst_map = {e[0]: e for e in dst_entries} if dst_entries else {}
    pop = dst_map.pop
    unchanged = []
    same = unchanged.append
    for s in src_entries:
        name = s[0]
        child = prefix + name
        if check_names and excluded(child, name, patterns):
            pop(name, None)
            continue
        d = pop(name, None)
        if d == s and s[1] == FILE:  # same kind, size, time and mode
            same(s)
            continue
        s = Entry._make(s)
        if s.kind == LINK:
            plan.links.append(child)  # never followed; its destination namesake is protected
            continue
        if d is not None:
            d = Entry._make(d)
        mismatch = d is not None and d.kind != s.kind
        if mismatch:
            plan.mismatches.append((child, s, d))
            if d.kind == DIR:
                executor.submit(list_extra, child, "mismatch")
            d = None
        if s.kind == DIR:
            plan.dirs_total += 1
            plan.dir_times[child] = s.mtime_ns
            if d is None:
                plan.dirs_new.append(child)
            elif abs(s.mtime_ns - d.mtime_ns) > window_ns:
                plan.dirs_differing.add(child)
            executor.submit(list_pair, child, d is not None)
        elif d is None:
            plan.copies.append(Copy(child, s, "mismatch" if mismatch else LONELY))
        else:
            reason = classify(s, d, window_ns)
            if reason:
                plan.copies.append(Copy(child, s, reason))
            else:
                same(s)
    if unchanged:
        plan.same_groups.append((prefix, unchanged))
        plan.files_same += len(unchanged)
    for d in dst_map.values():
        name, kind = d[0], d[1]
        child = prefix + name
        if excluded(child, name, patterns):
            continue
        if kind == DIR:
            plan.extra_dirs.append(child)
            executor.submit(list_extra, child, "extra")
        else:
            plan.extra_files.append((child, d[2]))


def _identical(src_entries, dst_entries) -> bool:
    """Every record equal on both sides (kind, size, time, mode), compared in C: one file
    system lists a folder's names in one order, and sets catch the other orders."""
    if src_entries == dst_entries:
        return True
    return len(src_entries) == len(dst_entries) and set(src_entries) == set(dst_entries)


def _unchanged_dir(plan, prefix, records, executor, list_pair):
    """A folder identical on both sides: its files kept as listed, its folders gone into."""
    files = [e for e in records if e[1] == FILE]
    if len(files) < len(records):
        for e in records:
            if e[1] == DIR:
                child = prefix + e[0]
                plan.dirs_total += 1
                plan.dir_times[child] = e[3]  # same time on both sides: not differing
                executor.submit(list_pair, child, True)
            elif e[1] != FILE:
                plan.links.append(prefix + e[0])  # never followed, its namesake kept
    if files:
        plan.same_groups.append((prefix, files))
        plan.files_same += len(files)


def _collect_subtree(plan, purpose, rel, entries, patterns, executor, list_extra):
    """Everything under an extra (or mismatched) destination directory goes with it."""
    files = plan.extra_files if purpose == "extra" else plan.mismatch_files
    dirs = plan.extra_dirs if purpose == "extra" else plan.mismatch_dirs
    if purpose == "mismatch":
        dirs.append(rel)
    for d in entries or []:
        child = join(rel, d[0])
        if d[1] == DIR:
            if purpose == "extra":
                dirs.append(child)
            executor.submit(list_extra, child, purpose)
        else:
            files.append((child, d[2]))
