"""The gates a change must pass: ruff over the Python code and mypy over src/aerodrome, both configured
in pyproject.toml. Each fails with the tool's own report, so the fix is right there."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, cwd=ROOT, timeout=600)


def test_ruff_finds_nothing():
    result = _run("ruff", "check", "--no-cache", "--output-format", "concise", "src", "tests", "bench", "scripts")
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]


def test_mypy_finds_nothing():
    result = _run("mypy")  # files, strictness and the per-module exceptions are in pyproject.toml
    assert result.returncode == 0, result.stdout[-6000:] + result.stderr[-2000:]
