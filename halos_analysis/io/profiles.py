# SPDX-License-Identifier: MIT
"""Facility profiles: where each header field of a detector file lives.

A profile is a row of a declarative table, not code: for every field the pipeline needs it
names one or more *locations*, tried in order. A location is a string ``"kind:key[@unit]"``:

``h5:/path/in/file``
    an HDF5 dataset (in the master file for DECTRIS runs, else in the data file);
``cbf:Key``
    a line ``# Key value [unit]`` of a Pilatus miniCBF header;
``edf:Key``
    a key of an EDF header;
``side:column``
    only a side table gives it (the TSV passed as ``side_table``).

``@unit`` is the unit the value is stored in when the file itself does not say it (HDF5
``units`` attribute, or the unit written after the value in a miniCBF header). Values are
converted to SI (m, s) and pixels. A profile may name a ``base`` profile whose fields it
inherits. ``monitor_rate`` is a per-second flux: the monitor of a frame is then the rate
times the frame's exposure.

Fields (canonical names): ``data``, ``wavelength``, ``distance``, ``pixel_size_x``,
``pixel_size_y``, ``beam_center_x``, ``beam_center_y``, ``exposure``, ``monitor``,
``monitor_rate``, ``transmission``, ``sample_name``, ``detector``, ``pixel_mask``,
``bit_depth``.
"""

from __future__ import annotations

from typing import Any

#: Fields a profile may map, with the unit they are returned in.
FIELDS: dict[str, str] = {
    "data": "",
    "wavelength": "m",
    "distance": "m",
    "pixel_size_x": "m",
    "pixel_size_y": "m",
    "beam_center_x": "pixel",
    "beam_center_y": "pixel",
    "exposure": "s",
    "monitor": "counts per frame",
    "monitor_rate": "counts per second",
    "transmission": "",
    "sample_name": "",
    "detector": "",
    "pixel_mask": "",
    "bit_depth": "",
}

_DECTRIS = "/entry/instrument/detector"

# What a facility file must carry to be reduced without guessing (issue 5): the geometry,
# the exposure, a per-frame monitor (from the file or a side table) and the sample name.
# The generic layouts require less, since a bare detector file has no monitor or name.
_GEOMETRY = ("wavelength", "distance", "pixel_size_x", "pixel_size_y", "beam_center_x")
_FACILITY_CBF = (*_GEOMETRY, "exposure", "monitor", "sample_name")
_FACILITY_NEXUS = ("data", *_GEOMETRY, "beam_center_y", "exposure", "monitor", "sample_name")

#: The table. ``format`` is what the frames are stored in; ``required`` lists the fields
#: ``halos validate`` insists on; ``notes`` says what is known about real files.
PROFILES: dict[str, dict[str, Any]] = {
    # Generic layouts that the facility rows build on.
    "dectris_nexus": {
        "format": "hdf5",
        "description": "DECTRIS Eiger/Eiger2 NeXus master file with external-link data files",
        "fields": {
            "data": ("h5:/entry/data", "h5:/entry/data/data"),
            "wavelength": ("h5:/entry/instrument/beam/incident_wavelength@A",),
            "distance": (f"h5:{_DECTRIS}/detector_distance@m",),
            "pixel_size_x": (f"h5:{_DECTRIS}/x_pixel_size@m",),
            "pixel_size_y": (f"h5:{_DECTRIS}/y_pixel_size@m",),
            "beam_center_x": (f"h5:{_DECTRIS}/beam_center_x@pixel",),
            "beam_center_y": (f"h5:{_DECTRIS}/beam_center_y@pixel",),
            "exposure": (f"h5:{_DECTRIS}/count_time@s",),
            "monitor": ("h5:/entry/monitor/data", "side:monitor"),
            "transmission": ("h5:/entry/sample/transmission", "side:transmission"),
            "sample_name": ("h5:/entry/sample/name",),
            "detector": (f"h5:{_DECTRIS}/description",),
            "pixel_mask": (
                f"h5:{_DECTRIS}/pixel_mask",
                f"h5:{_DECTRIS}/detectorSpecific/pixel_mask",
            ),
            "bit_depth": (
                f"h5:{_DECTRIS}/bit_depth_image",
                f"h5:{_DECTRIS}/detectorSpecific/bit_depth_image",
            ),
        },
        "required": (
            "data",
            "wavelength",
            "distance",
            "pixel_size_x",
            "pixel_size_y",
            "beam_center_x",
            "beam_center_y",
            "exposure",
        ),
        "notes": "Field names as in the DECTRIS NeXus master file. Monitor and transmission "
        "are not written by the detector: /entry/monitor/data and /entry/sample/transmission "
        "are where `halos simulate` puts them; otherwise give a side table.",
    },
    "pilatus_minicbf": {
        "format": "cbf",
        "description": "Pilatus miniCBF files, one frame per file, PILATUS_1.2 header",
        "fields": {
            "wavelength": ("cbf:Wavelength@A",),
            "distance": ("cbf:Detector_distance@m",),
            "pixel_size_x": ("cbf:Pixel_size@m",),
            "pixel_size_y": ("cbf:Pixel_size@m",),
            "beam_center_x": ("cbf:Beam_xy@pixel",),
            "beam_center_y": ("cbf:Beam_xy@pixel",),
            "exposure": ("cbf:Exposure_time@s",),
            "monitor_rate": ("cbf:Flux",),
            "monitor": ("side:monitor",),
            "transmission": ("cbf:Transmission", "side:transmission"),
            "sample_name": ("cbf:Sample_name",),
            "detector": ("cbf:Detector",),
        },
        "required": ("wavelength", "distance", "pixel_size_x", "beam_center_x", "exposure"),
        "notes": "Flux is photons/s (Pilatus convention): monitor = Flux x Exposure_time. "
        "'Transmission' and 'Sample_name' are keys that `halos simulate` writes; a camserver "
        "header has neither (give a side table).",
    },
    "esrf_edf": {
        "format": "edf",
        "description": "EDF frames with the ESRF SAXS header keywords (ID02/BM29 style)",
        "fields": {
            "wavelength": ("edf:WaveLength@m",),
            "distance": ("edf:SampleDistance@m",),
            "pixel_size_x": ("edf:PSize_1@m",),
            "pixel_size_y": ("edf:PSize_2@m",),
            "beam_center_x": ("edf:Center_1@pixel",),
            "beam_center_y": ("edf:Center_2@pixel",),
            "exposure": ("edf:ExposureTime@s", "edf:count_time@s"),
            "monitor": ("edf:Intensity0", "side:monitor"),
            "transmission": ("edf:Transmission", "side:transmission"),
            "sample_name": ("edf:Title",),
        },
        "required": ("wavelength", "distance", "pixel_size_x", "exposure"),
        "notes": "Dim_1/Center_1/PSize_1 are along the fast (x) axis in these files.",
    },
    # Facility rows.
    "p12_pilatus_cbf": {
        "base": "pilatus_minicbf",
        "description": "EMBL P12 (PETRA III) batch mode, Pilatus 2M/6M miniCBF",
        "fields": {},
        "required": _FACILITY_CBF,
        "notes": "Geometry is also in the beamline's PONI file, which wins in integration. "
        "The monitor is the header's Flux x Exposure_time, or a side table's monitor column.",
    },
    "p12_eiger_nexus": {
        "base": "dectris_nexus",
        "description": "EMBL P12 (PETRA III), Eiger2 4M/9M NeXus master + data files",
        "fields": {},
        "required": _FACILITY_NEXUS,
    },
    "maxiv_cosaxs_eiger": {
        "base": "dectris_nexus",
        "description": "MAX IV CoSAXS, Eiger2 4M written by the DECTRIS file writer",
        "fields": {
            "monitor": ("side:monitor",),
            "transmission": ("side:transmission",),
        },
        "required": _FACILITY_NEXUS,
        "notes": "Beamline counters are stored apart from the detector files: give them in a "
        "side table (frame, monitor, transmission, exposure_s); `halos validate` then needs "
        "the side table too.",
    },
    "esrf_bm29_pilatus_h5": {
        "format": "hdf5",
        "description": "ESRF BM29, Pilatus 2M frames in a LImA HDF5 file",
        "fields": {
            "data": ("h5:/entry_0000/measurement/data", "h5:/entry_0000/instrument/data"),
            "pixel_size_x": (
                "h5:/entry_0000/instrument/pilatus2m/detector_information/pixel_size/xsize@m",
            ),
            "pixel_size_y": (
                "h5:/entry_0000/instrument/pilatus2m/detector_information/pixel_size/ysize@m",
            ),
            "exposure": (
                "h5:/entry_0000/instrument/pilatus2m/acquisition/exposure_time@s",
                "side:exposure_s",
            ),
            "detector": ("h5:/entry_0000/instrument/pilatus2m/detector_information/model",),
            "monitor": ("side:monitor",),
            "transmission": ("side:transmission",),
        },
        "required": ("data",),
        "notes": "LImA files carry the frames and detector settings; wavelength, distance and "
        "beam centre come from the PONI file, the diode counters from a side table.",
    },
}


def _resolve(name: str, seen: tuple[str, ...] = ()) -> dict[str, Any]:
    if name not in PROFILES:
        known = ", ".join(sorted(PROFILES))
        raise KeyError(f"unknown facility profile {name!r} (known: {known})")
    if name in seen:
        raise ValueError(f"profile {name!r} inherits from itself")
    row = PROFILES[name]
    out: dict[str, Any] = {}
    if "base" in row:
        out = _resolve(row["base"], seen + (name,))
    fields = dict(out.get("fields", {}))
    fields.update(row.get("fields", {}))
    out.update({k: v for k, v in row.items() if k not in ("fields", "base")})
    out["fields"] = fields
    out["name"] = name
    return out


def get_profile(name: str) -> dict[str, Any]:
    """Return a facility profile with its base profile's fields merged in.

    Parameters
    ----------
    name : str
        A key of :data:`PROFILES`, e.g. ``"p12_pilatus_cbf"``.

    Returns
    -------
    dict
        ``name``, ``format``, ``description``, ``fields`` (field -> tuple of locations),
        ``required`` and ``notes``.

    Raises
    ------
    KeyError
        For an unknown name (the message lists the known ones).
    """
    return _resolve(name)


def required_fields(name: str) -> tuple[str, ...]:
    """Fields a file of this profile must carry to pass ``halos validate``."""
    return tuple(get_profile(name).get("required", ()))


def parse_location(location: str) -> tuple[str, str, str | None]:
    """Split ``"kind:key@unit"`` into ``(kind, key, unit)`` (unit None when absent)."""
    kind, _, rest = location.partition(":")
    if kind not in ("h5", "cbf", "edf", "side") or not rest:
        raise ValueError(f"bad profile location {location!r} (expected kind:key[@unit])")
    key, _, unit = rest.partition("@")
    return kind, key, unit or None


def default_profile(fmt: str) -> str:
    """Name of the generic profile for a file format (``hdf5``, ``cbf``, ``edf``, ``tiff``)."""
    if fmt in ("hdf5", "h5", "nxs"):
        return "dectris_nexus"
    return "esrf_edf" if fmt == "edf" else "pilatus_minicbf"
