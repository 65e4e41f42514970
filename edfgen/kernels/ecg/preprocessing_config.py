"""The preprocessing contract stored beside every encoder checkpoint.

A checkpoint carries its own preprocessing, so a user never has to guess the input shape,
rate, lead order, filters or window: :func:`edfgen.kernels.ecg.preprocess.preprocess` applies exactly
these settings, and :mod:`edfgen.model.checkpoint` stores them in the checkpoint JSON.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from edfgen.kernels.ecg import LEADS, SAMPLING_RATE
from edfgen.exceptions import ConfigError
from edfgen.kernels.validate import check_ranges, checked_fields


#: edge extensions of the zero-phase filter (:attr:`Preprocessing.filter_padding`)
FILTER_PADDINGS = ("even", "odd")
#: edge extensions of the resampler (:attr:`Preprocessing.resample_padding`; ``scipy.signal.resample_poly`` padtypes)
RESAMPLE_PADDINGS = ("symmetric", "line", "edge", "constant")


@dataclass(frozen=True)
class Preprocessing:
    """How raw ECGs become model input.

    Attributes
    ----------
    sampling_rate
        Hz; every record is resampled to it (polyphase).
    leads
        Lead order of the model input ``[12, T]``.
    window_s
        Length of the analysed window (s); longer records are centre-cropped, shorter ones
        zero-padded at the end when at least ``min_duration_s`` long, else rejected.
    crop_s
        Length of the crops the encoder sees (the 10 s window is split into ``window_s / crop_s`` crops).
    highpass_hz, lowpass_hz
        Butterworth band-pass (zero-phase), removes baseline wander and high-frequency noise.
    notch_hz
        Powerline notch frequencies (both 50 and 60 Hz by default: the mains frequency of a record is often unknown).
    min_duration_s
        Shortest record accepted before padding.
    filter_padding
        How the zero-phase filter extends a record at its edges: ``"even"`` (mirror, 2 s; the default) or
        ``"odd"`` (scipy's point-symmetric extension of 3 x (2 x sections + 1) samples, 66 ms at 500 Hz, which
        every checkpoint saved without this key was trained with, so a checkpoint JSON lacking it reads as
        ``"odd"``). On 150 real 10 s PTB-XL records the odd extension leaves edge errors of 0.19 mV (median;
        95th percentile 1.6 mV) against the same samples filtered inside a longer record, the even one 0.085
        (0.23) mV (``benchmarks/results/filter_edges.md``); a 10 s record is filtered whole, so these edges fall
        inside the encoder's crops.
    resample_padding
        How the resampler (``scipy.signal.resample_poly``'s ``padtype``) extends a record not at
        ``sampling_rate`` beyond its ends: ``"symmetric"`` (a mirror, the default), ``"line"`` or ``"edge"``, or
        ``"constant"`` (zeros, which every checkpoint saved without this key was trained with, so a checkpoint
        JSON lacking it reads as ``"constant"`` and the shipped checkpoints' EDFs are unchanged). Zeros pull the
        last samples towards 0 mV, a step that the band-pass spreads back into the window: on the same 8 s of
        150 real PTB-XL records at 250 Hz and at 500 Hz, the largest error of the last 0.5 s is 0.76 lead SDs
        (median) with zeros and 0.050 with the mirror (``line`` 0.055), the EDFs' largest difference 0.054 and
        0.004 EDF SDs (``benchmarks/results/resample_edges.md``).
    """

    sampling_rate: int = SAMPLING_RATE
    leads: tuple[str, ...] = field(default=LEADS)
    window_s: float = 10.0
    crop_s: float = 5.0
    highpass_hz: float = 0.5
    lowpass_hz: float = 100.0
    notch_hz: tuple[float, ...] = (50.0, 60.0)
    min_duration_s: float = 8.0
    filter_padding: str = "even"
    resample_padding: str = "symmetric"

    def __post_init__(self):
        check_ranges("preprocessing", self, {"sampling_rate": (50, 20000), "window_s": (0.0, 3600.0, "open"),
                                             "crop_s": (0.0, 3600.0, "open"), "highpass_hz": (0.0, 1e4, "open"),
                                             "lowpass_hz": (0.0, 1e5, "open"), "notch_hz": (0.0, 1e5, "open"),
                                             "min_duration_s": (0.0, 3600.0, "open")})
        if self.crop_s > self.window_s:
            raise ConfigError(f"preprocessing: crop_s {self.crop_s:g} s is longer than window_s {self.window_s:g} s")
        if not self.highpass_hz < min(self.lowpass_hz, self.sampling_rate / 2):
            raise ConfigError(f"preprocessing: highpass_hz {self.highpass_hz:g} must be below lowpass_hz "
                              f"{self.lowpass_hz:g} and the Nyquist frequency {self.sampling_rate / 2:g} Hz")
        if not self.leads or len(set(self.leads)) != len(self.leads) or len(self.leads) > 64:
            raise ConfigError(f"preprocessing: leads must be 1 to 64 distinct names, got {list(self.leads)}")
        if self.filter_padding not in FILTER_PADDINGS:
            raise ConfigError(f"preprocessing: filter_padding {self.filter_padding!r} is not one of "
                              f"{', '.join(FILTER_PADDINGS)}")
        if self.resample_padding not in RESAMPLE_PADDINGS:
            raise ConfigError(f"preprocessing: resample_padding {self.resample_padding!r} is not one of "
                              f"{', '.join(RESAMPLE_PADDINGS)}")
        if len(self.notch_hz) > 16:
            raise ConfigError(f"preprocessing: at most 16 notch_hz frequencies, got {len(self.notch_hz)}")

    @property
    def window_samples(self) -> int:
        return int(round(self.window_s * self.sampling_rate))

    @property
    def crop_samples(self) -> int:
        return int(round(self.crop_s * self.sampling_rate))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["leads"] = list(self.leads)
        d["notch_hz"] = list(self.notch_hz)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Preprocessing":
        d = checked_fields(cls, d, what="preprocessing")
        d.setdefault("filter_padding", "odd")   # saved before the key existed: trained with scipy's odd extension
        d.setdefault("resample_padding", "constant")   # saved before the key existed: resampled with zeros beyond
        if "leads" in d:
            d["leads"] = tuple(d["leads"])
        if "notch_hz" in d:
            d["notch_hz"] = tuple(d["notch_hz"])
        return cls(**d)
