# ruff: noqa: E501 - PowerShell script text is kept on readable lines
"""`data.mirror` with the real robocopy.exe, run on the target through WinRM.

The copy can last hours, longer than a WinRS shell lives, so it runs in a scheduled task. The
source share is mapped inside the task with the source machine's credential (the double hop:
the WinRM logon cannot reach another machine by itself). The password travels on stdin of the
WinRM call (never in a command line or script text) into a file readable by SYSTEM only, which
the task reads and deletes before mapping the share.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

from julieops.mirror.robocopy import decode_log, exit_code_meaning, is_success, parse_summary

JOB_DIR = r"C:\ProgramData\JulieOps\jobs"


def robocopy_arguments(
    source: str, target: str, log: str, threads: int = 8, exclude_files: list[str] = ()
) -> list[str]:
    """exclude_files: files never carried (`/XF`, full source paths or names); robocopy leaves
    their destination namesakes alone too."""
    excluded = ["/XF", *exclude_files] if exclude_files else []
    return [
        source,
        target,
        "/MIR",
        "/COPY:DAT",
        "/DCOPY:T",
        "/XJ",
        "/R:2",
        "/W:5",
        f"/MT:{int(threads)}",
        "/NP",
        "/BYTES",
        f"/UNILOG+:{log}",
        *excluded,
    ]


# Runs inside the task (as SYSTEM): map the source, run robocopy, record its exit code.
TASK_SCRIPT = r"""
# julieops-script: robocopy.task
param([string]$Config)
$job = Get-Content -LiteralPath $Config -Raw | ConvertFrom-Json
$secret = Get-Content -LiteralPath $job.SecretFile -Raw
Remove-Item -LiteralPath $job.SecretFile -Force
if ($job.ShareRoot) {
    New-SmbMapping -RemotePath $job.ShareRoot -UserName $job.UserName -Password $secret | Out-Null
}
$secret = $null
& robocopy.exe @($job.Arguments)
$code = $LASTEXITCODE
if ($job.ShareRoot) { Remove-SmbMapping -RemotePath $job.ShareRoot -Force }
Set-Content -LiteralPath $job.ExitFile -Value $code
exit $code
"""

# Sent over WinRM: write the task script, its config and the secret file (SYSTEM-only ACL),
# then register and start the task.
START_SCRIPT = r"""
# julieops-script: robocopy.start
param([string]$JobDir, [string]$TaskName, [string]$TaskScript, [string]$ShareRoot,
      [string]$UserName, [string[]]$Arguments, [string]$Password)
New-Item -ItemType Directory -Force -Path $JobDir | Out-Null
$acl = New-Object System.Security.AccessControl.DirectorySecurity
$acl.SetAccessRuleProtection($true, $false)
foreach ($sid in 'S-1-5-18', 'S-1-5-32-544') {
    $acl.AddAccessRule((New-Object System.Security.AccessControl.FileSystemAccessRule(
        (New-Object System.Security.Principal.SecurityIdentifier($sid)), 'FullControl',
        'ContainerInherit,ObjectInherit', 'None', 'Allow')))
}
Set-Acl -LiteralPath $JobDir -AclObject $acl
$scriptFile = Join-Path $JobDir "$TaskName.ps1"
$config = Join-Path $JobDir "$TaskName.json"
$secretFile = Join-Path $JobDir "$TaskName.secret"
$exitFile = Join-Path $JobDir "$TaskName.exit"
Set-Content -LiteralPath $scriptFile -Value $TaskScript -Encoding UTF8
[IO.File]::WriteAllText($secretFile, $Password)
@{ SecretFile = $secretFile; ShareRoot = $ShareRoot; UserName = $UserName; Arguments = $Arguments
   ExitFile = $exitFile } | ConvertTo-Json | Set-Content -LiteralPath $config -Encoding UTF8
$action = New-ScheduledTaskAction -Execute 'powershell.exe' -Argument ("-NoProfile -NonInteractive " +
    "-ExecutionPolicy Bypass -File `"$scriptFile`" -Config `"$config`"")
$principal = New-ScheduledTaskPrincipal -UserId 'S-1-5-18' -LogonType ServiceAccount -RunLevel Highest
$settings = New-ScheduledTaskSettingsSet -ExecutionTimeLimit (New-TimeSpan -Hours 24) -AllowStartIfOnBatteries
Register-ScheduledTask -TaskName $TaskName -TaskPath '\JulieOps\' -Action $action -Principal $principal `
    -Settings $settings -Force | Out-Null
Start-ScheduledTask -TaskName $TaskName -TaskPath '\JulieOps\'
@{ ExitFile = $exitFile }
"""

STATUS_SCRIPT = r"""
# julieops-script: robocopy.status
param([string]$TaskName, [string]$ExitFile, [string]$Log, [long]$Offset)
$task = Get-ScheduledTask -TaskName $TaskName -TaskPath '\JulieOps\' -ErrorAction SilentlyContinue
$text = ''
$size = 0
if (Test-Path -LiteralPath $Log) {
    $stream = [IO.File]::Open($Log, 'Open', 'Read', 'ReadWrite')
    try {
        $size = $stream.Length
        $stream.Position = [Math]::Min($Offset, $size)
        $buffer = New-Object byte[] ($size - $stream.Position)
        [void]$stream.Read($buffer, 0, $buffer.Length)
        $text = [Convert]::ToBase64String($buffer)
    } finally { $stream.Dispose() }
}
@{
    State = if ($task) { $task.State.ToString() } else { 'Missing' }
    ExitCode = if (Test-Path -LiteralPath $ExitFile) { [int](Get-Content -LiteralPath $ExitFile -Raw) } else { $null }
    Chunk = $text
    Size = $size
}
"""

STOP_SCRIPT = r"""
# julieops-script: robocopy.stop
param([string]$TaskName)
Stop-ScheduledTask -TaskName $TaskName -TaskPath '\JulieOps\' -ErrorAction SilentlyContinue
Get-CimInstance Win32_Process -Filter "Name='robocopy.exe'" | Where-Object {
    $_.CommandLine -like "*$TaskName*" } | ForEach-Object { Stop-Process -Id $_.ProcessId -Force }
Unregister-ScheduledTask -TaskName $TaskName -TaskPath '\JulieOps\' -Confirm:$false -ErrorAction SilentlyContinue
$null
"""


def start(
    transport,
    source: str,
    target: str,
    *,
    share_root: str,
    username: str,
    password: str,
    threads: int = 8,
    exclude_files: list[str] = (),
) -> dict:
    """Start the detached copy; returns the job's handle (task name, log path, exit file)."""
    task = f"mirror-{uuid.uuid4().hex[:12]}"
    log = rf"{JOB_DIR}\{task}.log"
    started = transport.powershell(
        START_SCRIPT,
        {
            "JobDir": JOB_DIR,
            "TaskName": task,
            "TaskScript": TASK_SCRIPT,
            "ShareRoot": share_root,
            "UserName": username,
            "Arguments": robocopy_arguments(source, target, log, threads, list(exclude_files)),
        },
        secrets={"Password": password},
    )
    return {"task": task, "log": log, "exit_file": started["ExitFile"]}


def follow(
    transport,
    handle: dict,
    *,
    on_line: Callable[[str], None] | None = None,
    cancel: Callable[[], bool] | None = None,
    poll_seconds: float = 5.0,
) -> dict:
    """Follow the UTF-16 log until the task ends; returns exit code, meaning and summary."""
    import base64

    offset, raw = 0, b""
    pending = ""
    while True:
        if cancel is not None and cancel():
            transport.powershell(STOP_SCRIPT, {"TaskName": handle["task"]})
            raise InterruptedError("Copie robocopy annulée.")
        status = transport.powershell(
            STATUS_SCRIPT,
            {
                "TaskName": handle["task"],
                "ExitFile": handle["exit_file"],
                "Log": handle["log"],
                "Offset": offset,
            },
        )
        chunk = base64.b64decode(status.get("Chunk") or "")
        usable = len(chunk) - (len(chunk) % 2)  # never split a UTF-16 code unit
        raw += chunk[:usable]
        offset += usable
        if on_line is not None and usable:
            pending += chunk[:usable].decode("utf-16-le", errors="replace").lstrip("\ufeff")
            *lines, pending = pending.split("\n")
            for line in lines:
                on_line(line.rstrip("\r"))
        if status.get("ExitCode") is not None and status.get("State") != "Running":
            break
        time.sleep(poll_seconds)
    code = int(status["ExitCode"])
    try:
        summary = parse_summary(raw)
    except ValueError:
        summary = None
    return {
        "exit_code": code,
        "success": is_success(code),
        "meaning": exit_code_meaning(code),
        "summary": summary,
        "log": decode_log(raw),
    }
