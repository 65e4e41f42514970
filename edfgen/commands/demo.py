"""``edfgen demo``: the whole job on the embedded default (a simulated cohort with planted truth).

Simulates the default cohort, writes ``pipeline.toml`` beside the results (so the same run can be
repeated or edited with ``edfgen run --config edfgen-demo/pipeline.toml``), runs the pipeline with the
shipped ``tiny`` checkpoint, and writes ``report.html`` with a truth section. Rerunning resumes.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from edfgen import DEFAULT_CHECKPOINT
from edfgen.exceptions import InputError
from edfgen.pipeline import STATE_FILE, PipelineResult, config_from_dict, render_toml, run_pipeline

#: the stages' options shared by the demo and the tests' small run
STAGE_OPTIONS: dict[str, dict] = {
    "extract": {"checkpoint": DEFAULT_CHECKPOINT},
    "gwas": {"covar_cols": "age,sex,centre"},
    "gwas_outcomes": {"covar_cols": "age,sex,centre"},
    "clump": {},
    "annotate": {},
    "mr": {},
}


def demo_config(*, n: int, seed: int) -> dict:
    """The demo's pipeline configuration: simulate, then every stage; the two-sample split makes MR's
    exposure and outcome GWAS use disjoint halves of the cohort."""
    return {"run": {"out": ".", "two_sample_split": True, "biomarker_gwas": True},
            "inputs": {"catalog": str(packaged_catalog())},
            "simulate": {"n": n, "seed": seed},
            **STAGE_OPTIONS}


def packaged_catalog() -> Path:
    """The GWAS Catalog ECG-trait extract shipped with edfgen (346 rows, release 2016-01-18, GRCh38)."""
    return Path(str(resources.files("edfgen") / "data" / "ecg_traits_associations_2016-01-18.tsv"))


@dataclass(frozen=True)
class DemoResult:
    out: Path
    pipeline: PipelineResult
    report: Path
    seconds: float

    def summary(self) -> str:
        lines = [f"edfgen demo: {self.out} in {self.seconds:.0f} s"]
        lines += [f"  {s.name:18s} {s.status:8s} {s.seconds:7.1f} s" for s in self.pipeline.stages]
        lines.append(f"  report: {self.report}")
        return "\n".join(lines)


def run_demo(out: str | Path = "edfgen-demo", *, n: int = 5000, seed: int = 0, force: bool = False) -> DemoResult:
    """Run the demo into ``out`` (resuming a previous demo there).

    A non-empty ``out`` that is not an earlier demo is refused unless ``force``.
    """
    t0 = time.perf_counter()
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / STATE_FILE).exists() and not force:
        raise InputError(f"--out {out}: directory exists, is not empty and holds no earlier demo (use --force)")
    out.mkdir(parents=True, exist_ok=True)
    raw = demo_config(n=n, seed=seed)
    header = "# edfgen demo pipeline: `edfgen run --config pipeline.toml` reruns it (finished stages are skipped).\n"
    (out / "pipeline.toml").write_text(header + render_toml(raw))
    cfg = config_from_dict(raw, base=out, source=out / "pipeline.toml")
    res = run_pipeline(cfg, force=force)
    return DemoResult(out=out, pipeline=res, report=res.files["report"], seconds=time.perf_counter() - t0)
