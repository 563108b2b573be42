"""The suite's WS-Management endpoint: it lives in `training.wsman` (the training practice's
simulator serves the same protocol); re-exported here so the tests keep importing it from here."""

from training.wsman import (  # noqa: F401
    FAULT,
    NS,
    OPERATION_TIMEOUT,
    SHELL,
    ReceivedCommand,
    Reply,
    Responder,
    WsmanEndpoint,
    powershell_failure,
    powershell_reply,
    self_signed_certificate,
    stream_reply,
)
