"""The model registry: every trained model saved as data in ``<workspace>/models/vN/``.

A version folder holds ``model.txt`` (the LightGBM text model; absent for a rule-based
fallback) and ``model.json``: kind, horizon, feature list with types and reason groups, the
encoder's category vocabularies, the calibrator (isotonic thresholds or Platt
coefficients), parameters, training data range, metrics, grade, risk-band thresholds,
library versions and a SHA-256 content hash over both files. ``models/ACTIVE`` names the
active version. Nothing is pickled; loading checks the hash, so an edited file is refused.
"""

from __future__ import annotations

import hashlib
import json
import platform
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata as importlib_metadata
from pathlib import Path
from typing import Any

from churnguard.errors import ChurnguardError
from churnguard.predict.calibration import Calibrator
from churnguard.predict.features.registry import Feature
from churnguard.predict.model import ChurnModel, FeatureEncoder

SCHEMA_VERSION = 1
_VERSION = re.compile(r"^v(\d+)$")


class ModelRegistryError(ChurnguardError):
    """A saved model is missing, damaged, tampered with, or does not fit the data."""


def library_versions() -> dict[str, str]:
    """Versions of the libraries a model depends on."""
    out = {"python": platform.python_version()}
    for lib in ("churnguard", "lightgbm", "scikit-learn", "numpy", "pandas", "ibis-framework",
                "duckdb"):
        try:
            out[lib] = importlib_metadata.version(lib)
        except importlib_metadata.PackageNotFoundError:
            out[lib] = "missing"
    return out


def content_hash(meta: Mapping[str, Any], model_text: str | None) -> str:
    """SHA-256 over the canonical JSON of ``meta`` (without its hash) and the model text."""
    body = {k: v for k, v in meta.items() if k != "content_hash"}
    h = hashlib.sha256(json.dumps(body, sort_keys=True, ensure_ascii=False,
                                  default=str).encode("utf-8"))
    h.update(b"\0")
    h.update((model_text or "").encode("utf-8"))
    return h.hexdigest()


@dataclass
class SavedModel:
    """A model loaded from the registry: its metadata and, for LightGBM, the model."""

    version: str
    meta: dict[str, Any]
    model: ChurnModel | None
    path: Path

    @property
    def kind(self) -> str:
        """``lightgbm`` or ``rule``."""
        return str(self.meta["kind"])

    @property
    def features(self) -> list[dict[str, Any]]:
        """The feature list: name, dtype, kind, group."""
        return list(self.meta["features"])

    def check_schema(self, current: Mapping[str, Feature]) -> None:
        """Raise :class:`ModelRegistryError` unless every model feature exists in the
        current feature schema with the same type."""
        missing, changed = [], []
        for f in self.features:
            now = current.get(f["name"])
            if now is None:
                missing.append(f["name"])
            elif now.dtype != f["dtype"]:
                changed.append(f"{f['name']} ({f['dtype']} -> {now.dtype})")
        if missing or changed:
            parts = []
            if missing:
                parts.append(f"missing feature(s): {', '.join(missing[:8])}"
                             + (" ..." if len(missing) > 8 else ""))
            if changed:
                parts.append(f"changed type: {', '.join(changed[:8])}")
            raise ModelRegistryError(
                f"model {self.version} does not match the workspace's current feature schema "
                f"({'; '.join(parts)}). The data changed since the model was trained: "
                "retrain with `churnguard train <workspace>`.")


class ModelRegistry:
    """The models of one workspace (``<root>/models``)."""

    def __init__(self, root: str | Path) -> None:
        self.dir = Path(root) / "models"

    def versions(self) -> list[str]:
        """Saved versions, oldest first."""
        if not self.dir.is_dir():
            return []
        found = [(int(m.group(1)), p.name) for p in self.dir.iterdir()
                 if p.is_dir() and (m := _VERSION.match(p.name))]
        return [name for _, name in sorted(found)]

    def next_version(self) -> str:
        """The version a new model gets (``v1``, ``v2`` ...)."""
        v = self.versions()
        return f"v{int(v[-1][1:]) + 1 if v else 1}"

    def active(self) -> str | None:
        """The active version, or None."""
        p = self.dir / "ACTIVE"
        if not p.is_file():
            return None
        name = p.read_text(encoding="utf-8").strip()
        return name or None

    def activate(self, version: str) -> None:
        """Make ``version`` the one ``score`` uses."""
        if version not in self.versions():
            raise ModelRegistryError(f"no model {version} in {self.dir}; saved: "
                                     f"{', '.join(self.versions()) or 'none'}")
        (self.dir / "ACTIVE").write_text(version + "\n", encoding="utf-8")

    def save(self, meta: dict[str, Any], model: ChurnModel | None) -> str:
        """Save a new version (metadata completed here) and return its name."""
        version = self.next_version()
        folder = self.dir / version
        folder.mkdir(parents=True, exist_ok=False)
        text = None
        if model is not None:
            text = model.booster_.model_to_string(num_iteration=model.best_iteration_)
            meta = {**meta, "encoder": model.encoder_.to_dict(),
                    "calibrator": model.calibrator_.to_dict(),
                    "best_iteration": model.best_iteration_,
                    "params": {k: v for k, v in model.params_.items()}}
        meta = {"schema_version": SCHEMA_VERSION, "version": version,
                "created_at": datetime.now(UTC).isoformat(), "libraries": library_versions(),
                **meta}
        meta["content_hash"] = content_hash(meta, text)
        if text is not None:
            (folder / "model.txt").write_text(text, encoding="utf-8")
        (folder / "model.json").write_text(
            json.dumps(meta, indent=2, ensure_ascii=False, default=str), encoding="utf-8")
        return version

    def load(self, version: str | None = None) -> SavedModel:
        """Load a version (default: the active one), verifying its content hash."""
        version = version or self.active()
        if version is None:
            raise ModelRegistryError(
                f"no active model in {self.dir}: train one with `churnguard train "
                f"{self.dir.parent}` (a model that does not beat the simple rule is kept but "
                "not activated; see `churnguard models`)")
        folder = self.dir / version
        meta_path = folder / "model.json"
        if not meta_path.is_file():
            raise ModelRegistryError(f"{meta_path}: no such model; saved: "
                                     f"{', '.join(self.versions()) or 'none'}")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ModelRegistryError(f"{meta_path}: not valid JSON ({exc}); the file is "
                                     "damaged. Retrain, or activate another version.") from None
        text_path = folder / "model.txt"
        text = text_path.read_text(encoding="utf-8") if text_path.is_file() else None
        if meta.get("kind") == "lightgbm" and text is None:
            raise ModelRegistryError(f"{text_path}: missing; the model cannot be loaded")
        if meta.get("content_hash") != content_hash(meta, text):
            raise ModelRegistryError(
                f"{folder}: content hash mismatch - model.json or model.txt was changed after "
                "the model was saved. Retrain, or activate another version.")
        if meta.get("schema_version") != SCHEMA_VERSION:
            raise ModelRegistryError(f"{meta_path}: schema version {meta.get('schema_version')}"
                                     f" is not {SCHEMA_VERSION}; retrain the model")
        model = None
        if text is not None:
            model = ChurnModel.from_parts(
                text, FeatureEncoder.from_dict(meta["encoder"]),
                Calibrator.from_dict(meta["calibrator"]), meta["best_iteration"],
                meta["params"])
        return SavedModel(version, meta, model, folder)

    def summaries(self) -> list[dict[str, Any]]:
        """One row per version for ``churnguard models`` (no hash check)."""
        active = self.active()
        out = []
        for v in self.versions():
            try:
                meta = json.loads((self.dir / v / "model.json").read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError):
                out.append({"version": v, "kind": "damaged", "active": v == active})
                continue
            bt = meta.get("metrics", {}).get("summary", {})
            out.append({
                "version": v, "active": v == active, "kind": meta.get("kind"),
                "mode": meta.get("mode"), "horizon_days": meta.get("horizon_days"),
                "created_at": meta.get("created_at", "")[:19],
                "data_from": (meta.get("training", {}).get("data_from") or "")[:10],
                "data_to": (meta.get("training", {}).get("data_to") or "")[:10],
                "auc": bt.get("auc"), "lift_top_decile": bt.get("lift_top_decile"),
                "grade": meta.get("grade"), "note": meta.get("note", ""),
            })
        return out
