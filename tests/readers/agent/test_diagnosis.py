"""readers.agent.diagnosis: the post.readers verdict for PSS and PC/SC setups."""

from readers.agent.diagnosis import diagnose
from readers.agent.galss import parse_galss
from tests.readers.agent.test_galss import PCSC_TWO_READERS, PSS_SERIAL, serial_channel

VITALE = "3B 75 13 00 00 47 09 EA 90 00"
CPS = "3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00"
BANK = "3F 65 25 00 24 09 6B 90 00"


def reader(name, atr=None, card=None):
    return {
        "name": name,
        "state": ["present"] if atr else ["empty"],
        "atr": atr,
        "card": card,
        "label": None,
        "descriptions": [],
    }


def scan(*readers, status="ok", message="ok"):
    return {"status": status, "message": message, "readers": list(readers)}


def items(result) -> dict:
    return {item["code"]: item for item in result["items"]}


def test_it_passes_a_complete_pcsc_setup():
    report = {
        "pcsc": scan(reader("Lecteur A 00 00", VITALE), reader("Lecteur B 00 00", CPS)),
        "galss": None,
        "windows_ga_files": [],
        "galss_installed": False,
    }

    result = diagnose(report, cabinets=[{"name": "Dr Martin", "cps_reader": "Lecteur B 00 00"}])

    assert result["status"] == "ok", result
    assert result["mode"] == "pcsc"
    assert result["summary"].startswith("Lecteurs prêts (lecteurs PC/SC)")
    assert set(items(result)) == {
        "galss_absent",
        "galss_leftovers",
        "pcsc_service",
        "pcsc_reader_count",
        "vitale_reader",
        "cps_reader",
        "cabinet_cps_reader",
    }
    assert all(set(item) == {"code", "label", "status", "detail"} for item in result["items"])


def test_it_fails_pcsc_with_galss_left_behind_and_one_reader():
    report = {"pcsc": scan(reader("Lecteur A 00 00", VITALE))}

    result = diagnose(
        report,
        windows_ga_files=["galss.ini", "galsvw32.exe", "gameux.dat"],
        galss_installed=True,
    )

    found = items(result)
    assert result["status"] == "fail"
    assert found["galss_absent"]["status"] == "fail"
    assert found["galss_leftovers"]["status"] == "fail"
    assert "galss.ini, galsvw32.exe, gameux.dat" in found["galss_leftovers"]["detail"]
    assert "gameux.dat" in found["galss_leftovers"]["detail"].split("À vérifier")[1]
    assert result["actions"] == [
        {
            "code": "remove_galss_leftovers",
            "label": "Sauvegarder puis supprimer les fichiers ga* de C:\\Windows",
            "files": ["galss.ini", "galsvw32.exe", "gameux.dat"],
        }
    ]
    assert found["pcsc_reader_count"]["status"] == "fail"
    assert found["cps_reader"]["status"] == "fail"
    assert found["vitale_reader"]["status"] == "ok"
    assert "Désinstallation de GALSS" in result["summary"]


def test_it_accepts_a_two_slot_reader_and_recomputes_card_types():
    # A two-slot reader shows two PC/SC names; the report's own "card" fields are ignored.
    report = {
        "pcsc": scan(
            reader("Bi-fente 00 00", VITALE, card="cps"), reader("Bi-fente 00 01", CPS, "vitale")
        ),
        "windows_ga_files": [],
        "galss_installed": False,
    }
    result = items(diagnose(report))
    assert result["pcsc_reader_count"]["status"] == "ok"
    assert "Bi-fente 00 00" in result["vitale_reader"]["detail"]
    assert "Bi-fente 00 01" in result["cps_reader"]["detail"]


def test_it_warns_about_unknown_cards_and_checks_each_cabinet_reader():
    report = {
        "pcsc": scan(
            reader("A 00 00", VITALE),
            reader("B 00 00", CPS),
            reader("C 00 00", BANK),
            reader("D 00 00"),
        ),
        "windows_ga_files": [],
        "galss_installed": False,
    }
    cabinets = [
        {"name": "Cabinet 1", "cps_reader": "B 00 00"},
        {"name": "Cabinet 2", "cps_reader": "D 00 00"},
        {"name": "Cabinet 3", "cps_reader": "A 00 00"},
        {"name": "Cabinet 4", "cps_reader": "Débranché 00 00"},
        {"name": "Cabinet 5", "cps_reader": ""},
    ]

    result = diagnose(report, cabinets=cabinets)

    per_cabinet = [i for i in result["items"] if i["code"] == "cabinet_cps_reader"]
    assert [(i["label"], i["status"]) for i in per_cabinet] == [
        ("Lecteur CPS du cabinet Cabinet 1", "ok"),
        ("Lecteur CPS du cabinet Cabinet 2", "warn"),
        ("Lecteur CPS du cabinet Cabinet 3", "fail"),
        ("Lecteur CPS du cabinet Cabinet 4", "fail"),
        ("Lecteur CPS du cabinet Cabinet 5", "fail"),
    ]
    assert "Carte Vitale 2, pas une CPS" in per_cabinet[2]["detail"]
    assert "n'est pas branché" in per_cabinet[3]["detail"]
    unknown = items(result)["unknown_card"]
    assert unknown["status"] == "warn" and "Bull CP8" in unknown["detail"]
    assert result["status"] == "fail"


def test_it_fails_pcsc_when_the_service_is_down():
    report = {"pcsc": scan(status="no_service", message="Service PC/SC indisponible")}
    found = items(diagnose(report, windows_ga_files=[], galss_installed=False))
    assert found["pcsc_service"] == {
        "code": "pcsc_service",
        "label": "Service PC/SC",
        "status": "fail",
        "detail": "Service PC/SC indisponible",
    }


def test_it_checks_pss_com_ports_from_galss_ini():
    good = parse_galss(PSS_SERIAL).as_dict()
    result = diagnose({"pcsc": scan(status="no_reader")}, galss=good, galss_installed=True)
    assert result["mode"] == "pss"
    assert result["status"] == "warn"  # only the PC/SC side is empty, which PSS does not need
    assert items(result)["pss_com_ports"]["detail"] == "Lecteurs série sur : COM8."

    text = "[PROTOCOLE0]\nNomLib=PSSINW32.DLL\n[CONFIG]\nNbCanaux=3\n"
    text += serial_channel(1, 11, "CPS") + serial_channel(2, 2, "Vitale")
    bad = parse_galss(text).as_dict()
    result = diagnose({"pcsc": scan()}, galss=bad, galss_installed=False)
    found = items(result)
    assert found["pss_com_ports"]["status"] == "fail"
    assert "canal 1 sur COM11" in found["pss_com_ports"]["detail"]
    assert found["galss_ini"]["status"] == "fail"
    assert "[CANAL3] est absente" in found["galss_ini"]["detail"]
    assert found["galss_installed"]["status"] == "fail"


def test_it_warns_on_a_mixed_galss_and_on_a_pcsc_galss_ini():
    text = PCSC_TWO_READERS.replace("NbCanaux=2", "NbCanaux=3") + serial_channel(3, 4, "Vitale")
    mixed = diagnose({"pcsc": scan()}, galss=parse_galss(text).as_dict())
    assert mixed["mode"] == "mixed" and items(mixed)["galss_mixed"]["status"] == "warn"

    pcsc_galss = parse_galss(PCSC_TWO_READERS).as_dict()
    result = diagnose(
        {"pcsc": scan(reader("A", VITALE), reader("B", CPS))},
        galss=pcsc_galss,
        windows_ga_files=["galss.ini"],
        galss_installed=False,
    )
    assert result["mode"] == "pcsc"
    assert items(result)["galss_pcsc_config"]["status"] == "warn"
    assert items(result)["galss_leftovers"]["status"] == "fail"
