"""target.network: an unreadable quser is « à vérifier », a disconnected Remote Desktop session
on the key host is reported, "nobody logged on" is not an unreadable answer."""

import json
from pathlib import Path

from julieops.windows import network

FIXTURES = Path(__file__).parents[2] / "fixtures" / "windows"


def text(name):
    return (FIXTURES / name).read_text(encoding="utf-8")


def rdp(machines, key_host):
    result = network.network_verdict(machines, key_host=key_host)
    return {i["label"]: i for i in result["items"]}, result


def test_it_says_to_check_by_hand_when_quser_is_unreadable():
    recorded = json.loads(text("network_rdp_states.json"))
    name = "NOUVEAU-SRV-QUSER-ILLISIBLE"
    items, result = rdp({name: recorded[name]}, key_host=name)
    line = items[f"{name} — bureau à distance"]
    assert line["status"] == "warn"
    assert "illisible" in line["detail"] and "à vérifier" in line["detail"]
    assert result["status"] == "warn"


def test_it_accepts_quser_saying_nobody_is_logged_on_in_english_and_french():
    for fixture in ("quser_no_user_en.txt", "quser_no_user_fr.txt"):
        assert network.quser_readable(text(fixture))
        assert network.parse_quser(text(fixture)) == []
        machine = {"Quser": text(fixture), "RemoteLogons": []}
        items, _ = rdp({"SRV": machine}, key_host="SRV")
        assert items["SRV — bureau à distance"]["status"] == "ok"
    assert not network.quser_readable(text("quser_not_found_fr.txt"))
    assert not network.quser_readable("")


def test_it_reports_a_disconnected_remote_desktop_session_on_the_key_host():
    recorded = json.loads(text("network_rdp_states.json"))
    items, _ = rdp({"NOUVEAU-SRV": recorded["NOUVEAU-SRV"]}, key_host="NOUVEAU-SRV")
    line = items["NOUVEAU-SRV — bureau à distance"]
    assert line["status"] == "warn"
    assert "déconnectée (technicien)" in line["detail"] and "clé HASP" in line["detail"]


def test_it_keeps_a_disconnected_console_session_ok_and_an_unknown_one_to_check():
    console = {"Quser": text("quser_en.txt"), "RemoteLogons": []}
    items, _ = rdp({"SRV": console}, key_host="SRV")
    assert items["SRV — bureau à distance"]["status"] == "ok"
    unknown = {"Quser": text("quser_en.txt")}  # logon sessions not read
    items, _ = rdp({"SRV": unknown}, key_host="SRV")
    assert items["SRV — bureau à distance"]["status"] == "warn"


def test_it_reads_every_share_and_says_to_check_when_the_list_is_missing():
    from julieops.windows import share

    ok = json.loads(text("share_fr_ok.json"))
    assert share.share_verdict(ok)["status"] == "ok"
    datas = share.share_verdict(json.loads(text("share_datas_only.json")))
    assert datas["status"] == "fail"
    unread = share.share_verdict({**ok, "Shares": None})
    assert unread["status"] == "warn"
    assert "non lue" in {i["label"]: i for i in unread["items"]}["Liste des partages"]["detail"]


def test_it_takes_the_key_host_s_workgroup_when_two_posts_disagree_whatever_the_hash_seed():
    """Found by replaying a field capture: with one post in each group, the reference was a
    set's first element, so the verdict changed from one process to the next."""
    import subprocess
    import sys

    code = (
        "from julieops.windows import network\n"
        "m = {'SRV': {'ComputerSystem': {'Workgroup': 'CABINET'}},"
        " 'ACCUEIL': {'ComputerSystem': {'Workgroup': 'WORKGROUP'}}}\n"
        "r = network.network_verdict(m, key_host='SRV')\n"
        "print(sorted((i['label'], i['status']) for i in r['items'] if 'groupe' in i['label']))\n"
    )
    seen = set()
    for seed in ("1", "2", "3", "4", "5", "6"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed, "PATH": "/usr/bin:/bin"},
            cwd=Path(__file__).parents[3],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        seen.add(out)
    assert seen == {
        "[('ACCUEIL — groupe de travail / domaine', 'fail'), "
        "('SRV — groupe de travail / domaine', 'ok')]\n"
    }
