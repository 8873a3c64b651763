"""Write the golden outputs (and their digests) of the code as it is.

    .venv/bin/python -m tests.golden.record [--out DIR] [--digests]

``--out DIR`` writes every canonical file (for a diff against another commit's);
``--digests`` rewrites ``tests/golden/digests.json``, which is only right when the change
is meant to change what the rules derive (say so in the commit).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tests.golden.inputs import INPUTS, digest
from tests.golden.output import canonical, digests

DIGESTS = Path(__file__).with_name("digests.json")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path)
    parser.add_argument("--digests", action="store_true")
    parser.add_argument("names", nargs="*", default=list(INPUTS))
    args = parser.parse_args()
    found = json.loads(DIGESTS.read_text()) if DIGESTS.exists() else {}
    for name in args.names:
        records = INPUTS[name]()
        files = canonical(records)
        found[name] = {"input": f"{digest(records)} {len(records)} records", **digests(files)}
        if args.out:
            for file, data in files.items():
                path = args.out / name / file
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
        print(name, json.dumps(found[name], indent=1))
    if args.digests:
        DIGESTS.write_text(json.dumps(found, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
