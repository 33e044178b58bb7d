import os
import resource
import subprocess
import sys
import textwrap

import h5py
import hdf5plugin  # noqa: F401 - registers the filters for reading
import numpy as np
import pytest

from iocs.hdf5_writer import (
    COMPRESSIONS,
    SUPPORTED_COMPRESSIONS,
    Attribute,
    Frame,
    FrameFile,
    WriteError,
    WriterSettings,
    readable_frames,
)
from iocs.nd_file import checked_path, create_directories


def frames(count, shape=(16, 24)):
    rng = np.random.default_rng(1)
    return [
        Frame(
            rng.integers(0, 5000, shape, dtype=np.uint16),
            unique_id=i + 1,
            timestamp=1.7e9 + i * 0.01,
            attributes={"SampleX": Attribute(float(i), "Sample X", units="um")},
        )
        for i in range(count)
    ]


def write(path, items, **settings):
    file = FrameFile(path, items[0], WriterSettings(**settings), stacked=True)
    for frame in items:
        file.append(frame)
    return file.close()


@pytest.mark.parametrize("compression", SUPPORTED_COMPRESSIONS)
def test_stream_file_has_adcore_layout_and_same_pixels(tmp_path, compression):
    items = frames(3)
    path = tmp_path / "x_000.h5"
    assert write(path, items, compression=compression) == 3
    with h5py.File(path, "r") as file:
        data = file["/entry/instrument/detector/data"]
        assert file["/entry/data/data"].id == data.id  # a hard link
        assert np.array_equal(data[()], np.stack([f.data for f in items]))
        assert data.attrs["units"] == "counts" and data.attrs["long_name"]
        assert file["/entry"].attrs["NX_class"] == "NXentry"
        assert file["/entry/data"].attrs["signal"] == "data"
        attributes = file["/entry/instrument/NDAttributes"]
        assert list(attributes["NDArrayUniqueId"]) == [1, 2, 3]
        assert attributes["NDArrayTimeStamp"][1] == pytest.approx(1.7e9 + 0.01)
        assert list(attributes["SampleX"]) == [0.0, 1.0, 2.0]
        assert attributes["SampleX"].attrs["units"] == "um"
        assert file["/entry/instrument/detector/NDAttributes/ColorMode"].shape == (3,)
        if compression != "None":
            assert data.compression is not None or data._filters


def test_single_file_holds_one_2d_frame(tmp_path):
    item = frames(1)[0]
    file = FrameFile(tmp_path / "one.h5", item, WriterSettings(), stacked=False)
    file.append(item)
    file.close()
    with h5py.File(tmp_path / "one.h5", "r") as h5:
        assert h5["/entry/data/data"].shape == item.data.shape
        assert h5["/entry/instrument/NDAttributes/NDArrayUniqueId"][()] == 1


def test_swmr_reader_sees_frames_while_the_file_is_open(tmp_path):
    items = frames(3)
    path = tmp_path / "swmr.h5"
    file = FrameFile(path, items[0], WriterSettings(swmr=True), stacked=True)
    file.append(items[0])
    with h5py.File(path, "r", swmr=True) as reader:
        data = reader["/entry/data/data"]
        assert data.shape[0] == 1
        file.append(items[1])
        data.refresh()
        assert data.shape[0] == 2
    file.close()


def test_unsupported_compression_is_named(tmp_path):
    assert "JPEG" in COMPRESSIONS
    with pytest.raises(WriteError, match="compression JPEG is not supported"):
        FrameFile(tmp_path / "j.h5", frames(1)[0], WriterSettings(compression="JPEG"), stacked=True)
    assert not (tmp_path / "j.h5").exists()


def test_unwritable_directory_says_permission_denied():
    with pytest.raises(WriteError, match="Error opening file /sys/x.h5: Permission denied"):
        FrameFile("/sys/x.h5", frames(1)[0], WriterSettings(), stacked=True)


def test_full_disk_at_open_leaves_no_file(tmp_path):
    path = tmp_path / "full.h5"
    path.symlink_to("/dev/full")
    with pytest.raises(WriteError, match="No space left on device"):
        FrameFile(path, frames(1)[0], WriterSettings(), stacked=True)
    assert path.is_symlink()  # what was there before stays; nothing new was written


def test_frame_of_another_size_ends_the_file_keeping_earlier_frames(tmp_path):
    items = frames(2)
    path = tmp_path / "size.h5"
    file = FrameFile(path, items[0], WriterSettings(), stacked=True)
    file.append(items[0])
    with pytest.raises(WriteError, match="keeps the 1 frames"):
        file.append(frames(1, shape=(8, 8))[0])
    assert readable_frames(path) == 1


def test_file_size_limit_mid_stream_keeps_the_frames_written(tmp_path):
    """RLIMIT_FSIZE in a child process: the writer stops before a frame that cannot fit."""
    path = tmp_path / "limited.h5"
    script = textwrap.dedent(
        f"""
        import resource, numpy as np
        from iocs.hdf5_writer import Frame, FrameFile, WriteError, WriterSettings
        resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, resource.RLIM_INFINITY))
        frame = Frame(np.ones((64, 64), np.uint16), 1, 0.0)
        file = FrameFile({str(path)!r}, frame, WriterSettings(swmr=True), stacked=True)
        try:
            for _ in range(100):
                file.append(frame)
        except WriteError as error:
            print(file.frames, error)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=os.getcwd()
    )
    assert "File too large" in result.stdout, result.stdout + result.stderr
    written = int(result.stdout.split()[0])
    assert 5 < written < 100
    assert readable_frames(path) == written
    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] == resource.RLIM_INFINITY


def test_create_directories_follows_the_depth(tmp_path):
    target = tmp_path / "a" / "b" / "c"
    with pytest.raises(WriteError, match="Cannot create directory"):
        create_directories(
            str(target), -1, [str(tmp_path)]
        )  # only c may be created; a/b are missing
    create_directories(str(target), -3, [str(tmp_path)])
    assert target.is_dir()


def test_checked_path_explains_a_path_through_a_regular_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    path, exists, message = checked_path(str(blocker / "sub"), -3, [str(tmp_path)])
    assert path.endswith("/sub/") and not exists
    assert "Not a directory" in message
    path, exists, message = checked_path(str(tmp_path / "new"), 0, [str(tmp_path)])
    assert not exists and "does not exist" in message
