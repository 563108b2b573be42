"""`python -m bench [NAME ...]`: every benchmark, or the named ones;
`python -m bench soak [MINUTES]`: the embedded default soaked (30 minutes by default)."""

import sys

from bench import logs_bench, mirror_bench, soak_bench, team_bench

SUITES = {"mirror": mirror_bench.main, "logs": logs_bench.main, "team": team_bench.main}


def main(argv: list[str]) -> int:
    if argv[:1] == ["soak"]:  # 30 minutes by default: never part of the full run
        soak_bench.main(argv[1:])
        return 0
    names = argv or list(SUITES)
    unknown = [n for n in names if n not in SUITES]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; choose from {', '.join(SUITES)}")
        return 2
    for name in names:
        SUITES[name]()
    return 0


sys.exit(main(sys.argv[1:]))
