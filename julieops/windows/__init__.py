"""What JulieOps checks and configures on the practice's Windows machines (Django-free).

Each module holds the PowerShell scripts one step sends (constants with a `param()` block; run
them with `transport.powershell(SCRIPT, params)`) and pure functions turning the parsed JSON of
each machine into a verdict (see `verdict.py`)."""
