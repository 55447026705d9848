"""Downloader: resume, MD5, safe extraction, no network, --from copies.

Servers here listen on 127.0.0.1 only; nothing leaves the machine.
"""
import hashlib
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest

from data_fixtures import isolated_cache, mat_bytes, svhn_variables, write_cifar_bin  # noqa: F401
from tinydagan.data import DatasetError, load_cifar10, load_svhn
from tinydagan.data import download as dl

PAYLOAD = np.random.default_rng(0).integers(0, 256, 10_000, dtype=np.uint8).tobytes()
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    """Serves ``server.payload``; honours Range unless told not to; can cut a response."""

    def do_GET(self):
        srv = self.server
        srv.ranges.append(self.headers.get("Range"))
        start = 0
        if self.headers.get("Range") and srv.honour_range:
            start = int(self.headers["Range"].split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(srv.payload) - 1}/{len(srv.payload)}")
        else:
            self.send_response(200)
        body = srv.payload[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[:srv.cut] if srv.cut is not None else body)
        srv.cut = None  # only the first response is cut

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    srv.payload, srv.honour_range, srv.cut, srv.ranges = PAYLOAD, True, None, []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/file.bin"
    yield srv
    srv.shutdown()
    srv.server_close()


def test_fetch_file_url(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    out = io.StringIO()
    dest = dl.fetch(src.as_uri(), tmp_path / "dl" / "f.bin", MD5, out=out)
    assert dest.read_bytes() == PAYLOAD
    assert not (tmp_path / "dl" / "f.bin.part").exists()
    assert "f.bin" in out.getvalue() and "100%" in out.getvalue()


def test_md5_mismatch_deletes_part(tmp_path):
    src = tmp_path / "src.bin"
    src.write_bytes(PAYLOAD)
    with pytest.raises(DatasetError, match=f"MD5 mismatch: expected {'0' * 32}, found {MD5}"):
        dl.fetch(src.as_uri(), tmp_path / "f.bin", "0" * 32, out=io.StringIO())
    assert not (tmp_path / "f.bin").exists() and not (tmp_path / "f.bin.part").exists()


def test_interrupted_download_resumes_with_range(tmp_path, server):
    server.cut = 3000
    dest = tmp_path / "f.bin"
    with pytest.raises(DatasetError, match="interrupted after 3000 of 10000 bytes.*resume"):
        dl.fetch(server.url, dest, MD5, out=io.StringIO())
    assert (tmp_path / "f.bin.part").stat().st_size == 3000 and not dest.exists()
    dl.fetch(server.url, dest, MD5, out=io.StringIO())
    assert server.ranges == [None, "bytes=3000-"]
    assert dest.read_bytes() == PAYLOAD


def test_server_ignoring_range_restarts_cleanly(tmp_path, server):
    server.honour_range = False
    (tmp_path / "f.bin.part").write_bytes(b"stale bytes from another file")
    dl.fetch(server.url, tmp_path / "f.bin", MD5, out=io.StringIO())
    assert (tmp_path / "f.bin").read_bytes() == PAYLOAD


def test_no_network_is_one_clear_line(tmp_path, monkeypatch, capsys):
    closed = "http://127.0.0.1:9/cifar-10-binary.tar.gz"  # discard port: nothing listens
    monkeypatch.setitem(dl.SOURCES, "cifar10", [dl.Remote("cifar-10-binary.tar.gz", closed, MD5,
                                                          len(PAYLOAD), extract=True)])
    from tinydagan.data import main
    assert main(["download", "cifar10", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "cannot reach 127.0.0.1:9" in err and "TINYDAGAN_DATA" in err and "--from" in err


def _tar_gz(path, members):
    """members: list of (TarInfo, bytes or None)."""
    with tarfile.open(path, "w:gz") as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def _cifar_archive(tmp_path, rng):
    src = tmp_path / "src"
    write_cifar_bin(src, rng)
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    return archive


def test_download_cifar10_end_to_end(tmp_path, isolated_cache, monkeypatch):
    archive = _cifar_archive(tmp_path, np.random.default_rng(1))
    remote = dl.Remote(archive.name, archive.as_uri(), dl.md5sum(archive), 0, extract=True)
    monkeypatch.setitem(dl.SOURCES, "cifar10", [remote])
    root = tmp_path / "root"
    folder = dl.download("cifar10", root, out=io.StringIO())
    assert folder == root / "cifar-10-batches-bin"
    assert len(load_cifar10("train", root=root)) == 40
    assert not (root / archive.name).exists()  # archive removed after unpacking


@pytest.mark.parametrize("name,kind,match", [
    ("../evil.txt", tarfile.REGTYPE, "leaves the target"),
    ("/tmp/abs.txt", tarfile.REGTYPE, "leaves the target"),
    ("a/../../evil.txt", tarfile.REGTYPE, "leaves the target"),
    ("link", tarfile.SYMTYPE, "symlink"),
    ("hard", tarfile.LNKTYPE, "hard link"),
    ("dev", tarfile.CHRTYPE, "device"),
    ("fifo", tarfile.FIFOTYPE, "fifo"),
])
def test_safe_extract_refuses_unsafe_members(tmp_path, name, kind, match):
    good = tarfile.TarInfo("ok.txt")
    bad = tarfile.TarInfo(name)
    bad.type = kind
    if kind in (tarfile.SYMTYPE, tarfile.LNKTYPE):
        bad.linkname = "/etc/passwd"
    archive = _tar_gz(tmp_path / "a.tar.gz", [(good, b"fine"),
                                              (bad, b"x" if kind == tarfile.REGTYPE else None)])
    target = tmp_path / "out"
    with pytest.raises(DatasetError, match=match):
        dl.safe_extract(archive, target)
    assert not (target / "ok.txt").exists()  # nothing extracted: checked before writing
    assert not (tmp_path / "evil.txt").exists()


def test_safe_extract_not_a_tar(tmp_path):
    (tmp_path / "x.tar.gz").write_bytes(b"not a tar")
    with pytest.raises(DatasetError, match="not a readable tar archive"):
        dl.safe_extract(tmp_path / "x.tar.gz", tmp_path / "out")


@pytest.mark.parametrize("point_at", ["parent", "folder"])
def test_from_folder_copies_and_checks_structure(tmp_path, isolated_cache, point_at):
    src = tmp_path / "src"
    write_cifar_bin(src, np.random.default_rng(2))
    out = io.StringIO()
    given = src if point_at == "parent" else src / "cifar-10-batches-bin"
    dl.download("cifar10", tmp_path / "root", source=given, out=out)
    assert "MD5 for the archive only" in out.getvalue()
    assert len(load_cifar10("test", root=tmp_path / "root")) == 20


def test_from_folder_with_bad_bin(tmp_path):
    src = tmp_path / "src"
    write_cifar_bin(src, np.random.default_rng(3))
    (src / "cifar-10-batches-bin" / "data_batch_1.bin").write_bytes(b"\0" * 3072)
    with pytest.raises(DatasetError, match="multiple of 3073"):
        dl.copy_from("cifar10", src, tmp_path / "root", out=io.StringIO())
    assert not (tmp_path / "root").exists()


def test_from_archive_md5(tmp_path, isolated_cache, monkeypatch):
    archive = _cifar_archive(tmp_path, np.random.default_rng(4))
    with pytest.raises(DatasetError, match="MD5 mismatch: expected c32a1d4ab5d03f1284b67883e8d87530"):
        dl.copy_from("cifar10", archive, tmp_path / "root", out=io.StringIO())
    fake = dl.Remote(archive.name, "unused", dl.md5sum(archive), 0, extract=True)
    monkeypatch.setitem(dl.SOURCES, "cifar10", [fake])
    dl.copy_from("cifar10", tmp_path, tmp_path / "root", out=io.StringIO())  # folder holding it
    assert len(load_cifar10("train", root=tmp_path / "root")) == 40


def test_svhn_download_and_from(tmp_path, isolated_cache, monkeypatch):
    rng = np.random.default_rng(5)
    src, remotes = tmp_path / "src", []
    src.mkdir()
    for name in ("train_32x32.mat", "test_32x32.mat"):
        (src / name).write_bytes(mat_bytes(svhn_variables(rng, 7)[0]))
        remotes.append(dl.Remote(name, (src / name).as_uri(), dl.md5sum(src / name), 0, subdir="svhn"))
    monkeypatch.setitem(dl.SOURCES, "svhn", remotes)
    dl.download("svhn", tmp_path / "net", out=io.StringIO())
    dl.download("svhn", tmp_path / "copy", source=src, out=io.StringIO())
    for root in ("net", "copy"):
        assert len(load_svhn("test", root=tmp_path / root)) == 7
    (src / "test_32x32.mat").write_bytes(b"changed")
    with pytest.raises(DatasetError, match="test_32x32.mat: MD5 mismatch"):
        dl.copy_from("svhn", src, tmp_path / "again", out=io.StringIO())


def test_from_missing_source(tmp_path):
    with pytest.raises(DatasetError, match="no such file or folder"):
        dl.download("cifar10", tmp_path, source=tmp_path / "nope", out=io.StringIO())
    with pytest.raises(DatasetError, match="can download"):
        dl.download("mnist", tmp_path, out=io.StringIO())
