"""Signal units of ECG files: the factor that turns a stored unit into millivolts.

Shared by the readers of :mod:`edfgen.formats.ecg.records` (WFDB, NumPy, HDF5) and
:mod:`edfgen.formats.ecg.xml` (per-count resolutions such as ``uVperLsb``).

Units ``z`` (a per-lead z-score: dimensionless, SD 1 per lead, as in ``../shared/data/ecg/ptbxl_extra``) carry
no amplitude in mV, so readers **refuse** them by default (the record goes to ``rejects.tsv`` with the reason):
``edfgen extract``, ``interpret`` and ``evaluate`` report biomarker amplitudes (R, T, P amplitude, ST deviation
in mV) and feed the encoder millivolts, and a z value must never pass for a millivolt. Only
``edfgen pretrain`` reads them (``z_scale=Z_LEAD_SD_MV``): each lead is multiplied by a typical SD in mV of
that lead (:data:`Z_LEAD_SD_MV`), so these records enter the encoder at ordinary amplitudes; inter-lead
amplitude ratios are those of a typical record, not the patient's, so the QRS-axis auxiliary target is not
used for them (intervals and heart rate are kept by z-scoring and are used).
"""

from __future__ import annotations

#: multiply a signal in these units by the factor to get millivolts
UNIT_TO_MV = {"mv": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3, "microvolt": 1e-3, "microvolts": 1e-3,
              "v": 1e3, "volt": 1e3, "volts": 1e3, "millivolt": 1.0, "millivolts": 1.0, "nv": 1e-6}

#: the micro sign (U+00B5) and Greek mu (U+03BC) written in UTF-8 and read as Latin-1 ('Âµ', 'Î¼' lower-cased): a
#: converter re-saving a file in UTF-8 under its ISO-8859-1 declaration
_MOJIBAKE_MICRO = {"\u00e2\u00b5": "\u00b5", "\u00ee\u00bc": "\u03bc"}


def unit_key(units) -> str:
    """A unit name as :data:`UNIT_TO_MV` and :data:`Z_UNITS` key it: lower case, no spaces (``" uV"`` -> ``uv``); a
    micro sign in UTF-8 read as Latin-1 (``"ÂµV"``) is the micro sign."""
    key = str(units).strip().lower().replace(" ", "")
    for bad, micro in _MOJIBAKE_MICRO.items():
        key = key.replace(bad, micro)
    return key


def mv_per_unit(units) -> float | None:
    """Millivolts per ``units`` (``uV`` -> 0.001), or None for a unit that is not a voltage."""
    return UNIT_TO_MV.get(unit_key(units))


#: the dimensionless per-lead z-score unit (refused unless a reader is given ``z_scale``)
Z_UNITS = ("z",)
#: note added to a record read from units ``z`` (:class:`~edfgen.kernels.ecg.record.EcgRecord` ``notes``)
Z_NOTE = "units z (per-lead z-score) rescaled to typical lead SDs in mV"
#: typical SD (mV) of each lead after a 0.5-40 Hz band-pass: the median over the 353 PTB-XL records at 500 Hz of
#: ``../shared/data/ecg/ptbxl/records500`` (``benchmarks/z_lead_scale.py``, ``benchmarks/results/z_lead_scale.md``);
#: multiplies z-scored leads in pre-training (canonical lead names, matched case-insensitively).
Z_LEAD_SD_MV = {"I": 0.117, "II": 0.133, "III": 0.094, "aVR": 0.119, "aVL": 0.079, "aVF": 0.098, "V1": 0.145,
                "V2": 0.257, "V3": 0.222, "V4": 0.221, "V5": 0.203, "V6": 0.169}
