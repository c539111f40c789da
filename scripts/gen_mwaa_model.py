"""Generate src/aerodrome/api/aws/model.py from botocore's `mwaa` service model.

Run: uv run python scripts/gen_mwaa_model.py   (tests/unit/test_model_drift.py fails when stale)
"""

from __future__ import annotations

import gzip
import json
import pprint
import sys
from pathlib import Path

TARGET = Path(__file__).resolve().parents[1] / "src" / "aerodrome" / "api" / "aws" / "model.py"
SHAPE_KEYS = ("type", "required", "min", "max", "pattern", "enum", "sensitive", "error", "exception", "document")
MEMBER_KEYS = ("shape", "location", "locationName")


def load_model() -> dict:
    import botocore

    folder = Path(botocore.__file__).parent / "data" / "mwaa" / "2020-07-01"
    plain, packed = folder / "service-2.json", folder / "service-2.json.gz"
    if plain.exists():
        return json.loads(plain.read_text())
    return json.loads(gzip.decompress(packed.read_bytes()))


def render(model: dict) -> str:
    operations = {}
    for name, op in sorted(model["operations"].items()):
        operations[name] = {
            "method": op["http"]["method"],
            "uri": op["http"]["requestUri"],
            "host_prefix": op.get("endpoint", {}).get("hostPrefix", ""),
            "input": op.get("input", {}).get("shape"),
            "output": op.get("output", {}).get("shape"),
            "errors": [e["shape"] for e in op.get("errors", [])],
        }
    shapes = {}
    for name, shape in sorted(model["shapes"].items()):
        out = {k: shape[k] for k in SHAPE_KEYS if k in shape}
        if "members" in shape:
            out["members"] = {m: {k: v[k] for k in MEMBER_KEYS if k in v} for m, v in shape["members"].items()}
        for part in ("member", "key", "value"):
            if part in shape:
                out[part] = shape[part]["shape"]
        shapes[name] = out
    return (
        '"""Generated from botocore\'s mwaa model by scripts/gen_mwaa_model.py — do not edit."""\n\n'
        "from typing import Any\n\n"
        f"API_VERSION = {model['metadata']['apiVersion']!r}\n"
        f"SIGNING_NAME = {model['metadata'].get('signingName', 'airflow')!r}\n\n"
        f"OPERATIONS: dict[str, dict[str, Any]] = {pprint.pformat(operations, width=110, sort_dicts=True)}\n\n"
        f"SHAPES: dict[str, dict[str, Any]] = {pprint.pformat(shapes, width=110, sort_dicts=True)}\n"
    )


def main() -> int:
    TARGET.write_text(render(load_model()))
    print(f"wrote {TARGET}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
