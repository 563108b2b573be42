"""The `post.readers` verdict, from a readers report (pure function, no I/O).

Julie procedure §3: PSS (SESAM-Vitale) readers go through GALSS, one per COM port, and a reader
above COM9 is not detected; PC/SC readers need GALSS uninstalled and the `C:\\Windows\\ga*`
files removed, and being single-slot, at least two of them: one with the Vitale card and one
with the CPS. Each cabinet may have its own CPS reader.

The mode comes from what is installed and configured: GALSS installed with a galss.ini that
declares no channel (or no galss.ini at all) is the procedure's §3.1 case "GALSS did not create
the readers": PSS readers still to be created by hand (mode `pss_pending`), never "uninstall
GALSS" and never a proposal to delete its files.
"""

from readers.agent.atr import classify_atr
from readers.agent.galss import MAX_COM_PORT, is_known_galss_file

OK, WARN, FAIL = "ok", "warn", "fail"
_RANK = {OK: 0, WARN: 1, FAIL: 2}


def _item(code: str, label: str, status: str, detail: str) -> dict:
    return {"code": code, "label": label, "status": status, "detail": detail}


def _card(reader: dict) -> str | None:
    """Recompute the classification: a report's own `card` field is not trusted."""
    if not reader.get("atr"):
        return None
    try:
        return classify_atr(reader["atr"], smartcard_list=None).card
    except ValueError:
        return "unknown"


def diagnose(
    report: dict,
    galss: dict | None = None,
    windows_ga_files: list[str] | None = None,
    galss_installed: bool | None = None,
    cabinets: list[dict] | tuple = (),
) -> dict:
    """`report`: a readers report (report.py schema) or just its `pcsc` part. `galss`,
    `windows_ga_files`, `galss_installed` default to the report's own fields (None = unknown).
    `cabinets`: [{"name": str, "cps_reader": str | None}].

    Returns {"status": ok|warn|fail, "mode": pss|pss_pending|pcsc|mixed, "summary": str (fr),
    "items": [{"code", "label", "status", "detail"}], "actions": [{"code", "label", "files"}]}.
    """
    pcsc = report.get("pcsc", report) if isinstance(report, dict) else {}
    if galss is None:
        galss = report.get("galss")
    if windows_ga_files is None:
        windows_ga_files = report.get("windows_ga_files")
    if galss_installed is None:
        galss_installed = report.get("galss_installed")

    mode = galss.get("mode") if galss and galss.get("mode") in ("pss", "mixed") else "pcsc"
    if galss_installed is True and galss is not None and not (galss.get("channels") or []):
        mode = "pss_pending"
    items: list[dict] = []
    actions: list[dict] = []
    if mode == "pss_pending":
        items += _pss_pending_items(galss, pcsc)
    if mode in ("pss", "mixed"):
        items += _pss_items(galss, galss_installed)
    if mode == "mixed":
        items.append(
            _item(
                "galss_mixed",
                "Mode de lecture",
                WARN,
                "galss.ini mélange des canaux série (PSS) et PC/SC : choisir un seul mode "
                "(la procédure Julie préconise le PC/SC).",
            )
        )
    if mode == "pcsc":
        items += _pcsc_install_items(galss, windows_ga_files, galss_installed, actions)
    if mode != "pss_pending":
        items += _reader_items(pcsc, mode)
        items += _cabinet_items(pcsc, mode, galss, cabinets)
    else:
        items += _cabinet_items(pcsc, "pss", galss, cabinets)

    status = max((item["status"] for item in items), key=_RANK.__getitem__, default=OK)
    return {
        "status": status,
        "mode": mode,
        "summary": _summary(mode, items, status),
        "items": items,
        "actions": actions,
    }


def _summary(mode: str, items: list[dict], status: str) -> str:
    counts = {s: sum(1 for item in items if item["status"] == s) for s in (OK, WARN, FAIL)}
    mode_label = {
        "pss": "lecteurs SESAM-Vitale (PSS/GALSS)",
        "pcsc": "lecteurs PC/SC",
        "mixed": "mode mixte PSS et PC/SC",
        "pss_pending": "lecteurs SESAM-Vitale (GALSS) à créer",
    }[mode]
    head = {
        OK: "Lecteurs prêts",
        WARN: "Lecteurs utilisables, points à vérifier",
        FAIL: "Lecteurs non prêts",
    }[status]
    text = (
        f"{head} ({mode_label}) : {counts[OK]} contrôle(s) OK, {counts[WARN]} avertissement(s), "
        f"{counts[FAIL]} échec(s)."
    )
    failing = [item["label"] for item in items if item["status"] == FAIL]
    if failing:
        text += " À corriger : " + ", ".join(dict.fromkeys(failing)) + "."
    return text


def _pss_pending_items(galss: dict, pcsc: dict) -> list[dict]:
    where = "galss.ini ne déclare aucun lecteur" if galss else "galss.ini est absent"
    items = [
        _item(
            "pss_readers_to_create",
            "Lecteurs SESAM-Vitale à créer",
            FAIL,
            f"GALSS est installé mais {where} : créer les lecteurs à la main. Dans Julie, "
            "Utilitaires → « SESAM-vitale » → bouton « Installer » : créer chaque lecteur avec "
            "son port COM (COM1 à COM9, au-delà il n'est pas détecté). Quitter Julie, puis dans "
            "Ajout/Suppression de programmes, clic droit sur GALSS → « Réparer » avant de "
            "relancer Julie ; enfin attribuer chaque lecteur à son cabinet (Utilitaires → Fiche "
            "Cabinet → « Choisir un lecteur carte »).",
        )
    ]
    if (pcsc.get("readers") or []) and pcsc.get("status") == "ok":
        items.append(
            _item(
                "pss_or_pcsc",
                "Type de lecteurs",
                WARN,
                "Des lecteurs PC/SC sont aussi branchés : si le cabinet utilise ces lecteurs "
                "(monofente) et non des lecteurs SESAM-Vitale, désinstaller GALSS à la place "
                "(procédure §3.2).",
            )
        )
    return items


def _pss_items(galss: dict, galss_installed: bool | None) -> list[dict]:
    items = []
    serial = [c for c in galss.get("channels", []) if c.get("kind") == "pss"]
    above = [c for c in serial if (c.get("com_port") or 0) > MAX_COM_PORT]
    unknown = [c for c in serial if not c.get("com_port")]
    if above or unknown:
        parts = [f"canal {c['index']} sur COM{c['com_port']}" for c in above]
        parts += [f"canal {c['index']} sans port COM valide" for c in unknown]
        items.append(
            _item(
                "pss_com_ports",
                "Ports COM des lecteurs",
                FAIL,
                "GALSS ne détecte pas les lecteurs au-delà de COM9 : "
                + "; ".join(parts)
                + ". Attribuer un port COM1 à COM9 dans le Gestionnaire de périphériques "
                "(Paramètres du port → Avancé), corriger Index= dans galss.ini, puis "
                "« Réparer » GALSS.",
            )
        )
    else:
        ports = ", ".join(f"COM{c['com_port']}" for c in serial) or "aucun"
        items.append(
            _item("pss_com_ports", "Ports COM des lecteurs", OK, f"Lecteurs série sur : {ports}.")
        )
    other = [m for m in galss.get("messages", []) if m.get("code") != "com_above_9"]
    if other:
        items.append(
            _item(
                "galss_ini",
                "Fichier galss.ini",
                FAIL,
                " ".join(m["message"] for m in other),
            )
        )
    else:
        items.append(_item("galss_ini", "Fichier galss.ini", OK, "Aucune anomalie détectée."))
    lads = {lad.lower() for c in serial for lad in c.get("lads", [])}
    missing = [name for name in ("CPS", "Vitale") if name.lower() not in lads]
    if missing:
        items.append(
            _item(
                "pss_lads",
                "Ressources CPS et Vitale",
                WARN,
                "galss.ini ne déclare pas de ressource " + " ni ".join(missing) + ".",
            )
        )
    if galss_installed is False:
        items.append(
            _item(
                "galss_installed",
                "Programme GALSS",
                FAIL,
                "GALSS n'est pas installé : les lecteurs SESAM-Vitale en ont besoin.",
            )
        )
    return items


def _pcsc_install_items(galss, files, galss_installed, actions: list[dict]) -> list[dict]:
    items = []
    if galss_installed is True:
        items.append(
            _item(
                "galss_absent",
                "Désinstallation de GALSS",
                FAIL,
                "GALSS est encore installé : le désinstaller (Ajout/Suppression de programmes) "
                "pour utiliser les lecteurs PC/SC.",
            )
        )
    elif galss_installed is None:
        items.append(
            _item(
                "galss_absent",
                "Désinstallation de GALSS",
                WARN,
                "Présence de GALSS non vérifiée sur ce poste.",
            )
        )
    else:
        items.append(_item("galss_absent", "Désinstallation de GALSS", OK, "GALSS absent."))
    if galss and galss.get("mode") == "pcsc":
        items.append(
            _item(
                "galss_pcsc_config",
                "galss.ini en mode PC/SC",
                WARN,
                "Un galss.ini configuré en PC/SC est présent (certains logiciels comme DMP "
                "Connect le lisent encore) : vérifier avant suppression.",
            )
        )
    if files is None:
        items.append(
            _item(
                "galss_leftovers",
                "Fichiers C:\\Windows\\ga*",
                WARN,
                "Dossier C:\\Windows non examiné.",
            )
        )
    elif files:
        known = [f for f in files if is_known_galss_file(f)]
        other = [f for f in files if not is_known_galss_file(f)]
        detail = "Fichiers restants dans C:\\Windows : " + ", ".join(files) + "."
        if other:
            detail += " À vérifier avant suppression (pas des fichiers GALSS connus) : "
            detail += ", ".join(other) + "."
        detail += " Suppression proposée après sauvegarde, jamais sans confirmation."
        items.append(
            _item("galss_leftovers", "Fichiers C:\\Windows\\ga*", FAIL if known else WARN, detail)
        )
        actions.append(
            {
                "code": "remove_galss_leftovers",
                "label": "Sauvegarder puis supprimer les fichiers ga* de C:\\Windows",
                "files": list(files),
            }
        )
    else:
        items.append(
            _item("galss_leftovers", "Fichiers C:\\Windows\\ga*", OK, "Aucun fichier ga* restant.")
        )
    return items


def _reader_items(pcsc: dict, mode: str) -> list[dict]:
    status = pcsc.get("status")
    readers = pcsc.get("readers") or []
    if status != "ok":
        return [
            _item(
                "pcsc_service",
                "Service PC/SC",
                FAIL if mode == "pcsc" else WARN,
                pcsc.get("message") or "Lecteurs PC/SC non interrogés.",
            )
        ]
    items = [_item("pcsc_service", "Service PC/SC", OK, pcsc.get("message") or "")]
    listing = "; ".join(_describe(r) for r in readers) or "aucun"
    if mode != "pcsc":
        items.append(_item("pcsc_readers", "Lecteurs PC/SC", OK, f"Lecteurs vus : {listing}."))
        return items

    # Each PC/SC name is one slot: a two-slot reader shows two names.
    if len(readers) < 2:
        items.append(
            _item(
                "pcsc_reader_count",
                "Nombre de lecteurs PC/SC",
                FAIL,
                f"{len(readers)} lecteur(s) ({listing}) : un lecteur PC/SC est monofente, il en "
                "faut au moins deux (un pour la carte Vitale, un pour la CPS) ou un lecteur "
                "bifente.",
            )
        )
    else:
        items.append(
            _item("pcsc_reader_count", "Nombre de lecteurs PC/SC", OK, f"Lecteurs : {listing}.")
        )
    for card, label, hint in (
        ("vitale", "Lecteur de carte Vitale", "une carte Vitale"),
        ("cps", "Lecteur de CPS", "la CPS"),
    ):
        holders = [r["name"] for r in readers if _card(r) == card]
        if holders:
            items.append(
                _item(f"{card}_reader", label, OK, "Carte lue dans : " + ", ".join(holders) + ".")
            )
        else:
            items.append(
                _item(
                    f"{card}_reader",
                    label,
                    FAIL,
                    f"Aucun lecteur ne contient {hint} : l'insérer dans le lecteur prévu puis "
                    "relancer l'analyse.",
                )
            )
    for reader in readers:
        if _card(reader) == "unknown":
            items.append(
                _item(
                    "unknown_card",
                    "Carte non reconnue",
                    WARN,
                    f"{reader['name']} : {_label(reader)} (ATR {reader['atr']}).",
                )
            )
    return items


def _label(reader: dict) -> str:
    try:
        return classify_atr(reader["atr"], smartcard_list=None).label
    except ValueError:
        return "ATR illisible"


def _describe(reader: dict) -> str:
    if not reader.get("atr"):
        return f"{reader['name']} (vide)"
    return f"{reader['name']} ({_label(reader)})"


def _cabinet_items(pcsc: dict, mode: str, galss: dict | None, cabinets) -> list[dict]:
    items = []
    readers = {r["name"]: r for r in (pcsc.get("readers") or [])}
    galss_names = {
        c.get("reader_name") for c in (galss or {}).get("channels", []) if c.get("reader_name")
    }
    for cabinet in cabinets:
        name = cabinet.get("name") or "?"
        assigned = (cabinet.get("cps_reader") or "").strip()
        code, label = "cabinet_cps_reader", f"Lecteur CPS du cabinet {name}"
        if not assigned:
            items.append(
                _item(
                    code,
                    label,
                    FAIL,
                    "Aucun lecteur CPS attribué (Utilitaires → Fiche "
                    "Cabinet → « Choisir un lecteur carte »).",
                )
            )
        elif mode != "pcsc":
            items.append(_item(code, label, OK, f"Lecteur attribué : {assigned}."))
        elif assigned not in readers:
            known = assigned in galss_names
            items.append(
                _item(
                    code,
                    label,
                    FAIL,
                    f"Le lecteur attribué « {assigned} » n'est pas branché sur ce poste"
                    + (" (nom repris de galss.ini)" if known else "")
                    + ". Lecteurs présents : "
                    + (", ".join(readers) or "aucun")
                    + ".",
                )
            )
        else:
            card = _card(readers[assigned])
            if card == "cps":
                items.append(_item(code, label, OK, f"« {assigned} » contient une CPS."))
            elif card is None:
                items.append(
                    _item(
                        code,
                        label,
                        WARN,
                        f"« {assigned} » est vide : y insérer la CPS du cabinet pour vérifier.",
                    )
                )
            else:
                items.append(
                    _item(
                        code,
                        label,
                        FAIL,
                        f"« {assigned} » contient {_label(readers[assigned])}, pas une CPS.",
                    )
                )
    return items
