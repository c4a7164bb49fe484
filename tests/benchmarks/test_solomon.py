"""benchmarks/solomon.py reads everything from --data, and no benchmark hard-codes a path."""

from __future__ import annotations

import ast
import importlib.util
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]
COPIES = Path(__file__).resolve().parent / "data" / "solomon"


@pytest.fixture(scope="module")
def solomon() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "benchmarks_solomon", ROOT / "benchmarks" / "solomon.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def _data_folder(tmp_path: Path) -> Path:
    """Two instances and best-known tables whose values differ from the published ones, so
    the report shows where it read them."""
    data = tmp_path / "elsewhere"
    data.mkdir()
    for name in ("C101.txt", "C201.txt"):
        shutil.copy(COPIES / name, data / name)
    (data / "best_known.csv").write_text(
        "instance,vehicles,distance,source\nC101,11,901.25,test\nC201,4,602.50,test\n"
    )
    (data / "best_known_distance_only.csv").write_text(
        "instance,vehicles,distance,source\nC101,12,899.75,test\nC201,5,600.25,test\n"
    )
    return data


def test_solomon_loads_instances_from_the_data_folder(solomon: ModuleType) -> None:
    c101 = solomon.load(COPIES / "C101.txt")
    c201 = solomon.load(COPIES / "C201.txt")

    assert (c101.name, len(c101.coords), c101.vehicles, c101.capacity) == ("C101", 101, 25, 200)
    assert (c201.name, c201.group) == ("C201", "C2")
    assert solomon.best_known(COPIES, "best_known.csv") == {
        "C101": (10, 828.94),
        "C201": (3, 591.56),
    }


def test_solomon_reads_instances_and_best_known_from_data(
    solomon: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = _data_folder(tmp_path)
    # Nothing may come from the default folder (absent on a newcomer's clone).
    monkeypatch.setattr(solomon, "DATA", tmp_path / "absent")
    out = tmp_path / "solomon.md"

    solomon.main(["--data", str(data), "--seconds", "0.2", "--methods", "pyvrp", "--out", str(out)])

    text = out.read_text()
    assert "| C101 |" in text
    assert "| C201 |" in text
    assert "11 / 901.25 | 12 / 899.75 |" in text
    assert "4 / 602.50 | 5 / 600.25 |" in text
    assert "NO:" not in text  # both solutions checked feasible


def test_solomon_says_clearly_when_the_data_folder_is_empty(
    solomon: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        solomon.main(["--data", str(tmp_path), "--seconds", "0.1"])

    assert "no Solomon instances" in capsys.readouterr().err


def test_solomon_default_data_is_beside_the_repository(solomon: ModuleType) -> None:
    assert solomon.DATA.resolve() == (ROOT.parent / "shared" / "data" / "solomon").resolve()


@pytest.mark.parametrize(
    "path", sorted((ROOT / "benchmarks").glob("*.py")), ids=lambda path: path.name
)
def test_benchmark_has_no_absolute_path(path: Path) -> None:
    absolute = [
        node.value
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and node.value.startswith(("/", "~"))
    ]

    assert absolute == []
