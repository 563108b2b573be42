import json
from pathlib import Path

from julieops.windows import firewall, network, share
from julieops.windows.admin_rights import admin_rights_verdict
from julieops.windows.install import install_verdict
from tests.support.wsman import WsmanEndpoint, powershell_reply

FIXTURES = Path(__file__).parents[2] / "fixtures" / "windows"


def load(name):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def by_label(result):
    return {i["label"]: i for i in result["items"]}


def test_it_parses_quser_in_french_and_english():
    fr = network.parse_quser((FIXTURES / "quser_fr.txt").read_text(encoding="utf-8"))
    assert [(s["user"], s["session"], s["id"], s["state"]) for s in fr] == [
        ("administrateur", "console", 1, "Actif"),
        ("secretariat", "rdp-tcp#3", 2, "Actif"),
        ("dr.martin", "", 3, "Déco"),
    ]
    en = network.parse_quser((FIXTURES / "quser_en.txt").read_text(encoding="utf-8"))
    assert [(s["user"], s["session"], s["state"]) for s in en] == [
        ("reception", "console", "Active"),
        ("admin", "", "Disc"),
    ]
    assert network.rdp_sessions((FIXTURES / "quser_en.txt").read_text()) == []


def test_it_fails_the_network_on_rdp_workgroup_and_netbios():
    result = network.network_verdict(load("network_bad.json"), key_host="NOUVEAU-SRV")
    items = by_label(result)
    assert result["status"] == "fail"
    assert items["NOUVEAU-SRV — bureau à distance"]["status"] == "fail"
    assert "secretariat" in items["NOUVEAU-SRV — bureau à distance"]["detail"]
    assert items["ACCUEIL — groupe de travail / domaine"]["status"] == "fail"
    assert items["SOINS1 — groupe de travail / domaine"]["status"] == "ok"
    assert items["ACCUEIL — NetBIOS sur Intel(R) Wi-Fi 6 AX201 160MHz"]["status"] == "fail"
    assert items["ACCUEIL — liaison Wi-Fi"]["status"] == "warn"
    assert "échec" in result["summary"] and "bureau à distance" in result["summary"]


def test_it_passes_a_good_network():
    result = network.network_verdict(load("network_good.json"), key_host="NOUVEAU-SRV")
    assert result["status"] == "ok", result
    assert result["summary"].startswith("Réseau : ")


def test_it_flags_a_missing_firewall_port_and_accepts_the_complete_set():
    missing = firewall.firewall_verdict(load("firewall_missing_8080.json"))
    failed = [i["label"] for i in missing["items"] if i["status"] == "fail"]
    assert failed == ["Port 8080 (JulieView)"]
    assert len(missing["items"]) == 13  # 11 ports + Julie.exe in and out
    assert firewall.firewall_verdict(load("firewall_ok.json"))["status"] == "ok"


def test_it_accepts_a_french_everyone_share_and_refuses_spaces_and_nas():
    assert share.share_verdict(load("share_fr_ok.json"))["status"] == "ok"
    spaces = share.share_verdict(load("share_fr_ok.json"), path=r"C:\Mes Donnees\partage")
    assert spaces["status"] == "fail"
    assert "espaces" in by_label(spaces)["Chemin des données"]["detail"]
    nas = share.share_verdict(load("share_nas.json"), path=r"Z:\partage")
    assert nas["status"] == "fail"
    assert "NAS" in by_label(nas)["Chemin des données"]["detail"]
    assert share.data_path_problems(r"\\DISKSTATION\cabinet\Juliew")
    assert share.data_path_problems(r"C:\partage\Juliew") == []


def test_it_reports_compatibility_mode_and_key_server_placement():
    rights = admin_rights_verdict(
        {
            "SOINS1": {"HKCU": "~ RUNASADMIN WIN7RTM", "HKLM": None},
            "NOUVEAU-SRV": {"HKCU": None, "HKLM": "~ RUNASADMIN"},
        }
    )
    items = by_label(rights)
    assert items["SOINS1 — mode de compatibilité"]["status"] == "fail"
    assert items["NOUVEAU-SRV — mode de compatibilité"]["status"] == "ok"
    install = install_verdict(
        {
            "NOUVEAU-SRV": {"JulieExe": True, "Servcle": True, "Listen1947": True},
            "SOINS1": {"JulieExe": True, "Servcle": True, "Listen1947": True},
        },
        key_host="NOUVEAU-SRV",
    )
    assert [i["label"] for i in install["items"] if i["status"] == "fail"] == [
        "SOINS1 — serveur de clé"
    ]


def test_it_sends_the_network_script_and_judges_the_replayed_answer():
    recorded = load("network_bad.json")["NOUVEAU-SRV"]
    with WsmanEndpoint(lambda command: powershell_reply(recorded)) as endpoint:
        transport = endpoint.transport()
        data = transport.powershell(network.SCRIPT)
    assert endpoint.commands[0].powershell_job()["script"] == network.SCRIPT
    result = network.network_verdict({"NOUVEAU-SRV": data}, key_host="NOUVEAU-SRV")
    assert by_label(result)["NOUVEAU-SRV — bureau à distance"]["status"] == "fail"


def test_it_compares_every_post_with_the_site_workgroup_when_it_is_known():
    machines = load("network_good.json")
    first = next(iter(machines))
    result = network.network_verdict(machines, key_host=first, expected_group="AUTRE-GROUPE")
    groups = [i for i in result["items"] if i["label"].endswith("groupe de travail / domaine")]
    assert groups and all(i["status"] == "fail" for i in groups)
    assert "celui du site : AUTRE-GROUPE" in groups[0]["detail"]
