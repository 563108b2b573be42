"""Checking that cancelling a command stops what it started, not only the command itself."""

import time
from pathlib import Path


def alive(pid: int) -> bool:
    """Running, not merely a zombie waiting for a parent that may never reap it."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status


def gone_soon(pid: int) -> bool:
    """True once `pid` has stopped running (within about five seconds)."""
    for _ in range(100):
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def run_child_then_cancel(transport, pid_file: Path):
    """Run a shell that starts a long `sleep` child (its pid written to `pid_file`) and says
    so; ask for the cancel as soon as that line arrives."""
    started = []
    return transport.run(
        ["sh", "-c", f"sleep 300 & echo $! > {pid_file}; echo started; wait"],
        on_line=lambda stream, line: started.append(line),
        cancel=lambda: bool(started),
    )
