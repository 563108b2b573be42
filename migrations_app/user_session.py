"""The practice user's own Windows session on a post, as its post agent last reported it
(network drives, EnableLinkedConnections, per-user compatibility flags): what a WinRM logon
session never shows. migrations_app knows no agent: the readers app plugs its reports in from
its AppConfig.ready() (`set_provider`). Without a provider or a report: None (« à vérifier »)."""

import json

_provider = None


def set_provider(provider) -> None:
    """provider(machine) -> {"received_at": datetime, "session": dict, "report": id} | None."""
    global _provider
    _provider = provider


def latest(machine) -> dict | None:
    found = _provider(machine) if _provider is not None else None
    if found is not None:  # an input of the run that no transport carried: kept for captures
        # Imported here: set_provider runs in readers' ready(), at every command's start.
        from migrations_app.execution import capture

        session = json.dumps(found.get("session") or {}, ensure_ascii=False, sort_keys=True)
        received = found.get("received_at")
        capture.note(
            machine,
            "report",
            "readers.user_session",
            session,
            {"received_at": received.isoformat() if received else ""},
        )
    return found


def how_to_report(machine) -> str:
    return (
        f"lancer l'agent du poste (python -m readers report, commande affichée sur la page du "
        f"poste {machine.hostname}) dans la session de l'utilisateur du cabinet, pas par WinRM"
    )
