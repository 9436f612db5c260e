"""Chapter 18's shared code: load_poems / poems_file / default_poems_path (the poems data file: local first, otherwise
the mirrors in order, sha256 checked, written atomically), all offline (a small server on 127.0.0.1)."""

from __future__ import annotations

import hashlib
import socket
from pathlib import Path

import pytest
import yaml

import mm_utils
from mm_utils import DataError

ROOT = Path(__file__).resolve().parent.parent
POEMS = ROOT / "data" / "poems.txt"
P1 = "床前明月光光光，疑是地上霜霜霜。举头望明月月月，低头思故乡乡乡。"
P2 = "朝辞白帝彩云间，千里江陵一日还。两岸猿声啼不住，轻舟已过万重山。"
SMALL = (P1 + "\n" + P2 + "\n").encode("utf-8")
SMALL_SHA = hashlib.sha256(SMALL).hexdigest()


def dead_url() -> str:
    """A URL on 127.0.0.1 where nobody listens: the connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/poems.txt"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_the_committed_file_has_the_checksum_and_the_form():
    assert hashlib.sha256(POEMS.read_bytes()).hexdigest() == mm_utils.POEMS_SHA256
    poems = mm_utils.load_poems(POEMS)
    assert len(poems) == 10218 and len(set(poems)) == len(poems)
    assert all(len(p) == 32 for p in poems)


def test_default_path_is_beside_names_and_env_overrides(tmp_path, monkeypatch):
    monkeypatch.delenv(mm_utils.POEMS_ENV_PATH, raising=False)
    monkeypatch.delenv(mm_utils.ENV_PATH, raising=False)
    monkeypatch.chdir(tmp_path)
    assert mm_utils.default_poems_path() == POEMS.resolve()
    monkeypatch.setenv(mm_utils.ENV_PATH, str(tmp_path / "names.txt"))  # Colab: names.txt beside the notebook
    assert mm_utils.default_poems_path() == tmp_path / "poems.txt"
    monkeypatch.setenv(mm_utils.POEMS_ENV_PATH, str(tmp_path / "mine.txt"))
    assert mm_utils.default_poems_path() == tmp_path / "mine.txt"


def test_mirrors_are_this_repository_on_github_then_jsdelivr():
    cfg = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["repository"]
    repo = cfg["url"].removeprefix("https://github.com/")
    assert mm_utils.POEMS_URLS == (
        f"https://raw.githubusercontent.com/{repo}/{cfg['branch']}/data/poems.txt",
        f"https://cdn.jsdelivr.net/gh/{repo}@{cfg['branch']}/data/poems.txt",
    )


def test_local_file_is_read_without_network(tmp_path):
    p = tmp_path / "poems.txt"
    p.write_bytes(SMALL)
    assert mm_utils.load_poems(p, urls=[dead_url()], sha256="0" * 64) == [P1, P2]  # not re-checksummed


def test_missing_file_downloaded_once_atomically(tmp_path, http_server):
    dest = tmp_path / "data" / "poems.txt"
    with http_server({"/poems.txt": SMALL}) as srv:
        assert mm_utils.load_poems(dest, urls=srv.url + "/poems.txt", sha256=SMALL_SHA, timeout=5) == [P1, P2]
        mm_utils.load_poems(dest, urls=srv.url + "/poems.txt", sha256=SMALL_SHA, timeout=5)
        assert srv.requests == ["/poems.txt"]
    assert leftovers(dest.parent) == ["poems.txt"]


def test_mirror_fallback_dead_then_bad_hash_then_good(tmp_path, http_server):
    dest = tmp_path / "poems.txt"
    with http_server({"/a/poems.txt": b"<html>portal</html>", "/b/poems.txt": SMALL}) as srv:
        urls = [dead_url(), srv.url + "/a/poems.txt", srv.url + "/b/poems.txt"]
        assert mm_utils.load_poems(dest, urls=urls, sha256=SMALL_SHA, timeout=5) == [P1, P2]
        assert srv.requests == ["/a/poems.txt", "/b/poems.txt"]
    assert dest.read_bytes() == SMALL and leftovers(tmp_path) == ["poems.txt"]


def test_environment_lists_mirrors(tmp_path, http_server, monkeypatch):
    with http_server({"/m/poems.txt": SMALL}) as srv:
        monkeypatch.setenv(mm_utils.POEMS_ENV_URL, f"{dead_url()}, {srv.url}/m/poems.txt")
        assert mm_utils.load_poems(tmp_path / "p.txt", sha256=SMALL_SHA, timeout=5) == [P1, P2]


def test_bad_hash_everywhere_writes_nothing_and_lists_what_was_tried(tmp_path, http_server):
    dest = tmp_path / "poems.txt"
    dead = dead_url()
    with http_server({"/bad/poems.txt": SMALL[:-3]}) as srv:
        urls = [dead, srv.url + "/missing/poems.txt", srv.url + "/bad/poems.txt"]
        with pytest.raises(DataError) as e:
            mm_utils.load_poems(dest, urls=urls, sha256=SMALL_SHA, timeout=5)
    msg = str(e.value)
    starts = [msg.index(u) for u in urls]
    assert starts == sorted(starts)
    pieces = [msg[a + len(u):b] for u, a, b in zip(urls, starts, starts[1:] + [len(msg)])]
    assert "refused" in pieces[0] and "404" in pieces[1] and "sha256" in pieces[2]
    assert mm_utils.POEMS_URLS[0] in msg and str(dest) in msg and mm_utils.POEMS_ENV_PATH in msg
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "是空的"),
        ("床前明月光，疑是地上霜。举头望明月，低头思故乡。\n".encode(), "第 1 行"),   # five-character lines
        ((P2 + "\n" + P2.replace("。", ".") + "\n").encode(), "第 2 行"),            # an ASCII full stop
        ((P2 + "\n\n" + P2 + "\n").encode(), "第 2 行"),                             # a blank line in between
        (b"\xff\xfe", "UTF-8"),
    ],
)
def test_bad_file_is_rejected_with_the_fix(tmp_path, content, fragment):
    p = tmp_path / "poems.txt"
    p.write_bytes(content)
    with pytest.raises(DataError, match=fragment):
        mm_utils.load_poems(p)


def test_windows_line_endings_and_trailing_blank_lines(tmp_path):
    p = tmp_path / "poems.txt"
    p.write_bytes(SMALL.replace(b"\n", b"\r\n") + b"\r\n")
    assert mm_utils.load_poems(p) == [P1, P2]
