"""The layer rules of ``pyproject.toml`` hold: no module imports a layer above its own."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    """``lint-imports`` run by this interpreter on the package under ``root``."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]);"
        "from importlinter.cli import lint_imports; sys.exit(lint_imports())"
    )
    return subprocess.run(
        [sys.executable, "-c", code, str(root)], cwd=root, capture_output=True, text=True, timeout=120
    )


def test_import_contracts_are_kept():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_lint_imports_catches_an_upward_import(tmp_path):
    """A lower layer importing a higher one breaks the contract (the check is not vacuous)."""
    pkg = tmp_path / "qa"
    shutil.copytree(ROOT / "qa", pkg, ignore=shutil.ignore_patterns("__pycache__", "static"))
    with open(pkg / "errors.py", "a", encoding="utf-8") as f:
        f.write("\nfrom qa.web import server  # noqa: E402  deliberate upward import\n")
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "qa.errors is not allowed to import qa.web" in result.stdout
