"""Validate a request and render it into a folder, with the appforge Python package.

usage: python render_request.py REQUEST OUT_DIR [PROFILE]
"""

import sys
from pathlib import Path
from typing import List

import appforge


def main(argv: List[str]) -> int:
    if len(argv) not in (3, 4):
        print(__doc__, file=sys.stderr)
        return 2
    request_file, out_dir = Path(argv[1]), Path(argv[2])
    engine = appforge.Engine(profile=Path(argv[3]) if len(argv) == 4 else None)

    try:
        request = appforge.load_request(request_file)
    except appforge.ValidationError as e:  # not readable YAML/JSON
        print(e, file=sys.stderr)
        return 2
    for d in engine.validate(request):
        print(f"{request_file}: {d}", file=sys.stderr)
    if not engine.is_valid(request):
        return 1

    bundle = engine.render(request)
    bundle.write(out_dir)
    for name, text in bundle:
        print(f"{out_dir / name} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
