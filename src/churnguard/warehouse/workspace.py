"""A workspace: a folder with ``churnguard.toml`` and a warehouse (DuckDB by default).

>>> import tempfile, pathlib
>>> root = pathlib.Path(tempfile.mkdtemp()) / "shop"
>>> ws = Workspace.init(root)
>>> ws.close()
>>> sorted(p.name for p in root.iterdir())
['churnguard.toml', 'warehouse.duckdb']
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType

from churnguard.errors import WorkspaceError
from churnguard.warehouse.config import CONFIG_FILE, DEFAULT_TOML, WorkspaceConfig
from churnguard.warehouse.warehouse import Warehouse


class Workspace:
    """An opened workspace. Use as a context manager, or call :meth:`close`."""

    def __init__(self, root: Path, config: WorkspaceConfig, *, read_only: bool = False) -> None:
        self.root = root
        self.config = config
        self.read_only = read_only
        self._warehouse: Warehouse | None = None

    # -- creation and opening ---------------------------------------------------------
    @classmethod
    def init(cls, root: str | Path, *, exist_ok: bool = False) -> Workspace:
        """Create a new workspace folder with a default config and an empty warehouse."""
        root = Path(root)
        cfg_path = root / CONFIG_FILE
        if cfg_path.exists() and not exist_ok:
            raise WorkspaceError(
                f"{root}: already a workspace ({CONFIG_FILE} exists). Use it as it is, "
                "or choose another folder."
            )
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root}: exists and is not a folder")
        root.mkdir(parents=True, exist_ok=True)
        if not cfg_path.exists():
            cfg_path.write_text(DEFAULT_TOML.format(name=root.resolve().name), encoding="utf-8")
        ws = cls.open(root)
        ws.warehouse.ensure_tables()
        return ws

    @classmethod
    def open(cls, root: str | Path, *, read_only: bool = False) -> Workspace:
        root = Path(root)
        if not (root / CONFIG_FILE).exists():
            raise WorkspaceError(
                f"{root}: not a churnguard workspace (no {CONFIG_FILE}). "
                f"Create one with `churnguard init {root}`."
            )
        return cls(root, WorkspaceConfig.load(root / CONFIG_FILE), read_only=read_only)

    # -- parts --------------------------------------------------------------------------
    @property
    def warehouse(self) -> Warehouse:
        if self._warehouse is None:
            self._warehouse = Warehouse.connect(
                self.config.warehouse, root=self.root, read_only=self.read_only
            )
        return self._warehouse

    @property
    def truth_dir(self) -> Path:
        """Ground truth of a simulated workspace: kept apart, never read by analytics."""
        return self.root / "ground_truth"

    def close(self) -> None:
        if self._warehouse is not None:
            self._warehouse.close()
            self._warehouse = None

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
