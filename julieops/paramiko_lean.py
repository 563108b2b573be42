"""paramiko, imported without invoke.

paramiko.config imports invoke, for ssh_config's "Match exec" only: invoke alone (it pulls in
unittest.mock, asyncio and a YAML parser) is about half of paramiko's import, 85 ms of every
SFTP mirror's start on this workplace's machines (`bench/`: start-up). JulieOps never reads an
ssh_config, so invoke is refused while paramiko loads (paramiko.config keeps invoke = None, as
when it is not installed); a later `import invoke` works as usual. Import paramiko from here.
"""

import sys

if "paramiko" in sys.modules or "invoke" in sys.modules:
    import paramiko
else:
    sys.modules["invoke"] = None  # an ImportError for paramiko.config's `import invoke`
    try:
        import paramiko
    finally:
        if sys.modules.get("invoke", 0) is None:
            del sys.modules["invoke"]

__all__ = ["paramiko"]
