import base64
from pathlib import Path

from julieops.windows import robocopy_job
from tests.support.wsman import WsmanEndpoint, powershell_reply

LOG = Path(__file__).parents[2] / "fixtures" / "windows" / "robocopy" / "robocopy_fr_unilog.log"


def test_it_starts_robocopy_detached_and_follows_its_unicode_log():
    secret = "Ancien-Srv-Pw-42"
    data = LOG.read_bytes()
    halves = [data[:1001], data[1001:]]  # odd split: a UTF-16 unit straddles two polls
    state = {"polls": 0}

    def respond(command):
        job = command.powershell_job()
        if job["script"] == robocopy_job.START_SCRIPT:
            return powershell_reply({"ExitFile": r"C:\ProgramData\JulieOps\jobs\x.exit"})
        offset = job["params"]["Offset"]
        state["polls"] += 1
        done = offset >= 1000
        chunk = data[offset:] if done else halves[0][offset:]
        return powershell_reply(
            {
                "State": "Ready" if done else "Running",
                "ExitCode": 3 if done else None,
                "Chunk": base64.b64encode(chunk).decode(),
                "Size": len(data),
            }
        )

    lines = []
    with WsmanEndpoint(respond) as endpoint:
        transport = endpoint.transport()
        handle = robocopy_job.start(
            transport,
            r"\\ANCIEN-SRV\partage\Juliew",
            r"C:\partage\Juliew",
            share_root=r"\\ANCIEN-SRV\partage",
            username=r"ANCIEN-SRV\julie",
            password=secret,
        )
        result = robocopy_job.follow(transport, handle, on_line=lines.append, poll_seconds=0)
    start = endpoint.commands[0].powershell_job()
    assert start["secrets"] == {"Password": secret}
    assert secret not in start["script"] and secret not in str(start["params"])
    arguments = start["params"]["Arguments"]
    assert arguments[:2] == [r"\\ANCIEN-SRV\partage\Juliew", r"C:\partage\Juliew"]
    assert {"/MIR", "/COPY:DAT", "/DCOPY:T", "/XJ", "/R:2", "/W:5", "/NP", "/BYTES"} <= set(
        arguments
    )
    assert arguments[-1] == rf"/UNILOG+:{handle['log']}"
    for body in endpoint.bodies:
        assert secret.encode() not in body
    assert state["polls"] == 2
    assert result["exit_code"] == 3 and result["success"]
    assert result["summary"]["files"]["copied"] == 1
    assert any("Nouveau fichier" in line for line in lines)
