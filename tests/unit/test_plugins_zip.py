"""plugins.zip extraction refuses what could harm the host or the running environment."""

import io
import stat
import zipfile

import pytest

from aerodrome import errors
from aerodrome.runtimes.local import plugins


def archive(entries: dict[str, bytes], *, links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, to in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, to)
    return buffer.getvalue()


def test_extracts_nested_layout(tmp_path):
    plugins.extract(archive({"my_operator.py": b"X = 1\n", "hooks/h.py": b"Y = 2\n", "wheels/": b""}),
                    tmp_path / "p")
    assert (tmp_path / "p" / "my_operator.py").read_bytes() == b"X = 1\n"
    assert (tmp_path / "p" / "hooks" / "h.py").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["p"]  # no staging left behind


@pytest.mark.parametrize(("entries", "links", "why"), [
    ({"../evil.py": b"x"}, None, "'../evil.py' would be written outside the plugins folder"),
    ({"a/../../evil.py": b"x"}, None, "would be written outside the plugins folder"),
    ({"/etc/evil.py": b"x"}, None, "'/etc/evil.py' is an absolute path"),
    ({"ok.py": b"x"}, {"link": "/etc/passwd"}, "'link' is a symbolic link"),
])
def test_refuses_escapes_and_links(tmp_path, entries, links, why):
    with pytest.raises(errors.Permanent) as info:
        plugins.extract(archive(entries, links=links), tmp_path / "p")
    assert why in str(info.value) and "keeps running its previous plugins" in str(info.value)
    assert list(tmp_path.iterdir()) == []  # nothing was written
    assert not (tmp_path.parent / "evil.py").exists()


def test_refuses_zip_bomb_by_bytes_really_written(tmp_path):
    bomb = archive({"zeros.bin": b"\0" * (5 << 20)})  # 5 MiB of zeros compress to a few KiB
    assert len(bomb) < 50_000
    with pytest.raises(errors.Permanent, match="expands to more than 1048576 bytes"):
        plugins.extract(bomb, tmp_path / "p", limits=plugins.Limits(max_bytes=1 << 20))
    assert list(tmp_path.iterdir()) == []


def test_refuses_too_many_files_and_non_zip(tmp_path):
    with pytest.raises(errors.Permanent, match="holds 11 entries, more than the limit of 10"):
        plugins.extract(archive({f"f{i}.py": b"" for i in range(11)}), tmp_path / "p",
                        limits=plugins.Limits(max_files=10))
    with pytest.raises(errors.Permanent, match="it is not a zip archive"):
        plugins.extract(b"not a zip", tmp_path / "p")

