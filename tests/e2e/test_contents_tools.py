"""requirements.txt against the real Airflow venv, without starting Airflow: the `test-requirements`
tool's exit codes, and a private wheel shipped in plugins.zip installed with --find-links as MWAA
documents it."""

import base64
import hashlib
import io
import subprocess
import zipfile

import pytest

from aerodrome.cli import main
from aerodrome.runtimes.local import overlays, venvs
from tests.support import VENVS

pytestmark = pytest.mark.e2e


def wheel(name: str, version: str, module: str, code: bytes) -> tuple[str, bytes]:
    """A minimal pure-Python wheel."""
    dist = f"{name.replace('-', '_')}-{version}"
    files = {f"{module}.py": code,
             f"{dist}.dist-info/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n".encode(),
             f"{dist}.dist-info/WHEEL":
                 b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    record = "".join(f"{path},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},"
                     f"{len(data)}\n" for path, data in files.items()) + f"{dist}.dist-info/RECORD,,\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
        zf.writestr(f"{dist}.dist-info/RECORD", record)
    return f"{dist}-py3-none-any.whl", buffer.getvalue()


@pytest.fixture
def folders(monkeypatch, tmp_path):
    """Two empty folders, with the CLI pointed at a fresh home and the shared venvs."""
    monkeypatch.setenv("AERODROME_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("AERODROME_VENVS_DIR", str(VENVS))
    first, second = tmp_path / "one", tmp_path / "two"
    first.mkdir(), second.mkdir()
    return first, second


def test_test_requirements_exit_codes(folders, tmp_path, capsys):
    good, bad = folders
    (good / "requirements.txt").write_text("pyjokes==0.8.3\napache-airflow-providers-amazon\n")
    (bad / "requirements.txt").write_text("apache-airflow==2.0.0\n")
    assert main(["test-requirements", str(good)]) == 0
    assert "it adds: pyjokes==0.8.3" in capsys.readouterr().out
    assert main(["test-requirements", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "requirements.txt could not be resolved" in err and "apache-airflow" in err
    assert main(["test-requirements", str(tmp_path / "nothing")]) == 1


def test_private_wheel_from_plugins_with_find_links(tmp_path):
    venv = venvs.venv_path(VENVS, "3.3.2")
    plugins_dir = tmp_path / "plugins"
    plugins_dir.mkdir()
    filename, data = wheel("aerodrome-private-e2e", "1.0", "aerodrome_private_e2e", b"ANSWER = 42\n")
    (plugins_dir / filename).write_bytes(data)
    text = "--no-index\n--find-links /usr/local/airflow/plugins\naerodrome-private-e2e==1.0\n"
    overlay = overlays.ensure_overlay(tmp_path / "venvs", "3.3.2", venv, text, plugins_dir=plugins_dir,
                                      plugins_id="p1")
    assert overlay is not None
    again = overlays.ensure_overlay(tmp_path / "venvs", "3.3.2", venv, text, plugins_dir=plugins_dir, plugins_id="p1")
    assert again == overlay  # the same file and plugins share one overlay
    result = subprocess.run([str(venv / "bin" / "python"), "-c", "import aerodrome_private_e2e as m; print(m.ANSWER)"],
                            env={"PYTHONPATH": str(overlays.site(overlay))}, capture_output=True, text=True)
    assert result.stdout.strip() == "42", result.stderr
    assert not (overlays.site(overlay) / "airflow").exists()  # the venv's packages are not copied


def test_package_requirements_makes_an_installable_plugins_zip(folders, tmp_path, capsys):
    source, private = folders
    (source / "requirements.txt").write_text("pyjokes==0.8.3\n")
    assert main(["package-requirements", str(source), "--output", str(private / "plugins.zip")]) == 0
    printed = capsys.readouterr().out
    with zipfile.ZipFile(private / "plugins.zip") as zf:
        assert zf.namelist() == ["pyjokes-0.8.3-py3-none-any.whl"]
    # the printed requirements.txt resolves from the archive alone
    (private / "requirements.txt").write_text(printed.split("requirements.txt:\n", 1)[1])
    assert "--no-index" in (private / "requirements.txt").read_text()
    assert main(["test-requirements", str(private)]) == 0
    assert "it adds: pyjokes==0.8.3" in capsys.readouterr().out
    (source / "requirements.txt").write_text("aerodrome-no-such-package-e2e==1.0\n")
    assert main(["package-requirements", str(source), "--output", str(tmp_path / "x.zip")]) == 1
    assert not (tmp_path / "x.zip").exists()
