import base64

import pytest

from julieops.remote import (
    AuthenticationFailed,
    CommandCancelled,
    ConnectionFailed,
    HostKeyChanged,
    HostKeyUnconfirmed,
    PowerShellError,
    RemoteError,
    open_transport,
)
from julieops.remote.hostkeys import certificate_fingerprint, fetch_certificate_fingerprint
from julieops.remote.powershell import BOOTSTRAP, decode_command
from julieops.remote.winrm import WinRMTransport
from tests.support.sshd import free_port
from tests.support.wsman import (
    Reply,
    WsmanEndpoint,
    powershell_reply,
    self_signed_certificate,
    stream_reply,
)


def test_it_streams_output_across_operation_timeouts_with_utf8_codepage():
    reply = Reply(
        [("stdout", "Démarrage\r\nligne ".encode()), ("stdout", b"2\r\n"), ("stderr", b"warn\r\n")],
        exit_code=3,
        timeouts_first=2,
    )
    seen = []
    with WsmanEndpoint(lambda command: reply) as endpoint:
        result = endpoint.transport().run(
            ["robocopy", r"\\ANCIEN-SRV\partage\Juliew", r"D:\Julie data", "/MIR"],
            on_line=lambda stream, line: seen.append((stream, line)),
        )
    assert result.exit_code == 3
    assert result.stdout == "Démarrage\r\nligne 2\r\n"
    assert seen == [("stdout", "Démarrage"), ("stdout", "ligne 2"), ("stderr", "warn")]
    (command,) = endpoint.commands
    assert command.codepage == "65001"
    assert command.command_line == r'robocopy \\ANCIEN-SRV\partage\Juliew "D:\Julie data" /MIR'
    assert endpoint.deleted_shells == [command.shell_id]


def test_it_sends_powershell_through_a_fixed_encoded_bootstrap_and_stdin():
    secret = "S3cret-Share-Pw"
    with WsmanEndpoint(lambda command: powershell_reply({"Name": "NOUVEAU-SRV"})) as endpoint:
        value = endpoint.transport().powershell(
            "param([string]$Path) Get-Item -LiteralPath $Path",
            {"Path": "C:\\partage\\Juliew'; Remove-Item C:\\ -Recurse; '"},
            secrets={"Password": secret},
        )
    assert value == {"Name": "NOUVEAU-SRV"}
    (command,) = endpoint.commands
    words = command.command_line.split()
    assert words[0] == "powershell.exe" and words[-2] == "-EncodedCommand"
    assert decode_command(words[-1]) == BOOTSTRAP
    assert len(command.command_line) < 8191  # cmd.exe's line limit
    assert command.options["WINRS_CONSOLEMODE_STDIN"] == "FALSE"
    job = command.powershell_job()
    assert job["script"] == "param([string]$Path) Get-Item -LiteralPath $Path"
    assert job["params"]["Path"].endswith("-Recurse; '")
    assert job["secrets"] == {"Password": secret}
    assert command.stdin_closed
    for body in endpoint.bodies:
        assert secret.encode() not in body


def test_it_decodes_clixml_errors_when_powershell_gives_no_result():
    stderr = (
        '#< CLIXML\r\n<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">'
        '<Obj S="progress" RefId="0"><TN RefId="0"><T>System.Management.Automation.PSCustomObject'
        '</T><T>System.Object</T></TN><MS><I64 N="SourceId">1</I64><PR N="Record"><AV>Preparing'
        " modules for first use.</AV><AI>0</AI><Nil /><PI>-1</PI><PC>-1</PC><T>Completed</T>"
        '<SR>-1</SR><SD> </SD></PR></MS></Obj><S S="Error">Le terme « Get-SmbShare » n\'est pas '
        "reconnu comme nom d'applet de commande._x000D__x000A_</S></Objs>"
    ).encode()
    with (
        WsmanEndpoint(lambda c: Reply([("stderr", stderr)], exit_code=1)) as endpoint,
        pytest.raises(PowerShellError) as caught,
    ):
        endpoint.transport().powershell("Get-SmbShare")
    assert "Get-SmbShare » n'est pas reconnu" in str(caught.value)
    assert "Preparing modules" not in caught.value.details


def test_it_kills_the_remote_tree_on_cancel():
    polls = []

    def cancel():
        polls.append(1)
        return len(polls) > 2

    with (
        WsmanEndpoint(lambda c: Reply(endless=True)) as endpoint,
        pytest.raises(CommandCancelled),
    ):
        endpoint.transport().run(["robocopy.exe", "C:\\a", "D:\\b"], cancel=cancel)
    (command,) = endpoint.commands
    assert command.signals == ["ctrl_c", "terminate"]
    assert endpoint.deleted_shells == [command.shell_id]


def test_it_refuses_unencrypted_http_unless_explicitly_allowed():
    with pytest.raises(RemoteError, match="en clair"):
        WinRMTransport("srv", None, "u", "p", scheme="http", auth="basic")
    with pytest.raises(RemoteError, match="sans chiffrement"):
        WinRMTransport(
            "srv", None, "u", "p", scheme="http", auth="ntlm", message_encryption="never"
        )
    ntlm = WinRMTransport("srv", None, "u", "p", scheme="http", auth="ntlm")
    assert (ntlm.port, ntlm.message_encryption) == (5985, "always")
    assert WinRMTransport("srv", None, "u", "p").endpoint == "https://srv:5986/wsman"


def test_it_reports_rejected_credentials_without_the_password():
    secret = "Wr0ng-Secret-xyz"
    with WsmanEndpoint(lambda c: Reply()) as endpoint:
        transport = endpoint.transport(password=secret)
        with pytest.raises(AuthenticationFailed) as caught:
            transport.run(["hostname"])
    assert secret not in str(caught.value) and secret not in repr(transport)


def test_it_fails_clearly_when_nobody_listens():
    transport = open_transport(
        "winrm",
        "127.0.0.1",
        free_port(),
        "u",
        "secret-pw",
        scheme="http",
        auth="basic",
        allow_unencrypted_http=True,
        retries=0,
        operation_timeout=1,
        read_timeout=2,
    )
    with pytest.raises(ConnectionFailed, match="injoignable") as caught:
        transport.run(["hostname"])
    assert "secret-pw" not in str(caught.value)


@pytest.fixture
def tls_endpoint(tmp_path):
    certfile, keyfile, der = self_signed_certificate(tmp_path)
    with WsmanEndpoint(
        lambda c: stream_reply(b"NOUVEAU-SRV\r\n"), certfile=certfile, keyfile=keyfile
    ) as endpoint:
        endpoint.certfile = certfile
        endpoint.fingerprint = certificate_fingerprint(der)
        yield endpoint


def https(endpoint, **options):
    return endpoint.transport(retries=0, **options)


def test_it_accepts_https_with_the_pinned_certificate_fingerprint(tls_endpoint):
    assert fetch_certificate_fingerprint("127.0.0.1", tls_endpoint.port) == tls_endpoint.fingerprint
    transport = https(tls_endpoint, pinned_fingerprint=tls_endpoint.fingerprint.lower())
    assert transport.run(["hostname"]).stdout == "NOUVEAU-SRV\r\n"


def test_it_refuses_https_with_another_certificate(tls_endpoint):
    other = "AB:" * 31 + "CD"
    with pytest.raises(HostKeyChanged) as caught:
        https(tls_endpoint, pinned_fingerprint=other).run(["hostname"])
    assert caught.value.observed_fingerprint == tls_endpoint.fingerprint
    assert tls_endpoint.commands == []


def test_it_refuses_an_unknown_certificate_and_shows_its_fingerprint(tls_endpoint):
    with pytest.raises(HostKeyUnconfirmed) as caught:
        https(tls_endpoint).run(["hostname"])
    assert caught.value.observed_fingerprint == tls_endpoint.fingerprint


def test_it_validates_https_against_a_given_ca(tls_endpoint):
    transport = https(tls_endpoint, ca_trust_path=str(tls_endpoint.certfile))
    assert transport.run(["hostname"]).exit_code == 0


def test_it_writes_files_in_chunks_then_renames(monkeypatch):
    calls = []
    with WsmanEndpoint(
        lambda c: calls.append(c.powershell_job()) or powershell_reply(None)
    ) as endpoint:
        transport = endpoint.transport()
        data = bytes(range(256)) * 4000  # 1 MB: two chunks
        transport.write_file(r"C:\partage\Juliew\Datas\server.register", data)
    appends = [c for c in calls if "FileMode" in c["script"]]
    assert [c["params"]["First"] for c in appends] == [True, False]
    assert b"".join(base64.b64decode(c["params"]["Data"]) for c in appends) == data
    temp = appends[0]["params"]["Path"]
    assert temp.startswith("C:\\partage\\Juliew\\Datas\\server.register.julieops-")
    assert calls[-1]["params"] == {"Temp": temp, "Path": r"C:\partage\Juliew\Datas\server.register"}


def test_it_says_the_connection_was_refused_on_https_not_a_host_key_problem():
    """Nobody listens on 5986-like port: the error names the refusal (the connection test and
    the steps then agree), never an unconfirmed certificate."""
    transport = open_transport(
        "winrm", "127.0.0.1", free_port(), "u", "secret-pw", scheme="https", auth="basic",
        retries=0, operation_timeout=1, read_timeout=2,
    )  # fmt: skip
    with pytest.raises(ConnectionFailed) as caught:
        transport.run(["hostname"])
    message = str(caught.value)
    assert "connexion refusée" in message, message
    assert "certificat" not in message.split("(")[0] and "empreinte" not in message
    assert "secret-pw" not in message


def test_it_names_the_refusal_over_http_too():
    transport = open_transport(
        "winrm", "127.0.0.1", free_port(), "u", "pw", scheme="http", auth="basic",
        allow_unencrypted_http=True, retries=0, operation_timeout=1, read_timeout=2,
    )  # fmt: skip
    with pytest.raises(ConnectionFailed, match="connexion refusée"):
        transport.run(["hostname"])
