"""ECG files: WFDB, NumPy, HDF5 (:mod:`~edfgen.formats.ecg.records`) and vendor XML
(:mod:`~edfgen.formats.ecg.xml`), read into :class:`edfgen.kernels.ecg.record.EcgRecord` objects.
"""
