"""``edfgen extract --quality-threshold NAME=VALUE``: the record-quality thresholds
(:class:`edfgen.kernels.ecg.preprocess.QualityThresholds`) from the command line or a pipeline TOML.

Every threshold but ``reject_injected_spikes`` (``--keep-spike-markers``) is settable; a value is checked against
its kind (a count: a whole number >= 0; a bound or a duration: a finite number > 0; any other: >= 0, a fraction or a
correlation at most 1). The thresholds are part of extract's resume key (``quality`` in ``<out>.parts/state.json``),
so parts written under other thresholds are never reused.
"""

from __future__ import annotations

import dataclasses
import math
import re
from typing import Sequence

from edfgen.exceptions import InputError
from edfgen.kernels.ecg.preprocess import QualityThresholds

#: the thresholds ``--quality-threshold`` sets (``reject_injected_spikes`` has its own flag)
NAMES = tuple(f.name for f in dataclasses.fields(QualityThresholds) if f.name != "reject_injected_spikes")
#: whole-number counts
_COUNTS = ("max_flat_leads", "clip_plateaus")
#: must be > 0 (a bound of 0 rejects every record; a duration of 0 makes every sample a run)
_POSITIVE = ("saturation_run_s", "max_median_sd_mv", "max_abs_mv", "clip_plateau_s")
#: at most 1 (fractions of a lead's range, a correlation)
_AT_MOST_ONE = ("rail_fraction", "clip_rail_fraction", "min_chest_r")

HELP = ("Set a record-quality threshold (repeatable, or comma-separated NAME=VALUE,NAME=VALUE; names and defaults: "
        + ", ".join(f"{n}={getattr(QualityThresholds(), n):g}" for n in NAMES) + "; see the README).")


def quality_thresholds(items: Sequence[str], *, keep_spike_markers: bool = False) -> QualityThresholds:
    """The :class:`QualityThresholds` of ``--quality-threshold NAME=VALUE`` items (the defaults for the others);
    an item may hold several, comma-separated (``"max_flat_leads=0,min_chest_r=0.2"``), on the command line as in a
    TOML string.

    Parameters
    ----------
    items
        The ``NAME=VALUE`` items as given (each option occurrence, or a TOML list / string split on its commas).
    keep_spike_markers
        ``--keep-spike-markers``: keep records with injected spike markers (sets ``reject_injected_spikes`` off).

    Returns
    -------
    QualityThresholds
        The thresholds named set to their values, the others at their defaults.

    Raises
    ------
    InputError
        An item that is not ``NAME=VALUE``, an unknown name (the message lists the valid ones), a name given twice,
        or a value out of its range.
    """
    values: dict = {}
    items = [(part, str(item)) for item in items for part in str(item).split(",") if part.strip()]  # "a=1,b=2"
    for k, (item, given) in enumerate(items):
        name, eq, text = (s.strip() for s in str(item).partition("="))
        if not eq or not name:
            prev = items[k - 1][0] if k else ""
            # digits after NAME=number: a decimal comma ("min_chest_r=0,2"); a TOML list option arrives split on
            # its commas (["min_chest_r=0", "2"]), so the item before is named with it
            comma = item.strip().isdigit() and re.fullmatch(r"\s*\w+\s*=\s*[-+]?\d*\s*", prev) is not None
            if item == given:
                where = f"{given!r}" + (f" after {prev.strip()!r}" if comma else "")
            else:                                   # one of several comma-separated items
                where = f"{item.strip()!r} of {given!r}"
            hint = " (a decimal comma? use a decimal point)" if comma else ""
            raise InputError(f"--quality-threshold {where}: expected NAME=VALUE{hint} (names: {', '.join(NAMES)})")
        if name not in NAMES:
            raise InputError(f"--quality-threshold {name}: unknown threshold; valid names: {', '.join(NAMES)}")
        if name in values:
            raise InputError(f"--quality-threshold {name}: given twice")
        try:
            value = int(text) if name in _COUNTS else float(text)
        except ValueError:
            kind = "a whole number" if name in _COUNTS else "a number"
            raise InputError(f"--quality-threshold {name}={text}: expected {kind}") from None
        low_ok = value > 0 if name in _POSITIVE else value >= 0
        if not (math.isfinite(value) and low_ok and (value <= 1 or name not in _AT_MOST_ONE)):
            rng = ("a finite number > 0" if name in _POSITIVE else "in [0, 1]" if name in _AT_MOST_ONE
                   else "a finite number >= 0")    # inf and nan too (was "must be > 0" for inf)
            raise InputError(f"--quality-threshold {name}={text}: must be {rng}")
        values[name] = value
    return QualityThresholds(**values, reject_injected_spikes=not keep_spike_markers)
