import shutil
import subprocess
import sys
from pathlib import Path


def test_import_layers_hold():
    """api/reconcile -> services -> adapters -> domain; domain imports no third-party SDK."""
    command = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    result = subprocess.run([command], capture_output=True, text=True, cwd=Path(__file__).resolve().parents[2])
    assert result.returncode == 0, result.stdout[-3000:]
