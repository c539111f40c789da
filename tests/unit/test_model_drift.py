import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_model_matches_botocore():
    spec = importlib.util.spec_from_file_location("gen_mwaa_model", ROOT / "scripts" / "gen_mwaa_model.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    current = (ROOT / "src" / "aerodrome" / "api" / "aws" / "model.py").read_text()
    assert generator.render(generator.load_model()) == current, \
        "model.py is stale: run `uv run python scripts/gen_mwaa_model.py`"
