"""ECG kernels: arrays in, arrays out, no paths.

What this package knows: the in-memory record (:mod:`~edfgen.kernels.ecg.record`), lead names and lead
algebra (:mod:`~edfgen.kernels.ecg.leads`), preprocessing to the model input
(:mod:`~edfgen.kernels.ecg.preprocess`, contract in :mod:`~edfgen.kernels.ecg.preprocessing_config`) and
delineation/measurement (:mod:`~edfgen.kernels.ecg.biomarkers`). ECG files are read by
:mod:`edfgen.formats.ecg`; the simulator is :mod:`edfgen.simulate.ecg`.

Canonical lead order (the paper's and PhysioNet's): ``I, II, III, aVR, aVL, aVF, V1 … V6``.
Signals are arrays ``[12, T]`` (one record) or ``[N, 12, T]`` (a batch) in millivolts.
"""

LEADS: tuple[str, ...] = ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
SAMPLING_RATE = 500
