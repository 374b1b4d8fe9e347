"""Models are data, not code: a model directory's weights are safetensors and its files are what was saved.

A directory is loaded only when no file anywhere in it loads with pickle (:func:`check_weights`:
``.bin``, ``.pt``, ``.pkl`` … can run code when loaded) and its transformer has safetensors weights.
A model the project saves (a tuned encoder, a reranker) carries a record of its files,
``semantic_manifest.json`` (:func:`write_manifest`: the directory's hash and each file's SHA-256),
which every load compares with the files on disk (:func:`verify_files`), so a registered version
whose files changed since it was saved is refused, naming the files. The directory hash is also the
model's version (:func:`directory_hash`, the record files left out).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from functools import lru_cache
from pathlib import Path

from semantic.encoding.tokenizer import transformer_path
from semantic.errors import SemanticModelError

#: The record of a saved model's files (the SHA-256 of the directory and of each file), written when it is
#: saved and compared with the files at every load (:func:`write_manifest`, :func:`verify_files`).
MANIFEST_FILE = "semantic_manifest.json"
#: Records of how a tuned model was made (paths, seconds, guard figures) and of its files, not part of the
#: encoder: left out of its version, so the same labels and config trained on another machine give the same
#: version.
RECORD_FILES = frozenset({"semantic_training.json", "semantic_metrics.json", MANIFEST_FILE})
#: Weight formats that load with pickle (``torch.save``, joblib), which can run code: refused anywhere in a
#: model directory. OpenVINO IR's ``.bin`` is raw tensor data, but a model directory is never read for it
#: (the OpenVINO backend exports its own IR from the safetensors weights into the encoder cache), and a
#: ``.bin`` cannot be told from a pickle by its name, so it is refused there too.
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".pickle", ".ckpt", ".joblib")
#: The transformer's weights: one safetensors file, or the index of a sharded one.
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
#: How to get safetensors weights, for the messages that refuse a model directory.
RESAVE = ("re-save the model with save_pretrained(..., safe_serialization=True) (SentenceTransformer.save() "
          "does so by default) or retrain it with `semantic train`")
#: How to get past an encoder version whose files changed since it was saved.
ENCODER_FIX = ("run `semantic rollback` or `semantic activate base` (or point model_dir elsewhere), "
               "or retrain it with `semantic train` / dbt with semantic_train: true")


def _files(model_dir: Path) -> list[Path]:
    return sorted(p for p in model_dir.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.relative_to(model_dir).as_posix() not in RECORD_FILES)


def directory_stamp(model_dir: Path) -> tuple[tuple[str, int, int, int, int], ...]:
    """Each file's name, size, mtime, ctime and inode (records left out), to cache what is read from a directory.

    A rewrite, a rename over a file or an mtime put back after an edit changes at least one of
    them, so nothing cached under the stamp outlives a change to the files.
    """
    stamp = []
    for p in _files(model_dir):
        st = p.stat()
        stamp.append((p.relative_to(model_dir).as_posix(), st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return tuple(stamp)


@lru_cache(maxsize=16)
def _hash_files(model_dir: Path, stamp: tuple[tuple[str, int, int, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for rel, *_ in stamp:
        digest.update(rel.encode())
        with open(model_dir / rel, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def directory_hash(model_dir: Path | str) -> str:
    """SHA-256 of a model directory's files (names and bytes), leaving out the records of how it was made.

    Hashed once per process while the files' sizes, times and inodes stay the same (about 0.07 s for
    the 92 MB of MiniLM on a CPU with SHA instructions); any change to a file hashes it again.
    """
    path = Path(model_dir).resolve()
    return _hash_files(path, directory_stamp(path))


def _file_digests(model_dir: Path) -> dict[str, str]:
    digests = {}
    for p in _files(model_dir):
        with open(p, "rb") as fh:
            digests[p.relative_to(model_dir).as_posix()] = hashlib.file_digest(fh, "sha256").hexdigest()
    return digests


def check_weights(model_dir: Path | str) -> None:
    """Refuse a model directory whose weights could run code when loaded: safetensors only.

    A file with a pickle suffix (:data:`PICKLE_SUFFIXES`) anywhere in it is refused, even beside
    safetensors weights, and the transformer's folder must hold ``model.safetensors`` or a
    ``model.safetensors.index.json`` whose shards are all ``.safetensors`` files. A module class in
    ``modules.json`` must be one of sentence-transformers' own.

    Raises:
        SemanticModelError: The directory holds pickle-based weights, no safetensors weights, or
            names a module class outside sentence-transformers.
    """
    path = Path(model_dir).resolve()
    pickled = [p.relative_to(path).as_posix() for p in _files(path) if p.suffix.lower() in PICKLE_SUFFIXES]
    if pickled:
        first = pickled[0]
        more = f" (and {len(pickled) - 1} more: {', '.join(pickled[1:4])})" if len(pickled) > 1 else ""
        if first.endswith(".bin") and (path / first).with_suffix(".xml").is_file():
            raise SemanticModelError(
                f"refusing to load {path}: {first}{more} is OpenVINO IR weights; they are not pickle, but a .bin is "
                "refused by name and the project never reads IR from a model directory (the encoder exports its own "
                "from model.safetensors into the encoder cache): delete the .xml/.bin pair from the model directory"
            )
        raise SemanticModelError(
            f"refusing to load {path}: {first}{more} holds pickle-based weights (.bin/.pt/.pth/.pkl/.ckpt load "
            f"with pickle, which can run code) and only safetensors weights are accepted; {RESAVE}, and delete "
            "the pickle files"
        )
    modules_path = path / "modules.json"
    modules = json.loads(modules_path.read_text()) if modules_path.is_file() else []
    foreign = [str(m.get("type")) for m in modules if not str(m.get("type", "")).startswith("sentence_transformers.")]
    if foreign:
        raise SemanticModelError(
            f"refusing to load {path}: modules.json names the module class {foreign[0]!r}, which is not one of "
            "sentence-transformers' own (a model directory is data, never code); re-save the model with "
            "SentenceTransformer.save() from standard modules"
        )
    folder = path / transformer_path(path) if modules_path.is_file() else path
    if (folder / SAFE_WEIGHTS[0]).is_file():
        return
    index = folder / SAFE_WEIGHTS[1]
    if not index.is_file():
        where = folder.relative_to(path).as_posix() + "/" if folder != path else ""
        raise SemanticModelError(
            f"refusing to load {path}: its transformer has no safetensors weights (no {where}{SAFE_WEIGHTS[0]} "
            f"or {where}{SAFE_WEIGHTS[1]}) and only safetensors weights are accepted; {RESAVE}"
        )
    shards = sorted(set((json.loads(index.read_text()).get("weight_map") or {}).values()))
    bad = [s for s in shards if not (s.endswith(".safetensors") and (folder / s).is_file())]
    if bad or not shards:
        raise SemanticModelError(
            f"refusing to load {path}: {index.relative_to(path).as_posix()} names "
            + (f"the shard {bad[0]!r}, which is not a .safetensors file in the directory" if bad else "no shards")
            + f"; only safetensors weights are accepted; {RESAVE}"
        )


def write_manifest(model_dir: Path | str) -> Path:
    """Record a saved model's files, so that a later load can tell whether they changed.

    Writes ``semantic_manifest.json``: the :func:`directory_hash` and the SHA-256 of each file
    (records left out). Call it last, once every file of the model is written. Returns its path.
    """
    path = Path(model_dir).resolve()
    manifest = {"directory_sha256": directory_hash(path), "files": _file_digests(path)}
    target = path / MANIFEST_FILE
    # written beside the directory, not in it, so a concurrent load never lists a half-written extra file
    tmp = path.parent / f".{path.name}.{MANIFEST_FILE}.{os.getpid()}.{threading.get_ident()}"
    try:
        tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        os.replace(tmp, target)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise SemanticModelError(f"could not write {target} ({e}); check that {path} is writable") from e
    return target


def verify_files(model_dir: Path | str, fix: str = ENCODER_FIX) -> bool:
    """Refuse a saved model whose files changed since :func:`write_manifest` recorded them.

    Costs one :func:`directory_hash` (cached while the files stay the same); only a mismatch hashes
    the files one by one, to name the ones that changed.

    Args:
        model_dir: The model directory.
        fix: What the message tells the user to do instead.

    Returns:
        True when the directory has a record and its files match it, False when it has no record
        (a model the project did not save, such as the packaged base or one downloaded, or one saved
        before records were written; the registry refuses a version whose record went missing,
        :meth:`semantic.encoding.registry.Registry.verify`).

    Raises:
        SemanticModelError: The files differ from the record, or the record is unreadable.
    """
    path = Path(model_dir).resolve()
    record = path / MANIFEST_FILE
    if not record.is_file():
        return False
    try:
        manifest = json.loads(record.read_text())
        recorded, files = str(manifest["directory_sha256"]), dict(manifest["files"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SemanticModelError(f"model version {path.name} ({path}): its file record {MANIFEST_FILE} is unreadable "
                                 f"({e}), so its files cannot be checked; {fix}") from e
    if directory_hash(path) == recorded:
        return True
    now = _file_digests(path)
    changed = sorted(f for f in now.keys() & files.keys() if now[f] != files[f])
    added, removed = sorted(now.keys() - files.keys()), sorted(files.keys() - now.keys())
    what = "; ".join(f"{label}: {', '.join(names[:5])}" + (f" and {len(names) - 5} more" if len(names) > 5 else "")
                     for label, names in (("changed", changed), ("added", added), ("removed", removed)) if names)
    raise SemanticModelError(
        f"model version {path.name} ({path}): its files changed since it was registered "
        f"({what or f'the directory no longer matches {MANIFEST_FILE}'}), so it is refused; {fix}"
    )
