"""readers.agent.atr: Vitale/CPS classification, spellings, look-alikes, smartcard_list lookups."""

import pytest

from readers.agent.atr import classify_atr, normalize_atr

KNOWN = [
    # Vitale 1 (inverse convention, Bull CP8 mask)
    ("3F 65 25 00 22 09 F9 90 00", "vitale", "Carte Vitale 1"),
    ("3F 65 25 00 2C 09 69 90 00", "vitale", "Carte Vitale 1"),
    ("3F 65 25 00 52 09 6A 90 00", "vitale", "Carte Vitale 1"),
    ("3F 65 25 00 A3 09 6A 90 00", "vitale", "Carte Vitale 1"),
    ("3F 65 25 00 A4 09 6A 90 00", "vitale", "Carte Vitale 1"),
    # Vitale 2, including the two entries a keyword grep misses
    ("3B 75 13 00 00 43 09 EA 90 00", "vitale", "Carte Vitale 2"),
    ("3B 75 13 00 00 45 09 FA 90 00", "vitale", "Carte Vitale 2"),
    ("3B 75 13 00 00 46 09 EA 90 00", "vitale", "Carte Vitale 2"),
    ("3B 75 13 00 00 49 09 EA 90 00", "vitale", "Carte Vitale 2"),
    # A later batch: only the sixth byte moves
    ("3B 75 13 00 00 4B 09 EA 90 00", "vitale", "Carte Vitale 2"),
    # CPS family
    ("3B AC 00 40 2A 00 12 25 00 64 80 00 03 10 00 90 00", "cps", "CPS3"),
    ("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 82 90 00 0E", "cps", "CPS3 sans contact"),
    ("3B 9B 18 80 01 00 12 25 00 64 80 04 01 00 00 90 44", "cps", "CPS4"),
    ("3B 9B 18 80 01 00 12 25 00 64 80 00 04 01 00 90 44", "cps", "CPS4"),
    ("3B DC 18 FF 00 00 12 25 00 64 80 00 04 01 00 90 00", "cps", "CPS4"),
]

LOOK_ALIKES = [
    "3F 65 25 00 24 09 6B 90 00",  # Postgirot bank ID card
    "3F 65 25 00 24 09 6E 90 00",  # Pochtovyj Bank
    "3F 65 25 00 2B 09 69 90 00",  # St. John's parking card
    "3F 65 25 00 2B 09 EB 90 00",  # Bull Scot 5
    "3F 65 25 08 22 04 68 90 00",  # France Telecom
    "3F 65 25 00 53 43 68 90 00",  # pay-TV pirate card
    "3B 75 13 00 00 9C 02 02 01 02",  # Cyberflex Access 32k v2
    "3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 FF FF FF E3",  # hospital badge
    "3B 67 00 00 2D 20 16 01 78 90 00",  # CNAMTS SSO card
    "3B 02 14 50",  # Schlumberger Multiflex
]


@pytest.mark.parametrize(("atr", "card", "label"), KNOWN)
def test_it_classifies_known_vitale_and_cps_atrs(atr, card, label):
    info = classify_atr(atr, smartcard_list=None)
    assert (info.atr, info.card, info.label) == (atr, card, label)


def test_it_labels_the_unnamed_cps_generation_and_future_ones():
    assert classify_atr("3B AC 00 40 2A 00 12 25 00 64 80 82 02 12 00 90 00").label.startswith(
        "CPS (génération non précisée"
    )
    # Invented: same CPS historical bytes, new interface bytes and tail.
    future = classify_atr("3B 9C 18 80 01 00 12 25 00 64 80 00 05 01 00 90 45", None)
    assert (future.card, future.label) == ("cps", "CPS (génération non reconnue)")


@pytest.mark.parametrize("atr", LOOK_ALIKES)
def test_it_does_not_mistake_look_alikes_for_vitale_or_cps(atr):
    assert classify_atr(atr, smartcard_list=None).card == "unknown"


def test_it_names_the_bull_cp8_family_and_the_hospital_badge():
    bank = classify_atr("3F 65 25 00 24 09 6B 90 00", smartcard_list=None)
    assert "Bull CP8" in bank.label and "pas une carte Vitale" in bank.label
    badge = classify_atr("3B 8F 80 01 00 31 B8 64 04 B0 EC C1 73 94 01 80 FF FF FF E3", None)
    assert "hospitalier" in badge.label


@pytest.mark.parametrize(
    "spelling",
    [
        "3b751300004709ea9000",
        "3B 75 13 00 00 47 09 EA 90 00",
        "  3b 75 13 00 00 47 09 ea 90 00\n",
        "3B:75:13:00:00:47:09:EA:90:00",
        "0x3B 0x75 0x13 0x00 0x00 0x47 0x09 0xEA 0x90 0x00",
        bytes.fromhex("3B751300004709EA9000"),
        [0x3B, 0x75, 0x13, 0x00, 0x00, 0x47, 0x09, 0xEA, 0x90, 0x00],
    ],
)
def test_it_accepts_any_spelling_of_an_atr(spelling):
    info = classify_atr(spelling, smartcard_list=None)
    assert info.atr == "3B 75 13 00 00 47 09 EA 90 00"
    assert info.card == "vitale"


@pytest.mark.parametrize("bad", ["", "3B 7", "3G 75", "3B", "00 " * 34, [300, 1]])
def test_it_rejects_what_is_not_an_atr(bad):
    with pytest.raises(ValueError, match="ATR invalide"):
        normalize_atr(bad)


def test_it_adds_descriptions_from_a_smartcard_list_file(tmp_path):
    listing = tmp_path / "smartcard_list.txt"
    listing.write_text(
        "# comment\n"
        "3B 75 13 00 00 4[0-9] 09 EA 90 00\n"
        "\tFirst description\n"
        "\thttps://example.invalid/first\n"
        "\n"
        "3B 75 13 .. .. 47 09 EA 90 00\n"
        "\tSecond description\n"
        "\n"
        "3B ( 75\n"  # an entry that is not a valid regex is skipped
        "\tBroken\n"
        "\n"
        "3B 02 14 50\n"
        "\tOther card\n"
    )

    info = classify_atr("3b751300004709ea9000", smartcard_list=listing)

    assert info.card == "vitale"  # the list never decides the classification
    assert info.descriptions == [
        "First description",
        "https://example.invalid/first",
        "Second description",
    ]
    assert classify_atr("3B 02 14 50", smartcard_list=listing).descriptions == ["Other card"]
    assert classify_atr("3B 02 14 51", smartcard_list=listing).descriptions == []
    assert classify_atr("3B 02 14 50", smartcard_list=tmp_path / "missing.txt").descriptions == []


def test_it_reads_the_system_pcsc_tools_list_at_run_time():
    # pcsc-tools is a test package of this project (scripts/bootstrap.sh).
    info = classify_atr("3F 65 25 00 2C 09 69 90 00")
    assert "Sesam Vitale (French health card)" in info.descriptions
    assert info.as_dict()["descriptions"] == info.descriptions
