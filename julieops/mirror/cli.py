"""Command line: `python -m julieops.mirror SRC DST …` (also `manage.py mirror`).

The exit status is robocopy's bitmask. Secrets never go on the command line: SFTP/SMB
passwords come from JULIEOPS_MIRROR_PASSWORD or an interactive prompt.
"""

import os
import sys

from . import treewalk

# argparse, the engine, json and getpass are imported once the destination's listing has
# started (main): the child lister is the longer of the two walks, so it starts first.

PASSWORD_ENV = "JULIEOPS_MIRROR_PASSWORD"  # noqa: S105 - a variable name


def parser():
    import argparse

    p = argparse.ArgumentParser(
        prog="mirror",
        description="Mirror SRC onto DST like robocopy /MIR (local path, sftp://, smb://).",
    )
    p.add_argument("source")
    p.add_argument("dest")
    p.add_argument("--dry-run", action="store_true", help="list what would change (like /L)")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--verify", action="store_true", help="hash copied files on both sides")
    p.add_argument("--verify-all", action="store_true", help="hash the whole tree on both sides")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--max-delete", type=int, default=None)
    p.add_argument("--force", action="store_true", help="accept a destination without marker")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN")
    p.add_argument("--retries", type=int, default=2)
    p.add_argument("--wait", type=float, default=5.0, help="seconds between retries")
    p.add_argument("--modify-window", type=float, default=None, help="mtime tolerance (s)")
    p.add_argument("--manifest", default=None, help="write a manifest of the destination")
    p.add_argument("--ssh-key", default=None, help="private key file for sftp://")
    p.add_argument(
        "--host-key", default=None, help="pinned SSH host key: 'type base64' or SHA256:…"
    )
    p.add_argument("--smb-user", default=None)
    p.add_argument("--quiet", action="store_true", help="no per-file lines")
    return p


def _password(url: str) -> str | None:
    import getpass

    if not url.lower().startswith(("sftp://", "smb://")):
        return None
    if PASSWORD_ENV in os.environ:
        return os.environ[PASSWORD_ENV]
    if url.lower().startswith("smb://") and sys.stdin.isatty():
        return getpass.getpass(f"Password for {url}: ")
    return None


def _open(url: str, args):
    import getpass

    from .endpoints import open_endpoint

    pkey = None
    if args.ssh_key:
        from julieops.paramiko_lean import paramiko  # only when needed: slow to import

        pkey = paramiko.PKey.from_path(args.ssh_key)
    password = _password(url)
    if (
        url.lower().startswith("sftp://")
        and pkey is None
        and password is None
        and sys.stdin.isatty()
    ):
        password = getpass.getpass(f"Password for {url}: ")
    return open_endpoint(
        url, username=args.smb_user, password=password, pkey=pkey, host_key=args.host_key
    )


def _progress_bar(stream):
    from .summary import human_bytes

    def show(p):
        pct = 100 * p.bytes_done / p.bytes_total if p.bytes_total else 100.0
        eta = f"{int(p.eta)}s" if p.eta is not None else "?"
        line = (
            f"\r{pct:5.1f}% {p.files_done}/{p.files_total} files "
            f"{human_bytes(p.bytes_done)}/{human_bytes(p.bytes_total)} "
            f"{human_bytes(int(p.rate))}/s ETA {eta}  {p.current[-40:]}"
        )
        stream.write(line[:120].ljust(120))
        stream.flush()

    return show


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    early = _early_dest(argv)
    if early:
        treewalk.start_early(early, [])  # before argparse loads (12 ms sooner)
    args = parser().parse_args(argv)
    if "://" not in args.source and "://" not in args.dest:
        # Two local trees: a child lists the destination while this process loads the engine
        # and lists the source (the planner takes the child over); stopped below if unused.
        treewalk.start_early(args.dest, args.exclude)
    try:
        return _main(args)
    finally:
        treewalk.stop_early()


def _early_dest(argv: list[str]) -> str | None:
    """DST when the line starts with two local paths SRC DST and excludes nothing: argparse
    would read them so (no option before them can take them as its value). Else None: the
    listing then starts after parsing. A wrong guess only costs a child, stopped unused."""
    if len(argv) < 2 or any(a.startswith("--e") for a in argv):  # --exclude, abbreviated too
        return None
    source, dest = argv[0], argv[1]
    if source.startswith("-") or dest.startswith("-") or "://" in source + dest:
        return None
    return dest


def _main(args) -> int:
    import json

    from .engine import MirrorOptions, run_mirror

    out = sys.stdout
    interactive = out.isatty() and not args.json

    def confirm(count: int) -> bool:
        if not sys.stdin.isatty():
            return False
        answer = input(f"{count} deletions exceed --max-delete {args.max_delete}. Delete? [y/N] ")
        return answer.strip().lower() in ("y", "yes", "o", "oui")

    def log(level: str, text: str):
        if args.json or (args.quiet and level == "info"):
            return
        stream = sys.stderr if level == "error" else out
        if interactive:
            stream.write("\r" + " " * 120 + "\r")
        stream.write(f"\t{text}\n")

    options = MirrorOptions(
        threads=args.threads,
        dry_run=args.dry_run,
        verify=args.verify,
        verify_all=args.verify_all,
        max_delete=args.max_delete,
        confirm_delete=confirm,
        force=args.force,
        exclude=args.exclude,
        retries=args.retries,
        retry_wait=args.wait,
        modify_window=args.modify_window,
        manifest=args.manifest,
        language="en",
    )
    try:
        source = _open(args.source, args)
    except Exception as exc:
        return _fatal(args, f"cannot open source {args.source}: {type(exc).__name__}: {exc}")
    try:
        try:
            dest = _open(args.dest, args)
        except Exception as exc:
            return _fatal(args, f"cannot open destination {args.dest}: {type(exc).__name__}: {exc}")
        try:
            if not args.json:
                out.write(_header(args, options))
            summary = run_mirror(
                source,
                dest,
                options,
                log=None if args.json else log,  # JSON mode prints no lines
                progress=_progress_bar(sys.stderr) if interactive else None,
            )
        finally:
            dest.close()
    finally:
        source.close()
    if interactive:
        sys.stderr.write("\n")
    if args.json:
        out.write(json.dumps(summary.as_json(), ensure_ascii=False) + "\n")
    else:
        out.write(summary.format_text() + "\n")
    return summary.exit_code


def _header(args, options) -> str:
    flags = ["/MIR"] + (["/L"] if options.dry_run else [])
    return "\n".join(
        [
            "-" * 78,
            "   JulieOps mirror  ::  robocopy /MIR semantics",
            "-" * 78,
            "",
            f"{'Source':>10} : {args.source}",
            f"{'Dest':>10} : {args.dest}",
            "",
            f"{'Options':>10} : {' '.join(flags)} /R:{options.retries} /W:{options.retry_wait:g}",
            "",
            "-" * 78,
            "",
            "",
        ]
    )


def _fatal(args, message: str) -> int:
    import json

    from .summary import FATAL

    if args.json:
        print(json.dumps({"exit_code": FATAL, "fatal": message, "failures": []}))
    else:
        print(f"ERROR : {message}", file=sys.stderr)
    return FATAL
