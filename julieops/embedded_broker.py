"""The embedded Celery broker: kombu's filesystem transport, made safe for two processes.

kombu's own filesystem transport (kombu #1551) creates each message file at its final name
and only then locks and fills it, while the reader lists, moves and reads files without any
lock: a reader can take a file that is still empty, and the JSONDecodeError it raises kills
the Celery worker ("Unrecoverable error"), losing the message. The exchange tables under
control_folder have the same window when they are first created.

This transport keeps kombu's folder layout and file names, and changes three things:

* a message is written under a dot-prefixed ``.….tmp`` name that no reader looks at, then
  renamed into the queue folder (``os.replace``: atomic on one filesystem), so a reader sees
  a complete message or none;
* the reader claims a file by renaming it into ``processed_folder`` (on the same filesystem,
  so exactly one reader wins) before reading it; a file that still cannot be decoded (written
  by something else, truncated by a full disk) is moved to ``broken_folder`` with a log line,
  and the reader goes on with the next message instead of raising;
* exchange tables are rewritten whole (temporary file, then rename) under a lock file, so
  they are never read half-written.

Settings use it for ``filesystem://`` (``CELERY_BROKER_TRANSPORT``); the transport options
are kombu's (data_folder_in/out, processed_folder, store_processed, control_folder) plus
``broken_folder``. Django-free: the stress test drives it with bare kombu.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import time
import uuid
from pathlib import Path
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import filesystem, virtual
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads
from kombu.utils.objects import cached_property

logger = logging.getLogger(__name__)

TMP_SUFFIX = ".tmp"
# A temporary file older than this was left by a writer that died between write and rename.
STALE_TMP_SECONDS = 3600


def _write_atomically(folder: str | os.PathLike, name: str, data: bytes) -> None:
    """Write `data` to folder/name so that nobody can see a partial file."""
    tmp = os.path.join(folder, f".{name}.{uuid.uuid4().hex[:8]}{TMP_SUFFIX}")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, os.path.join(folder, name))
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _sibling_of_processed(options: dict, name: str) -> str:
    """Default for broken_folder and control_folder: beside processed_folder, never in cwd."""
    processed = os.path.abspath(options.get("processed_folder", "processed"))
    return options.get(f"{name}_folder") or os.path.join(os.path.dirname(processed), name)


def _is_message_name(name: str, queue: str) -> bool:
    """`<stamp>_<uuid>.<queue>.msg`, as kombu names them; never a dot-prefixed temporary."""
    return not name.startswith(".") and name.partition(".")[2] == f"{queue}.msg"


class Channel(filesystem.Channel):
    """Filesystem channel with atomic writes and a reader that survives a broken file."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for folder in (
            self.data_folder_in,
            self.data_folder_out,
            self.processed_folder,
            self.broken_folder,
            self.control_folder,
        ):
            os.makedirs(folder, exist_ok=True)
        self._sweep_stale_tmp()

    # -- folders ---------------------------------------------------------------------------

    @cached_property
    def broken_folder(self) -> str:
        return _sibling_of_processed(self.transport_options, "broken")

    @property
    def control_folder(self) -> Path:
        # kombu's default is ./control: the exchange tables would land in a checkout.
        return Path(_sibling_of_processed(self.transport_options, "control"))

    def _sweep_stale_tmp(self) -> None:
        limit = time.time() - STALE_TMP_SECONDS
        for folder in {self.data_folder_out, str(self.control_folder)}:
            try:
                names = os.listdir(folder)
            except OSError:
                continue
            for name in names:
                if name.startswith(".") and name.endswith(TMP_SUFFIX):
                    path = os.path.join(folder, name)
                    try:
                        if os.stat(path).st_mtime < limit:
                            os.unlink(path)
                    except OSError:
                        pass

    # -- messages --------------------------------------------------------------------------

    def _put(self, queue, payload, **kwargs):
        """Put `payload` onto `queue`: written aside, then renamed into the queue folder."""
        # Wall-clock nanoseconds, fixed width: names sort in publishing order, across
        # processes and restarts.
        name = f"{time.time_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        try:
            _write_atomically(self.data_folder_out, name, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add message {name!r} to {self.data_folder_out}") from exc

    def _get(self, queue):
        """Take the oldest message of `queue`; a file that cannot be decoded is set aside."""
        try:
            names = sorted(os.listdir(self.data_folder_in))
        except OSError as exc:
            raise ChannelError(f"Cannot list the queue folder {self.data_folder_in}") from exc
        for name in names:
            if not _is_message_name(name, queue):
                continue
            claimed = os.path.join(self.processed_folder, name)
            try:
                # Same filesystem: one rename wins, the other readers get FileNotFoundError.
                os.rename(os.path.join(self.data_folder_in, name), claimed)
            except OSError:
                continue
            try:
                with open(claimed, "rb") as f:
                    raw = f.read()
            except OSError as exc:
                logger.error("embedded broker: cannot read %s (%s); skipped", claimed, exc)
                continue
            payload = self._decode(raw)
            if payload is None:
                self._set_aside(claimed, name, raw)
                continue
            if not self.store_processed:
                with contextlib.suppress(OSError):
                    os.unlink(claimed)
            return payload
        raise Empty()

    def _decode(self, raw: bytes):
        """The message as kombu's virtual channel needs it, or None if it is not one."""
        try:
            payload = loads(bytes_to_str(raw))
            # Builds the message exactly as delivery will (properties, body encoding).
            self.Message(payload, channel=self)
        except Exception:
            return None
        return payload

    def _set_aside(self, claimed: str, name: str, raw: bytes) -> None:
        target = os.path.join(self.broken_folder, name)
        try:
            os.replace(claimed, target)
        except OSError as exc:
            logger.error("embedded broker: cannot move %s aside (%s)", claimed, exc)
            target = claimed
        logger.error(
            "embedded broker: message %s cannot be decoded (%d bytes); moved to %s",
            name,
            len(raw),
            target,
        )

    # -- exchange tables (control_folder) --------------------------------------------------

    def _control_lock(self):
        os.makedirs(self.control_folder, exist_ok=True)
        f = open(self.control_folder / ".lock", "a")  # noqa: SIM115 (closed by the caller)
        fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        return f

    def _read_table(self, exchange) -> list:
        file = self._exchange_file(exchange)
        try:
            raw = file.read_bytes()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ChannelError(f"Cannot open {file}") from exc
        try:
            return [filesystem.exchange_queue_t(*q) for q in loads(bytes_to_str(raw))]
        except Exception:
            logger.error("embedded broker: exchange table %s cannot be decoded; rebuilt", file)
            return []

    def _write_table(self, exchange, queues) -> None:
        file = self._exchange_file(exchange)
        try:
            _write_atomically(file.parent, file.name, str_to_bytes(dumps(queues)))
        except OSError as exc:
            raise ChannelError(f"Cannot write {file}") from exc

    def get_table(self, exchange):
        # Tables are replaced whole, never rewritten in place: no lock needed to read one.
        return self._read_table(exchange)

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._control_lock():
            queues = self._read_table(exchange)
            if binding not in queues:
                queues.insert(0, binding)
                self._write_table(exchange, queues)

    def _delete(self, queue, exchange, routing_key, pattern, *args, **kwargs):
        virtual.Channel._delete(self, queue, exchange, routing_key, pattern, *args, **kwargs)
        binding = filesystem.exchange_queue_t(routing_key or "", pattern or "", queue or "")
        with self._control_lock():
            queues = self._read_table(exchange)
            if binding in queues:
                queues.remove(binding)
                self._write_table(exchange, queues)

    def _purge(self, queue):
        count = 0
        for name in os.listdir(self.data_folder_in):
            if _is_message_name(name, queue):
                try:
                    os.unlink(os.path.join(self.data_folder_in, name))
                    count += 1
                except OSError:
                    pass
        return count

    def _size(self, queue):
        return sum(_is_message_name(name, queue) for name in os.listdir(self.data_folder_in))


class Transport(filesystem.Transport):
    """kombu's filesystem transport with the channel above."""

    Channel = Channel
    # kombu keeps one in-memory record of declared bindings per transport class and skips
    # a binding it believes made; keyed by control folder here, so two sets of folders in
    # one process (tests, tools) each get their exchange tables written.
    _states: dict[str, virtual.BrokerState] = {}

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        folder = _sibling_of_processed(client.transport_options, "control")
        self.state = self._states.setdefault(os.path.abspath(folder), virtual.BrokerState())
