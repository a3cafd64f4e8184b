"""The policy core stays pure: no AWS SDK, no UI, no CLI, not even indirectly."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import kmswizard.policy

POLICY_DIR = Path(kmswizard.policy.__file__).parent
PACKAGE = "kmswizard.policy"
FORBIDDEN = ("boto3", "botocore", "textual", "moto", "kmswizard.aws", "kmswizard.tui",
             "kmswizard.cli")


def _is_forbidden(module: str) -> bool:
    return any(module == name or module.startswith(name + ".") for name in FORBIDDEN)


def _resolve(node: ast.ImportFrom, package: str) -> str:
    """The absolute module an ImportFrom names (relative imports resolved)."""
    if not node.level:
        return node.module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def forbidden_imports(source: str, package: str = PACKAGE) -> list[str]:
    """Every forbidden module a source file imports (statically, or by importlib/__import__
    with a literal name)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if _is_forbidden(alias.name)]
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(node, package)
            if _is_forbidden(module):
                found.append(module)
            else:
                # `from kmswizard import aws` imports kmswizard.aws.
                found += [
                    f"{module}.{alias.name}" for alias in node.names
                    if _is_forbidden(f"{module}.{alias.name}")
                ]
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and _is_forbidden(arg.value)
                ):
                    found.append(arg.value)
    return found


def policy_modules() -> list[Path]:
    return sorted(POLICY_DIR.glob("*.py"))


def test_the_checker_catches_every_form_of_import() -> None:
    """The scan below is only worth something if it recognizes the imports it looks for."""
    assert forbidden_imports("import boto3") == ["boto3"]
    assert forbidden_imports("import botocore.session as s") == ["botocore.session"]
    assert forbidden_imports("from textual.app import App") == ["textual.app"]
    assert forbidden_imports("from moto import mock_aws") == ["moto"]
    assert forbidden_imports("from kmswizard.aws.catalogue import x") == ["kmswizard.aws.catalogue"]
    assert forbidden_imports("from kmswizard import tui") == ["kmswizard.tui"]
    assert forbidden_imports("from ..cli import main") == ["kmswizard.cli"]
    assert forbidden_imports("from .. import aws") == ["kmswizard.aws"]
    assert forbidden_imports("import importlib\nimportlib.import_module('boto3')") == ["boto3"]
    assert forbidden_imports("def f():\n    import botocore\n") == ["botocore"]
    # Allowed neighbours.
    assert forbidden_imports(
        "import json\nfrom kmswizard.errors import UserError\nfrom .document import render\n"
        "from kmswizard.policy.actions import ActionCatalogue\nimport botocorex\n"
    ) == []


def test_policy_modules_import_no_sdk_ui_or_cli() -> None:
    modules = policy_modules()
    names = {path.name for path in modules}
    assert {"__init__.py", "actions.py", "sharing.py", "plan.py", "findings.py"} <= names
    offenders = {
        path.name: found
        for path in modules
        if (found := forbidden_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


def test_importing_the_plan_loads_no_sdk_or_ui() -> None:
    code = (
        "import importlib, importlib.util, json, pkgutil, sys\n"
        "import kmswizard.policy.plan\n"
        "import kmswizard.policy\n"
        "for info in pkgutil.iter_modules(kmswizard.policy.__path__):\n"
        "    importlib.import_module('kmswizard.policy.' + info.name)\n"
        "bad = ('boto3', 'botocore', 'textual', 'moto', 'kmswizard.aws', 'kmswizard.tui',\n"
        "       'kmswizard.cli')\n"
        "loaded = sorted(m for m in sys.modules\n"
        "                if any(m == b or m.startswith(b + '.') for b in bad))\n"
        "importable = importlib.util.find_spec('botocore') is not None\n"
        "print(json.dumps({'loaded': loaded, 'botocore_importable': importable,\n"
        "                  'plan': 'kmswizard.policy.plan' in sys.modules}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["plan"]
    # botocore is installed here, so its absence from sys.modules means nothing imported it.
    assert report["botocore_importable"]
    assert report["loaded"] == []
