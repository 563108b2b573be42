"""The training practice (« cabinet d'entraînement »): simulated Windows posts that answer the
real WinRM protocol on loopback, so every automated step of the catalogue can be played end to
end in the browser, the cut-over included. It lives with the demo and the tests: no module of
the product imports it (scripts/import-cycles), except the demo command that creates it.

What is simulated (`python -m training --state var/training serve`):
- five posts (old server, new server, secondary SMS post, reception with card readers,
  treatment room), each a WS-Management endpoint (`training.wsman`: WinRS Create, Command,
  Send, Receive, Signal, Delete) over HTTPS with its own self-signed certificate, on its own
  loopback address (127.0.0.11…15: the dashboard refuses a new server at the old server's
  address) and port, HTTP Basic with its own account;
- each post's state in one JSON file (`training.state`): firewall rules, shares with their
  paths and rights, NTFS rules set by the share script, Defender exclusions, services with
  their status and start type, running processes (Julie, w32mkde, Servcle, hasplms), `quser`
  text and Remote Desktop logons, compatibility layers, Julie's registry values, card readers;
- each post's drives as folders (`posts/<post>/C`, `posts/<post>/D`) holding trees made by the
  demo's generator (`julieops.julietree.generate`): the old server's Julie data under
  C:\\partage\\Juliew with its cone-beam images on D:\\IMAGERIE, the SMS post's Sms.db;
- one handler per script name (`training.scripts`), answering in the real script's JSON shape;
  an unknown name fails with « script inconnu du simulateur : <nom> »;
- robocopy: the scheduled task is a thread running our own mirror engine from the old
  server's folder (its `\\\\address\\C$` share, checked against the old server's password) to
  the new server's, writing a UTF-16 robocopy-shaped log (header, file lines, English summary)
  and the task's exit code file, which `robocopy.status` reads as on Windows.

How it differs from Windows:
- nothing runs PowerShell: a script's text is never executed, only its name and parameters
  are read, so a changed script whose name stays the same is answered with the old shape
  (the verdict tests on recorded outputs remain the check of the shapes);
- SMB is not simulated: the dashboard reads and writes a simulated post's files with the
  `files.*` scripts over WinRM, as it does a real WinRM post's, and only a mirror endpoint
  (the engine over SMB, unused when robocopy runs) takes the post's folder directly
  (`migrations_app.execution.machines`, keyed on `Machine.simulated`);
- no NTLM/Kerberos (Basic over HTTPS only); one workgroup; no reboot, no installer: the new
  server starts as Julie's installer leaves it (Julie.exe, key server running, data paths in
  the registry) since `install.server` is a manual step the simulator cannot watch;
- a field capture of a training job therefore holds what every step read; the runs whose
  inputs are not all kept (a file's content withheld, such as Sms.db or FSE files, or the
  post agent's reports) are named « non rejouée », the others replay to the same verdict
  (tests/training/test_training_job.py);
- a copy running when the simulator stops is lost (its exit code becomes 16), where a real
  scheduled task would go on;
- the practice user's own session (drive mappings, per-user flags, card readers) is not a
  WinRM matter: it reaches the dashboard through the post agent's report, which the training
  setup posts for the client posts like the agent would.
"""
