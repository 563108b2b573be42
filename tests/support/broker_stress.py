"""Stress the embedded broker with bare kombu: one producer process, one consumer.

The producer (a separate process) publishes `count` numbered messages as fast as it can
through a named direct exchange, as Celery does; the consumer reads them meanwhile. Counts
the messages received, lost and read twice, the reads that raised (an empty or half-written
file: kombu #1551) and the messages per second from the first read to the last.

    python -m tests.support.broker_stress [--count 3000] [--rounds 3] [stock|ours ...]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kombu import Connection, Exchange, Producer, Queue

TRANSPORTS = {
    "stock": "kombu.transport.filesystem:Transport",
    "ours": "julieops.embedded_broker:Transport",
}
QUEUE = "stress"


def transport_options(root: Path) -> dict:
    return {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "processed_folder": str(root / "processed"),
        "control_folder": str(root / "control"),
        "broken_folder": str(root / "broken"),
        "store_processed": False,
    }


def _connection(transport: str, root: Path) -> Connection:
    for sub in ("queue", "processed", "control", "broken"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return Connection(
        transport=TRANSPORTS.get(transport, transport), transport_options=transport_options(root)
    )


def _queue() -> Queue:
    return Queue(QUEUE, Exchange(QUEUE, type="direct"), routing_key=QUEUE)


def _produce(transport: str, root: str, count: int) -> None:
    with _connection(transport, Path(root)) as conn:
        producer = Producer(conn.channel())
        queue = _queue()
        for seq in range(count):
            producer.publish(
                {"seq": seq, "pad": "x" * 200},
                exchange=queue.exchange,
                routing_key=QUEUE,
                declare=[queue] if seq == 0 else [],
                serializer="json",
            )


@dataclass
class Result:
    transport: str
    sent: int
    received: int
    lost: int
    duplicates: int
    failed_reads: int
    broken_files: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.received / self.seconds if self.seconds else 0.0

    def line(self) -> str:
        return (
            f"{self.transport:5} sent {self.sent} received {self.received} lost {self.lost} "
            f"duplicates {self.duplicates} failed reads {self.failed_reads} "
            f"broken files {self.broken_files} — {self.rate:,.0f} msg/s ({self.seconds:.2f} s)"
        )


def run(transport: str, count: int, root: Path | None = None, idle: float = 1.0) -> Result:
    """One round: returns once the producer has ended and the queue stayed empty `idle` s."""
    own_root = root is None
    root = Path(tempfile.mkdtemp(prefix="broker-stress-")) if own_root else root
    try:
        with _connection(transport, root) as conn:
            channel = conn.channel()
            _queue()(channel).declare()
            seen: dict[int, int] = {}
            failed = 0
            ctx = multiprocessing.get_context("spawn")
            producer = ctx.Process(target=_produce, args=(transport, str(root), count))
            producer.start()
            first = last = None
            empty_since = None
            while True:
                try:
                    message = channel.basic_get(QUEUE, no_ack=True)
                except Exception:  # the stock transport's JSONDecodeError on an empty file
                    failed += 1
                    continue
                if message is not None:
                    seq = message.decode()["seq"]
                    seen[seq] = seen.get(seq, 0) + 1
                    last = time.monotonic()
                    first = first or last
                    empty_since = None
                    continue
                if producer.is_alive() or producer.exitcode is None:
                    time.sleep(0.001)
                    continue
                empty_since = empty_since or time.monotonic()
                if time.monotonic() - empty_since > idle:
                    break
                time.sleep(0.01)
            producer.join()
            if producer.exitcode != 0:
                raise RuntimeError(f"producer exited with {producer.exitcode}")
        return Result(
            transport=transport,
            sent=count,
            received=len(seen),
            lost=count - len(seen),
            duplicates=sum(n - 1 for n in seen.values()),
            failed_reads=failed,
            broken_files=len(list((root / "broken").iterdir())),
            seconds=(last - first) if first else 0.0,
        )
    finally:
        if own_root:
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("transports", nargs="*", default=["stock", "ours"])
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for n in range(1, args.rounds + 1):
        for transport in args.transports:
            print(f"round {n}: {run(transport, args.count).line()}", flush=True)


if __name__ == "__main__":
    main()
