"""Content verification with BLAKE3 (multi-threaded) and the evidence manifest."""

import datetime
import hashlib
import json
import os
from collections.abc import Iterable
from concurrent.futures import Executor

import blake3

from .endpoints import Endpoint, LocalEndpoint

BIG_FILE = 16 * 1024 * 1024  # above this, BLAKE3 hashes one file on several threads


def hash_file(endpoint: Endpoint, rel: str, size: int) -> str:
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO if size >= BIG_FILE else 1)
    if isinstance(endpoint, LocalEndpoint):
        if size:
            hasher.update_mmap(endpoint.path(rel))  # releases the GIL
        return hasher.hexdigest()
    for chunk in endpoint.read_chunks(rel, size):
        hasher.update(chunk)
    return hasher.hexdigest()


def hash_many(
    endpoint: Endpoint, items: Iterable[tuple[str, int]], executor: Executor
) -> dict[str, str | Exception]:
    futures = {rel: executor.submit(hash_file, endpoint, rel, size) for rel, size in items}
    out: dict[str, str | Exception] = {}
    for rel, fut in futures.items():
        try:
            out[rel] = fut.result()
        except Exception as exc:  # reported as a verification failure
            out[rel] = exc
    return out


def compare_trees(
    source: Endpoint, dest: Endpoint, items: list[tuple[str, int]], executor: Executor
) -> tuple[dict[str, str], list[tuple[str, str]]]:
    """Hash both sides concurrently. Returns (rel -> hash, [(rel, problem)])."""
    src_futs = {rel: executor.submit(hash_file, source, rel, size) for rel, size in items}
    dst_futs = {rel: executor.submit(hash_file, dest, rel, size) for rel, size in items}
    hashes, problems = {}, []
    for rel, _ in items:
        try:
            a, b = src_futs[rel].result(), dst_futs[rel].result()
        except Exception as exc:
            problems.append((rel, f"lecture impossible: {exc}"))
            continue
        if a != b:
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
