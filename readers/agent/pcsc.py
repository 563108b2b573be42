"""List PC/SC readers and the ATR of the card in each, without taking the cards.

The only module that imports pyscard. It uses the raw `smartcard.scard` calls with a fresh
context per scan: `SCardGetStatusChange` returns each reader's ATR even while Julie or
SESAM-Vitale holds the card exclusively (a `connect()` would fail with a sharing violation),
and pyscard's global context is avoided, which on Windows goes stale once the Smart Card
service stops (it stops when the last reader is unplugged).
"""

from readers.agent.atr import classify_atr

OK = "ok"
NO_SERVICE = "no_service"
SERVICE_STOPPED = "service_stopped"
NO_READER = "no_reader"
UNAVAILABLE = "unavailable"  # pyscard missing on this machine
ERROR = "error"
STATUSES = (OK, NO_SERVICE, SERVICE_STOPPED, NO_READER, UNAVAILABLE, ERROR)

SCARD_E_NO_SERVICE = 0x8010001D
SCARD_E_SERVICE_STOPPED = 0x8010001E
SCARD_E_NO_READERS_AVAILABLE = 0x8010002E
SCARD_E_TIMEOUT = 0x8010000A
SCARD_E_UNKNOWN_READER = 0x80100009

MESSAGES = {
    OK: "{count} lecteur(s) PC/SC détecté(s).",
    NO_SERVICE: "Service PC/SC indisponible ({code}) : aucun lecteur branché, ou service "
    "« Carte à puce » (SCardSvr) arrêté. Sous Windows ce service s'arrête quand le dernier "
    "lecteur est débranché : brancher les lecteurs puis relancer l'analyse.",
    SERVICE_STOPPED: "Le service PC/SC s'est arrêté pendant l'analyse ({code}) : vérifier les "
    "lecteurs et le service « Carte à puce », puis relancer l'analyse.",
    NO_READER: "Aucun lecteur PC/SC détecté : vérifier que les lecteurs sont branchés et "
    "reconnus par Windows (Gestionnaire de périphériques → Lecteurs de cartes à puce).",
    UNAVAILABLE: "pyscard n'est pas installé : impossible d'interroger les lecteurs PC/SC "
    "(pip install pyscard).",
    ERROR: "Erreur PC/SC pendant l'analyse ({code}).",
}

# Reader state flags worth showing, in this order.
_FLAG_NAMES = (
    ("PRESENT", "present"),
    ("EMPTY", "empty"),
    ("EXCLUSIVE", "exclusive"),
    ("INUSE", "inuse"),
    ("MUTE", "mute"),
    ("UNAVAILABLE", "unavailable"),
    ("UNPOWERED", "unpowered"),
)


def hresult_text(hr: int) -> str:
    return f"0x{hr & 0xFFFFFFFF:08X}"


def _outcome(status: str, hr: int | None = None, readers: list | None = None) -> dict:
    code = hresult_text(hr) if hr is not None else ""
    readers = readers or []
    return {
        "status": status,
        "message": MESSAGES[status].format(code=code, count=len(readers)),
        "readers": readers,
    }


def _status_for(hr: int) -> str:
    hr &= 0xFFFFFFFF
    if hr == SCARD_E_NO_SERVICE:
        return NO_SERVICE
    if hr == SCARD_E_SERVICE_STOPPED:
        return SERVICE_STOPPED
    if hr == SCARD_E_NO_READERS_AVAILABLE:
        return NO_READER
    return ERROR


def scan(smartcard_list=True) -> dict:
    """Readers and cards: {"status", "message" (fr), "readers": [{"name", "state", "atr",
    "card", "label", "descriptions"}]}. `status` is one of STATUSES; never raises for PC/SC
    conditions. `smartcard_list` is passed to atr.classify_atr."""
    try:
        from smartcard import scard
    except ImportError:
        return _outcome(UNAVAILABLE)

    hr, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return _outcome(_status_for(hr), hr)
    try:
        # A reader unplugged between the two calls makes the status call fail: list again.
        for _attempt in range(3):
            hr, names = scard.SCardListReaders(context, [])
            if hr != scard.SCARD_S_SUCCESS:
                return _outcome(_status_for(hr), hr)
            if not names:
                return _outcome(NO_READER)
            hr, states = scard.SCardGetStatusChange(
                context, 0, [(name, scard.SCARD_STATE_UNAWARE) for name in names]
            )
            if hr & 0xFFFFFFFF != SCARD_E_UNKNOWN_READER:
                break
        if hr not in (scard.SCARD_S_SUCCESS, SCARD_E_TIMEOUT):
            return _outcome(_status_for(hr), hr)
        readers = [_reader(scard, name, flags, atr, smartcard_list) for name, flags, atr in states]
        return _outcome(OK, readers=readers)
    finally:
        scard.SCardReleaseContext(context)


def _reader(scard, name: str, flags: int, atr: list[int], smartcard_list) -> dict:
    state = [
        label for const, label in _FLAG_NAMES if flags & getattr(scard, f"SCARD_STATE_{const}")
    ]
    entry = {
        "name": name,
        "state": state,
        "atr": None,
        "card": None,
        "label": None,
        "descriptions": [],
    }
    if atr and flags & scard.SCARD_STATE_PRESENT:
        try:
            info = classify_atr(atr, smartcard_list=smartcard_list)
        except ValueError:
            entry["atr"] = bytes(atr).hex(" ").upper()[:98]
            entry["card"] = "unknown"
            entry["label"] = "ATR illisible"
        else:
            entry.update(info.as_dict())
    return entry
