"""The data layer under bad inputs and faults: nothing silently wrong, nothing hangs.

Each test builds one hostile or broken situation in ``tmp_path`` (the cache too:
``isolated_cache`` points TINYDAGAN_CACHE there) and asserts either the exact
result or the one-line :class:`DatasetError` that names the file, what was
expected and what was found. Sections follow the kinds of fault:

1. the downscaling cache must see every change that alters the arrays;
2. a damaged cache file is recomputed; an unusable cache folder is one error;
3. ``data download`` and the data command line;
4. SVHN ``.mat`` values, short files and the total decompression cap;
5. image files: decoder allow-list, 16-bit depth, pixel limit;
6. file-size limits of CIFAR-10 batches;
7. FIFOs and folders where a data file is expected (would block forever);
8. the limits themselves live in :mod:`tinydagan.limits`.
"""
import errno
import http.server
import io
import json
import os
import struct
import tarfile
import threading
import time
import tracemalloc
import zlib

import numpy as np
import pytest
from PIL import Image

from data_fixtures import (isolated_cache, mat_bytes, png_declaring, write_cifar_bin,  # noqa: F401
                           write_cifar_py, write_image_folder, write_svhn)
from tinydagan import limits
from tinydagan.data import (DatasetError, load_cifar10, load_dataset, load_image_folder,
                            load_svhn, main, read_mat)
from tinydagan.data import download as dl
from tinydagan.data import npz_cache
from tinydagan.data.matfile import parse_mat
from tinydagan.data.safe_pickle import safe_load

pytestmark = pytest.mark.adversarial

HEADER_LE = b"MATLAB 5.0 MAT-file".ljust(116, b" ") + b"\0" * 8 + b"\x00\x01IM"


def one_line(exc_info) -> str:
    """The message of a caught error, checked to be a single line."""
    message = str(exc_info.value)
    assert "\n" not in message, f"error message spans lines: {message!r}"
    return message


# ---------------------------------------------------------------- 1. the cache key
def _folder(root, files):
    """root/<class>/<name>.png from {relative path: grey value}; returns root."""
    for relative, grey in files.items():
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (8, 8), (grey, grey, grey)).save(root / relative)
    return root


def test_cache_sees_an_image_moved_to_another_class(tmp_path, isolated_cache):
    # cat/m.png moved to dog/m.png keeps the order of (file name, bytes): a, m, n, x
    root = _folder(tmp_path / "imgs", {"cat/a.png": 10, "cat/m.png": 20,
                                       "dog/n.png": 30, "dog/x.png": 40})
    before = load_dataset("folder", size=4, root=root)
    assert before.labels.tolist() == [0, 0, 1, 1]
    (root / "cat" / "m.png").rename(root / "dog" / "m.png")
    after = load_dataset("folder", size=4, root=root)
    assert after.labels.tolist() == [0, 1, 1, 1]
    assert after.images[:, 0, 0, 0].tolist() == [10, 20, 30, 40]


def test_cache_sees_a_renamed_class_folder(tmp_path, isolated_cache):
    root = _folder(tmp_path / "imgs", {"cat/a.png": 10, "dog/b.png": 30})
    assert load_dataset("folder", size=4, root=root).classes == ("cat", "dog")
    (root / "cat").rename(root / "ant")  # same sorted position, same files
    again = load_dataset("folder", size=4, root=root)
    assert again.classes == ("ant", "dog")
    assert again.labels.tolist() == [0, 1]


def test_cache_key_covers_size_and_resize_filter(tmp_path, isolated_cache, monkeypatch):
    from tinydagan.data import resize as resize_module
    root = write_image_folder(tmp_path / "imgs", np.random.default_rng(0))
    box = load_dataset("folder", size=8, root=root)
    load_dataset("folder", size=4, root=root)
    monkeypatch.setattr(resize_module, "RESAMPLE", Image.Resampling.NEAREST)
    nearest = load_dataset("folder", size=8, root=root)
    assert len(list((isolated_cache / "data").glob("folder-*.npz"))) == 3
    assert not np.array_equal(box.images, nearest.images)


# ---------------------------------------------------------------- 2. damaged cache, unusable folder
@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_damaged_cache_file_is_recomputed_with_a_note(tmp_path, isolated_cache, capsys, damage):
    write_cifar_bin(tmp_path / "data", np.random.default_rng(1))
    first = load_dataset("cifar10", "test", size=8, root=tmp_path / "data")
    (cached,) = (isolated_cache / "data").glob("cifar10-test-8-*.npz")
    raw = cached.read_bytes()
    cached.write_bytes({"empty": b"", "truncated": raw[:len(raw) // 2],
                        "garbage": b"PK\x03\x04" + b"\xff" * 200}[damage])
    capsys.readouterr()
    second = load_dataset("cifar10", "test", size=8, root=tmp_path / "data")
    np.testing.assert_array_equal(second.images, first.images)
    np.testing.assert_array_equal(second.labels, first.labels)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("note: cache file ") and str(cached) in err[0]
    assert err[0].endswith("recomputing it")
    load_dataset("cifar10", "test", size=8, root=tmp_path / "data")  # rewritten: no note now
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("where", ["cache is a file", "cache under a file", "data is a file"])
def test_cache_folder_that_is_a_file(tmp_path, monkeypatch, where):
    write_cifar_bin(tmp_path / "data", np.random.default_rng(2))
    blocker = tmp_path / "blocker"
    blocker.write_text("a file, not a folder")
    cache = {"cache is a file": blocker, "cache under a file": blocker / "sub",
             "data is a file": tmp_path / "cache"}[where]
    if where == "data is a file":
        cache.mkdir()
        (cache / "data").write_text("in the way")
    monkeypatch.setenv("TINYDAGAN_CACHE", str(cache))
    with pytest.raises(DatasetError) as exc:
        load_dataset("cifar10", "test", size=8, root=tmp_path / "data")
    message = one_line(exc)
    assert message.startswith(f"cache folder {cache / 'data'} is not usable (")
    assert "TINYDAGAN_CACHE" in message


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EROFS, errno.EACCES])
def test_full_or_read_only_cache_is_one_clear_error(tmp_path, isolated_cache, monkeypatch, code):
    write_cifar_bin(tmp_path / "data", np.random.default_rng(3))

    def failing_write(path, write):
        raise OSError(code, os.strerror(code), str(path))
    monkeypatch.setattr(npz_cache, "atomic_write", failing_write)
    with pytest.raises(DatasetError) as exc:
        load_dataset("cifar10", "test", size=8, root=tmp_path / "data")
    message = one_line(exc)
    assert f"cache folder {isolated_cache / 'data'} is not usable ({os.strerror(code)})" in message
    assert "TINYDAGAN_CACHE" in message


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores chmod; the read-only case is covered "
                                               "by test_full_or_read_only_cache_is_one_clear_error")
def test_read_only_cache_folder_chmod(tmp_path, isolated_cache):
    write_cifar_bin(tmp_path / "data", np.random.default_rng(4))
    (isolated_cache / "data").mkdir(parents=True)
    (isolated_cache / "data").chmod(0o500)
    try:
        with pytest.raises(DatasetError, match="is not usable.*TINYDAGAN_CACHE"):
            load_dataset("cifar10", "test", size=8, root=tmp_path / "data")
    finally:
        (isolated_cache / "data").chmod(0o700)


@pytest.mark.parametrize("text", ["[1, 2]", "5", "{\"k\": 5}", "{not json"])
def test_damaged_checksum_index_is_rebuilt_silently(tmp_path, isolated_cache, capsys, text):
    write_cifar_bin(tmp_path / "data", np.random.default_rng(5))
    (isolated_cache / "data").mkdir(parents=True)
    (isolated_cache / "data" / "checksums.json").write_text(text)
    data = load_dataset("cifar10", "test", size=8, root=tmp_path / "data")
    assert len(data) == 20 and capsys.readouterr().err == ""
    index = json.loads((isolated_cache / "data" / "checksums.json").read_text())
    assert isinstance(index, dict) and len(index) == 2  # test_batch.bin + batches.meta.txt


# ---------------------------------------------------------------- 3. download and command line
def _cifar_archive(tmp_path, rng):
    """A small cifar-10-binary.tar.gz holding all five training batches (20 records each)."""
    src = tmp_path / "src"
    write_cifar_bin(src, rng, batches=(1, 2, 3, 4, 5))
    archive = tmp_path / "cifar-10-binary.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(src / "cifar-10-batches-bin", arcname="cifar-10-batches-bin")
    return archive


def test_download_fetches_again_when_a_batch_is_empty(tmp_path, isolated_cache, monkeypatch):
    folder = tmp_path / "root" / "cifar-10-batches-bin"
    write_cifar_bin(folder.parent, np.random.default_rng(6), batches=(1, 2, 3, 4, 5))
    for name in ["data_batch_1.bin", "data_batch_2.bin", "data_batch_4.bin", "data_batch_5.bin",
                 "test_batch.bin"]:
        os.truncate(folder / name, 10_000 * 3073)  # the official size (sparse zero records)
    (folder / "data_batch_3.bin").write_bytes(b"")  # ... but one batch is empty
    archive = _cifar_archive(tmp_path, np.random.default_rng(7))
    monkeypatch.setitem(dl.SOURCES, "cifar10", [dl.Remote(
        archive.name, archive.as_uri(), dl.md5sum(archive), 0, extract=True)])
    out = io.StringIO()
    dl.download("cifar10", folder.parent, out=out)
    assert "already complete" not in out.getvalue()
    assert (f"{folder} is incomplete ({folder / 'data_batch_3.bin'} has 0 bytes, expected "
            f"{10_000 * 3073:,}); fetching again") in out.getvalue()
    assert (folder / "data_batch_3.bin").stat().st_size == 20 * 3073  # from the archive


def test_download_complete_only_when_every_file_has_its_official_size(tmp_path, monkeypatch):
    folder = tmp_path / "cifar-10-batches-bin"
    folder.mkdir()
    for name in [f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]:
        with open(folder / name, "wb") as f:
            f.truncate(10_000 * 3073)  # sparse: the exact official size, no disk used
    (folder / "batches.meta.txt").write_text("\n".join("abcdefghij"))
    closed = "http://127.0.0.1:9/cifar-10-binary.tar.gz"  # fetching would fail
    monkeypatch.setitem(dl.SOURCES, "cifar10", [dl.Remote("cifar-10-binary.tar.gz", closed,
                                                          "0" * 32, 0, extract=True)])
    out = io.StringIO()
    dl.download("cifar10", tmp_path, out=out)
    assert "already complete" in out.getvalue()


class _CutChunkedHandler(http.server.BaseHTTPRequestHandler):
    """Answers with a chunked body: one whole 4096-byte chunk, then a chunk cut short."""
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.write(b"1000\r\n" + b"x" * 0x1000 + b"\r\n")
        self.wfile.write(b"1000\r\n" + b"x" * 100)  # declares 4096 bytes, sends 100
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_chunked_download_cut_short_is_a_clean_error(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CutChunkedHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/f.bin"
        with pytest.raises(DatasetError) as exc:
            dl.fetch(url, tmp_path / "f.bin", "0" * 32, out=io.StringIO())
    finally:
        server.shutdown()
        server.server_close()
    message = one_line(exc)
    assert message.startswith(f"download of {url} interrupted after ")
    assert "IncompleteRead" in message and message.endswith("run the same command again to resume")
    assert not (tmp_path / "f.bin").exists()


def _a_file(tmp_path):
    path = tmp_path / "plain.txt"
    path.write_text("a file, not a folder")
    return path


@pytest.mark.parametrize("argv", [
    ["show", "cifar10", "--root", "{file}"],
    ["info", "svhn", "--root", "{file}"],
    ["info", "folder", "--root", "{file}"],
    ["download", "cifar10", "--root", "{file}"],
    ["download", "svhn", "--root", "{file}", "--from", "{tmp}"],
])
def test_file_where_a_folder_is_expected(tmp_path, isolated_cache, capsys, argv):
    path = _a_file(tmp_path)
    argv = [a.format(file=path, tmp=tmp_path) for a in argv]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].endswith(f"{path} is a regular file, expected a folder")


def test_folder_where_the_output_file_is_expected(tmp_path, isolated_cache, capsys):
    write_cifar_bin(tmp_path / "data", np.random.default_rng(8))
    assert main(["show", "cifar10", "--root", str(tmp_path / "data"), "--per-class", "1",
                 "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --out {tmp_path} is a folder, expected a .png file name"]


def test_fifo_given_as_download_source(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert main(["download", "cifar10", "--root", str(tmp_path / "root"), "--from", str(fifo)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: --from {fifo} is a FIFO (named pipe), expected an archive, a .mat "
                   f"file or a folder holding them"]


@pytest.mark.parametrize("command", ["info", "show"])
def test_split_of_an_image_folder_is_refused(tmp_path, isolated_cache, capsys, command):
    root = write_image_folder(tmp_path / "imgs", np.random.default_rng(9))
    argv = [command, "folder", "--root", str(root), "--split", "test"]
    if command == "show":
        argv += ["--out", str(tmp_path / "g.png")]
    assert main(argv) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: dataset 'folder' has one split, 'train' (training holds out its own "
                   "test images per class), got split 'test'"]


@pytest.mark.parametrize("command", ["show", "info"])
def test_size_above_the_show_limit_is_a_usage_error(tmp_path, capsys, command):
    assert main([command, "cifar10", "--root", str(tmp_path),
                 "--size", str(limits.MAX_SHOW_SIZE + 1)]) == 2
    err = capsys.readouterr().err
    assert (f"argument --size: must be 1..{limits.MAX_SHOW_SIZE} (tinydagan.limits.MAX_SHOW_SIZE), "
            f"got {limits.MAX_SHOW_SIZE + 1}") in err


# ---------------------------------------------------------------- 4. SVHN .mat files
def _svhn_x(dtype, value):
    """X (32, 32, 3, 2) of ``dtype`` with pixels 0..255 and one element set to ``value``."""
    x = (np.arange(32 * 32 * 3 * 2) % 256).reshape(32, 32, 3, 2).astype(dtype)
    x[1, 2, 0, 1] = value
    return x


def _write_svhn_x(tmp_path, x, stored=None, classes=None):
    (tmp_path / "svhn").mkdir(exist_ok=True)
    path = tmp_path / "svhn" / "train_32x32.mat"
    variables = {"X": x, "y": np.array([[3.0], [10.0]])}
    path.write_bytes(mat_bytes(variables, stored=stored, classes=classes))
    return path


@pytest.mark.parametrize("dtype", ["f8", "i2", "f4", "u2"])
def test_svhn_pixels_of_any_class_convert_exactly(tmp_path, isolated_cache, dtype):
    x = _svhn_x(dtype, 255)
    _write_svhn_x(tmp_path, x)
    data = load_svhn("train", root=tmp_path)
    np.testing.assert_array_equal(data.images, x.transpose(3, 0, 1, 2).astype(np.uint8))
    assert data.images.dtype == np.uint8 and data.labels.tolist() == [3, 0]


@pytest.mark.parametrize("dtype,value,found", [
    ("f8", 300.0, "float64 value 300.0"), ("f8", 3.5, "float64 value 3.5"),
    ("f8", -1.0, "float64 value -1.0"), ("f8", np.nan, "float64 value nan"),
    ("i2", 300, "int16 value 300"), ("i2", -2, "int16 value -2"),
])
def test_svhn_pixels_outside_0_255_are_refused(tmp_path, isolated_cache, dtype, value, found):
    path = _write_svhn_x(tmp_path, _svhn_x(dtype, value))
    with pytest.raises(DatasetError) as exc:
        load_svhn("train", root=tmp_path)
    assert one_line(exc) == (f"{path}: 'X' must hold pixel values, integers 0..255; found "
                             f"{found} at index (1, 2, 0, 1)")


@pytest.mark.parametrize("stored,value,found", [
    ("i2", 300, "int16 value 300"),   # would wrap to 44
    ("f8", 3.5, "float64 value 3.5"),  # would be cut to 3
    ("f8", np.nan, "float64 value nan"),
])
def test_uint8_class_stored_wider_must_convert_exactly(tmp_path, isolated_cache, stored, value, found):
    path = _write_svhn_x(tmp_path, _svhn_x(stored, value), stored={"X": stored},
                         classes={"X": "u1"})
    with pytest.raises(DatasetError) as exc:
        load_svhn("train", root=tmp_path)
    message = one_line(exc)
    assert message.startswith(f"{path}: variable 'X': stored {found} (element ")
    assert message.endswith("does not fit its class uint8 exactly")


@pytest.mark.parametrize("data,expected", [
    (b"", "expected a 128-byte header, the file has only 0 bytes"),
    (b"MATLAB 5.0", "expected a 128-byte header, the file has only 10 bytes"),
    (b"\x89HD\x00", "expected a 128-byte header, the file has only 4 bytes"),
    (b"\x00\xff" * 100, "expected a header starting with the text 'MATLAB 5.0', "
                        "found bytes 00 ff 00 ff 00 ff 00 ff 00 ff"),
    (HEADER_LE[:126] + b"XX", "bad endian mark 'XX' at bytes 126-127 (expected the letters IM or MI)"),
], ids=["empty", "10 bytes", "4 bytes", "binary", "endian mark"])
def test_short_or_foreign_mat_error_shows_no_bytes_repr(tmp_path, data, expected):
    path = tmp_path / "short.mat"
    path.write_bytes(data)
    with pytest.raises(DatasetError) as exc:
        read_mat(path)
    message = one_line(exc)
    assert message.startswith(f"{path}: ") and message.endswith(expected)
    assert "b'" not in message and 'b"' not in message and "\\x" not in message


def test_mat_total_inflated_bytes_are_capped(monkeypatch):
    monkeypatch.setattr(limits, "MAX_MAT_BYTES", 2**20)  # 1 MiB for the test
    # three compressed variables of 400 KiB each: each is within the cap, together they are not
    blocks = [mat_bytes({f"v{k}": np.zeros((400 * 1024, 1), np.uint8)})[128:] for k in range(3)]
    data = HEADER_LE + b"".join(blocks)
    assert len(data) < 4000
    with pytest.raises(DatasetError) as exc:
        parse_mat(data, "many.mat")
    message = one_line(exc)
    assert message.startswith("many.mat: compressed elements would inflate to ")
    assert message.endswith(f"bytes in total, more than tinydagan.limits.MAX_MAT_BYTES = {2**20:,}")


def test_small_mat_declaring_more_than_the_real_cap_is_refused_before_inflating():
    declared = limits.MAX_MAT_BYTES + 2**20  # one element, within zlib's ratio for its size
    payload = zlib.compress(struct.pack("<II", 14, declared) + b"\0" * 64)
    payload += np.random.default_rng(0).bytes(2 * 2**20 - len(payload))  # 2 MiB in all
    data = HEADER_LE + struct.pack("<II", 15, len(payload)) + payload
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match=r"in total, more than tinydagan\.limits\.MAX_MAT_BYTES"):
            parse_mat(data, "bomb.mat")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2**20, f"peak {peak / 2**20:.0f} MiB: inflated before refusing"


def test_mat_arrays_widened_to_their_class_are_capped(monkeypatch):
    monkeypatch.setattr(limits, "MAX_MAT_BYTES", 2**20)
    # 256 KiB stored as uint8 but of class double: 2 MiB once converted
    data = mat_bytes({"y": np.ones((2**18, 1))}, stored={"y": "u1"}, compress=False)
    with pytest.raises(DatasetError) as exc:
        parse_mat(data, "wide.mat")
    assert one_line(exc) == (f"wide.mat: variable 'y' of shape ({2**18}, 1) brings the arrays to "
                             f"{2**21:,} bytes in total, more than tinydagan.limits.MAX_MAT_BYTES"
                             f" = {2**20:,}")


# ---------------------------------------------------------------- 5. image files
def _one_image_folder(tmp_path, name, data: bytes):
    (tmp_path / "imgs" / "cls").mkdir(parents=True)
    (tmp_path / "imgs" / "cls" / name).write_bytes(data)
    return tmp_path / "imgs", tmp_path / "imgs" / "cls" / name


def _saved(fmt):
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (1, 2, 3)).save(out, format=fmt)
    return out.getvalue()


POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 8 8\nshowpage\n"


@pytest.mark.parametrize("name,data,found", [
    ("x.png", POSTSCRIPT, "PostScript"),
    ("x.png", _saved("GIF"), "GIF"),
    ("x.jpg", _saved("BMP"), "BMP"),
    ("x.jpeg", _saved("TIFF"), "TIFF"),
    ("x.png", b"", "an empty file"),
], ids=["postscript", "gif", "bmp", "tiff", "empty"])
def test_image_in_another_format_is_refused_by_name(tmp_path, monkeypatch, name, data, found):
    Image.init()  # register every plugin, then make sure the EPS one is never reached

    def ghostscript(*args):
        raise AssertionError("the EPS decoder (Ghostscript) was handed the file")
    monkeypatch.setitem(Image.OPEN, "EPS", (ghostscript, lambda prefix: prefix[:4] == b"%!PS"))
    root, path = _one_image_folder(tmp_path, name, data)
    with pytest.raises(DatasetError) as exc:
        load_image_folder(root, size=4)
    assert one_line(exc) == f"refused image {path}: expected PNG or JPEG, found {found}"


def test_16_bit_png_is_scaled_by_its_bit_depth(tmp_path):
    rng = np.random.default_rng(10)
    values = np.concatenate([[0, 128, 129, 256, 257, 32767, 32896, 65406, 65407, 65535],
                             rng.integers(0, 65536, 54)]).astype(np.uint16).reshape(8, 8)
    (tmp_path / "grey").mkdir()
    Image.fromarray(values).save(tmp_path / "grey" / "deep.png")
    with Image.open(tmp_path / "grey" / "deep.png") as img:
        assert img.mode == "I;16"  # really a 16-bit file
    data = load_image_folder(tmp_path, size=8)
    expected = np.floor(values / 257 + 0.5).astype(np.uint8)  # round(v / 257)
    assert expected.ravel()[:10].tolist() == [0, 0, 1, 1, 1, 127, 128, 254, 255, 255]
    for channel in range(3):
        np.testing.assert_array_equal(data.images[0, :, :, channel], expected)


@pytest.mark.parametrize("width,height", [(12000, 12000), (8000, 8000), (limits.MAX_IMAGE_PIXELS + 1, 1)])
def test_image_over_the_pixel_limit_is_refused_before_decoding(tmp_path, width, height):
    root, path = _one_image_folder(tmp_path, "huge.png", png_declaring(width, height))
    assert path.stat().st_size < 1000
    start = time.perf_counter()
    with pytest.raises(DatasetError) as exc:
        load_image_folder(root, size=4)
    assert time.perf_counter() - start < 1.0
    assert one_line(exc) == (f"refused image {path}: {width}x{height} = {width * height:,} pixels "
                             f"is more than tinydagan.limits.MAX_IMAGE_PIXELS = "
                             f"{limits.MAX_IMAGE_PIXELS:,}; shrink it first")


# ---------------------------------------------------------------- 6. CIFAR-10 file sizes
def _sparse(path, size):
    with open(path, "wb") as f:
        f.truncate(size)  # no disk blocks: reads back as zeros
    return path


def _refused_with_peak_memory(root):
    """load_cifar10's DatasetError for ``root`` and the peak memory (bytes) the attempt took."""
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError) as exc:
            load_cifar10("train", root=root)
        return exc, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sparse_multi_gigabyte_bin_is_refused_unread(tmp_path, isolated_cache):
    write_cifar_bin(tmp_path, np.random.default_rng(11))
    path = _sparse(tmp_path / "cifar-10-batches-bin" / "data_batch_2.bin", 1_000_000 * 3073)
    exc, peak = _refused_with_peak_memory(tmp_path)
    assert one_line(exc) == (f"{path}: a CIFAR-10 batch of {1_000_000 * 3073:,} bytes is more than "
                             f"tinydagan.limits.MAX_CIFAR_BATCH_BYTES = "
                             f"{limits.MAX_CIFAR_BATCH_BYTES:,} bytes allows")
    assert peak < 16 * 2**20


def test_python_batch_over_the_limit_is_refused_unread(tmp_path, isolated_cache):
    write_cifar_py(tmp_path, np.random.default_rng(12))
    path = _sparse(tmp_path / "cifar-10-batches-py" / "data_batch_1", limits.MAX_CIFAR_BATCH_BYTES + 1)
    exc, peak = _refused_with_peak_memory(tmp_path)
    assert one_line(exc) == (f"{path}: a CIFAR-10 python batch of "
                             f"{limits.MAX_CIFAR_BATCH_BYTES + 1:,} bytes is more than "
                             f"tinydagan.limits.MAX_CIFAR_BATCH_BYTES = "
                             f"{limits.MAX_CIFAR_BATCH_BYTES:,} bytes allows")
    assert peak < 16 * 2**20


# ---------------------------------------------------------------- 7. FIFOs and folders
def _returns_promptly(call, fifo, seconds=5.0):
    """Run ``call()`` in a thread; if it is still blocked after ``seconds``, release it
    by opening the FIFO for writing (so the test run ends) and fail."""
    result = {}

    def target():
        try:
            result["value"] = call()
        except BaseException as exc:  # noqa: BLE001  (handed to the test below)
            result["error"] = exc
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # a reader is waiting: this succeeds
        os.close(fd)
        thread.join(seconds)
        pytest.fail(f"blocked on the FIFO {fifo} for {seconds} s")
    if "error" in result:
        raise result["error"]
    return result.get("value")


def _fifo_cases(tmp_path):
    """{case: (path to replace by a FIFO, call that should refuse it)}."""
    rng = np.random.default_rng(13)
    write_cifar_bin(tmp_path / "bin", rng)
    write_cifar_py(tmp_path / "py", rng)
    write_svhn(tmp_path / "svhn_root", rng, n=3)
    images = write_image_folder(tmp_path / "imgs", rng)
    bin_dir, py_dir = tmp_path / "bin" / "cifar-10-batches-bin", tmp_path / "py" / "cifar-10-batches-py"
    return {
        "read_mat": (tmp_path / "x.mat", lambda: read_mat(tmp_path / "x.mat")),
        "svhn file": (tmp_path / "svhn_root" / "svhn" / "train_32x32.mat",
                      lambda: load_svhn("train", root=tmp_path / "svhn_root")),
        "cifar bin batch": (bin_dir / "data_batch_2.bin", lambda: load_cifar10("train", tmp_path / "bin")),
        "cifar meta": (bin_dir / "batches.meta.txt", lambda: load_cifar10("test", tmp_path / "bin")),
        "cifar py batch": (py_dir / "data_batch_1", lambda: safe_load(py_dir / "data_batch_1")),
        "image": (images / "dog" / "img_9.png", lambda: load_image_folder(images, size=4)),
        "image, cached": (images / "cat" / "img_9.png", lambda: load_dataset("folder", size=4, root=images)),
    }


@pytest.mark.parametrize("case", ["read_mat", "svhn file", "cifar bin batch", "cifar meta",
                                  "cifar py batch", "image", "image, cached"])
def test_fifo_where_a_data_file_is_expected(tmp_path, isolated_cache, case):
    path, call = _fifo_cases(tmp_path)[case]
    if path.exists():
        path.unlink()
    os.mkfifo(path)
    with pytest.raises(DatasetError) as exc:
        _returns_promptly(call, path)
    assert one_line(exc).startswith(f"{path} is not a regular file: expected a ")
    assert one_line(exc).endswith("found a FIFO (named pipe)")


def test_folder_where_a_batch_file_is_expected(tmp_path, isolated_cache):
    write_cifar_bin(tmp_path, np.random.default_rng(14))
    path = tmp_path / "cifar-10-batches-bin" / "data_batch_7.bin"
    path.mkdir()
    with pytest.raises(DatasetError) as exc:
        load_cifar10("train", root=tmp_path)
    assert one_line(exc) == f"{path} is not a regular file: expected a CIFAR-10 batch, found a folder"


# ---------------------------------------------------------------- 8. the limits module
def test_every_limit_is_a_positive_int_in_one_module():
    assert sorted(limits.__all__) == ["MAX_CIFAR_BATCH_BYTES", "MAX_DATA_FILE_BYTES",
                                      "MAX_IMAGE_PIXELS", "MAX_MAT_BYTES", "MAX_SHOW_SIZE"]
    for name in limits.__all__:
        value = getattr(limits, name)
        assert type(value) is int and value > 0, name
    # the official files fit: SVHN extra (1.3 GB file, 1.7 GB of arrays), a CIFAR-10 batch
    assert limits.MAX_DATA_FILE_BYTES > 1_329_278_602
    assert limits.MAX_MAT_BYTES > 531_131 * 3072 + 531_131 * 8
    assert limits.MAX_CIFAR_BATCH_BYTES >= 10_000 * 3073
