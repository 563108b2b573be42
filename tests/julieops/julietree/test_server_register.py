from julieops.julietree.server_register import parse_server_register, same_host


def test_it_parses_the_vendor_example_with_irregular_spacing():
    text = (
        "SMARTCONTACT      http://serveur:8097\n"
        "JULIEONSITE http://serveur:8095\n"
        "JULIEONLINESERVICE net.tcp://serveur:9001\n"
    )
    reg = parse_server_register(text)
    assert {k: (e.scheme, e.host, e.port) for k, e in reg.services.items()} == {
        "SMARTCONTACT": ("http", "serveur", 8097),
        "JULIEONSITE": ("http", "serveur", 8095),
        "JULIEONLINESERVICE": ("net.tcp", "serveur", 9001),
    }
    assert reg.unparsed == []


def test_it_tolerates_bom_crlf_tabs_case_and_blank_lines():
    data = (
        "\ufeffsmartContact\t\thttp://Cabinet-Srv:8097\r\n\r\n"
        "  julieonlineservice \t net.tcp://POSTE-ACCUEIL:9001  \r\n"
        "; commentaire\r\n"
    ).encode("utf-8")
    reg = parse_server_register(data)
    assert reg.host_of("SMARTCONTACT") == "Cabinet-Srv"
    assert reg.host_of("julieonlineservice") == "POSTE-ACCUEIL"
    assert reg.services["JULIEONLINESERVICE"].port == 9001
    assert reg.unparsed == []


def test_it_reads_ansi_bytes_and_keeps_lines_it_cannot_parse():
    data = "JULIEONSITE http://poste-émilie:8095\r\nn'importe quoi\r\nSMARTCONTACT=http://srv\r\n"
    reg = parse_server_register(data.encode("cp1252"))
    assert reg.host_of("JULIEONSITE") == "poste-émilie"
    assert reg.services["SMARTCONTACT"].port is None
    assert reg.unparsed == ["n'importe quoi"]


def test_it_compares_windows_host_names_case_insensitively():
    assert same_host("SERVEUR", "serveur")
    assert same_host("serveur.cabinet.local", "SERVEUR")
    assert not same_host("serveur.cabinet.local", "serveur.autre.local")
    assert not same_host("SERVEUR", "SERVEUR2")
    assert not same_host("192.168.1.10", "192")
    assert not same_host(None, "SERVEUR")
