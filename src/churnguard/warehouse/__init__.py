"""Workspace, warehouse connection, validated ingestion and quarantine."""

from churnguard.warehouse.config import WorkspaceConfig
from churnguard.warehouse.warehouse import TableStatus, Warehouse
from churnguard.warehouse.workspace import Workspace

__all__ = ["TableStatus", "Warehouse", "Workspace", "WorkspaceConfig"]
