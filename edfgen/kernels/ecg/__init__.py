"""12-lead ECG input, preprocessing, simulation and biomarker measurement.

Canonical lead order (the paper's and PhysioNet's): ``I, II, III, aVR, aVL, aVF, V1 … V6``.
Signals are arrays ``[12, T]`` (one record) or ``[N, 12, T]`` (a batch) in millivolts.
"""

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
SAMPLING_RATE = 500
