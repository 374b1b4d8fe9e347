"""Fault injection: a build killed (SIGKILL) inside each stage, or out of disk, leaves the published answers as
they were, and the next build completes with no step by hand (semantic/faults.py names the kill points).

`make test` runs the quick tier (three points); `make faults` runs every point and the full disk
(SEMANTIC_FAULTS=all).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from seed_rows import read_csv, write_csv

from semantic.faults import POINTS

BIN = Path(sys.executable).parent
QUICK = ("lance_commit", "pair_decision", "publish_swap")
ALL = os.environ.get("SEMANTIC_FAULTS", "").lower() == "all"
SELECTED = POINTS if ALL else QUICK
# an index from 100 rows, so that a changed asset updates it (the index_build point)
VARS = "{vector_index_min_rows: 100}"
MARTS = ("stg_semantic__assets", "int_assets_embedded", "fct_asset_near_duplicates", "dim_asset_clusters",
         "fct_brief_asset_matches", "fct_compliance_lookalikes", "dim_similarity_thresholds", "dim_encoder_versions",
         "dim_lance_versions", "dim_vector_indexes")
QUERIES = ("waterproof jacket for winter hikes", "save money on your energy bill", "clinically proven results")

pytestmark = pytest.mark.slow


class Project:
    """The example project with its own data folder, built and searched as a user would."""

    def __init__(self, root: Path, data: Path | None = None) -> None:
        from semantic.warehouse.scaffold import copy_example

        self.root = copy_example(root, seed=5, n_assets=150)
        self.data = data or root / "data"
        self.env = dict(os.environ)
        self.env.update(HF_HUB_OFFLINE="1", DBT_SEND_ANONYMOUS_USAGE_STATS="False", SEMANTIC_HOME=str(self.root),
                        SEMANTIC_DB=str(self.data / "semantic_assets.duckdb"),
                        SEMANTIC_LANCE_DIR=str(self.data / "lance"), SEMANTIC_MODELS_DIR=str(self.data / "models"),
                        SEMANTIC_ENCODER_CACHE=str(root / "encoder_cache"))
        for key in ("SEMANTIC_MODEL_DIR", "DBT_PROFILES_DIR", "SEMANTIC_FAULT", "SEMANTIC_FAULT_MARKER"):
            self.env.pop(key, None)
        self.added = 0

    def semantic(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        # a session of its own: a kill point kills the whole build (semantic build and its dbt), nothing else
        return subprocess.run([str(BIN / "semantic"), *args], cwd=self.root, env={**self.env, **env},
                              capture_output=True, text=True, timeout=900, start_new_session=True)

    def build(self, **env: str) -> subprocess.CompletedProcess[str]:
        return self.semantic("build", "--vars", VARS, **env)

    def text_of(self, asset_id: str) -> str:
        return next(r["text"] for r in read_csv(self.root / "seeds" / "demo_assets.csv") if r["asset_id"] == asset_id)

    def add_asset(self, label: bool = False) -> str:
        """A new asset (and, with ``label``, a labelled duplicate naming it, so the encoder retrains)."""
        self.added += 1
        asset_id = f"F{self.added:05d}"
        path = self.root / "seeds" / "demo_assets.csv"
        rows = read_csv(path)
        rows.append(dict(rows[self.added], asset_id=asset_id,
                         text=f"New arrival {self.added}: a waterproof shell jacket, fault drill number {self.added}."))
        write_csv(path, rows)
        if label:
            pairs_path = self.root / "seeds" / "demo_labelled_pairs.csv"
            pairs = read_csv(pairs_path)
            pairs.append(dict(pairs[0], left_id=rows[self.added]["asset_id"], right_id=asset_id, task="duplicate",
                              kind="paraphrase", label="1", split="train"))
            write_csv(pairs_path, pairs)
        return asset_id

    def answers(self, queries: tuple[str, ...] = QUERIES) -> dict[str, object]:
        """What the published data answers: every mart row for row and searches through it.

        Left out: timestamps, and the columns that say where the data lives (a model's ``path``, and
        ``inputs_fingerprint``, which hashes the LanceDB folder's path so that moving it refreshes).
        """
        code = f"""
import hashlib, json, sys
import duckdb
from semantic.config import SemanticConfig
from semantic.encoding.encoder import load_encoder
from semantic.encoding.registry import encoder_dir
from semantic.vectors.pins import read_pins_file
from semantic.vectors.store import VectorStore
db = {str(self.data / "semantic_assets.duckdb")!r}
out = {{}}
with duckdb.connect(db, read_only=True) as con:
    for table in {MARTS!r}:
        rel = con.sql(f"select * from {{table}}")
        keep = [c for c, t in zip(rel.columns, rel.types)
                if "TIMESTAMP" not in str(t) and c not in ("path", "inputs_fingerprint")]
        rows = sorted(repr(r) for r in rel.select(*[f'"{{c}}"' for c in keep]).fetchall())
        out[table] = [len(rows), hashlib.md5("\\n".join(rows).encode()).hexdigest()]
config = SemanticConfig.from_plugin({{"db_path": db, "lance_dir": {str(self.data / "lance")!r},
                                     "models_dir": {str(self.data / "models")!r}}})
encoder = load_encoder(encoder_dir(config))
store = VectorStore(config.lance_dir, pins=read_pins_file(config.db_path))
for query in {queries!r}:
    hits = store.search("assets", encoder.encode([query])[0], encoder.version, k=5, columns=["asset_id"])
    out[query] = [(r["asset_id"], round(r["similarity"], 5)) for r in hits.to_pylist()]
print(json.dumps(out))
"""
        result = subprocess.run([sys.executable, "-c", code], env=self.env, capture_output=True, text=True,
                                timeout=300)
        assert result.returncode == 0, result.stderr[-3000:]
        import json

        return dict(json.loads(result.stdout))

    def doctor(self) -> str:
        result = self.semantic("doctor")
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    project = Project(tmp_path_factory.mktemp("faults"))
    first = project.build()
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    return project


def test_two_builds_from_the_same_inputs_train_the_same_encoder_and_give_identical_marts(project, tmp_path):
    twin = Project(tmp_path / "twin")  # the same seed, labels and settings, in a fresh folder
    built = twin.build()
    assert built.returncode == 0, built.stdout[-4000:] + built.stderr[-2000:]
    version = (project.data / "models" / "ACTIVE").read_text().strip()
    assert (twin.data / "models" / "ACTIVE").read_text().strip() == version
    weights = [p / version / "model.safetensors" for p in (project.data / "models", twin.data / "models")]
    assert weights[0].read_bytes() == weights[1].read_bytes()
    assert project.answers() == twin.answers()  # every mart row for row, and the searches


@pytest.mark.parametrize("point", SELECTED)
def test_a_build_killed_inside_a_stage_leaves_the_published_answers_and_the_next_build_completes(project, point,
                                                                                                 tmp_path):
    before = project.answers()
    # a reviewer's decision (a skip: it changes no label, so no build retrains for it) recorded before the kill
    ids = [r["asset_id"] for r in read_csv(project.root / "seeds" / "demo_assets.csv")[:2]]
    decided = project.semantic("label", "--ids", *ids, "--label", "skip", "--reviewer", f"drill {point}")
    assert decided.returncode == 0, decided.stderr
    log = project.root / "data" / "review" / "decisions.jsonl"
    recorded = log.read_bytes()
    asset_id = project.add_asset(label=point == "train")
    marker = tmp_path / "reached"
    killed = project.build(SEMANTIC_FAULT=point, SEMANTIC_FAULT_MARKER=str(marker))
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stdout[-3000:], killed.stderr[-2000:])
    assert marker.read_text().split() == [point]  # killed where it was aimed, once
    assert project.answers() == before  # the published file and the LanceDB versions it reads: as before
    assert log.read_bytes() == recorded  # every recorded decision, untouched by the killed build

    recovered = project.build()  # no step by hand
    assert recovered.returncode == 0, recovered.stdout[-4000:] + recovered.stderr[-2000:]
    text = project.text_of(asset_id)
    after = project.answers((text,))
    assert after["int_assets_embedded"][0] == before["int_assets_embedded"][0] + 1  # type: ignore[index]
    assert after[text][0][0] == asset_id  # type: ignore[index]  # searchable: its own text finds it first
    with duckdb.connect(str(project.data / "semantic_assets.duckdb"), read_only=True) as con:
        read = con.execute("select count(*), count(*) filter (where reviewer = ?) from stg_semantic__review_decisions",
                           [f"drill {point}"]).fetchone()
    assert read == (len(recorded.splitlines()), 1)  # and the recovered build reads every one of them
    assert " 0 failed, 0 fixed" in project.doctor()


def test_every_kill_point_is_in_the_code_once():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (Path(__file__).parent.parent / "semantic").rglob("*.py"))
    for point in POINTS:
        assert source.count(f'point("{point}")') == 1, point


@pytest.mark.skipif(not ALL, reason="the full-disk drill runs in `make faults` (SEMANTIC_FAULTS=all)")
def test_a_full_disk_fails_the_build_cleanly_and_the_next_build_completes(tmp_path):
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", str(disk)], capture_output=True,
                             text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here ({mounted.stderr.strip()}); needs root")
    try:
        project = Project(tmp_path / "project", data=disk / "data")
        first = project.semantic("build", "--vars", "{semantic_train: false}")
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
        before = project.answers()
        project.add_asset()
        free = shutil.disk_usage(disk).free
        filler = disk / "filler"
        with open(filler, "wb") as fh:  # leave 1 MB: less than the staging copy of the DuckDB file needs
            fh.write(b"\0" * max(0, free - 1_000_000))
        full = project.semantic("build", "--vars", "{semantic_train: false}")
        assert full.returncode != 0
        assert "Traceback" not in full.stderr and "No space left on device" in full.stdout + full.stderr
        assert project.answers() == before
        filler.unlink()
        project.doctor()
        again = project.semantic("build", "--vars", "{semantic_train: false}")
        assert again.returncode == 0, again.stdout[-4000:] + again.stderr[-2000:]
        assert project.answers()["int_assets_embedded"][0] == before["int_assets_embedded"][0] + 1  # type: ignore[index]
        assert " 0 failed" in project.doctor()
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)
