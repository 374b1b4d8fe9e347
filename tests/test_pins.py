"""A reader searches the LanceDB versions its DuckDB file was published with, not what a later build wrote."""

from __future__ import annotations

from datetime import date

import duckdb
import lance
import pyarrow as pa
from conftest import FakeEncoder

from semantic.config import SemanticConfig
from semantic.vectors.pins import PUBLISHED_TAG, current_versions, read_pins, read_pins_file, tag_published
from semantic.vectors.retention import prune
from semantic.vectors.store import VectorStore
from semantic.warehouse.functions import register


def assets(ids: list[str]) -> pa.Table:
    return pa.table({
        "asset_id": ids, "brand": ["b"] * len(ids), "channel": ["social"] * len(ids), "market": ["US"] * len(ids),
        "asset_type": ["headline"] * len(ids), "created_at": [date(2026, 1, 1)] * len(ids),
        "text": [f"winter jacket number {i}" for i in ids], "content_hash": ids,
    })


def test_a_reader_searches_the_published_versions_and_a_build_the_latest(tmp_path):
    """The Python searches (semantic search, semantic check, semantic_compliance_check) and the SQL search read
    the pinned versions; DuckDB's lance extension has no time travel, so the SQL hybrid search reads the latest."""
    encoder = FakeEncoder(dim=384)
    store = VectorStore(tmp_path / "lance")
    store.sync("assets", assets(["a1", "a2"]), encoder, id_column="asset_id")
    db = tmp_path / "semantic_assets.duckdb"
    with duckdb.connect(str(db)) as con:  # what the build published: the versions it wrote
        pins = current_versions(store.lance_dir)  # noqa: F841 - read by the SQL
        con.execute("create table dim_lance_versions as select * from pins")
    published = read_pins_file(db)
    tag_published(store.lance_dir, published)
    store.sync("assets", assets(["a1", "a2", "a3"]), encoder, id_column="asset_id")  # a later build, killed before
    config = SemanticConfig.from_plugin({"lance_dir": str(store.lance_dir)})
    query = "select asset_id from semantic_search('winter jacket', k := 10) order by asset_id"

    with duckdb.connect(str(db), read_only=True) as reader:
        register(reader, config, encoder=encoder, pinned=True)
        assert read_pins(reader) == published
        assert reader.execute(query).fetchall() == [("a1",), ("a2",)]  # the Python search: pinned
        filtered = query.replace("k := 10", "k := 10, market := 'US'")
        assert reader.execute(filtered).fetchall() == [("a1",), ("a2",)]
        hybrid = query.replace("semantic_search", "semantic_hybrid_search")
        assert reader.execute(hybrid).fetchall() == [("a1",), ("a2",), ("a3",)]  # the extension: the latest
    pinned = VectorStore(store.lance_dir, pins=published)
    hits = pinned.search("assets", encoder.encode(["winter jacket"])[0], encoder.version, k=10)
    assert sorted(hits.column("asset_id").to_pylist()) == ["a1", "a2"]

    # the clean-up keeps the tagged published version, however many come after it
    for n in range(4, 10):
        store.sync("assets", assets(["a1", "a2", "a3", f"a{n}"]), encoder, id_column="asset_id")
    prune(store.table_path("assets"), 1)
    ds = lance.dataset(str(store.table_path("assets")))
    assert ds.tags.list()[PUBLISHED_TAG]["version"] == published["assets"]
    assert [v["version"] for v in ds.versions()] == [published["assets"], ds.version]
    assert sorted(pinned.search("assets", encoder.encode(["winter jacket"])[0], encoder.version, k=10)
                  .column("asset_id").to_pylist()) == ["a1", "a2"]


def test_a_file_without_pins_reads_the_latest(tmp_path):
    db = tmp_path / "old.duckdb"
    duckdb.connect(str(db)).close()
    assert read_pins_file(db) == {} and read_pins_file(tmp_path / "missing.duckdb") == {}
