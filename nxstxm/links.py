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
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

import h5py
import numpy as np

from .collector import Run
from .errors import NXstxmError
from .frames import open_frames
from .model import FrameSet, FrameSource

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


#: Where an event's frames come from: ("resource", uid) or ("stream_resource", uid,
#: descriptor), whose rule turns the event's number (a datum's point number, a stream
#: index) into frames.
Origin = tuple[str, ...]

#: How an origin's events map to frames: [events, frames per event] arrays of indices
#: into a list of sources, and of frame indices in those sources.
Frames = tuple[list[FrameSource], np.ndarray, np.ndarray]


def _resource_frames(run: Run, resource: dict, points: np.ndarray) -> Frames:
    """The frames of Resource/Datum datums at ``points`` (AD_HDF5 stream or AD_HDF5_SINGLE)."""
    spec, kwargs = resource["spec"], resource.get("resource_kwargs", {})
    per_point = int(kwargs.get("frame_per_point", 1))
    numbers = points[:, None] * per_point + np.arange(per_point)
    if spec in STREAM_SPECS:
        return [(_resource_file(resource), ADCORE_DATASET)], np.zeros_like(numbers), numbers
    if spec in SINGLE_SPECS:
        folder = os.path.join(str(_resource_file(resource)), "")
        template, name = kwargs["template"], kwargs["filename"]
        files = [(Path(template % (folder, name, j)), ADCORE_DATASET) for j in numbers.ravel()]
        return files, np.arange(numbers.size).reshape(numbers.shape), np.zeros_like(numbers)
    raise LinkError(f"run {run.uid}: resource {resource['uid']} has unsupported spec {spec!r}")


def _file_of_uri(uri: str) -> Path:
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise LinkError(f"stream resource {uri}: only local files can be linked")
    return Path(parsed.path)


def _stream_indices(run: Run, key: str) -> dict[tuple[str, int], tuple[Origin, int]]:
    """The stream resource and stream index of ``key`` per (descriptor, seq_num).

    From StreamResource/StreamDatum documents, as TiledWriter and ophyd-async record them
    and a Tiled catalog gives them back: one stream index per event.
    """
    found: dict[tuple[str, int], tuple[Origin, int]] = {}
    for datum in run.stream_datums:
        resource = run.stream_resources.get(datum["stream_resource"], {})
        if resource.get("data_key") != key:
            continue
        seq_nums, indices = datum["seq_nums"], datum["indices"]
        origin = ("stream_resource", resource["uid"], datum["descriptor"])
        for offset in range(indices["stop"] - indices["start"]):
            found[(datum["descriptor"], seq_nums["start"] + offset)] = (
                origin,
                indices["start"] + offset,
            )
    return found


def _streamed_frames(run: Run, key: str, origin: Origin, indices: np.ndarray) -> Frames:
    """Stream index i of a data key shaped [n, ny, nx] holds frames i·n … i·n + n − 1."""
    _, uid, descriptor = origin
    resource = run.stream_resources[uid]
    file = _file_of_uri(resource["uri"])
    dataset = (resource.get("parameters") or {}).get("dataset", ADCORE_DATASET)
    shape = run.descriptors[descriptor]["data_keys"][key].get("shape") or []
    per_event = int(shape[0]) if len(shape) == 3 else 1
    numbers = indices[:, None] * per_event + np.arange(per_event)
    return [(file, dataset)], np.zeros_like(numbers), numbers


def _events_by_origin(run: Run, key: str) -> dict[Origin, tuple[list[int], list[int]]]:
    """Per origin, its primary events (places in acquisition order) and their numbers.

    Through the event's datum (Resource/Datum, ophyd v1) or the stream datum covering its
    seq_num (StreamResource/StreamDatum, as a Tiled catalog gives them back). The one loop
    over events of this module: dictionary look-ups and appends, nothing per frame.
    """
    groups: dict[Origin, tuple[list[int], list[int]]] = {}
    streamed: dict | None = None
    for place, event in enumerate(run.stream("primary")):
        data = event["data"]
        if key in data:
            datum_id = str(data[key])
            datum = run.datums.get(datum_id)
            if datum is None or datum["resource"] not in run.resources:
                raise LinkError(f"run {run.uid}: datum {datum_id} or its resource is missing")
            origin = ("resource", datum["resource"])
            number = int(datum["datum_kwargs"]["point_number"])
        else:
            if streamed is None:
                streamed = _stream_indices(run, key)
            try:
                origin, number = streamed[(event["descriptor"], event["seq_num"])]
            except KeyError:
                raise LinkError(
                    f"run {run.uid}: event {event['seq_num']} has no {key!r} and no stream datum"
                ) from None
        group = groups.get(origin)
        if group is None:
            group = groups[origin] = ([], [])
        group[0].append(place)
        group[1].append(number)
    return groups


def event_frames(run: Run, key: str) -> FrameSet:
    """The frames of every primary event for data key ``key``, in acquisition order.

    Events are grouped by where their frames come from, and each group's frames are
    computed as arrays: a stack's thousands of events cost a loop over dictionaries, no
    object per frame.
    """
    parts: list[tuple[list[int], Frames]] = []
    for origin, (places, numbers) in _events_by_origin(run, key).items():
        if origin[0] == "resource":
            frames = _resource_frames(run, run.resources[origin[1]], np.array(numbers))
        else:
            frames = _streamed_frames(run, key, origin, np.array(numbers))
        parts.append((places, frames))
    count = sum(len(places) for places, _ in parts)
    width = _one_width({frames[2].shape[1] for _, frames in parts})
    table: dict[FrameSource, int] = {}
    source = np.zeros((count, width), dtype=int)
    index = np.zeros((count, width), dtype=np.int64)
    for places, (sources, which, numbers) in parts:
        source[places], index[places] = _source_ids(table, sources)[which], numbers
    return FrameSet(tuple(table), source.ravel(), index.ravel(), width)


def _one_width(per_point: set[int]) -> int:
    """The frames per point of all events (1 with no events); they must agree."""
    if len(per_point) > 1:
        raise LinkError(f"frames per point differ between resources: {sorted(per_point)}")
    return per_point.pop() if per_point else 1


def _source_ids(table: dict[FrameSource, int], sources: Sequence[FrameSource]) -> np.ndarray:
    """The ids of ``sources`` in the ``table`` of a FrameSet being made, adding new ones."""
    return np.array([table.setdefault(src, len(table)) for src in sources], dtype=int)


def frame_set(sets: Sequence[FrameSet]) -> FrameSet:
    """The frames of one detector key over several sets (a stack's runs), sources merged."""
    width = _one_width({s.frames_per_point for s in sets if len(s)})
    table: dict[FrameSource, int] = {}
    source = [np.zeros(0, dtype=int), *(_source_ids(table, s.sources)[s.source] for s in sets)]
    index = [np.zeros(0, dtype=np.int64), *(s.index for s in sets)]
    return FrameSet(tuple(table), np.concatenate(source), np.concatenate(index), width)


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


def _frames_held(source: tuple[tuple[int, ...], np.dtype] | None) -> int:
    """How many frames a source holds (a 2-D one is one frame, whatever the index)."""
    shape = source[0] if source is not None else ()
    return shape[0] if len(shape) == 3 else np.iinfo(np.int64).max


def _sources(frames: FrameSet) -> dict[FrameSource, tuple[tuple[int, ...], np.dtype]]:
    """Shape and type of every source the frames use; each frame's index checked against it."""
    sources = {key: _inspect(*key) for key in frames.used_sources()}
    held = np.array([_frames_held(sources.get(key)) for key in frames.sources], dtype=np.int64)
    beyond = np.flatnonzero(frames.index >= held[frames.source])
    if beyond.size:
        k = beyond[0]
        file, count = frames.sources[frames.source[k]][0], held[frames.source[k]]
        raise LinkError(f"frame file {file} holds {count} frames, needed #{frames.index[k]}")
    frame_shapes = {shape[-2:] for shape, _ in sources.values()}
    dtypes = {dtype for _, dtype in sources.values()}
    if len(frame_shapes) != 1 or len(dtypes) != 1:
        raise LinkError(f"frame files differ in frame shape or type: {frame_shapes}, {dtypes}")
    return sources


def write_frames(group: h5py.Group, name: str, frames: FrameSet, directory: Path) -> None:
    """Create ``group[name]`` [nP, (fpp,) ny, nx] linking the frames, paths relative to directory.

    Raises :class:`LinkError` naming the first source file that is missing or unreadable.
    """
    sources = _sources(frames)
    _, (shape, dtype) = next(iter(sources.items()))
    per_point = frames.frames_per_point
    lead = (frames.npoints,) if per_point == 1 else (frames.npoints, per_point)
    layout = h5py.VirtualLayout(shape=lead + tuple(shape[-2:]), dtype=dtype)
    base = directory.resolve()
    virtual = {
        key: h5py.VirtualSource(os.path.relpath(key[0].resolve(), base), key[1], shape=src_shape)
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
        for k, (which, index) in enumerate(zip(frames.source, frames.index, strict=True)):
            source = virtual[frames.sources[which]]
            frame = source[int(index)] if len(source.shape) == 3 else source[...]
            layout[divmod(k, per_point)] = frame
    group.create_virtual_dataset(name, layout, fillvalue=0)


def _contiguous(frames: FrameSet) -> list[tuple[FrameSource, int, int, int]]:
    """Runs of frames that are consecutive in one source: (source, target, first index, count).

    One mapping per run instead of per frame keeps a 20 000-frame stack's VDS fast to make;
    the runs are found on the frames' columns, no loop over frames.
    """
    source, index = frames.source, frames.index
    if not len(index):
        return []
    breaks = (source[1:] != source[:-1]) | (index[1:] != index[:-1] + 1)
    starts = np.concatenate([[0], np.flatnonzero(breaks) + 1])
    counts = np.diff(np.append(starts, len(index)))
    return [
        (frames.sources[source[k]], int(k), int(index[k]), int(count))
        for k, count in zip(starts, counts, strict=True)
    ]


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
