"""readers.agent.pcsc against a real pcscd with vsmartcard's two virtual readers and emulated cards."""

from smartcard.scard import (
    SCARD_PROTOCOL_T0,
    SCARD_PROTOCOL_T1,
    SCARD_S_SUCCESS,
    SCARD_SCOPE_USER,
    SCARD_SHARE_EXCLUSIVE,
    SCARD_UNPOWER_CARD,
    SCardConnect,
    SCardDisconnect,
    SCardEstablishContext,
    SCardReleaseContext,
)

from readers.agent import pcsc
from tests.readers.agent.conftest import CPS3, VITALE_1, VITALE_2
from tests.support.pcsc import READER_NAMES


def by_name(result: dict) -> dict:
    return {reader["name"]: reader for reader in result["readers"]}


def test_it_reads_a_vitale_and_a_cps_in_two_readers(pcscd):
    pcscd.insert_card(0, VITALE_2)
    pcscd.insert_card(1, CPS3)

    result = pcsc.scan()

    assert result["status"] == "ok"
    assert result["message"] == "2 lecteur(s) PC/SC détecté(s)."
    readers = by_name(result)
    assert list(readers) == list(READER_NAMES)
    vitale, cps = readers[READER_NAMES[0]], readers[READER_NAMES[1]]
    assert (vitale["atr"], vitale["card"], vitale["label"]) == (
        VITALE_2,
        "vitale",
        "Carte Vitale 2",
    )
    assert (cps["atr"], cps["card"], cps["label"]) == (CPS3, "cps", "CPS3")
    assert "present" in vitale["state"] and "empty" not in vitale["state"]
    # pcsc-tools' list is installed here: its description comes along as extra information.
    assert "Carte Vitale (HealthCare)" in vitale["descriptions"]


def test_it_reads_an_inverse_convention_vitale_1(pcscd):
    pcscd.insert_card(1, VITALE_1)

    readers = by_name(pcsc.scan(smartcard_list=None))

    assert readers[READER_NAMES[1]]["atr"] == VITALE_1
    assert readers[READER_NAMES[1]]["card"] == "vitale"
    assert readers[READER_NAMES[1]]["descriptions"] == []


def test_it_reports_empty_readers_without_a_card(pcscd):
    pcscd.insert_card(0, CPS3)

    readers = by_name(pcsc.scan())

    empty = readers[READER_NAMES[1]]
    assert empty["state"] == ["empty"]
    assert (empty["atr"], empty["card"], empty["label"]) == (None, None, None)
    assert readers[READER_NAMES[0]]["card"] == "cps"


def test_it_follows_a_card_being_removed(pcscd):
    pcscd.insert_card(0, VITALE_2)
    assert by_name(pcsc.scan())[READER_NAMES[0]]["card"] == "vitale"

    pcscd.remove_card(0)

    assert by_name(pcsc.scan())[READER_NAMES[0]]["atr"] is None


def test_it_reads_the_atr_while_another_program_holds_the_card(pcscd):
    pcscd.insert_card(0, VITALE_2)
    hr, context = SCardEstablishContext(SCARD_SCOPE_USER)
    assert hr == SCARD_S_SUCCESS
    hr, card, _protocol = SCardConnect(
        context, READER_NAMES[0], SCARD_SHARE_EXCLUSIVE, SCARD_PROTOCOL_T0 | SCARD_PROTOCOL_T1
    )
    assert hr == SCARD_S_SUCCESS
    try:
        reader = by_name(pcsc.scan())[READER_NAMES[0]]
    finally:
        SCardDisconnect(card, SCARD_UNPOWER_CARD)
        SCardReleaseContext(context)

    assert "exclusive" in reader["state"]
    assert reader["atr"] == VITALE_2
    assert reader["card"] == "vitale"


def test_it_reports_a_stopped_service_as_a_state(pcscd):
    pcscd.stop()

    result = pcsc.scan()

    assert result["status"] == "no_service"
    assert result["readers"] == []
    assert "0x8010001D" in result["message"]
    assert "Carte à puce" in result["message"]


def test_it_reports_no_reader_as_a_state(pcscd):
    pcscd.stop()
    pcscd.start(with_readers=False)

    result = pcsc.scan()

    assert result["status"] == "no_reader"
    assert result["readers"] == []
    assert result["message"].startswith("Aucun lecteur PC/SC détecté")


def test_it_recovers_when_the_service_comes_back(pcscd):
    pcscd.stop()
    assert pcsc.scan()["status"] == "no_service"

    pcscd.start()
    pcscd.insert_card(1, CPS3)

    assert by_name(pcsc.scan())[READER_NAMES[1]]["card"] == "cps"


def test_it_maps_windows_service_errors_to_states():
    # Windows only: the Smart Card service stops under a running context.
    assert pcsc._status_for(0x8010001E) == "service_stopped"
    assert pcsc._status_for(-2146435042) == "service_stopped"  # same code as a signed LONG
    assert pcsc._status_for(0x8010001D) == "no_service"
    assert pcsc._status_for(0x8010002E) == "no_reader"
    assert pcsc._status_for(0x80100013) == "error"
