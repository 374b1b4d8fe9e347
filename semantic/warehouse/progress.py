"""What ``semantic build`` shows while dbt runs: one progress line per stage instead of dbt's log lines.

dbt's own lines (and the libraries' progress bars) still go to dbt's log file (``<project>/logs/dbt.log``); the
terminal gets one line per stage, kept up to date:

    models     96/133 nodes, now fct_brief_asset_matches
    training   model version 77df8b37f1-662d55: step 3/3, loss 1.395 (done in 14.0 s)
    embedding  assets 300/300, asset_sentences 1563/1563, briefs 17/17 (done)
    indexing   no table past vector_index_min_rows (done in 0.4 s)

On a terminal the block is redrawn in place; elsewhere (a CI log, a pipe) each stage prints a line when it
starts and when it ends, so nothing interleaves. Warnings and errors are printed as they come; when dbt fails,
its own failure summary follows. ``quiet`` prints only those and the last line; ``verbose`` passes dbt's
output through unchanged (what ``semantic build`` printed before).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from typing import TextIO

#: Which dbt models belong to which stage (the rest count as ``models``).
STAGE_MODELS = {
    "training": ("int_encoder_versions_trained", "int_rerankers_trained"),
    "embedding": ("int_assets_embedded", "int_asset_sentences_embedded", "int_briefs_embedded",
                  "int_compliance_references_embedded", "int_labelled_texts_embedded"),
    "indexing": ("dim_vector_indexes",),
}
STAGES = ("models", "training", "embedding", "indexing")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_NODE = re.compile(r"^\S*\s*(\d+) of (\d+) (START|OK|ERROR|FAIL|WARN|PASS|SKIP)\b(.*)")
_QUALIFIED = re.compile(r"\b(?:seed file|model|test|snapshot|hook)\s+(?:[\w-]+\.)*(\w+)")
_STEP = re.compile(r"semantic adapter: training step (\d+)/(\d+):(.*)")
_LOSS = re.compile(r"\b(?:train_)?loss=([0-9.eE+-]+)")
_EMBED = re.compile(r"semantic adapter: (\w+): embedding (\d+) of (\d+) rows")
_UNCHANGED = re.compile(r"semantic adapter: (\w+): nothing changed since the last sync")
_ENCODER = re.compile(r"semantic adapter: (training model version \S+|reusing model version \S+|training is off)")
_RERANKER = re.compile(r"semantic adapter: ((?:training|reusing) (?:a )?(?:pair |brief )?reranker \S+|"
                       r"reranker training is off)")
_EMBEDDED = re.compile(r"semantic adapter: (\w+): embedded (\d+)/(\d+) texts")
_INDEX = re.compile(r"semantic adapter: (\w+): (vector index \w+.*)")
_ALERT = re.compile(r"\b(WARN(?:ING)?|ERROR|Error|FAIL(?:URE)?|Failure)\b")
_NOISE = re.compile(r"RuntimeWarning: 'dbt\.cli\.main' found in sys\.modules|^\s*warnings\.warn|"
                    r"WARN\s+lance::dataset::write::insert\] No existing dataset at .*, it will be created")


@dataclass
class Stage:
    """One line of the display."""

    name: str
    detail: str = ""
    parts: dict[str, str] = field(default_factory=dict)
    started: float | None = None
    ended: float | None = None
    running: set[str] = field(default_factory=set)

    def line(self) -> str:
        text = self.detail or ("nothing to do" if self.ended is not None and not self.parts else "")
        if self.parts:
            text = (text + ": " if text else "") + ", ".join(f"{k} {v}" for k, v in self.parts.items())
        if self.ended is not None and self.started is not None:
            text += f" (done in {self.ended - self.started:.1f} s)"
        return f"  {self.name:<10} {text or 'waiting'}"


class BuildProgress:
    """Feeds on dbt's output lines and draws the stages.

    Args:
        out: Where to draw (default: stdout).
        mode: ``progress`` (default), ``quiet`` or ``verbose``.
        tty: Redraw in place (default: whether ``out`` is a terminal).
    """

    def __init__(self, out: TextIO | None = None, mode: str = "progress", tty: bool | None = None) -> None:
        self.out = out or sys.stdout
        self.mode = mode
        self.tty = self.out.isatty() if tty is None else tty
        self.stages = {name: Stage(name) for name in STAGES}
        self.lines: list[str] = []
        self.drawn = 0
        self.total = 0
        self.last_draw = 0.0
        self.started = time.monotonic()

    def _stage_of(self, model: str) -> Stage:
        for name, models in STAGE_MODELS.items():
            if model in models:
                return self.stages[name]
        return self.stages["models"]

    def feed(self, raw: str) -> None:
        """One line of dbt's output."""
        line = _ANSI.sub("", raw.rstrip("\n")).replace("\r", "\n").split("\n")[-1]
        self.lines.append(line)
        if self.mode == "verbose":
            self.out.write(raw if raw.endswith("\n") else raw + "\n")
            self.out.flush()
            return
        if not line.strip() or _NOISE.search(line):
            return
        changed = self._parse(line)
        if _ALERT.search(line) and not _NODE.search(line) and "PASS=" not in line:
            self._print_above(line.strip())
        elif changed:
            self._draw()

    def _parse(self, line: str) -> bool:
        now = time.monotonic()
        node = _NODE.search(line)
        if node and " hook" in node[4]:  # on-run-end hooks count their own "1 of 1"
            return False
        if node:
            done, total, status, rest = int(node[1]), int(node[2]), node[3], node[4]
            qualified = _QUALIFIED.search(rest)
            model = qualified[1] if qualified else (rest.split() or ["?"])[0]
            self.total = total
            stage = self._stage_of(model)
            models = self.stages["models"]
            models.started = models.started or now
            models.detail = f"{done}/{total} nodes" + (f", now {model}" if status == "START" and done < total else "")
            if stage.name != "models":
                if status == "START":
                    stage.started = stage.started or now
                    stage.ended = None
                    stage.running.add(model)
                else:
                    stage.running.discard(model)
                    if not stage.running:
                        stage.ended = now
                    if status in ("ERROR", "FAIL"):
                        stage.parts[model] = "FAILED"
                    if not self.tty and self.mode == "progress":  # a log: a line as each stage model ends
                        self.out.write(stage.line() + "\n")
                        self.out.flush()
            if done == total and status != "START":
                models.ended = now
            return True
        step = _STEP.search(line)
        if step:
            stage = self.stages["training"]
            loss = _LOSS.search(step[3])
            stage.parts["step"] = f"{step[1]}/{step[2]}" + (f", loss {float(loss[1]):.3f}" if loss else "")
            return True
        for pattern, part in ((_ENCODER, "encoder"), (_RERANKER, "reranker")):
            found = pattern.search(line)
            if found:
                text = found[1].removeprefix("training ").removeprefix("reranker ")
                self.stages["training"].parts[part] = "off" if text in ("is off", "training is off") else text[:80]
                return True
        found = _EMBEDDED.search(line)
        if found:
            self.stages["embedding"].parts[found[1]] = f"{found[2]}/{found[3]}"
            return True
        found = _EMBED.search(line)
        if found:
            self.stages["embedding"].parts[found[1]] = f"{found[2]}/{found[3]}"
            return True
        found = _UNCHANGED.search(line)
        if found:
            self.stages["embedding"].parts[found[1]] = "unchanged"
            return True
        found = _INDEX.search(line)
        if found:
            self.stages["indexing"].parts[found[1]] = found[2][:60]
            return True
        return False

    def _block(self) -> list[str]:
        return [s.line() for s in self.stages.values() if s.started is not None or s.parts or s.detail]

    def _draw(self, final: bool = False) -> None:
        if self.mode == "quiet" or not self.tty:  # a log gets its lines from _parse
            return
        if self.tty:
            now = time.monotonic()
            if not final and now - self.last_draw < 0.1:
                return
            self.last_draw = now
            block = self._block()
            if self.drawn:
                self.out.write(f"\x1b[{self.drawn}F")  # back to the block's first line
            width = max(40, shutil.get_terminal_size().columns - 1)  # a wrapped line would break the redraw
            for text in block:
                self.out.write("\x1b[2K" + text[:width] + "\n")
            self.drawn = len(block)
            self.out.flush()
            return
    def _print_above(self, text: str) -> None:
        """A warning or an error, above the block (which is drawn again below it)."""
        if self.tty and self.drawn:
            self.out.write(f"\x1b[{self.drawn}F\x1b[J")
            self.drawn = 0
        self.out.write(text + "\n")
        self._draw(final=True)

    def finish(self, code: int, log_hint: str = "") -> None:
        """dbt ended with ``code``: the final block, and dbt's failure summary when it failed."""
        if self.mode == "verbose":
            return
        now = time.monotonic()
        for stage in self.stages.values():
            if stage.started is not None and stage.ended is None:
                stage.ended = now
        self._draw(final=True)
        if not self.tty and self.mode == "progress":
            self.out.write(self.stages["models"].line() + "\n")
        if code != 0:
            start = next((i for i in range(len(self.lines) - 1, -1, -1)
                          if "Completed with" in self.lines[i] or "Encountered an error" in self.lines[i]), None)
            tail = self.lines[start:] if start is not None else self.lines[-40:]
            self.out.write("\n".join(t for t in tail if t.strip()) + "\n")
        else:
            done = next((t for t in reversed(self.lines) if "Done. PASS=" in t), "")
            if done:
                self.out.write("  " + done.split("Done. ", 1)[1].strip() + "\n")
        if log_hint:
            self.out.write(f"  dbt's full log: {log_hint}\n")
        self.out.flush()
