"""Content verification with BLAKE3 (multi-threaded) and the evidence manifest."""

import datetime
import hashlib
import json
import os
from collections.abc import Iterable
from concurrent.futures import Executor

import blake3

from .endpoints import Endpoint, LocalEndpoint
from .endpoints.local import open_source

BIG_FILE = 16 * 1024 * 1024  # above this, BLAKE3 hashes one file on several threads
READ_BUFFER = 1024 * 1024  # files up to this are read into one reused buffer, not mmapped
BATCH_FILES, BATCH_BYTES = 64, 64 * 1024 * 1024  # per task: fewer futures, one buffer reused


def hash_file(endpoint: Endpoint, rel: str, size: int, buffer: bytearray | None = None) -> str:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO if size >= BIG_FILE else 1)
    if isinstance(endpoint, LocalEndpoint):
        path = endpoint.path(rel)
        if size > READ_BUFFER:
            hasher.update_mmap(path)  # releases the GIL
            return hasher.hexdigest()
        # Small files: read() into a reused buffer costs far less than mmap + munmap each time.
        buffer = buffer if buffer is not None else bytearray(READ_BUFFER)
        view = memoryview(buffer)
        fd = open_source(path)
        try:
            while n := os.readv(fd, [buffer]):  # until EOF: the file may have grown
                hasher.update(view[:n])
        finally:
            os.close(fd)
        return hasher.hexdigest()
    for chunk in endpoint.read_chunks(rel, size):
        hasher.update(chunk)
    return hasher.hexdigest()


def _batches(items: list[tuple[str, int]], max_files: int):
    batch, size = [], 0
    for rel, n in items:
        batch.append((rel, n))
        size += n
        if len(batch) >= max_files or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _hash_batch(endpoints, batch) -> list[tuple[str, list]]:
    """Each file of the batch on each endpoint: its hash, or the exception reading it."""
    buffer = bytearray(READ_BUFFER)
    out = []
    for rel, size in batch:
        results = []
        for endpoint in endpoints:
            try:
                results.append(hash_file(endpoint, rel, size, buffer))
            except Exception as exc:  # reported as a verification failure
                results.append(exc)
        out.append((rel, results))
    return out


def _hash_all(endpoints, items, executor):
    # Remote reads wait on the network: one file per task keeps every thread busy.
    local = all(isinstance(e, LocalEndpoint) for e in endpoints)
    batches = _batches(list(items), BATCH_FILES if local else 1)
    futures = [executor.submit(_hash_batch, endpoints, b) for b in batches]
    for fut in futures:
        yield from fut.result()


def hash_many(
    endpoint: Endpoint, items: Iterable[tuple[str, int]], executor: Executor
) -> dict[str, str | Exception]:
    return {rel: results[0] for rel, results in _hash_all([endpoint], items, executor)}


def compare_trees(
    source: Endpoint, dest: Endpoint, items: list[tuple[str, int]], executor: Executor
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Hash both sides, in batches over the threads. Returns (rel -> hash, [(rel, problem)])."""
    hashes, problems = {}, []
    for rel, (a, b) in _hash_all([source, dest], items, executor):
        failed = a if isinstance(a, Exception) else b if isinstance(b, Exception) else None
        if failed is not None:
            problems.append((rel, f"lecture impossible: {failed}"))
        elif a != b:
            problems.append((rel, f"contenu différent (source {a[:16]}…, destination {b[:16]}…)"))
        else:
            hashes[rel] = a
    return hashes, problems


def write_manifest(path: str, records: Iterable[dict], *, source: str = "", dest: str = "") -> str:
    """JSON Lines: a header, then {"path", "size", "mtime", "mtime_ns", "blake3"} per file.

    Written to a temporary name and renamed. Returns the manifest's SHA-256 (for evidence).
    """
    tmp = f"{path}.part"
    digest = hashlib.sha256()
    with open(tmp, "wb") as fh:
        header = {
            "manifest": "julieops-mirror/1",
            "hash": "blake3",
            "source": source,
            "dest": dest,
            "written": datetime.datetime.now(datetime.UTC).isoformat(),
        }
        for record in [header, *records]:
            if "mtime_ns" in record and "mtime" not in record:
                record = {**record, "mtime": iso(record["mtime_ns"])}
            line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
            digest.update(line)
            fh.write(line)
    os.replace(tmp, path)
    return digest.hexdigest()


def iso(mtime_ns: int) -> str:
    return datetime.datetime.fromtimestamp(mtime_ns / 1e9, datetime.UTC).isoformat()
