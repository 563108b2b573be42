"""Endpoints: where a mirror reads or writes. `open_endpoint` turns a path or URL into one."""

from urllib.parse import unquote, urlsplit

from .base import Endpoint, is_temp_name
from .local import LocalEndpoint

__all__ = ["Endpoint", "LocalEndpoint", "is_temp_name", "open_endpoint"]


def open_endpoint(
    url_or_path: str,
    *,
    username: str | None = None,
    password: str | None = None,
    pkey=None,
    host_key=None,
    timeout: float = 30.0,
) -> Endpoint:
    """A local path, `sftp://user@host:port/path` or `smb://host[:port]/share/path`.

    SFTP needs `host_key` (a paramiko PKey, an OpenSSH public-key line or a SHA256:
    fingerprint): any other key is refused. SMB takes `username`/`password`.
    """
    parts = urlsplit(url_or_path)
    scheme = parts.scheme.lower()
    if scheme == "sftp":
        from .sftp import SftpEndpoint

        return SftpEndpoint(
            url_or_path,
            parts.hostname or "",
            parts.port or 22,
            unquote(parts.username or username or ""),
            unquote(parts.path) or "/",
            host_key=host_key,
            pkey=pkey,
            password=unquote(parts.password) if parts.password else password,
            timeout=timeout,
        )
    if scheme == "smb":
        from .smb import SmbEndpoint

        segments = [unquote(s) for s in parts.path.split("/") if s]
        if not segments:
            raise ValueError(f"SMB: partage manquant dans {url_or_path!r}")
        return SmbEndpoint(
            url_or_path,
            parts.hostname or "",
            parts.port or 445,
            segments[0],
            "/".join(segments[1:]),
            username=unquote(parts.username) if parts.username else username,
            password=password,
            timeout=timeout,
        )
    if scheme in ("", "file") or len(scheme) == 1:  # a bare path (or a Windows drive letter)
        return LocalEndpoint(unquote(parts.path) if scheme == "file" else url_or_path)
    raise ValueError(f"type de chemin non pris en charge: {url_or_path!r}")
