"""Building PowerShell invocations safely, and reading their results.

How a script runs on a Windows machine (any transport):
- the command line is fixed: `powershell.exe … -EncodedCommand <BOOTSTRAP>`; it never contains
  user input, and it stays far below cmd's 8 KB line limit whatever the script size;
- the script text, its parameters and its secrets travel on **stdin**, as one ASCII line
  (base64 of a JSON document), so no value is ever pasted into script text, nothing needs
  quoting, and secrets do not show in process command lines or WinRM command records;
- the bootstrap splats the parameters into the script, silences progress records, and prints
  one marker line with the result converted to JSON.
"""

from __future__ import annotations

import base64
import json
import re
import xml.etree.ElementTree as ET
from typing import Any

from julieops.remote.base import CommandResult, PowerShellError

RESULT_MARKER = "<<JULIEOPS-JSON>>"

# Every script we send opens with this comment naming it (`# julieops-script: windows.share`):
# field captures and the training practice's simulated posts tell scripts apart by that name,
# not by their text, which changes as the scripts are corrected.
SCRIPT_NAME = re.compile(r"\A\s*# julieops-script: ([a-z0-9_]+(?:\.[a-z0-9_]+)+)[ \t\r]*$", re.M)

BOOTSTRAP = r"""
$ProgressPreference = 'SilentlyContinue'
$ErrorActionPreference = 'Stop'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$job = [Text.Encoding]::UTF8.GetString([Convert]::FromBase64String([Console]::In.ReadLine())) |
    ConvertFrom-Json
$splat = @{}
foreach ($source in @($job.params, $job.secrets)) {
    if ($source) { foreach ($p in $source.PSObject.Properties) { $splat[$p.Name] = $p.Value } }
}
$body = [scriptblock]::Create($job.script)
$job = $null
try {
    $out = @{ ok = $true; result = (& $body @splat) }
    $code = 0
} catch {
    $where = "$($_.InvocationInfo.PositionMessage)"
    $out = @{ ok = $false; error = $_.Exception.Message; where = $where }
    $code = 1
}
$json = ConvertTo-Json -InputObject $out -Depth 8 -Compress
[Console]::Out.WriteLine('<<JULIEOPS-JSON>>' + $json)
exit $code
""".strip()

POWERSHELL_EXE = "powershell.exe"
POWERSHELL_ARGS = ["-NoLogo", "-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass"]


def script_name(script: str) -> str:
    """The name on a script's first line, or "" for a script that carries none."""
    found = SCRIPT_NAME.match(script)
    return found.group(1) if found else ""


def encode_command(script: str) -> str:
    """What `-EncodedCommand` expects: base64 of the UTF-16LE script text."""
    return base64.b64encode(script.encode("utf-16-le")).decode("ascii")


def decode_command(encoded: str) -> str:
    return base64.b64decode(encoded).decode("utf-16-le")


def bootstrap_argv() -> list[str]:
    """The fixed command line that runs a script received on stdin."""
    return [POWERSHELL_EXE, *POWERSHELL_ARGS, "-EncodedCommand", encode_command(BOOTSTRAP)]


def build_stdin(script: str, params: dict[str, Any] | None, secrets: dict | None = None) -> bytes:
    """One ASCII line: base64 of the JSON job (script, params, secrets)."""
    for name in [*(params or {}), *(secrets or {})]:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"nom de paramètre PowerShell invalide : {name!r}")
    job = {"script": script, "params": params or {}, "secrets": secrets or {}}
    text = json.dumps(job, ensure_ascii=False, default=str)
    return base64.b64encode(text.encode("utf-8")) + b"\r\n"


def decode_stdin(data: bytes) -> dict:
    """Inverse of build_stdin (used by tests and the WS-Man test endpoint)."""
    return json.loads(base64.b64decode(data.strip()).decode("utf-8"))


_CLIXML_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
_CLIXML_BLOCK = re.compile(r"<Objs\b.*?</Objs>", re.S)


def decode_clixml(text: str) -> str:
    """Turn PowerShell's serialized stderr (`#< CLIXML <Objs…>`) into plain error text.
    Progress records are dropped; text outside CLIXML blocks is kept as is."""
    if "#< CLIXML" not in text:
        return text
    pieces: list[str] = []
    position = 0
    for match in _CLIXML_BLOCK.finditer(text):
        before = text[position : match.start()].replace("#< CLIXML", "").strip()
        if before:
            pieces.append(before)
        position = match.end()
        try:
            # Our own command's stderr; the stdlib parser does not fetch external entities.
            root = ET.fromstring(match.group(0))  # noqa: S314
        except ET.ParseError:
            pieces.append(match.group(0))
            continue
        for element in root.iter():
            if element.tag.endswith("}S") and element.get("S") == "Error":
                value = _CLIXML_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), element.text or "")
                pieces.append(value)
    rest = text[position:].replace("#< CLIXML", "").strip()
    if rest:
        pieces.append(rest)
    return "".join(p if p.endswith("\n") else p + "\n" for p in pieces).strip()


def run_script(
    transport, script: str, params: dict[str, Any] | None = None, secrets: dict | None = None
) -> Any:
    """Run `script` through the fixed bootstrap on `transport` (any that reaches Windows) and
    return its value: what every transport's `powershell()` does."""
    result = transport.run(bootstrap_argv(), stdin=build_stdin(script, params, secrets))
    return parse_result(result)


def parse_result(result: CommandResult) -> Any:
    """The value the script returned, or PowerShellError with a French message."""
    for line in reversed(result.stdout.splitlines()):
        line = line.lstrip("\ufeff")
        if line.startswith(RESULT_MARKER):
            payload = json.loads(line[len(RESULT_MARKER) :])
            if payload.get("ok"):
                return payload.get("result")
            raise PowerShellError(
                f"Le script PowerShell a échoué : {payload.get('error')}",
                exit_code=result.exit_code,
                details=payload.get("where") or "",
            )
    errors = decode_clixml(result.stderr).strip()
    raise PowerShellError(
        "PowerShell n'a pas rendu de résultat (code de sortie "
        f"{result.exit_code}){' : ' + errors.splitlines()[0] if errors else ''}",
        exit_code=result.exit_code,
        details=errors,
    )
