"""The inventory: folders, workflows and job resources in the console's store, checked against
JSON schemas equal to the Controller's wire shapes, under folder permissions."""

from js7tui.inventory.records import InventoryObject
from js7tui.inventory.schema import validate
from js7tui.inventory.service import FolderView, ImportFile, InventoryService
from js7tui.inventory.types import ObjectPath, ObjectType

__all__ = [
    "FolderView",
    "ImportFile",
    "InventoryObject",
    "InventoryService",
    "ObjectPath",
    "ObjectType",
    "validate",
]
