"""The mirror engine side by side with rsync, cp, scp, sftp, smbclient and sha256sum, on
generated trees.

Sizes scale with BENCH_SCALE (default 1: ~5,000 files / 300 MB, ~50,000 small files and 4 files
of 64 MiB). The machine is shared and noisy: every case runs BENCH_RUNS times (default 3) on the
same trees, each time side by side with the other tools (who goes first alternates), and the
summary gives per case the median time of each tool, the median of the same-run ratios with
their min-max, the load average, and the client's CPU seconds per GB copied.
BENCH_PARTS picks parts (default "startup,local,smb,sftp,window"); a short run:
`BENCH_SCALE=0.1 BENCH_RUNS=1 python -m bench mirror`.
SMB runs against a private Samba (tests/support/samba.py), SFTP against a private sshd
(tests/support/sshd.py), both on loopback; only the client's CPU is counted (the servers' is
the same for every client).
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
from tests.support.samba import start_samba  # noqa: E402
from tests.support.sshd import start_sshd  # noqa: E402

SCALE = float(os.environ.get("BENCH_SCALE", "1"))
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
PARTS = set(os.environ.get("BENCH_PARTS", "startup,local,smb,sftp,window").split(","))
RESULTS = ROOT / "bench" / "results"
# CPU seconds of the last timed() child (user + system), for the CPU per GB columns.
LAST_CPU = {"s": 0.0}


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
    before = os.times()
    start = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, **kw)
    elapsed = time.perf_counter() - start
    after = os.times()
    LAST_CPU["s"] = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    if proc.returncode not in (0, 1, 2, 3):
        raise RuntimeError(f"{args[:3]} failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed


def ours(src, dst, *extra, env=None) -> float:
    args = [sys.executable, "-m", "julieops.mirror", str(src), str(dst), "--json", "--force"]
    return timed([*args, *extra], cwd=ROOT, env=env)


def tree_bytes(root: Path) -> int:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file())


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
    manage = [sys.executable, "manage.py", "mirror", str(src), str(d_ours), "--json", "--force"]
    t_manage, t_rsync = both(
        lambda: best(lambda: timed(manage, cwd=ROOT), 3),
        lambda: best(lambda: timed([*rsync, f"{d_rsync}/"]), 3),
        ours_first,
    )
    rows.append(
        row(f"{name} (b) manage.py mirror re-run", t_manage, {"rsync -a --delete": t_rsync})
    )
    changed = touch_one_percent(src, 7)
    t_ours, t_rsync = both(
        lambda: ours(src, d_ours), lambda: timed([*rsync, f"{d_rsync}/"]), ours_first
    )
    rows.append(
        row(f"{name} (c) re-run, {changed} files changed", t_ours, {"rsync -a --delete": t_rsync})
    )
    shutil.rmtree(d_rsync)
    return rows


def side_by_side(name: str, run_ours, others: dict, ours_first: bool, size: int = 0) -> dict:
    """One case: ours and each other tool, in turn (ours first or last), wall and client CPU."""
    times, cpu = {}, {}
    order = [("ours", run_ours), *others.items()]
    if not ours_first:
        order = order[1:] + order[:1]
    for tool, fn in order:
        times[tool] = fn()
        cpu[tool] = LAST_CPU["s"]
    t_ours = times.pop("ours")
    r = row(name, t_ours, times)
    r["load"] = round(os.getloadavg()[0], 2)
    if size:
        gb = size / 1e9
        r["cpu_s_per_gb"] = {k: round(v / gb, 1) for k, v in cpu.items()}
        r["MiB/s"] = {k: round(size / 2**20 / v, 1) for k, v in {"ours": t_ours, **times}.items()}
    return r


def fresh(*dirs: Path) -> None:
    for d in dirs:
        shutil.rmtree(d, ignore_errors=True)


def generate_deep(root: Path, files: int, folders: int, seed: int) -> None:
    """A practice's X-ray share: few files per patient folder (the issue's 50,000 files in
    18,000 folders), where the per-folder cost of a listing shows."""
    rng = random.Random(seed)
    blob = os.urandom(4096)
    for d in range(folders):
        (root / f"patients_{d // 300:02d}" / f"patient_{d:05d}").mkdir(parents=True)
    for i in range(files):
        d = i % folders
        folder = root / f"patients_{d // 300:02d}" / f"patient_{d:05d}"
        (folder / f"radio_{i:06d}.jpg").write_bytes(blob[: rng.randint(0, 4096)])


def smb_deep_rerun(server, client, work: Path, user, env, ours_first: bool) -> dict:
    """The no-change re-run of the 50,000-file / 18,000-folder tree (the issue's target) vs
    smbclient's recursive ls; the first copy is made once, untimed."""
    name = "50k-deep"
    shared = server.share_path / name
    if not shared.exists():
        generate_deep(shared, int(50000 * SCALE), max(int(18000 * SCALE), 1), seed=4)
    dest = work / f"smb_{name}_ours"
    if not dest.exists():
        ours(server.url(name), dest, *user, env=env)
    ls = [*client, "-D", name, "-c", "recurse ON; ls"]
    return side_by_side(
        f"smb {name} (g) re-run, no change",
        lambda: ours(server.url(name), dest, *user, env=env),
        {"smbclient recursive ls": lambda: timed(ls)},
        ours_first,
    )


def smb_suite(trees: dict[str, Path], work: Path, ours_first: bool) -> list[dict]:
    """A worker reading the old server's share (download), and writing a share (upload), vs
    smbclient on the same private Samba: mget, recursive ls (a no-change pass lists), mput."""
    server = start_samba(work / "samba")
    rows = []
    try:
        auth = work / "smb.auth"  # smbclient reads the password from a file, not argv
        auth.write_text(f"username = {server.username}\npassword = {server.password}\n")
        auth.chmod(0o600)
        env = {**os.environ, "JULIEOPS_MIRROR_PASSWORD": server.password}
        client = ["smbclient", f"//{server.host}/{server.share}", "-p", str(server.port)]
        client += ["-A", str(auth), "-m", "SMB3"]
        user = ["--smb-user", server.username]
        for name, src in trees.items():
            shared = server.share_path / name
            if not shared.exists():
                shutil.copytree(src, shared, symlinks=True)
            size = tree_bytes(src)
            d_ours, d_c = work / f"smb_{name}_ours", work / f"smb_{name}_smbclient"
            fresh(d_ours, d_c)
            d_c.mkdir()
            mget = [*client, "-D", name, "-c", f"prompt OFF; recurse ON; lcd {d_c}; mget *"]
            rows.append(
                side_by_side(
                    f"smb {name} (f) first copy (download)",
                    lambda: ours(server.url(name), d_ours, *user, env=env),  # noqa: B023
                    {"smbclient mget": lambda: timed(mget)},  # noqa: B023
                    ours_first,
                    size,
                )
            )
            ls = [*client, "-D", name, "-c", "recurse ON; ls"]
            rows.append(
                side_by_side(
                    f"smb {name} (g) re-run, no change",
                    lambda: ours(server.url(name), d_ours, *user, env=env),  # noqa: B023
                    {"smbclient recursive ls": lambda: timed(ls)},  # noqa: B023
                    ours_first,
                )
            )
            fresh(d_ours, d_c)
            if name.startswith("50k"):
                continue  # mput of the small-file tree: the download case covers it
            up_ours, up_c = f"up_{name}_ours", f"up_{name}_smbclient"
            fresh(server.share_path / up_ours, server.share_path / up_c)
            mput = [*client, "-c", f"prompt OFF; recurse ON; mkdir {up_c}; cd {up_c}; "]
            mput[-1] += f"lcd {src}; mput *"
            rows.append(
                side_by_side(
                    f"smb {name} (h) first copy (upload)",
                    lambda: ours(src, server.url(up_ours), *user, env=env),  # noqa: B023
                    {"smbclient mput": lambda: timed(mput)},  # noqa: B023
                    ours_first,
                    size,
                )
            )
            fresh(server.share_path / up_ours, server.share_path / up_c)
        rows.append(smb_deep_rerun(server, client, work, user, env, ours_first))
    finally:
        server.stop()
    return rows


def sftp_suite(trees: dict[str, Path], work: Path, ours_first: bool) -> list[dict]:
    """Upload to a private sshd: first copy vs scp -r, sftp -r and rsync -e ssh; the no-change
    re-run vs rsync -e ssh."""
    server = start_sshd(work / "sshd")
    rows = []
    try:
        known = work / "known_hosts"
        pub = Path(f"{server.host_key_path}.pub").read_text().split()
        known.write_text(f"[{server.host}]:{server.port} {pub[0]} {pub[1]}\n")
        ssh_opts = ["-i", str(server.client_key_path), "-o", f"UserKnownHostsFile={known}"]
        ssh_opts += ["-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes"]
        user_host = f"{server.username}@{server.host}"
        ssh = " ".join(["ssh", "-p", str(server.port), *ssh_opts])
        host_key = " ".join(pub[:2])
        key = ["--ssh-key", str(server.client_key_path), "--host-key", host_key]
        for name, src in trees.items():
            size = tree_bytes(src)
            d = {t: work / f"sftp_{name}_{t}" for t in ("ours", "scp", "sftp", "rsync")}
            fresh(*d.values())
            url = f"sftp://{user_host}:{server.port}{d['ours']}"
            scp = ["scp", "-q", "-r", "-P", str(server.port), *ssh_opts]
            scp += [str(src), f"{user_host}:{d['scp']}"]
            batch = work / f"sftp_{name}.batch"
            batch.write_text(f"put -r {src} {d['sftp']}\n")
            sftp = ["sftp", "-q", "-b", str(batch), "-P", str(server.port), *ssh_opts, user_host]
            rsync = ["rsync", "-a", "--delete", "-e", ssh, f"{src}/", f"{user_host}:{d['rsync']}/"]
            rows.append(
                side_by_side(
                    f"sftp {name} (d) first copy (upload)",
                    lambda: ours(src, url, *key),  # noqa: B023
                    {
                        "scp -r": lambda: timed(scp),  # noqa: B023
                        "sftp -r": lambda: timed(sftp),  # noqa: B023
                        "rsync -e ssh": lambda: timed(rsync),  # noqa: B023
                    },
                    ours_first,
                    size,
                )
            )
            rows.append(
                side_by_side(
                    f"sftp {name} (i) re-run, no change",
                    lambda: ours(src, url, *key),  # noqa: B023
                    {"rsync -e ssh": lambda: timed(rsync)},  # noqa: B023
                    ours_first,
                )
            )
            fresh(*d.values())
    finally:
        server.stop()
    return rows


def window_suite(trees: dict[str, Path], work: Path) -> list[dict]:
    """The cut-over window's estimate (migrations_app.cutover_window) against the measured final
    pass: a first copy, 1 % of the files changed (one "hour" of activity), a re-run, 1 % more,
    then the final pass; the estimate comes from the two pre-copies' recorded results."""
    from datetime import UTC, datetime, timedelta

    from migrations_app.cutover_window import window_of

    rows = []
    for name, src in trees.items():
        src = work / f"window_{name}_src"
        dst = work / f"window_{name}_dst"
        fresh(src, dst)
        shutil.copytree(trees[name], src, symlinks=True)
        t0, runs = datetime(2026, 1, 5, 8, tzinfo=UTC), []
        for hour in range(3):
            if hour:
                touch_one_percent(src, 100 + hour)
            args = [sys.executable, "-m", "julieops.mirror", str(src), str(dst), "--json"]
            start = time.perf_counter()
            proc = subprocess.run([*args, "--force", "--verify"], capture_output=True, text=True)
            took = time.perf_counter() - start
            started = t0 + timedelta(hours=hour)
            runs.append(
                (started, started + timedelta(seconds=took), {"roots": [json.loads(proc.stdout)]})
            )
        window = window_of(runs, runs[-1][0], runs[-1][0])
        estimate, actual = window["estimate"].seconds, window["actual"]
        r = row(f"window {name}: estimate vs final pass", estimate, {"final pass": actual})
        r["load"] = round(os.getloadavg()[0], 2)
        rows.append(r)
        fresh(src, dst)
    return rows


BARE_DJANGO = """
import os, sys
from django.conf import settings
settings.configure(
    SECRET_KEY="bench", USE_TZ=True, INSTALLED_APPS={apps!r},
    DATABASES={{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}}},
)
from django.core.management import execute_from_command_line
execute_from_command_line(["manage.py", "help"])
"""


def startup_suite(work: Path) -> list[dict]:
    """Start-up alone: `manage.py help` (target <= 250 ms) and the engine's CLI, against the
    interpreter's own start (the floor) and against Django itself with the same third-party
    apps and none of ours (what any command that loads the apps pays before our code runs)."""
    env = {**os.environ}
    env.setdefault("SECRET_KEY", "bench-secret-key-not-for-production")
    env.setdefault("JULIEOPS_FERNET_KEYS", "Wc1_xS7WzY1m0fLwXsD2oU9xQ6zj1hJcYkqYVx0mJ8k=")
    # The bytecode as set-up leaves it (scripts/bootstrap.sh compiles it): a file edited since
    # would otherwise be compiled at each start where PYTHONDONTWRITEBYTECODE is set.
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "julieops", "migrations_app", "readers"],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.environ.update({k: env[k] for k in ("SECRET_KEY", "JULIEOPS_FERNET_KEYS")})
    from julieops import settings as ours_settings

    ours_apps = ("julieops.", "migrations_app", "readers")
    theirs = [a for a in ours_settings.INSTALLED_APPS if not a.startswith(ours_apps)]
    theirs.insert(0, "django.contrib.admin.apps.SimpleAdminConfig")  # ours wraps it
    bare = [sys.executable, "-c", BARE_DJANGO.format(apps=theirs)]

    def median_of(args, n=5, env=env, before=None):
        times = []
        for _ in range(n):
            if before:
                before()
            times.append(timed(args, cwd=work, env=env))
        return statistics.median(times)

    help_ = [sys.executable, str(ROOT / "manage.py"), "help"]
    # Our help reads the apps' command folders from the index the first help left under var/
    # (julieops.commandlist); Django's path, which any other command takes, is timed apart
    # with no index to find.
    no_index = {**env, "JULIEOPS_VAR_DIR": str(work / "var-no-index")}
    index = work / "var-no-index" / "cache" / "commands.json"
    timed(help_, cwd=work, env=env)  # the index, as after the first help of a set-up
    floor = median_of([sys.executable, "-c", "pass"])
    bare_django = median_of(bare)
    r = row(
        "start-up: manage.py help",
        median_of(help_),
        {"python -c pass": floor, "bare Django, same other apps": bare_django},
    )
    r["load"] = round(os.getloadavg()[0], 2)
    r_django = row(
        "start-up: manage.py help, Django's path (no index)",
        median_of(help_, env=no_index, before=lambda: index.unlink(missing_ok=True)),
        {"python -c pass": floor, "bare Django, same other apps": bare_django},
    )
    r_django["load"] = r["load"]
    r2 = row(
        "start-up: python -m julieops.mirror --help",
        median_of([sys.executable, "-m", "julieops.mirror", "--help"]),
        {"python -c pass": floor},
    )
    r2["load"] = r["load"]
    return [r, r_django, r2]


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
    """Per case: median time of each tool, median of the ratios measured in the same run with
    their min-max, the load averages seen, the median CPU seconds per GB."""
    out = []
    for same_case in zip(*runs, strict=True):
        first = same_case[0]

        def med(field, key, digits, same_case=same_case):
            return round(statistics.median(r[field][key] for r in same_case), digits)

        r = {
            "case": first["case"],
            "runs": len(same_case),
            "ours_s": round(statistics.median(r["ours_s"] for r in same_case), 3),
            "others_s": {k: med("others_s", k, 3) for k in first["others_s"]},
            "ratio_vs": {k: med("ratio_vs", k, 2) for k in first["ratio_vs"]},
            "ratio_min_max": {
                k: [
                    min(r["ratio_vs"][k] for r in same_case),
                    max(r["ratio_vs"][k] for r in same_case),
                ]
                for k in first["ratio_vs"]
            },
        }
        if "load" in first:
            r["load"] = [min(x["load"] for x in same_case), max(x["load"] for x in same_case)]
        for field in ("MiB/s", "cpu_s_per_gb"):
            if field in first:
                r[field] = {k: med(field, k, 1) for k in first[field]}
        out.append(r)
    return out


def table(rows: list[dict]) -> str:
    out = [
        f"{'case':<46}{'ours (s)':>9}  {'other (s)':<32}{'ours/other':>10}  {'min-max':<11} load"
    ]
    out.append("-" * 122)
    for r in rows:
        for i, (k, v) in enumerate(r["others_s"].items()):
            first = r["case"] if i == 0 else ""
            ours_s = f"{r['ours_s']:.3f}" if i == 0 else ""
            spread = r.get("ratio_min_max", {}).get(k)
            spread = f"{spread[0]:.2f}-{spread[1]:.2f}" if spread else ""
            load = r.get("load", "") if i == 0 else ""
            if isinstance(load, list):
                load = f"{load[0]}-{load[1]}"
            out.append(
                f"{first:<46}{ours_s:>9}  {k + f' {v:.3f}':<32}{r['ratio_vs'][k]:>9.2f}x"
                f"  {spread:<11} {load}"
            )
        if "MiB/s" in r:
            rates = ", ".join(f"{k} {v}" for k, v in r["MiB/s"].items())
            out.append(f"{'':<46}{'':>9}  MiB/s: {rates}")
        if "cpu_s_per_gb" in r:
            cpu = ", ".join(f"{k} {v}" for k, v in r["cpu_s_per_gb"].items())
            out.append(f"{'':<46}{'':>9}  client CPU s/GB: {cpu}")
    return "\n".join(out)


def main() -> None:
    work = Path(os.environ.get("BENCH_DIR") or tempfile.mkdtemp(prefix="julieops-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    runs = []
    try:
        big = work / "5k"
        n_big = int(5000 * SCALE)
        size = generate(
            big,
            n_big,
            big_files=int(100 * SCALE),
            big_size=1536 * 1024,
            small_max=64 * 1024,
            seed=1,
        )
        small = work / "50k"
        generate(small, int(50000 * SCALE), 0, 0, small_max=4096, seed=2)
        large = work / "large"
        generate(large, 4, 4, max(int(64 * 2**20 * SCALE), 2**20), 0, seed=3)
        print(
            f"trees: 5k {n_big} files / {size / 2**20:.0f} MiB; 50k {int(50000 * SCALE)} "
            f"small files; large 4 files / {tree_bytes(large) / 2**20:.0f} MiB "
            f"(cores: {os.cpu_count()}); {RUNS} run(s); parts {sorted(PARTS)}",
            flush=True,
        )
        network = {"5k": big, "50k": small, "large": large}
        for n in range(RUNS):
            first = n % 2 == 0
            rows = []
            if "startup" in PARTS:
                rows += startup_suite(work)
            if "local" in PARTS:
                rows += local_suite("5k/300MB", big, work, ours_first=first)
                rows += local_suite("50k small", small, work, ours_first=first)
                rows += verify_suite(big, work / "5k_ours")
            if "smb" in PARTS:
                rows += smb_suite(network, work, ours_first=first)
            if "sftp" in PARTS:
                rows += sftp_suite(network, work, ours_first=first)
            if "window" in PARTS:
                rows += window_suite({"5k": big, "50k": small}, work)
            runs.append(rows)
            print(f"\nrun {n + 1}/{RUNS}\n{table(rows)}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    summary = median_rows(runs)
    print(f"\nmedian of {len(runs)} run(s)\n{table(summary)}")
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"mirror-{time.strftime('%Y%m%d-%H%M%S')}.json"
    meta = {"scale": SCALE, "parts": sorted(PARTS), "cores": os.cpu_count()}
    out.write_text(json.dumps({**meta, "median": summary, "runs": runs}, indent=2))
    print(f"\nJSON: {out.relative_to(ROOT)}")
