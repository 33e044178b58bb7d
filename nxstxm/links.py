"""Area-detector frames are linked, never copied: always as a virtual dataset.

One stream file holding exactly the scan's frames becomes a virtual dataset of one
mapping; several files, or one file per frame (AD_HDF5_SINGLE), one mapping per run of
consecutive frames. A virtual dataset rather than an ``h5py.ExternalLink``: through an
external link h5py reports the IOC file's ``/entry/data`` as the parent and its
``@signal``/``@NDArrayNumDims`` as the frames' own, so HyperSpy skips the frames and
validators warn about attributes we never wrote. Paths are stored
relative to the NXstxm file so a data directory can move as a whole. HDF5 returns fill
values for a virtual dataset whose source file is missing, so every source is checked
here: when writing (an error naming the file) and when checking a written file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import h5py
import numpy as np

from .collector import Run
from .errors import NXstxmError
from .frames import open_frames
from .model import FrameRef, FrameSet

#: The dataset ADCore's NDFileHDF5 hard-links its frames to (what ophyd's handlers read).
ADCORE_DATASET = "/entry/data/data"
STREAM_SPECS = ("AD_HDF5", "AD_HDF5_SWMR")
SINGLE_SPECS = ("AD_HDF5_SINGLE",)


class LinkError(NXstxmError, OSError):
    """A frame source that is missing, unreadable or not what the documents say."""


@lru_cache(maxsize=1024)
def _file_of(root: str, resource_path: str) -> Path:
    return Path(root or "/") / resource_path


def _resource_file(resource: dict) -> Path:
    return _file_of(resource.get("root") or "/", resource["resource_path"])


def _frames_of_datum(run: Run, datum_id: str) -> list[FrameRef]:
    """The frames of one Resource/Datum datum (AD_HDF5 stream or AD_HDF5_SINGLE files)."""
    try:
        datum = run.datums[datum_id]
        resource = run.resources[datum["resource"]]
    except KeyError:
        raise LinkError(f"run {run.uid}: datum {datum_id} or its resource is missing") from None
    spec, kwargs = resource["spec"], resource.get("resource_kwargs", {})
    per_point = int(kwargs.get("frame_per_point", 1))
    first = int(datum["datum_kwargs"]["point_number"]) * per_point
    indices = range(first, first + per_point)
    if spec in STREAM_SPECS:
        return [FrameRef(_resource_file(resource), ADCORE_DATASET, j) for j in indices]
    if spec in SINGLE_SPECS:
        folder = os.path.join(str(_resource_file(resource)), "")
        template, name = kwargs["template"], kwargs["filename"]
        return [FrameRef(Path(template % (folder, name, j)), ADCORE_DATASET, 0) for j in indices]
    raise LinkError(f"run {run.uid}: resource {resource['uid']} has unsupported spec {spec!r}")


def _file_of_uri(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise LinkError(f"stream resource {uri}: only local files can be linked")
    return Path(parsed.path)


def _streamed_frames(run: Run, key: str) -> dict[tuple[str, int], tuple[FrameRef, ...]]:
    """The frames of ``key`` per (descriptor, seq_num) from StreamResource/StreamDatum.

    Stream index i of a data key shaped [n, ny, nx] holds frames i·n … i·n + n − 1 of the
    resource's dataset (one index per event, as TiledWriter and ophyd-async record them).
    """
    frames: dict[tuple[str, int], tuple[FrameRef, ...]] = {}
    for datum in run.stream_datums:
        resource = run.stream_resources.get(datum["stream_resource"], {})
        if resource.get("data_key") != key:
            continue
        file = _file_of_uri(resource["uri"])
        dataset = (resource.get("parameters") or {}).get("dataset", ADCORE_DATASET)
        shape = run.descriptors[datum["descriptor"]]["data_keys"][key].get("shape") or []
        per_event = int(shape[0]) if len(shape) == 3 else 1
        seq_nums, indices = datum["seq_nums"], datum["indices"]
        for offset in range(indices["stop"] - indices["start"]):
            first = (indices["start"] + offset) * per_event
            frames[(datum["descriptor"], seq_nums["start"] + offset)] = tuple(
                FrameRef(file, dataset, j) for j in range(first, first + per_event)
            )
    return frames


def event_frames(run: Run, key: str) -> list[tuple[FrameRef, ...]]:
    """The frames of every primary event for data key ``key``, in acquisition order.

    Through the event's datum (Resource/Datum, ophyd v1) or the stream datum covering its
    seq_num (StreamResource/StreamDatum, as a Tiled catalog gives them back).
    """
    streamed: dict | None = None
    found = []
    for event in run.stream("primary"):
        if key in event["data"]:
            found.append(tuple(_frames_of_datum(run, str(event["data"][key]))))
            continue
        if streamed is None:
            streamed = _streamed_frames(run, key)
        try:
            found.append(streamed[(event["descriptor"], event["seq_num"])])
        except KeyError:
            raise LinkError(
                f"run {run.uid}: event {event['seq_num']} has no {key!r} and no stream datum"
            ) from None
    return found


def frame_set(per_event: Iterable[tuple[FrameRef, ...]]) -> FrameSet:
    """The frames of one detector key over its events (of one or several runs)."""
    frames: list[FrameRef] = []
    per_point = set()
    for refs in per_event:
        frames.extend(refs)
        per_point.add(len(refs))
    if len(per_point) > 1:
        raise LinkError(f"frames per point differ between resources: {sorted(per_point)}")
    return FrameSet(tuple(frames), per_point.pop() if per_point else 1)


def _inspect(file: Path, dataset: str, repair: bool = True) -> tuple[tuple[int, ...], np.dtype]:
    if not file.is_file():
        raise LinkError(f"frame file {file} does not exist")
    try:
        with open_frames(file, repair=repair) as h5:
            if dataset not in h5:
                raise LinkError(f"frame file {file} has no dataset {dataset}")
            return h5[dataset].shape, h5[dataset].dtype
    except OSError as err:
        if isinstance(err, LinkError):
            raise
        raise LinkError(f"frame file {file} cannot be read as HDF5 ({err})") from err


def _sources(frames: FrameSet) -> dict[tuple[Path, str], tuple[tuple[int, ...], np.dtype]]:
    sources = {}
    for ref in frames.frames:
        key = (ref.file, ref.dataset)
        if key not in sources:
            sources[key] = _inspect(*key)
        shape = sources[key][0]
        if len(shape) == 3 and ref.index >= shape[0]:
            raise LinkError(f"frame file {ref.file} holds {shape[0]} frames, needed #{ref.index}")
    frame_shapes = {shape[-2:] for shape, _ in sources.values()}
    dtypes = {dtype for _, dtype in sources.values()}
    if len(frame_shapes) != 1 or len(dtypes) != 1:
        raise LinkError(f"frame files differ in frame shape or type: {frame_shapes}, {dtypes}")
    return sources


def _relative(file: Path, directory: Path) -> str:
    return os.path.relpath(file.resolve(), directory.resolve())


def write_frames(group: h5py.Group, name: str, frames: FrameSet, directory: Path) -> None:
    """Create ``group[name]`` [nP, (fpp,) ny, nx] linking the frames, paths relative to directory.

    Raises :class:`LinkError` naming the first source file that is missing or unreadable.
    """
    sources = _sources(frames)
    _, (shape, dtype) = next(iter(sources.items()))
    per_point = frames.frames_per_point
    lead = (frames.npoints,) if per_point == 1 else (frames.npoints, per_point)
    layout = h5py.VirtualLayout(shape=lead + tuple(shape[-2:]), dtype=dtype)
    virtual = {
        key: h5py.VirtualSource(_relative(key[0], directory), key[1], shape=src_shape)
        for key, (src_shape, _) in sources.items()
    }
    if per_point == 1:
        for key, target, first, count in _contiguous(frames):
            source = virtual[key]
            if len(source.shape) == 3:
                layout[target : target + count] = source[first : first + count]
            else:
                layout[target] = source[...]
    else:
        for k, ref in enumerate(frames.frames):
            source = virtual[(ref.file, ref.dataset)]
            layout[divmod(k, per_point)] = (
                source[ref.index] if len(source.shape) == 3 else source[...]
            )
    group.create_virtual_dataset(name, layout, fillvalue=0)


def _contiguous(frames: FrameSet) -> list[tuple[tuple[Path, str], int, int, int]]:
    """Runs of frames that are consecutive in one source: (source, target, first index, count).

    One mapping per run instead of per frame keeps a 20 000-frame stack's VDS fast to make.
    """
    runs: list[list] = []
    for k, ref in enumerate(frames.frames):
        key = (ref.file, ref.dataset)
        last = runs[-1] if runs else None
        if last is not None and last[0] == key and last[2] + last[3] == ref.index:
            last[3] += 1
        else:
            runs.append([key, k, ref.index, 1])
    return [tuple(run) for run in runs]


def _resolve(file_name: str, directory: Path, own: Path) -> Path:
    if file_name == ".":
        return own
    path = Path(file_name)
    return path if path.is_absolute() else directory / path


def _check_target(file: Path, dataset: str, where: str) -> str | None:
    try:
        _inspect(file, dataset, repair=False)  # a check only looks
    except LinkError as err:
        return f"{where}: {err}"
    return None


def link_problems(path: str | Path) -> list[str]:
    """Every broken external link or virtual-dataset source of an HDF5 file, in words."""
    path = Path(path)
    directory = path.resolve().parent
    problems: list[str] = []
    with h5py.File(path, "r") as h5:
        links: dict[str, h5py.ExternalLink] = {}
        virtual: list[str] = []

        def visit(name: str, link: object) -> None:
            if isinstance(link, h5py.ExternalLink):
                links[name] = link
            elif isinstance(link, h5py.HardLink):
                obj = h5.get(name)
                if isinstance(obj, h5py.Dataset) and obj.is_virtual:
                    virtual.append(name)

        h5.visititems_links(visit)
        for name, link in links.items():
            target = _resolve(link.filename, directory, path)
            problems.append(_check_target(target, link.path, f"/{name} (external link)"))
        for name in virtual:
            seen = set()
            for source in h5[name].virtual_sources():
                target = _resolve(source.file_name, directory, path)
                if (target, source.dset_name) not in seen:
                    seen.add((target, source.dset_name))
                    problems.append(
                        _check_target(target, source.dset_name, f"/{name} (virtual dataset)")
                    )
    return [problem for problem in problems if problem]
