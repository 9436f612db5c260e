"""mm_utils.load_words: the happy path, the download path with mirrors (real HTTP on 127.0.0.1), and every bad input."""

from __future__ import annotations

import hashlib
import socket
import threading
from pathlib import Path

import pytest

import mm_utils
from mm_utils import DataError

SMALL = b"emma\nolivia\nava"
SMALL_SHA = hashlib.sha256(SMALL).hexdigest()


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


# --- the real file -------------------------------------------------------------------------


def test_real_file(names_path):
    words = mm_utils.load_words(names_path)
    assert len(words) == 32033
    assert words[:3] == ["emma", "olivia", "ava"]
    assert min(map(len, words)) == 2 and max(map(len, words)) == 15
    assert hashlib.sha256(names_path.read_bytes()).hexdigest() == mm_utils.NAMES_SHA256


def test_default_path_is_independent_of_cwd(tmp_path, monkeypatch, names_path):
    monkeypatch.delenv(mm_utils.ENV_PATH, raising=False)
    monkeypatch.chdir(tmp_path)
    assert mm_utils.default_names_path() == names_path.resolve()
    assert len(mm_utils.load_words()) == 32033


def test_env_var_overrides_default_path(tmp_path, monkeypatch):
    p = tmp_path / "mine.txt"
    p.write_bytes(SMALL)
    monkeypatch.setenv(mm_utils.ENV_PATH, str(p))
    assert mm_utils.default_names_path() == p
    assert mm_utils.load_words() == ["emma", "olivia", "ava"]


# --- download ------------------------------------------------------------------------------


def test_download_good_bytes_once(tmp_path, http_server):
    dest = tmp_path / "data" / "names.txt"  # the folder does not exist yet either
    with http_server({"/names.txt": SMALL}) as srv:
        words = mm_utils.load_words(dest, urls=srv.url + "/names.txt", sha256=SMALL_SHA, timeout=5)
        assert words == ["emma", "olivia", "ava"]
        assert dest.read_bytes() == SMALL
        mm_utils.load_words(dest, urls=srv.url + "/names.txt", sha256=SMALL_SHA, timeout=5)
        assert srv.requests == ["/names.txt"]  # the second call reads the local file
    assert leftovers(dest.parent) == ["names.txt"]  # no temp file left behind


def test_download_the_real_data_set_with_default_checksum(tmp_path, http_server, names_path):
    dest = tmp_path / "names.txt"
    with http_server({"/names.txt": names_path.read_bytes()}) as srv:
        assert len(mm_utils.load_words(dest, urls=srv.url + "/names.txt", timeout=5)) == 32033


def test_download_url_from_environment(tmp_path, http_server, monkeypatch):
    dest = tmp_path / "names.txt"
    with http_server({"/x/names.txt": SMALL}) as srv:
        monkeypatch.setenv(mm_utils.ENV_URL, srv.url + "/x/names.txt")
        assert mm_utils.load_words(dest, sha256=SMALL_SHA, timeout=5) == ["emma", "olivia", "ava"]
        assert srv.requests == ["/x/names.txt"]


def test_download_bad_bytes_leaves_nothing(tmp_path, http_server):
    dest = tmp_path / "names.txt"
    with http_server({"/names.txt": b"emma\nolivia\nav"}) as srv:  # one byte short: wrong hash
        with pytest.raises(DataError) as e:
            mm_utils.load_words(dest, urls=srv.url + "/names.txt", sha256=SMALL_SHA, timeout=5)
    msg = str(e.value)
    assert "sha256" in msg and SMALL_SHA in msg and str(dest) in msg
    assert leftovers(tmp_path) == []


def test_download_http_404(tmp_path, http_server):
    dest = tmp_path / "names.txt"
    with http_server({}) as srv:
        with pytest.raises(DataError, match="404"):
            mm_utils.load_words(dest, urls=srv.url + "/names.txt", sha256=SMALL_SHA, timeout=5)
    assert leftovers(tmp_path) == []


def test_download_no_server_says_how_to_get_the_file(tmp_path):
    with socket.socket() as s:  # a port on which nobody listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    dest = tmp_path / "names.txt"
    with pytest.raises(DataError) as e:
        mm_utils.load_words(dest, urls=f"http://127.0.0.1:{port}/names.txt", timeout=5)
    msg = str(e.value)
    assert str(dest) in msg and mm_utils.NAMES_URL in msg and mm_utils.ENV_PATH in msg
    assert leftovers(tmp_path) == []


def test_download_timeout(tmp_path):
    """A server that accepts the connection and never answers: the timeout turns it into a DataError."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen()
    accepted = []
    t = threading.Thread(target=lambda: accepted.append(srv.accept()), daemon=True)
    t.start()
    try:
        with pytest.raises(DataError, match="timed out"):
            mm_utils.load_words(tmp_path / "names.txt", urls=f"http://127.0.0.1:{srv.getsockname()[1]}/n", timeout=0.5)
    finally:
        for conn, _ in accepted:
            conn.close()
        srv.close()
    assert leftovers(tmp_path) == []


# --- mirrors -------------------------------------------------------------------------------


def dead_url() -> str:
    """A URL on 127.0.0.1 where nobody listens: the connection is refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/names.txt"


def test_mirrors_are_github_first_then_jsdelivr():
    assert mm_utils.NAMES_URLS[0] == mm_utils.NAMES_URL == "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt"
    assert mm_utils.NAMES_URLS[1] == "https://cdn.jsdelivr.net/gh/karpathy/makemore@master/names.txt"
    assert all(u.startswith("https://") for u in mm_utils.NAMES_URLS)


def test_first_mirror_dead_second_good(tmp_path, http_server):
    dest = tmp_path / "names.txt"
    with http_server({"/mirror/names.txt": SMALL}) as srv:
        words = mm_utils.load_words(dest, urls=[dead_url(), srv.url + "/mirror/names.txt"], sha256=SMALL_SHA, timeout=5)
        assert srv.requests == ["/mirror/names.txt"]
    assert words == ["emma", "olivia", "ava"] and dest.read_bytes() == SMALL
    assert leftovers(tmp_path) == ["names.txt"]


def test_first_mirror_404_second_good(tmp_path, http_server):
    dest = tmp_path / "names.txt"
    with http_server({"/b/names.txt": SMALL}) as srv:
        urls = [srv.url + "/a/names.txt", srv.url + "/b/names.txt"]
        mm_utils.load_words(dest, urls=urls, sha256=SMALL_SHA, timeout=5)
        assert srv.requests == ["/a/names.txt", "/b/names.txt"]  # in order, and the good one once
    assert dest.read_bytes() == SMALL


def test_bad_bytes_on_first_mirror_try_the_next(tmp_path, http_server):
    dest = tmp_path / "names.txt"
    with http_server({"/a/names.txt": b"<html>captive portal</html>", "/b/names.txt": SMALL}) as srv:
        urls = [srv.url + "/a/names.txt", srv.url + "/b/names.txt"]
        mm_utils.load_words(dest, urls=urls, sha256=SMALL_SHA, timeout=5)
        assert srv.requests == ["/a/names.txt", "/b/names.txt"]
    assert dest.read_bytes() == SMALL  # the good copy, not the portal page
    assert leftovers(tmp_path) == ["names.txt"]


def test_all_mirrors_fail_the_message_lists_every_url_and_reason(tmp_path, http_server):
    dest = tmp_path / "names.txt"
    dead = dead_url()
    with http_server({"/bad/names.txt": b"emma\nolivia\nav"}) as srv:
        urls = [dead, srv.url + "/missing/names.txt", srv.url + "/bad/names.txt"]
        with pytest.raises(DataError) as e:
            mm_utils.load_words(dest, urls=urls, sha256=SMALL_SHA, timeout=5)
    msg = str(e.value)
    for url in urls:
        assert url in msg
    # each URL is followed by its own reason, in the order tried. The reasons are looked for
    # only in the text between one URL and the next: a random port or the tmp path may itself
    # contain "404" (CI once drew a port with those digits).
    starts = [msg.index(url) for url in urls]
    assert starts == sorted(starts)
    pieces = [msg[a + len(url):b] for url, a, b in zip(urls, starts, starts[1:] + [len(msg)])]
    assert "refused" in pieces[0]
    assert "404" in pieces[1]
    assert "sha256" in pieces[2] and SMALL_SHA in msg
    # ... and the manual fix
    assert mm_utils.NAMES_URL in msg and str(dest) in msg and mm_utils.ENV_PATH in msg and mm_utils.ENV_URL in msg
    assert leftovers(tmp_path) == []


def test_environment_may_list_several_mirrors(tmp_path, http_server, monkeypatch):
    dest = tmp_path / "names.txt"
    with http_server({"/m2/names.txt": SMALL}) as srv:
        monkeypatch.setenv(mm_utils.ENV_URL, f"{dead_url()}, {srv.url}/m2/names.txt")
        assert mm_utils.load_words(dest, sha256=SMALL_SHA, timeout=5) == ["emma", "olivia", "ava"]
        assert srv.requests == ["/m2/names.txt"]


def test_default_mirrors_are_tried_in_order(tmp_path, http_server, monkeypatch):
    """Without an override, load_words walks NAMES_URLS (here replaced by local servers) in order."""
    dest = tmp_path / "names.txt"
    monkeypatch.delenv(mm_utils.ENV_URL, raising=False)
    with http_server({"/good/names.txt": SMALL}) as srv:
        monkeypatch.setattr(mm_utils, "NAMES_URLS", (srv.url + "/gone/names.txt", srv.url + "/good/names.txt"))
        assert mm_utils.load_words(dest, sha256=SMALL_SHA, timeout=5) == ["emma", "olivia", "ava"]
        assert srv.requests == ["/gone/names.txt", "/good/names.txt"]


# --- bad files -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content, fragment",
    [
        (b"", "是空的"),
        (b"\n\n", "是空的"),
        (b"emma\nOlivia\nava", "第 2 行是 'Olivia'"),
        (b"emma\nan na\n", "第 2 行是 'an na'"),
        (b"emma\n\nava", "第 2 行是 ''"),  # a blank line inside the file
        (b"emma\nzo\xc3\xab", "第 2 行是 'zo\u00eb'"),  # a letter outside a-z
        (b"emma\n\xff\xfe", "不是 UTF-8"),
    ],
)
def test_bad_file_is_rejected_with_the_fix(tmp_path, content, fragment):
    p = tmp_path / "names.txt"
    p.write_bytes(content)
    with pytest.raises(DataError) as e:
        mm_utils.load_words(p)
    assert fragment in str(e.value)
    assert str(p) in str(e.value)


@pytest.mark.parametrize(
    "content",
    [
        b"emma\r\nolivia\r\nava",  # Windows line endings
        b"emma\r\nolivia\r\nava\r\n",
        b"emma\nolivia\nava\n",  # a trailing newline
        b"emma\nolivia\nava\n\n",  # ... and a trailing blank line
    ],
)
def test_tolerated_line_endings(tmp_path, content):
    p = tmp_path / "names.txt"
    p.write_bytes(content)
    assert mm_utils.load_words(p) == ["emma", "olivia", "ava"]


def test_existing_file_is_not_checksummed(tmp_path):
    """A file the user put there by hand is read as is (only its format is checked)."""
    p = tmp_path / "names.txt"
    p.write_bytes(b"anna\nbob")
    assert mm_utils.load_words(p, sha256="0" * 64) == ["anna", "bob"]
    assert p.read_bytes() == b"anna\nbob"  # neither replaced by a download nor rewritten


def test_names_file_returns_the_path_and_downloads_if_needed(tmp_path, http_server):
    dest = tmp_path / "names.txt"
    with http_server({"/names.txt": SMALL}) as srv:
        assert mm_utils.names_file(dest, urls=srv.url + "/names.txt", sha256=SMALL_SHA, timeout=5) == dest
        assert mm_utils.names_file(dest, urls=srv.url + "/names.txt", sha256=SMALL_SHA, timeout=5) == dest
        assert srv.requests == ["/names.txt"]
    assert dest.read_bytes() == SMALL
