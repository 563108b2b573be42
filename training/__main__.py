"""`python -m training init|serve|programs|show --state DIR`: the training practice's simulator."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import signal
import sys
from pathlib import Path

from training.state import State


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training", description=__doc__)
    parser.add_argument("--state", type=Path, default=Path("var/training"))
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser("init", help="créer les postes simulés")
    init.add_argument("--reset", action="store_true", help="les recréer s'ils existent")
    sub.add_parser("serve", help="servir les postes (WinRM en HTTPS sur la boucle locale)")
    sub.add_parser("show", help="afficher les postes (adresse, port, services)")
    programs = sub.add_parser("programs", help="ouvrir ou fermer Julie sur un poste simulé")
    programs.add_argument("post", help="ex. poste-accueil")
    programs.add_argument("action", choices=("open", "close"))
    report = sub.add_parser("report", help="envoyer le rapport de l'agent du poste simulé")
    report.add_argument("post")
    report.add_argument("--url", required=True, help="http://127.0.0.1:8000/api/readers/report/")
    report.add_argument("--token", required=True)
    net_use = sub.add_parser("net-use", help="connecter un lecteur dans la session du poste")
    net_use.add_argument("post")
    net_use.add_argument("letter")
    net_use.add_argument("remote")
    args = parser.parse_args(argv)
    if args.command == "init":
        from training.setup import prepare

        state = prepare(args.state, replace=args.reset)
        print(f"Cabinet d'entraînement créé dans {state.folder}")
        return 0
    if args.command == "serve":
        return serve(args.state)
    state = State.load(args.state)
    if args.command == "show":
        for key, post in state.posts.items():
            services = ", ".join(
                f"{s['Name']} {s['Status']}/{s['StartType']}" for s in post["services"]
            )
            print(
                f"{key:16} {post['hostname']:16} {post['address']}:{post['port']}  {services or '—'}"
            )
        return 0
    if args.command in ("report", "net-use"):
        from training import agent

        if args.command == "net-use":
            agent.map_drive(state, args.post, args.letter, args.remote)
        else:
            print(json.dumps(agent.send(state, args.post, args.url, args.token)))
        return 0
    post = state.post(args.post)
    names = [p for p in post["processes"] if p["Name"] not in ("Julie", "w32mkde")]
    if args.action == "open":
        names += [{"Name": "Julie", "Id": 5120}, {"Name": "w32mkde", "Id": 5124}]
    post["processes"] = names
    state.save()
    print(json.dumps(post["processes"]))
    return 0


def serve(folder: Path) -> int:
    from training.server import TrainingServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s training: %(message)s")
    server = TrainingServer(folder).start()
    for key, endpoint in server.endpoints.items():
        print(f"training: {key} sur https://{endpoint.host}:{endpoint.port}/wsman", flush=True)
    print("training: ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: server.stopped.set())
    with contextlib.suppress(KeyboardInterrupt):
        server.stopped.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
