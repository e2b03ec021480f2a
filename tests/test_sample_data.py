"""The sample files in data/ stay valid: they import through the same schema checks."""

from __future__ import annotations

from pathlib import Path

from js7tui.audit import AuditMeta
from js7tui.inventory.service import ImportFile

DATA = Path(__file__).resolve().parent.parent / "data" / "inventory"


def test_the_sample_inventory_imports(console, root):
    files = [ImportFile(p.name, p.read_bytes()) for p in sorted(DATA.glob("*.json"))]
    assert len(files) == 2
    console.inventory.create_folder(root, "/demo", meta=AuditMeta())
    objects = console.inventory.import_files(root, "/demo", files, meta=AuditMeta())
    assert sorted(str(o.path) for o in objects) == ["/demo/greeting", "/demo/hello"]
