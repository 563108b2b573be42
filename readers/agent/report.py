"""The readers report: its JSON schema, its validator, and the agent's HTTP POST.

Shared by the agent (`python -m readers report`) and the dashboard API, so no Django here.
Schema `julieops-readers/1`:

    {
      "schema": "julieops-readers/1",
      "generated_at": "2026-05-01T09:30:00Z",          # UTC, ISO 8601
      "host": {"hostname": str, "platform": str},
      "pcsc": {"status": "ok"|"no_service"|"service_stopped"|"no_reader"|"unavailable"|"error",
               "message": str,                         # French
               "readers": [{"name": str, "state": ["present", "exclusive", ...],
                            "atr": "3B 75 …"|null, "card": "vitale"|"cps"|"unknown"|null,
                            "label": str|null, "descriptions": [str]}]},
      "galss": null | {"path": str|null, "mode": "pss"|"pcsc"|"mixed"|null,
                       "channels": [{"index": int, "kind": "pss"|"pcsc"|"unknown",
                                     "com_port": int|null, "reader_name": str|null,
                                     "library": str|null, "lads": [str]}],
                       "problems": [code], "messages": [{"code": str, "message": str}]},
      "windows_ga_files": null | [str],               # names of C:\\Windows\\ga* (null: not looked)
      "galss_installed": null | bool,                 # null: unknown
      "user_session": null | {                        # schema /2 only; null: not collected
          "user": str,                                # who the agent ran as (the practice user)
          "drive_mappings": [{"letter": "J:", "remote": "\\\\SRV\\partage",
                              "reachable": bool|null, "datas": [str]}],
          "enable_linked_connections": bool|null,     # HKLM ...Policies System value, null: unread
          "compat_layers": [{"hive": "HKCU"|"HKLM", "program": str, "flags": str}]
      }
    }

Schema `julieops-readers/2` adds `user_session`: what only the practice user's own session
shows (its network drives, its per-user compatibility flags), collected by the agent run in
that session — never by WinRM, whose logon session is another one. A `/1` report (an older
agent) is still accepted, without `user_session`.

The dashboard should not trust `card`/`label`: `atr.classify_atr(reader["atr"])` recomputes them.
"""

import datetime
import ipaddress
import json
import platform
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request

from readers.agent.atr import normalize_atr

SCHEMA = "julieops-readers/2"
SCHEMA_V1 = "julieops-readers/1"
MAX_MAPPINGS = 26
MAX_REPORT_BYTES = 256 * 1024
MAX_READERS = 64
MAX_CHANNELS = 32
MAX_TEXT = 512
MAX_LIST = 200

PCSC_STATUSES = {"ok", "no_service", "service_stopped", "no_reader", "unavailable", "error"}
READER_STATES = {"present", "empty", "exclusive", "inuse", "mute", "unavailable", "unpowered"}
CARDS = {"vitale", "cps", "unknown"}
GALSS_MODES = {"pss", "pcsc", "mixed"}
CHANNEL_KINDS = {"pss", "pcsc", "unknown"}


class ReportError(Exception):
    """A French message for the technician; never contains the token."""


def build_report(
    pcsc_scan: dict,
    galss: dict | None = None,
    galss_path: str | None = None,
    windows_ga_files: list[str] | None = None,
    galss_installed: bool | None = None,
    user_session: dict | None = None,
) -> dict:
    """Assemble a report from `pcsc.scan()`, `galss.parse_galss(...).as_dict()` and
    `session.collect()`."""
    report = {
        "schema": SCHEMA,
        # Microseconds: two reports of one second stay distinct (the server refuses a report
        # not newer than the last one it kept, a replay).
        "generated_at": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "host": {"hostname": socket.gethostname(), "platform": platform.platform()},
        "pcsc": pcsc_scan,
        "galss": None,
        "windows_ga_files": windows_ga_files,
        "galss_installed": galss_installed,
        "user_session": user_session,
    }
    if galss is not None:
        report["galss"] = {"path": galss_path, **galss}
    return report


# ---------------------------------------------------------------- validation


def validate_report(data) -> list[str]:
    """Every problem found, in French, each prefixed by its place ("pcsc.readers[0].atr");
    an empty list means the report is valid."""
    errors: list[str] = []
    expected = {"schema", "generated_at", "host", "pcsc", "galss", "windows_ga_files"}
    expected |= {"galss_installed"}
    version = data.get("schema") if isinstance(data, dict) else None
    if version != SCHEMA_V1:
        expected |= {"user_session"}
    if not _keys(data, "", expected, errors):
        return errors
    if data["schema"] not in (SCHEMA, SCHEMA_V1):
        errors.append(f"schema : « {SCHEMA} » attendu")
    _timestamp(data["generated_at"], "generated_at", errors)
    if _keys(data["host"], "host", {"hostname", "platform"}, errors):
        _text(data["host"]["hostname"], "host.hostname", errors, empty=False)
        _text(data["host"]["platform"], "host.platform", errors)
    _pcsc(data["pcsc"], errors)
    if data["galss"] is not None:
        _galss(data["galss"], errors)
    files = data["windows_ga_files"]
    if files is not None:
        _text_list(files, "windows_ga_files", errors)
    if data["galss_installed"] is not None and not isinstance(data["galss_installed"], bool):
        errors.append("galss_installed : vrai, faux ou null attendu")
    if data.get("user_session") is not None:
        _user_session(data["user_session"], errors)
    return errors


def _user_session(value, errors: list[str]) -> None:
    expected = {"user", "drive_mappings", "enable_linked_connections", "compat_layers"}
    if not _keys(value, "user_session", expected, errors):
        return
    _text(value["user"], "user_session.user", errors)
    linked = value["enable_linked_connections"]
    if linked is not None and not isinstance(linked, bool):
        errors.append("user_session.enable_linked_connections : vrai, faux ou null attendu")
    mappings = value["drive_mappings"]
    if not isinstance(mappings, list) or len(mappings) > MAX_MAPPINGS:
        errors.append(f"user_session.drive_mappings : liste d'au plus {MAX_MAPPINGS} lecteurs")
    else:
        for i, mapping in enumerate(mappings):
            where = f"user_session.drive_mappings[{i}]"
            if not _keys(mapping, where, {"letter", "remote", "reachable", "datas"}, errors):
                continue
            letter = mapping["letter"]
            if not (isinstance(letter, str) and len(letter) == 2 and letter[0].isalpha()
                    and letter[1] == ":"):  # fmt: skip
                errors.append(f"{where}.letter : lettre de lecteur attendue (« J: »)")
            _text(mapping["remote"], f"{where}.remote", errors)
            if mapping["reachable"] is not None and not isinstance(mapping["reachable"], bool):
                errors.append(f"{where}.reachable : vrai, faux ou null attendu")
            _text_list(mapping["datas"], f"{where}.datas", errors)
    layers = value["compat_layers"]
    if not isinstance(layers, list) or len(layers) > MAX_LIST:
        errors.append(f"user_session.compat_layers : liste d'au plus {MAX_LIST} entrées")
        return
    for i, layer in enumerate(layers):
        where = f"user_session.compat_layers[{i}]"
        if _keys(layer, where, {"hive", "program", "flags"}, errors):
            _choice(layer["hive"], f"{where}.hive", {"HKCU", "HKLM"}, errors)
            _text(layer["program"], f"{where}.program", errors, empty=False)
            _text(layer["flags"], f"{where}.flags", errors)


def _keys(value, where: str, expected: set[str], errors: list[str]) -> bool:
    label = where or "rapport"
    if not isinstance(value, dict):
        errors.append(f"{label} : objet JSON attendu")
        return False
    missing = sorted(expected - value.keys())
    extra = sorted(value.keys() - expected)
    if missing:
        errors.append(f"{label} : champ(s) manquant(s) : {', '.join(missing)}")
    if extra:
        errors.append(f"{label} : champ(s) inconnu(s) : {', '.join(map(str, extra))}")
    return not missing


def _text(value, where: str, errors: list[str], *, empty=True, null=False) -> None:
    if value is None and null:
        return
    if not isinstance(value, str):
        errors.append(f"{where} : texte attendu")
    elif len(value) > MAX_TEXT:
        errors.append(f"{where} : texte trop long (plus de {MAX_TEXT} caractères)")
    elif not empty and not value.strip():
        errors.append(f"{where} : ne doit pas être vide")


def _text_list(value, where: str, errors: list[str]) -> None:
    if not isinstance(value, list) or len(value) > MAX_LIST:
        errors.append(f"{where} : liste d'au plus {MAX_LIST} textes attendue")
        return
    for i, item in enumerate(value):
        _text(item, f"{where}[{i}]", errors)


def _choice(value, where: str, allowed: set[str], errors: list[str], *, null=False) -> None:
    if value is None and null:
        return
    # Type first: a list or an object is not hashable, `in` a set would raise.
    if not isinstance(value, str) or value not in allowed:
        errors.append(f"{where} : valeur attendue parmi {', '.join(sorted(allowed))}")


def _integer(value, where: str, errors: list[str], low: int, high: int, *, null=False) -> None:
    if value is None and null:
        return
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        errors.append(f"{where} : entier de {low} à {high} attendu")


# Every timestamp of a report lies between these (a far-future date overflows PostgreSQL).
EARLIEST = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
LATEST = datetime.datetime(2100, 1, 1, tzinfo=datetime.UTC)


def parse_timestamp(value) -> datetime.datetime | None:
    """An ISO 8601 date with its time zone, in UTC, between EARLIEST and LATEST; else None."""
    try:
        if not isinstance(value, str) or len(value) > 40:
            return None
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            return None
        parsed = parsed.astimezone(datetime.UTC)
    except (ValueError, OverflowError):
        return None
    return parsed if EARLIEST <= parsed < LATEST else None


def _timestamp(value, where: str, errors: list[str]) -> None:
    if parse_timestamp(value) is None:
        errors.append(f"{where} : date ISO 8601 avec fuseau attendue, entre 2000 et 2100")


def _pcsc(value, errors: list[str]) -> None:
    if not _keys(value, "pcsc", {"status", "message", "readers"}, errors):
        return
    _choice(value["status"], "pcsc.status", PCSC_STATUSES, errors)
    _text(value["message"], "pcsc.message", errors)
    readers = value["readers"]
    if not isinstance(readers, list) or len(readers) > MAX_READERS:
        errors.append(f"pcsc.readers : liste d'au plus {MAX_READERS} lecteurs attendue")
        return
    names = set()
    for i, reader in enumerate(readers):
        where = f"pcsc.readers[{i}]"
        expected = {"name", "state", "atr", "card", "label", "descriptions"}
        if not _keys(reader, where, expected, errors):
            continue
        _text(reader["name"], f"{where}.name", errors, empty=False)
        if isinstance(reader["name"], str):
            if reader["name"] in names:
                errors.append(f"{where}.name : lecteur en double")
            names.add(reader["name"])
        state = reader["state"]
        if not isinstance(state, list) or any(
            not isinstance(s, str) or s not in READER_STATES for s in state
        ):
            errors.append(f"{where}.state : liste parmi {', '.join(sorted(READER_STATES))}")
        atr = reader["atr"]
        if atr is not None:
            try:
                if not isinstance(atr, str) or normalize_atr(atr) != atr:
                    raise ValueError
            except ValueError:
                errors.append(f"{where}.atr : ATR attendu sous la forme « 3B 75 13 … »")
        _choice(reader["card"], f"{where}.card", CARDS, errors, null=True)
        _text(reader["label"], f"{where}.label", errors, null=True)
        if (atr is None) != (reader["card"] is None):
            errors.append(
                f"{where} : « card » doit être renseigné si et seulement si « atr » l'est"
            )
        _text_list(reader["descriptions"], f"{where}.descriptions", errors)


def _galss(value, errors: list[str]) -> None:
    if not _keys(value, "galss", {"path", "mode", "channels", "problems", "messages"}, errors):
        return
    _text(value["path"], "galss.path", errors, null=True)
    _choice(value["mode"], "galss.mode", GALSS_MODES, errors, null=True)
    channels = value["channels"]
    if not isinstance(channels, list) or len(channels) > MAX_CHANNELS:
        errors.append(f"galss.channels : liste d'au plus {MAX_CHANNELS} canaux attendue")
    else:
        for i, channel in enumerate(channels):
            where = f"galss.channels[{i}]"
            expected = {"index", "kind", "com_port", "reader_name", "library", "lads"}
            if not _keys(channel, where, expected, errors):
                continue
            _integer(channel["index"], f"{where}.index", errors, 1, 9999)
            _choice(channel["kind"], f"{where}.kind", CHANNEL_KINDS, errors)
            _integer(channel["com_port"], f"{where}.com_port", errors, 1, 255, null=True)
            _text(channel["reader_name"], f"{where}.reader_name", errors, null=True)
            _text(channel["library"], f"{where}.library", errors, null=True)
            _text_list(channel["lads"], f"{where}.lads", errors)
    _text_list(value["problems"], "galss.problems", errors)
    messages = value["messages"]
    if not isinstance(messages, list) or len(messages) > MAX_LIST:
        errors.append(f"galss.messages : liste d'au plus {MAX_LIST} messages attendue")
        return
    for i, message in enumerate(messages):
        if _keys(message, f"galss.messages[{i}]", {"code", "message"}, errors):
            _text(message["code"], f"galss.messages[{i}].code", errors, empty=False)
            _text(message["message"], f"galss.messages[{i}].message", errors)


# ---------------------------------------------------------------- HTTP POST


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirect would resend the bearer token somewhere the technician did not type.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def post_report(
    url: str, token: str, report: dict, *, timeout: float = 30.0, cafile: str | None = None
) -> dict:
    """POST the report as JSON with `Authorization: Bearer <token>`; return the JSON answer.
    HTTPS with certificate validation (system CAs, or `cafile`); plain HTTP only to loopback.
    Raises ReportError with a French message."""
    errors = validate_report(report)
    if errors:
        raise ReportError("Rapport invalide, non envoyé :\n- " + "\n- ".join(errors))
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if parts.scheme not in ("https", "http") or not host:
        raise ReportError(f"Adresse invalide : « {url} » (https://… attendu).")
    if parts.scheme == "http" and not _is_loopback(host):
        raise ReportError(
            "Adresse en http:// refusée : le jeton circulerait en clair. Utiliser https://."
        )
    if not token or not token.strip():
        raise ReportError("Jeton manquant (--token).")
    body = json.dumps(report, ensure_ascii=False).encode("utf-8")
    if len(body) > MAX_REPORT_BYTES:
        raise ReportError(f"Rapport trop volumineux ({len(body)} octets).")

    context = ssl.create_default_context(cafile=cafile)
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=context), _NoRedirect)
    request = urllib.request.Request(  # noqa: S310 (scheme checked above: https, or http to loopback)
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "Authorization": f"Bearer {token.strip()}",
            "User-Agent": "julieops-readers-agent/1",
        },
    )
    where = f"{host}:{parts.port}" if parts.port else host
    try:
        with opener.open(request, timeout=timeout) as response:
            answer = response.read(MAX_REPORT_BYTES)
    except urllib.error.HTTPError as exc:
        raise ReportError(_http_error_message(exc)) from None
    except urllib.error.URLError as exc:
        raise ReportError(_connection_message(exc.reason, where, timeout)) from None
    except TimeoutError:
        raise ReportError(_connection_message(TimeoutError(), where, timeout)) from None
    except OSError as exc:
        raise ReportError(_connection_message(exc, where, timeout)) from None
    if not answer.strip():
        return {}
    try:
        return json.loads(answer)
    except ValueError:
        raise ReportError("Réponse illisible du tableau de bord (JSON attendu).") from None


def _http_error_message(exc: urllib.error.HTTPError) -> str:
    code = exc.code
    detail = ""
    try:
        payload = json.loads(exc.read(64 * 1024) or b"{}")
        if isinstance(payload, dict):
            items = payload.get("errors") or payload.get("error") or ""
            if isinstance(items, list):
                detail = "\n- " + "\n- ".join(str(x) for x in items[:20])
            elif items:
                detail = f" : {items}"
    except (ValueError, OSError):
        pass
    if code in (401, 403):
        return (
            f"Jeton refusé (HTTP {code}) : vérifier le jeton fourni par le tableau de bord "
            "pour ce poste."
        )
    if code == 404:
        return f"Adresse introuvable (HTTP 404) : vérifier --url.{detail}"
    if 300 <= code < 400:
        return f"Redirection refusée (HTTP {code}) : indiquer l'adresse exacte du tableau de bord."
    if code == 413:
        return "Rapport refusé : trop volumineux (HTTP 413)."
    if 400 <= code < 500:
        return f"Rapport refusé par le tableau de bord (HTTP {code}){detail or '.'}"
    return f"Erreur du tableau de bord (HTTP {code}) : réessayer plus tard."


def _connection_message(reason, where: str, timeout: float) -> str:
    if isinstance(reason, ssl.SSLCertVerificationError):
        return (
            f"Certificat HTTPS non valide pour {where} ({reason.verify_message}) : vérifier "
            "l'adresse, ou fournir l'autorité de certification avec --cafile."
        )
    if isinstance(reason, ssl.SSLError):
        return f"Échec de la connexion sécurisée avec {where} ({reason.reason or reason})."
    if isinstance(reason, (TimeoutError, socket.timeout)):
        return f"Pas de réponse de {where} en {timeout:g} s (délai dépassé)."
    if isinstance(reason, ConnectionRefusedError):
        return f"Connexion refusée par {where} : le tableau de bord est-il joignable ?"
    if isinstance(reason, socket.gaierror):
        return f"Nom d'hôte inconnu : {where}."
    return f"Connexion impossible à {where} ({reason})."
