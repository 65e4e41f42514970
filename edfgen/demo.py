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

from edfgen.exceptions import InputError
from edfgen.pipeline import STATE_FILE, PipelineResult, config_from_dict, run_pipeline

#: the demo's pipeline; two-sample split so MR's exposure and outcome GWAS use disjoint samples
DEMO_CONFIG = """\
# edfgen demo pipeline: `edfgen run --config pipeline.toml` reruns it (finished stages are skipped).
[run]
out = "."
two_sample_split = true
biomarker_gwas = true

[inputs]
catalog = "{catalog}"

[simulate]
n = {n}
seed = {seed}

[extract]
checkpoint = "tiny"

[gwas]
covar_cols = "age,sex,centre"

[gwas_outcomes]
covar_cols = "age,sex,centre"

[clump]

[annotate]

[mr]
"""


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


def run_demo(out: str | Path = "edfgen-demo", *, n: int = 3000, seed: int = 0, force: bool = False) -> DemoResult:
    """Run the demo into ``out`` (resuming a previous demo there).

    A non-empty ``out`` that is not an earlier demo is refused unless ``force``.
    """
    import tomllib

    t0 = time.perf_counter()
    out = Path(out).resolve()
    if out.exists() and any(out.iterdir()) and not (out / STATE_FILE).exists() and not force:
        raise InputError(f"--out {out}: directory exists, is not empty and holds no earlier demo (use --force)")
    out.mkdir(parents=True, exist_ok=True)
    text = DEMO_CONFIG.format(n=n, seed=seed, catalog=packaged_catalog())
    (out / "pipeline.toml").write_text(text)
    cfg = config_from_dict(tomllib.loads(text), base=out, source=out / "pipeline.toml")
    res = run_pipeline(cfg, force=force)
    return DemoResult(out=out, pipeline=res, report=res.files["report"], seconds=time.perf_counter() - t0)
