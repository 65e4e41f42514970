"""Signal units of ECG files: the factor that turns a stored unit into millivolts.

Shared by the readers of :mod:`edfgen.formats.ecg.records` (WFDB, NumPy, HDF5) and
:mod:`edfgen.formats.ecg.xml` (per-count resolutions such as ``uVperLsb``).
"""

from __future__ import annotations

#: multiply a signal in these units by the factor to get millivolts
UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "microvolt": 1e-3, "microvolts": 1e-3,
              "v": 1e3, "volt": 1e3, "volts": 1e3, "millivolt": 1.0, "millivolts": 1.0, "nv": 1e-6}
