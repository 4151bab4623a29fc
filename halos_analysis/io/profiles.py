# SPDX-License-Identifier: MIT
"""Facility profiles: where each header field of a detector file lives, per facility and era.

A profile is a row of a declarative table, not code. For every field the pipeline needs it
names one or more *locations*, tried in order (fallbacks). A location is a string
``"kind:key[@unit][~regex]"``:

``h5:/path/in/file``
    an HDF5 dataset of the opened file (master file, scan file or data file). Soft links,
    external links (relative to the file that holds them) and virtual datasets are followed.
    A path component may be a glob (``/entry_0000/*/*/acquisition/exposure_time``) and may
    use the template variables below (``{entry}/instrument/{det}/image``).
``h5:OTHER.h5::/path``
    a dataset of a sibling file, named relative to the opened file (``{scan}_pcap.h5::...``).
``cbf:Key`` / ``edf:Key``
    a ``# Key value [unit]`` line of a Pilatus miniCBF header / a key of an EDF header.
``log:Key``
    a BioCAT-style run log ``{prefix}.log`` next to the data file: a ``#Key:<tab>value``
    header line, or a column of its per-frame table.
``hdr:key``
    per-frame ``key: value`` text headers in a ``header/`` folder next to the data folder
    (``<prefix>_<run>_<frame:05d>.txt``, the layout BioXTAS RAW reads for P12).
``poni:name``
    the PONI geometry the user gives (``wavelength``, ``distance``, ``pixel1``, ``pixel2``,
    ``beam_center_x``, ``beam_center_y``): for files that do not record it.
``name:regex``
    the file name itself (the first group of the regex, or the whole match).
``side:column``
    only a side table gives it (the TSV passed as ``side_table``).

``@unit`` is the unit the value is stored in when the file does not say it (an HDF5
``units`` attribute, or the unit written after a miniCBF value, wins). Values are converted
on read: lengths to m, times to s, an *energy* given for ``wavelength`` (``@eV``, ``@keV``) to
the wavelength λ = hc/E. Counters (``monitor``, ``transmitted``) keep their unit, which is
recorded (``V`` for a PandABox voltage, ``A`` for an electrometer current, ``counts``).
``~regex`` extracts the first group of a regex from a text value (B21's title).

Template variables: the named groups of the profile's ``filename`` regex (``{scan}``, ``{prefix}``),
``{stem}`` (file name without suffix), ``{entry}`` (the scan entry chosen, for files with one
entry per scan) and the profile's ``params`` (``{det}``, ``{monitor_counter}``). A location
whose parameter has no value is skipped. Parameters are set in the profile name:
``esrf_bm29_bliss:monitor_counter=diode,det=pilatus``.

Fields (canonical names, see :data:`FIELDS`). ``monitor_rate`` is a per-second flux (the
monitor of a frame is then the rate times the exposure). ``transmitted`` is the counter after
the sample (i_t, I1): where no transmission is stored the relative transmission is
``transmitted / monitor``, so that the frame is normalised by the transmitted beam, as the
beamline's own software does. ``info_*`` fields are read and reported, never used (e.g. a
detector-carriage position that is *not* the sample–detector distance).

Each profile states its evidence (:data:`EVIDENCE_LEVELS`): ``REAL`` (checked against a
real file), ``CODE`` (paths used by code that runs on that beamline's real files) or ``DOC``
(documentation only); ``../shared/validation/facility/layouts.md`` has the sources.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

__all__ = [
    "ALIASES",
    "EVIDENCE_LEVELS",
    "FIELDS",
    "PROFILES",
    "Location",
    "default_profile",
    "get_profile",
    "list_profiles",
    "parse_location",
    "parse_location_full",
    "required_fields",
    "split_profile_spec",
]

log = logging.getLogger(__name__)

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
    "monitor": "as stored (counts, V or A)",
    "monitor_rate": "counts per second",
    "transmitted": "as stored (counts, V or A)",
    "transmission": "",
    "sample_name": "",
    "detector": "",
    "pixel_mask": "",
    "bit_depth": "",
    "info_carriage_z": "m (a position, not a distance)",
    "info_title": "",
    "info_ring_current": "mA",
}

#: What each evidence level means.
EVIDENCE_LEVELS: dict[str, str] = {
    "REAL": "checked against a real file or real acquisition messages",
    "CODE": "paths used by code that runs on this beamline's real files; no real file seen",
    "DOC": "documentation or third-party description only",
}

#: PONI quantities a ``poni:`` location may name.
PONI_NAMES = ("wavelength", "distance", "pixel1", "pixel2", "beam_center_x", "beam_center_y")

_KINDS = ("h5", "cbf", "edf", "side", "log", "hdr", "poni", "name")

_DECTRIS = "/entry/instrument/detector"
# Geometry every facility without it in its files takes from the PONI file.
_PONI_GEOMETRY = {
    "distance": ("poni:distance",),
    "pixel_size_x": ("poni:pixel2",),
    "pixel_size_y": ("poni:pixel1",),
    "beam_center_x": ("poni:beam_center_x",),
    "beam_center_y": ("poni:beam_center_y",),
}

# What a facility file must carry to be reduced without guessing (issue 5): the geometry,
# the exposure, a per-frame monitor (from the file or a side table) and the sample name.
# The generic layouts require less, since a bare detector file has no monitor or name.
_GEOMETRY = ("wavelength", "distance", "pixel_size_x", "pixel_size_y", "beam_center_x")
_FACILITY_CBF = (*_GEOMETRY, "exposure", "monitor", "sample_name")
_FACILITY_NEXUS = ("data", *_GEOMETRY, "beam_center_y", "exposure", "monitor", "sample_name")

_COSAXS_EIGER = "/entry/instrument/eiger"

#: The table. ``format`` is what the frames are stored in; ``label`` names the layout in
#: messages ("looks like ..."); ``evidence`` is (level, sources); ``detect`` lists the
#: locations that must all exist for a file to be recognised as this layout (None: the
#: layout cannot be told apart from its base); ``required`` lists the fields ``halos
#: validate`` insists on; ``entry`` is the glob of per-scan entries and ``entry_order`` how
#: one is chosen; ``notes`` says what is known about real files.
PROFILES: dict[str, dict[str, Any]] = {
    # ---------------------------------------------------------------- generic layouts
    "dectris_nexus": {
        "format": "hdf5",
        "label": "DECTRIS Eiger NeXus master file",
        "description": "DECTRIS Eiger/Eiger2 NeXus master file with external-link data files",
        "evidence": (
            "DOC",
            "DECTRIS NeXus master layout (a real master was not retrievable); the data files "
            "it links are REAL (dectris/h5-testfiles, BioCAT vac_007)",
        ),
        "detect": ("h5:/entry/data/data_000001", f"h5:{_DECTRIS}/detector_distance"),
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
    "dectris_data": {
        "base": "dectris_nexus",
        "label": "DECTRIS Eiger data file (no master file)",
        "description": "A DECTRIS data file <prefix>_data_00000N.h5 on its own: frames only",
        "evidence": ("REAL", "dectris/h5-testfiles; BioCAT vac_007_data_000001.h5"),
        "detect": ("h5:/entry/data/data",),
        "fields": {
            "data": ("h5:/entry/data/data",),
            **_PONI_GEOMETRY,
            "wavelength": ("poni:wavelength",),
        },  # fmt: skip
        "required": ("data",),
        "notes": "Frames (N, H, W) uint16/uint32, bitshuffle-LZ4, @image_nr_low/high; gaps "
        "2**bits-1. Geometry, exposure and counters are in the master file or elsewhere.",
    },
    "pilatus_minicbf": {
        "format": "cbf",
        "label": "Pilatus miniCBF",
        "description": "Pilatus miniCBF files, one frame per file, PILATUS_1.2 header",
        "evidence": ("DOC", "DECTRIS miniCBF header specification"),
        "detect": None,
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
        "label": "ESRF EDF frames",
        "description": "EDF frames with the ESRF SAXS header keywords (ID02/BM29 style)",
        "evidence": ("DOC", "ESRF SAXS EDF header keywords"),
        "detect": None,
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
    # ---------------------------------------------------------------- EMBL P12
    "p12_pilatus_cbf": {
        "base": "pilatus_minicbf",
        "label": "EMBL P12 Pilatus miniCBF",
        "description": "EMBL P12 (PETRA III) batch mode, Pilatus 2M/6M miniCBF",
        "evidence": ("DOC", "DECTRIS miniCBF spec; P12's header keys are unverified"),
        "fields": {},
        "required": _FACILITY_CBF,
        "notes": "Geometry is also in the beamline's PONI file, which wins in integration. "
        "The monitor is the header's Flux x Exposure_time, or a side table's monitor column. "
        "No P12 miniCBF header has been seen: Flux/Transmission may be empty there.",
    },
    "p12_eiger_nexus": {
        "base": "dectris_nexus",
        "label": "EMBL P12 Eiger NeXus master",
        "description": "EMBL P12 (PETRA III), Eiger2 4M/9M DECTRIS NeXus master + data files",
        "evidence": (
            "DOC",
            "generic DECTRIS layout; P12 Eiger files may come from EMBL's own stream "
            "receiver instead (open question, layouts.md section 3)",
        ),
        "detect": None,
        "fields": {},
        "required": _FACILITY_NEXUS,
    },
    "p12_eiger_headers": {
        "format": "hdf5",
        "label": "EMBL P12 Eiger data file with per-frame text headers",
        "description": "EMBL P12 Eiger: DECTRIS data file + one 'key: value' text header per "
        "frame in a sibling header/ folder",
        "evidence": (
            "DOC",
            "BioXTAS RAW parsePetraIIIP12EigerFile (2017): the file layout is code, the "
            "header keys are not public; the keys below are candidates, not verified",
        ),
        "filename": r"^(?P<prefix>[^_]+_[^_]+)_data_\d{6}\.h5$",
        "detect": ("h5:/entry/data/data", "hdr:"),
        "fields": {
            "data": ("h5:/entry/data/data",),
            "wavelength": ("hdr:wavelength@A", "poni:wavelength"),
            **_PONI_GEOMETRY,
            "exposure": ("hdr:exposure_time@s", "hdr:Exposure_time@s", "side:exposure_s"),
            "monitor": ("hdr:monitor", "hdr:I0", "side:monitor"),
            "transmission": ("hdr:transmission", "hdr:Transmission", "side:transmission"),
            "sample_name": ("hdr:sample_name", "hdr:sample", "hdr:Sample"),
        },
        "required": ("data", "wavelength", "distance", "exposure", "monitor"),
        "notes": "The prefix must not contain '_' (RAW builds the header name from the first "
        "two '_'-fields of the data file name). Ask EMBL for one `h5ls -r` and one header.",
    },
    # ---------------------------------------------------------------- MAX IV CoSAXS
    "maxiv_cosaxs_2024": {
        "format": "hdf5",
        "label": "MAX IV CoSAXS 2024-26 scan master",
        "description": "MAX IV CoSAXS scan-N.h5 (2024-26): EIGER2 4M frames in "
        "scan-N_eiger.h5, PandABox monitors in scan-N_pcap.h5, linked from the master",
        "evidence": (
            "CODE",
            "maxiv-science/streaming-receiver filewriter (sidecar layout); pyBeamtime spec "
            "and spider-silk-max4 scan.py (master paths); dtype/shape/units REAL from the "
            "drp-cosaxs stream capture of scan-33478 (2024-10-30)",
        ),
        "filename": r"^(?P<scan>scan-\d+)\.h5$",
        "detect": (
            "name:^scan-\\d+\\.h5$",
            f"h5:{_COSAXS_EIGER}/data",
            "h5:/entry/instrument/start_positioners",
        ),
        "fields": {
            "data": (f"h5:{_COSAXS_EIGER}/data",),
            "wavelength": (f"h5:{_COSAXS_EIGER}/photon_energy@eV", "poni:wavelength"),
            **_PONI_GEOMETRY,
            "exposure": (f"h5:{_COSAXS_EIGER}/count_time@s", "side:exposure_s"),
            "monitor": (
                "h5:/entry/instrument/pcap/data/i_0@V",
                "h5:{scan}_pcap.h5::/entry/instrument/pandabox/data/i_0@V",
                "side:monitor",
            ),
            "transmitted": (
                "h5:/entry/instrument/pcap/data/i_t@V",
                "h5:{scan}_pcap.h5::/entry/instrument/pandabox/data/i_t@V",
            ),
            "transmission": ("side:transmission",),
            "sample_name": ("h5:/entry/instrument/start_positioners/sample_description",),
            "detector": ("h5:/entry/instrument/eiger/description",),
            "info_carriage_z": (
                "h5:/entry/instrument/start_positioners/detector_carriage_z_position@mm",
            ),
            "info_title": ("h5:/entry/title",),
            "info_ring_current": ("h5:/entry/instrument/ring_current/data",),
        },
        "required": ("data", "wavelength", "distance", "exposure", "monitor"),
        "notes": "Energy is stored in eV (no wavelength). Distance, beam centre and pixel "
        "size are not in the files: they come from the PONI. detector_carriage_z_position "
        "is the carriage (2500 mm where the PONI distance was 3.43 m) and is never used as "
        "the distance. Transmission is not stored: i_t/i_0 (volts; the amplifier dark offset "
        "is not subtracted, give a side table when it matters). sample_description exists "
        "but is always empty: the sample sheet names the sample. Gaps are 2**32-1.",
    },
    "maxiv_cosaxs_eiger_h5": {
        "base": "maxiv_cosaxs_2024",
        "label": "MAX IV CoSAXS EIGER sidecar scan-N_eiger.h5",
        "description": "MAX IV CoSAXS streaming-receiver file scan-N_eiger.h5 opened on its "
        "own; monitors from the sibling scan-N_pcap.h5",
        "evidence": (
            "CODE",
            "maxiv-science/streaming-receiver filewriter.py; values REAL (drp-cosaxs stream "
            "capture)",
        ),
        "filename": r"^(?P<scan>scan-\d+)_eiger\.h5$",
        "detect": ("name:^scan-\\d+_eiger\\.h5$", f"h5:{_COSAXS_EIGER}/data"),
        "fields": {
            "sample_name": (),
            "info_carriage_z": (),
            "info_title": (),
            "info_ring_current": (),
        },
    },
    "maxiv_cosaxs_2021": {
        "format": "hdf5",
        "label": "MAX IV CoSAXS 2021 (Sardana) scan file",
        "description": "MAX IV CoSAXS 2021 scan file: EIGER frames, electrometer i_0/i_t in "
        "/entry/measurement, sample in /entry/sample/description",
        "evidence": ("CODE", "weninc/cosaxs-tools analysis.ipynb (2021, proposal 20200740)"),
        "filename": r"^(?P<scan>scan-\d+)\.h5$",
        "detect": (f"h5:{_COSAXS_EIGER}/data", "h5:/entry/measurement/i_0"),
        "fields": {
            "data": (f"h5:{_COSAXS_EIGER}/data",),
            "wavelength": (f"h5:{_COSAXS_EIGER}/photon_energy@eV", "poni:wavelength"),
            **_PONI_GEOMETRY,
            "exposure": (f"h5:{_COSAXS_EIGER}/count_time@s", "side:exposure_s"),
            "monitor": ("h5:/entry/measurement/i_0@A", "side:monitor"),
            "transmitted": ("h5:/entry/measurement/i_t@A",),
            "transmission": ("side:transmission",),
            "sample_name": ("h5:/entry/sample/description",),
            "info_title": ("h5:/entry/title",),
        },
        "required": ("data", "wavelength", "distance", "exposure", "monitor", "sample_name"),
        "notes": "Electrometer currents (A); cosaxs-tools subtracted a dark current of "
        "3.77e-10 A from i_0, which this profile does not (give a side table). The photon "
        "energy path is the 2024 one, unverified for 2021: the PONI wavelength is the fallback.",
    },
    # ---------------------------------------------------------------- ESRF BM29
    "esrf_bm29_bliss": {
        "format": "hdf5",
        "label": "ESRF BM29 Bliss dataset file",
        "description": "ESRF BM29 Bliss dataset file <sample>_<dataset>.h5: one /<N>.1 entry "
        "per scan, frames as a virtual dataset over the Lima files",
        "evidence": (
            "CODE",
            "ewoksbm29 1.0.0 io/read_offline.py (MIT); Bliss data policy docs; dahu "
            "plugins/bm29 (energy in keV overrides the PONI wavelength)",
        ),
        "filename": r"^(?P<sample>.+)_(?P<dataset>[^_]+)\.h5$",
        "entry": "/*.1",
        "entry_order": "number",
        "params": {"det": "*", "monitor_counter": None},
        "detect": ("h5:/*.1/instrument/*/image", "h5:/*.1/instrument/positioners_start/energy"),
        "fields": {
            "data": ("h5:{entry}/instrument/{det}/image", "h5:{entry}/measurement/{det}"),
            "wavelength": (
                "h5:{entry}/instrument/positioners_start/energy@keV",
                "poni:wavelength",
            ),  # fmt: skip
            **_PONI_GEOMETRY,
            "exposure": ("h5:{entry}/scan_parameters/count_time@s", "side:exposure_s"),
            "monitor": ("h5:{entry}/measurement/{monitor_counter}", "side:monitor"),
            "sample_name": ("name:^(.+)_[^_]+\\.h5$",),
            "info_title": ("h5:{entry}/title",),
            "info_ring_current": ("h5:{entry}/instrument/machine/current@mA",),
        },
        "monitor_includes_transmission": True,
        "required": ("data", "wavelength", "distance", "exposure"),
        "notes": "The monitor is BM29's beam-stop diode, which already includes the sample's "
        "absorption (no separate transmission is recorded). Its Bliss counter name is not "
        "public: give it as esrf_bm29_bliss:monitor_counter=NAME, or a side table; without "
        "it frames are normalised by the exposure time. Distance, beam centre and pixel size "
        "come from the PONI. The sample name is the dataset file's (and folder's) name.",
    },
    "esrf_bm29_lima": {
        "format": "hdf5",
        "label": "ESRF BM29 Lima HDF5 file",
        "description": "ESRF BM29 Lima file scanNNNN/<det>_NNNN.h5 (what dahu reads): "
        "/entry_0000/measurement/data soft-linked to /entry_0000/ESRF-BM29/<det>/data",
        "evidence": (
            "CODE",
            "kif/dahu plugins/bm29/integrate.py (paths read); esrf-bliss/Lima "
            "CtSaving_Hdf5.cpp (writer)",
        ),
        "entry": "/entry_*",
        "entry_order": "start_time",
        "detect": ("h5:/entry_*/measurement/data", "h5:/entry_*/*/*/detector_information"),
        "fields": {
            "data": ("h5:{entry}/measurement/data", "h5:{entry}/*/*/data"),
            "wavelength": ("poni:wavelength",),
            **_PONI_GEOMETRY,
            "pixel_size_x": (
                "h5:{entry}/*/*/detector_information/pixel_size/xsize@m",
                "poni:pixel2",
            ),
            "pixel_size_y": (
                "h5:{entry}/*/*/detector_information/pixel_size/ysize@m",
                "poni:pixel1",
            ),
            "exposure": ("h5:{entry}/*/*/acquisition/exposure_time@s", "side:exposure_s"),
            "detector": ("h5:{entry}/*/*/detector_information/model",),
            "monitor": ("side:monitor",),
            "transmission": ("side:transmission",),
            "info_title": ("h5:{entry}/title",),
        },
        "monitor_includes_transmission": True,
        "required": ("data", "wavelength", "distance", "exposure"),
        "notes": "Lima files carry frames and detector settings only; wavelength, distance "
        "and beam centre come from the PONI file, the diode from the Bliss dataset file "
        "(profile esrf_bm29_bliss) or a side table. Of several entries the latest "
        "start_time is read, as dahu does.",
    },
    # ---------------------------------------------------------------- others
    "biocat_eiger": {
        "format": "hdf5",
        "label": "APS BioCAT (18-ID) Eiger data file with its .log",
        "description": "APS BioCAT EIGER2 XE 9M: DECTRIS data files <prefix>_data_00000k.h5 "
        "plus the run log <prefix>.log (exposure, I0, I1, sample)",
        "evidence": ("REAL", "vac_007_data_000001.h5 + vac_007.log (2022-03-23)"),
        "filename": r"^(?P<prefix>.+)_data_\d{6}\.h5$",
        "detect": ("h5:/entry/data/data", "log:"),
        "fields": {
            "data": ("h5:/entry/data/data",),
            "wavelength": ("poni:wavelength",),
            **_PONI_GEOMETRY,
            "exposure": ("log:exposure_time@s", "log:Exposure time/frame [s]@s"),
            "monitor": ("log:I0", "side:monitor"),
            "transmitted": ("log:I1",),
            "transmission": ("side:transmission",),
            "sample_name": ("log:Sample",),
            "info_ring_current": ("log:Beam_current@mA",),
        },
        "required": ("data", "wavelength", "distance", "exposure", "monitor"),
        "notes": "RAW normalises by I1 (the transmitted beam); here monitor = I0 and the "
        "relative transmission I1/I0, whose product is I1. '#Nominal Transmission' is the "
        "attenuators', not the sample's. '#Sample' is empty for calibration runs. Geometry "
        "comes from the PONI (RAW's settings: 3668.7 mm, 1.0332 A).",
    },
    "diamond_b21": {
        "format": "hdf5",
        "label": "Diamond B21 GDA NeXus file",
        "description": "Diamond B21 b21-<N>.nxs (GDA NeXus, Pilatus era): /entry1/detector/data",
        "evidence": ("CODE", "B21 staff pipeline (2016), a public file of unknown repository"),
        "filename": r"^b21-(?P<run>\d+)\.nxs$",
        "detect": ("h5:/entry1/detector/data", "h5:/entry1/instrument/detector/count_time"),
        "fields": {
            "data": ("h5:/entry1/detector/data",),
            "wavelength": ("poni:wavelength",),
            **_PONI_GEOMETRY,
            "exposure": ("h5:/entry1/instrument/detector/count_time@s",),
            "monitor": ("side:monitor",),
            "transmission": ("side:transmission",),
            "sample_name": (
                "h5:/entry1/title~^Sample: (.*?)(?: \\(Location.*)?$",
                "h5:/entry1/sample/name",
            ),
            "info_title": ("h5:/entry1/title",),
        },
        "required": ("data", "wavelength", "distance", "exposure"),
        "notes": "count_time has shape (N, 1). The monitor's path is not in the evidence: "
        "give a side table (else frames are normalised by the exposure). The sample name is "
        "parsed from the title 'Sample: <name> (Location ...)'; a 'SECSAXS ...' title has none.",
    },
}

#: Old profile names, still accepted, and what they now mean (with a deprecation note).
ALIASES: dict[str, str] = {
    "maxiv_cosaxs_eiger": "maxiv_cosaxs_2024",
    "esrf_bm29_pilatus_h5": "esrf_bm29_lima",
}


@dataclass(frozen=True)
class Location:
    """One parsed location ``kind:key[@unit][~regex]`` (``file`` for ``h5:OTHER::/path``)."""

    kind: str
    key: str
    unit: str | None = None
    regex: str | None = None
    file: str | None = None

    @property
    def text(self) -> str:
        """The location as a profile writes it."""
        where = f"{self.file}::{self.key}" if self.file else self.key
        return f"{self.kind}:{where}" + (f"@{self.unit}" if self.unit else "")


def parse_location_full(location: str) -> Location:
    """Parse ``"kind:key[@unit][~regex]"`` into a :class:`Location`.

    Raises
    ------
    ValueError
        On an unknown kind or an empty key (``log:`` and ``hdr:`` may be empty: they then
        name the sidecar file itself, as in a ``detect`` signature).
    """
    kind, _, rest = location.partition(":")
    if kind not in _KINDS or (not rest and kind not in ("log", "hdr")):
        raise ValueError(f"bad profile location {location!r} (expected kind:key[@unit])")
    regex = None
    if "~" in rest:
        rest, _, regex = rest.partition("~")
    key, unit = rest, None
    if kind != "name" and "@" in rest:
        key, _, unit = rest.rpartition("@")
    fname = None
    if kind == "h5" and "::" in key:
        fname, _, key = key.partition("::")
    return Location(kind, key, unit or None, regex, fname)


def parse_location(location: str) -> tuple[str, str, str | None]:
    """Split ``"kind:key@unit"`` into ``(kind, key, unit)`` (unit None when absent)."""
    loc = parse_location_full(location)
    key = f"{loc.file}::{loc.key}" if loc.file else loc.key
    return loc.kind, key, loc.unit


def split_profile_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``"name:key=value,key=value"`` -> ``(name, {key: value})``."""
    name, _, rest = spec.partition(":")
    params: dict[str, str] = {}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise KeyError(f"bad profile parameter {item!r} in {spec!r} (expected key=value)")
        params[key.strip()] = value.strip()
    return name.strip(), params


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
        out.pop("detect", None)  # a signature is the layout's own, never inherited
    fields = dict(out.get("fields", {}))
    fields.update(row.get("fields", {}))
    out.update({k: v for k, v in row.items() if k not in ("fields", "base")})
    out["fields"] = {k: tuple(v) for k, v in fields.items() if v}
    out["name"] = name
    out.setdefault("detect", None)
    out.setdefault("params", {})
    return out


def get_profile(name: str) -> dict[str, Any]:
    """Return a facility profile with its base profile's fields merged in.

    Parameters
    ----------
    name : str
        A key of :data:`PROFILES` (e.g. ``"maxiv_cosaxs_2024"``), an old name of
        :data:`ALIASES` (logged as deprecated), optionally followed by parameters:
        ``"esrf_bm29_bliss:monitor_counter=diode"``.

    Returns
    -------
    dict
        ``name``, ``format``, ``label``, ``description``, ``evidence``, ``detect``,
        ``fields`` (field -> tuple of locations), ``required``, ``params`` (the profile's
        defaults updated with the given ones), ``notes`` and, for an alias, ``alias_of``.

    Raises
    ------
    KeyError
        For an unknown name (the message lists the known ones) or an unknown parameter.
    """
    base, given = split_profile_spec(name)
    alias = None
    if base in ALIASES:
        alias, base = base, ALIASES[base]
        log.warning("profile %r is deprecated: it now means %r", alias, base)
    prof = _resolve(base)
    params = dict(prof["params"])
    for key, value in given.items():
        if key not in params:
            known = ", ".join(sorted(params)) or "none"
            raise KeyError(f"profile {base!r} has no parameter {key!r} (known: {known})")
        params[key] = value
    prof["params"] = params
    if alias:
        prof["alias_of"] = alias
    return prof


def required_fields(name: str) -> tuple[str, ...]:
    """Fields a file of this profile must carry to pass ``halos validate``."""
    return tuple(get_profile(name).get("required", ()))


def default_profile(fmt: str) -> str:
    """Name of the generic profile for a file format (``hdf5``, ``cbf``, ``edf``, ``tiff``)."""
    if fmt in ("hdf5", "h5", "nxs"):
        return "dectris_nexus"
    return "esrf_edf" if fmt == "edf" else "pilatus_minicbf"


def list_profiles() -> list[dict[str, Any]]:
    """Every profile (and alias) with its label, format, evidence and signature, for listing."""
    rows = []
    for name in PROFILES:
        p = _resolve(name)
        level, sources = p.get("evidence", ("DOC", ""))
        rows.append(
            {
                "name": name,
                "label": p.get("label", name),
                "format": p["format"],
                "description": p.get("description", ""),
                "evidence": level,
                "evidence_sources": sources,
                "detectable": bool(p.get("detect")),
                "params": dict(p.get("params", {})),
                "aliases": sorted(a for a, t in ALIASES.items() if t == name),
                "from_poni": sorted(
                    f
                    for f, locs in p["fields"].items()
                    if locs
                    and all(loc.startswith(("poni:", "side:")) for loc in locs)
                    and any(loc.startswith("poni:") for loc in locs)
                ),
                "notes": p.get("notes", ""),
            }
        )
    return rows


def template_vars(profile: dict[str, Any], filename: str) -> dict[str, str]:
    """Variables of a profile's locations for one file: name-regex groups and ``{stem}``."""
    import os

    base = os.path.basename(filename)
    out = {"stem": os.path.splitext(base)[0]}
    pattern = profile.get("filename")
    if pattern:
        m = re.match(pattern, base)
        if m:
            out.update({k: v for k, v in m.groupdict().items() if v is not None})
    return out
