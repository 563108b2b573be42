"""The mirror engine side by side with rsync, cp, scp and sha256sum, on generated trees.

Sizes scale with BENCH_SCALE (default 1: ~5,000 files / 300 MB and ~50,000 small files).
The machine is shared and noisy: every case runs BENCH_RUNS times (default 3) on the same trees,
each time side by side with the other tools, and the summary gives per case the median time of
each tool and the median of the same-run ratios.
Results: tables on stdout and JSON in bench/results/. Page cache is warm for every tool alike.
"""

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from julieops.mirror import open_endpoint  # noqa: E402
from julieops.mirror.verify import compare_trees  # noqa: E402
from tests.support.sshd import start_sshd  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
RESULTS = ROOT / "bench" / "results"


def generate(root: Path, files: int, big_files: int, big_size: int, small_max: int, seed: int):
    """Files spread over folders like a practice's data share; random bytes (incompressible)."""
    rng = random.Random(seed)
    blob = os.urandom(max(big_size, small_max) + 4096)
    per_dir = 100
    total = 0
    for i in range(files):
        d = root / f"dossier_{i // per_dir // 10:03d}" / f"sous_{i // per_dir:04d}"
        if i % per_dir == 0:
            d.mkdir(parents=True, exist_ok=True)
        size = big_size if i < big_files else rng.randint(0, small_max)
        start = rng.randint(0, 4096)
        (d / f"fichier_{i:06d}.dat").write_bytes(blob[start : start + size])
        total += size
    (root / "vide").mkdir()
    return total


def touch_one_percent(root: Path, seed: int) -> int:
    rng = random.Random(seed)
    files = sorted(p for p in root.rglob("*.dat"))
    chosen = rng.sample(files, max(1, len(files) // 100))
    for p in chosen:
        data = p.read_bytes()
        p.write_bytes(data[:-1] + bytes([(data[-1] + 1) % 256]) if data else b"x")
    return len(chosen)


def timed(args, **kw) -> float:
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, **kw)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1, 2, 3):
        raise RuntimeError(f"{args[:3]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def ours(src, dst, *extra) -> float:
    args = [sys.executable, "-m", "julieops.mirror", str(src), str(dst), "--json", "--force"]
    return timed([*args, *extra], cwd=ROOT)


def best(fn, runs=1):
    return min(fn() for _ in range(runs))


def both(run_ours, run_rsync, ours_first: bool) -> tuple[float, float]:
    """Time both tools; who goes first alternates between runs (the one after a copy of many
    files pays for the other's write-back)."""
    if ours_first:
        t_ours = run_ours()
        return t_ours, run_rsync()
    t_rsync = run_rsync()
    return run_ours(), t_rsync


def local_suite(name: str, src: Path, work: Path, ours_first: bool = True) -> list[dict]:
    rows = []
    key = src.name
    d_ours, d_rsync, d_cp = work / f"{key}_ours", work / f"{key}_rsync", work / f"{key}_cp"
    rsync = ["rsync", "-a", "--delete", f"{src}/"]
    for d in (d_ours, d_rsync, d_cp):  # a first copy each run
        shutil.rmtree(d, ignore_errors=True)
    t_ours, t_rsync = both(
        lambda: ours(src, d_ours), lambda: timed([*rsync, f"{d_rsync}/"]), ours_first
    )
    t_cp = timed(["cp", "-a", str(src), str(d_cp)])
    rows.append(
        row(f"{name} (a) first copy", t_ours, {"rsync -a --delete": t_rsync, "cp -a": t_cp})
    )
    shutil.rmtree(d_cp)
    t_ours, t_rsync = both(
        lambda: best(lambda: ours(src, d_ours), 3),
        lambda: best(lambda: timed([*rsync, f"{d_rsync}/"]), 3),
        ours_first,
    )
    rows.append(row(f"{name} (b) re-run, no change", t_ours, {"rsync -a --delete": t_rsync}))
    changed = touch_one_percent(src, 7)
    t_ours, t_rsync = both(
        lambda: ours(src, d_ours), lambda: timed([*rsync, f"{d_rsync}/"]), ours_first
    )
    rows.append(
        row(f"{name} (c) re-run, {changed} files changed", t_ours, {"rsync -a --delete": t_rsync})
    )
    shutil.rmtree(d_rsync)
    return rows


def sftp_suite(src: Path, work: Path, size: int) -> list[dict]:
    server = start_sshd(work / "sshd")
    try:
        known = work / "known_hosts"
        pub = Path(f"{server.host_key_path}.pub").read_text().split()
        known.write_text(f"[{server.host}]:{server.port} {pub[0]} {pub[1]}\n")
        ssh_opts = [
            "-i",
            str(server.client_key_path),
            "-o",
            f"UserKnownHostsFile={known}",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            "BatchMode=yes",
        ]
        user_host = f"{server.username}@{server.host}"
        dst_ours, dst_scp, dst_rsync = work / "sftp_ours", work / "sftp_scp", work / "sftp_rsync"
        url = f"sftp://{user_host}:{server.port}{dst_ours}"
        host_key = " ".join(pub[:2])
        t_ours = ours(src, url, "--ssh-key", str(server.client_key_path), "--host-key", host_key)
        t_scp = timed(
            [
                "scp",
                "-q",
                "-r",
                "-P",
                str(server.port),
                *ssh_opts,
                str(src),
                f"{user_host}:{dst_scp}",
            ]
        )
        ssh = " ".join(["ssh", "-p", str(server.port), *ssh_opts])
        t_rsync = timed(
            ["rsync", "-a", "--delete", "-e", ssh, f"{src}/", f"{user_host}:{dst_rsync}/"]
        )
        r = row("sftp (d) first copy", t_ours, {"scp -r": t_scp, "rsync -e ssh": t_rsync})
        r["MiB/s"] = {
            k: round(size / 2**20 / v, 1)
            for k, v in {"ours": t_ours, "scp -r": t_scp, "rsync -e ssh": t_rsync}.items()
        }
        for d in (dst_ours, dst_scp, dst_rsync):
            shutil.rmtree(d, ignore_errors=True)
        return [r]
    finally:
        server.stop()


def verify_suite(src: Path, dst: Path) -> list[dict]:
    a, b = open_endpoint(str(src)), open_endpoint(str(dst))
    items = []
    for p in src.rglob("*"):
        if p.is_file():
            items.append((p.relative_to(src).as_posix(), p.stat().st_size))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        start = time.perf_counter()
        _, problems = compare_trees(a, b, items, pool)
        t_ours = time.perf_counter() - start
    assert not problems, problems[:3]
    listing = "\0".join(str(root / rel) for root in (src, dst) for rel, _ in items) + "\0"
    start = time.perf_counter()
    subprocess.run(
        ["xargs", "-0", "sha256sum"], input=listing.encode(), check=True, stdout=subprocess.DEVNULL
    )
    t_sha = time.perf_counter() - start
    return [row("verify (e) both sides, BLAKE3", t_ours, {"sha256sum": t_sha})]


def row(name: str, t_ours: float, others: dict) -> dict:
    return {
        "case": name,
        "ours_s": round(t_ours, 3),
        "others_s": {k: round(v, 3) for k, v in others.items()},
        "ratio_vs": {k: round(t_ours / v, 2) for k, v in others.items()},
    }


def median_rows(runs: list[list[dict]]) -> list[dict]:
    """Per case: median time of each tool, median of the ratios measured in the same run."""
    out = []
    for same_case in zip(*runs, strict=True):
        first = same_case[0]
        r = {
            "case": first["case"],
            "runs": len(same_case),
            "ours_s": round(statistics.median(r["ours_s"] for r in same_case), 3),
            "others_s": {
                k: round(statistics.median(r["others_s"][k] for r in same_case), 3)
                for k in first["others_s"]
            },
            "ratio_vs": {
                k: round(statistics.median(r["ratio_vs"][k] for r in same_case), 2)
                for k in first["ratio_vs"]
            },
        }
        if "MiB/s" in first:
            r["MiB/s"] = {
                k: round(statistics.median(r["MiB/s"][k] for r in same_case), 1)
                for k in first["MiB/s"]
            }
        out.append(r)
    return out


def table(rows: list[dict]) -> str:
    out = [f"{'case':<42}{'ours (s)':>10}  {'other (s)':<34}{'ours/other':>10}", "-" * 98]
    for r in rows:
        for i, (k, v) in enumerate(r["others_s"].items()):
            first = r["case"] if i == 0 else ""
            ours_s = f"{r['ours_s']:.3f}" if i == 0 else ""
            out.append(f"{first:<42}{ours_s:>10}  {k + f' {v:.3f}':<34}{r['ratio_vs'][k]:>9.2f}x")
        if "MiB/s" in r:
            rates = ", ".join(f"{k} {v} MiB/s" for k, v in r["MiB/s"].items())
            out.append(f"{'':<42}{'':>10}  throughput: {rates}")
    return "\n".join(out)


def main() -> None:
    work = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="julieops-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    try:
        big = work / "big"
        n_big = int(5000 * SCALE)
        size = generate(
            big,
            n_big,
            big_files=int(100 * SCALE),
            big_size=1536 * 1024,
            small_max=64 * 1024,
            seed=1,
        )
        small = work / "small"
        generate(small, int(50000 * SCALE), 0, 0, small_max=4096, seed=2)
        print(
            f"trees: big {n_big} files / {size / 2**20:.0f} MiB; small {int(50000 * SCALE)} "
            f"files (2 cores: {os.cpu_count()}); {RUNS} run(s)",
            flush=True,
        )
        for n in range(RUNS):
            rows = local_suite("5k/300MB", big, work, ours_first=n % 2 == 0)
            rows += local_suite("50k small", small, work, ours_first=n % 2 == 0)
            rows += verify_suite(big, work / "big_ours")
            rows += sftp_suite(big, work, size)
            runs.append(rows)
            print(f"\nrun {n + 1}/{RUNS}\n{table(rows)}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = median_rows(runs)
    print(f"\nmedian of {len(runs)} run(s)\n{table(summary)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"mirror-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps({"scale": SCALE, "median": summary, "runs": runs}, indent=2))
    print(f"\nJSON: {out.relative_to(ROOT)}")
