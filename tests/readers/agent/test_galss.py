"""readers.agent.galss on real-shaped galss.ini files: serial PSS, PC/SC through GALSS, broken ones."""

from readers.agent.galss import find_galss_leftovers, is_known_galss_file, parse_galss

# Shape of the minimal serial PSS file of Ingenico Healthcare's TestMontant README, with
# Windows line endings, comments and mixed-case names as Windows tools write them.
PSS_SERIAL = """\
[PROTOCOLE0]
Config=1000,1,15000
TempoInit=1,200,1000
NomLib=PSSINW32.DLL

[CONFIG]
NbCanaux=1

[CANAL1]
TCanal=1
; Numéro du port COM à modifier en fonction de la configuration
Index=8
Protocole=0
Caracteristiques=9600,1,8,0,0
NbPAD=1

[Canal1.Pad1]
PAD=2
NbLAD=3

[CANAL1.PAD1.LAD1]
LAD=1
NomLAD=CPS
NbAlias=1
NomAlias1=TRANSPA1

[canal1.pad1.lad2]
lad=0
nomlad=Log_SV
NbAlias=0

[CANAL1.PAD1.LAD3]
LAD=2
NomLAD=Vitale
NbAlias=1
NomAlias1=TRANSPA2
""".replace("\n", "\r\n")

# PC/SC through GALSS, two channels (shape written by public galss "autofix" scripts).
PCSC_TWO_READERS = """\
[PROTOCOLE0]
Config=1000,20,15000
TempoInit=1,200,1000
NomLib=PSSINW64.DLL
[PROTOCOLE1]
Config=0
NomLib=PCSCW64.DLL
ListeCanaux=1,2
[CONFIG]
NbCanaux=2
[CANAL1]
TCanal=3
Index=1
Protocole=1
Caracteristiques=Lecteur Santé Cabinet Dupré 0
NbPAD=1
[CANAL1.PAD1]
PAD=0
NbLAD=1
[CANAL1.PAD1.LAD1]
LAD=1
NomLAD=CPS
NbAlias=1
NomAlias1=TRANSPA1
[CANAL2]
TCanal=3
Index=2
Protocole=1
Caracteristiques=Gemalto PC Twin Reader 00 00
NbPAD=1
[CANAL2.PAD1]
PAD=0
NbLAD=1
[CANAL2.PAD1.LAD1]
LAD=1
NomLAD=Vitale
NbAlias=1
NomAlias1=TRANSPA2
"""


def serial_channel(n: int, com: int, lad: str) -> str:
    return (
        f"[CANAL{n}]\nTCanal=1\nIndex={com}\nProtocole=0\nCaracteristiques=9600,1,8,0,0\n"
        f"NbPAD=1\n[CANAL{n}.PAD1]\nPAD=2\nNbLAD=1\n[CANAL{n}.PAD1.LAD1]\nLAD=1\n"
        f"NomLAD={lad}\nNbAlias=0\n"
    )


def test_it_reads_a_serial_pss_file_in_crlf(tmp_path):
    path = tmp_path / "galss.ini"
    path.write_bytes(PSS_SERIAL.encode("cp1252"))

    result = parse_galss(path).as_dict()

    assert result["mode"] == "pss"
    assert result["problems"] == []
    assert result["channels"] == [
        {
            "index": 1,
            "kind": "pss",
            "com_port": 8,
            "reader_name": None,
            "library": "PSSINW32.DLL",
            "lads": ["CPS", "Log_SV", "Vitale"],
        }
    ]


def test_it_reads_pcsc_through_galss_with_accented_reader_names_in_cp1252():
    result = parse_galss(PCSC_TWO_READERS.encode("cp1252")).as_dict()

    assert result["mode"] == "pcsc"
    assert result["problems"] == []
    assert [(c["index"], c["reader_name"], c["lads"]) for c in result["channels"]] == [
        (1, "Lecteur Santé Cabinet Dupré 0", ["CPS"]),
        (2, "Gemalto PC Twin Reader 00 00", ["Vitale"]),
    ]
    assert all(c["com_port"] is None and c["library"] == "PCSCW64.DLL" for c in result["channels"])


def test_it_decodes_utf8_latin1_and_cp1252_the_same_way():
    for data in (
        PCSC_TWO_READERS.encode("utf-8"),
        b"\xef\xbb\xbf" + PCSC_TWO_READERS.encode("utf-8"),
        PCSC_TWO_READERS.encode("latin-1"),
    ):
        channels = parse_galss(data).channels
        assert channels[0].reader_name == "Lecteur Santé Cabinet Dupré 0"
    # A byte undefined in cp1252 (0x81) still decodes, as Latin-1.
    odd = PCSC_TWO_READERS.replace("Dupré", "Dupr\x81").encode("latin-1")
    assert parse_galss(odd).channels[0].reader_name == "Lecteur Santé Cabinet Dupr\x81 0"


def test_it_flags_a_serial_reader_on_com10_or_above():
    text = (
        "[PROTOCOLE0]\nNomLib=PSSINW32.DLL\n[CONFIG]\nNbCanaux=2\n"
        + serial_channel(1, 3, "CPS")
        + serial_channel(2, 12, "Vitale")
    )

    result = parse_galss(text).as_dict()

    assert result["problems"] == ["com_above_9"]
    assert [c["com_port"] for c in result["channels"]] == [3, 12]
    assert "COM12" in result["messages"][0]["message"]
    assert "Canal 2" in result["messages"][0]["message"]


def test_it_flags_channels_announced_but_missing():
    text = "[PROTOCOLE0]\nNomLib=PSSINW32.DLL\n[CONFIG]\nNbCanaux=3\n" + serial_channel(1, 1, "CPS")

    result = parse_galss(text).as_dict()

    assert result["problems"] == ["missing_channel"]
    assert [m["message"] for m in result["messages"]] == [
        "[CONFIG] NbCanaux annonce 3 canal(aux) mais la section [CANAL2] est absente.",
        "[CONFIG] NbCanaux annonce 3 canal(aux) mais la section [CANAL3] est absente.",
    ]
    assert len(result["channels"]) == 1


def test_it_sees_mixed_mode_and_channels_beyond_nbcanaux():
    text = PCSC_TWO_READERS.replace("NbCanaux=2", "NbCanaux=3") + serial_channel(3, 4, "Vitale")
    assert parse_galss(text).mode == "mixed"

    extra = PCSC_TWO_READERS.replace("NbCanaux=2", "NbCanaux=1")
    result = parse_galss(extra).as_dict()
    assert result["problems"] == ["extra_channel"]
    assert [c["index"] for c in result["channels"]] == [1]


def test_it_reports_a_broken_file_with_codes():
    text = (
        "[PROTOCOLE0]\nConfig=1000,1,15000\n"  # no NomLib
        "[CANAL1]\nTCanal=1\nIndex=COM3\nProtocole=0\nNbPAD=1\n"
        "[CANAL1.PAD1]\nNbLAD=2\n"
        "[CANAL1.PAD1.LAD1]\nNomLAD=VitaleCabinet2\nNbAlias=0\n"
        "[CANAL2]\nTCanal=1\nIndex=3\nNbPAD=0\n"
        "[CANAL3]\nTCanal=7\nProtocole=4\n"
    )

    result = parse_galss(text).as_dict()

    assert result["mode"] == "pss"
    assert result["problems"] == [
        "missing_channel_count",
        "missing_library",
        "bad_com_port",
        "lad_name_too_long",
        "missing_lad",
        "missing_protocol",
        "no_lad",
        "unknown_protocol",
        "unknown_channel_type",
    ]


def test_it_flags_two_channels_on_one_com_port_and_no_channel_at_all():
    text = "[PROTOCOLE0]\nNomLib=PSSINW32.DLL\n[CONFIG]\nNbCanaux=2\n"
    text += serial_channel(1, 2, "CPS") + serial_channel(2, 2, "Vitale")
    assert parse_galss(text).as_dict()["problems"] == ["duplicate_com_port"]

    empty = parse_galss("[CONFIG]\r\nNbCanaux=0\r\n").as_dict()
    assert (empty["mode"], empty["problems"], empty["channels"]) == (None, ["no_channel"], [])


def test_it_lists_windows_ga_files_and_knows_galss_names(tmp_path):
    for name in ("galss.ini", "GALSVW32.EXE", "galclw32.dll", "gameconfig.txt", "win.ini"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "gadir").mkdir()

    assert find_galss_leftovers(tmp_path) == [
        "GALSVW32.EXE",
        "galclw32.dll",
        "galss.ini",
        "gameconfig.txt",
    ]
    assert find_galss_leftovers(tmp_path / "absent") == []
    assert is_known_galss_file("GALSVW64.EXE") and is_known_galss_file("galinw64.dll")
    assert not is_known_galss_file("gameconfig.txt")
