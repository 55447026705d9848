"""ImageFolder: root/<class>/*.png|jpg|jpeg of any size, resized."""
import numpy as np
import pytest

from data_fixtures import isolated_cache, write_image_folder  # noqa: F401
from tinydagan.data import DatasetError, load_dataset, load_image_folder


def test_classes_sorted_and_images_resized(tmp_path):
    root = write_image_folder(tmp_path / "pets", np.random.default_rng(0), classes=("dog", "cat"))
    (root / "cat" / "notes.txt").write_text("not an image")
    (root / "cat" / "._cat_0.png").write_bytes(b"\0\5\26\7 AppleDouble")   # macOS metadata: skipped
    data = load_image_folder(root, size=16)
    assert data.classes == ("cat", "dog")
    assert data.images.shape == (6, 16, 16, 3) and data.images.dtype == np.uint8
    assert data.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_uniform_colour_survives_crop_and_resize(tmp_path):
    from PIL import Image
    (tmp_path / "red").mkdir()
    Image.new("RGB", (50, 20), (200, 10, 30)).save(tmp_path / "red" / "a.PNG")
    data = load_image_folder(tmp_path, size=8)
    assert (data.images == np.array([200, 10, 30], np.uint8)).all()


def test_missing_folder(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_image_folder(tmp_path / "nope")


def test_no_class_folders(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    with pytest.raises(DatasetError, match="no class sub-folders"):
        load_image_folder(tmp_path)


def test_empty_class_folder(tmp_path):
    write_image_folder(tmp_path, np.random.default_rng(1), classes=("a",))
    (tmp_path / "b").mkdir()
    with pytest.raises(DatasetError, match=r"b has no \.png/\.jpg/\.jpeg images"):
        load_image_folder(tmp_path)


def test_unreadable_image_names_the_file(tmp_path):
    write_image_folder(tmp_path, np.random.default_rng(2))
    (tmp_path / "dog" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(DatasetError, match=r"cannot read image .*dog/broken\.png"):
        load_image_folder(tmp_path)


def test_folder_through_load_dataset_is_cached(tmp_path, isolated_cache):
    root = write_image_folder(tmp_path / "imgs", np.random.default_rng(3))
    first = load_dataset("folder", size=8, root=root)
    assert list(isolated_cache.joinpath("data").glob("folder-train-8-*.npz"))
    second = load_dataset("folder", size=8, root=root)
    np.testing.assert_array_equal(first.images, second.images)
    assert second.classes == ("cat", "dog")
