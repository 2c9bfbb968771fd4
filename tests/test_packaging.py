"""How the installed package picks its executor, checked in fresh interpreters.

Each check runs ``python -I`` (isolated: no PYTHON* variables, no current
folder on sys.path), so it sees the installed package exactly as a user does.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata, resources
from typing import Any

import pytest

C_MODULE = "concurrent_ext._concurrent_c"
PY_MODULE = "concurrent_ext._concurrent_py"
PUBLIC_FUNCTIONS = ("execute_concurrent", "execute_concurrent_with_args", "execute_concurrent_async")

# Prints what the import chose, as JSON.
_REPORT = f"""
import json, concurrent_ext as ce
print(json.dumps(dict(
    NO_EXTENSIONS=ce.NO_EXTENSIONS,
    USE_EXTENSIONS=ce.USE_EXTENSIONS,
    modules=sorted(set(getattr(ce, n).__module__ for n in {PUBLIC_FUNCTIONS!r})),
    version=ce.__version__,
)))
"""


def _run(code: str, env_value: str | None = None, *options: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("CONCURRENT_EXT_NO_EXTENSIONS", None)
    if env_value is not None:
        env["CONCURRENT_EXT_NO_EXTENSIONS"] = env_value
    return subprocess.run(
        [sys.executable, "-I", *options, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _report(env_value: str | None = None) -> dict[str, Any]:
    proc = _run(_REPORT, env_value)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.c_extension
@pytest.mark.parametrize("env_value", [None, "", "0"], ids=["unset", "empty", "zero"])
def test_default_import_uses_the_compiled_module(env_value: str | None) -> None:
    assert _report(env_value) == {
        "NO_EXTENSIONS": False,
        "USE_EXTENSIONS": True,
        "modules": [C_MODULE],
        "version": metadata.version("concurrent-ext"),
    }


@pytest.mark.parametrize("env_value", ["", "0"], ids=["empty", "zero"])
def test_empty_and_zero_do_not_force_pure(env_value: str) -> None:
    assert _report(env_value)["NO_EXTENSIONS"] is False


@pytest.mark.parametrize("env_value", ["1", "yes"])
def test_env_var_forces_the_pure_module(env_value: str) -> None:
    assert _report(env_value) == {
        "NO_EXTENSIONS": True,
        "USE_EXTENSIONS": False,
        "modules": [PY_MODULE],
        "version": metadata.version("concurrent-ext"),
    }


# A meta-path finder that makes `blocked` unimportable, as a missing file
# would; with once=True only its first import fails (a later one succeeds).
_BLOCK = """
import sys
class Block:
    fired = False
    @classmethod
    def find_spec(cls, name, path=None, target=None):
        if (name == {blocked!r} or name.startswith({blocked!r} + ".")) and not (cls.fired and {once!r}):
            cls.fired = True
            raise ModuleNotFoundError(f"No module named {{name!r}} (blocked by the test)", name=name)
sys.meta_path.insert(0, Block)
"""


def test_missing_compiled_module_falls_back_to_pure() -> None:
    proc = _run(_BLOCK.format(blocked=C_MODULE, once=False) + _REPORT)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["USE_EXTENSIONS"], report["modules"]) == (False, [PY_MODULE])


@pytest.mark.c_extension
def test_import_error_inside_the_compiled_module_is_not_hidden() -> None:
    # The first import of the driver fails, and it happens inside the compiled
    # module (directly or through _common): `concurrent_ext` imports nothing of
    # the driver before it.  A fallback that swallowed the error would import
    # the pure module, whose own import of the driver then succeeds.
    code = _BLOCK.format(blocked="cassandra", once=True) + textwrap.dedent(
        """
        import traceback
        try:
            import concurrent_ext
        except ImportError as exc:
            tb = "".join(traceback.format_exception(exc))
            print("raised", exc.name, "_concurrent_c" in tb)
        else:
            print("imported", concurrent_ext.USE_EXTENSIONS)
        """
    )
    proc = _run(code)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("raised"), f"the fallback hid an ImportError raised inside it: {proc.stdout}"
    _, name, through_c = proc.stdout.split()
    assert name == "cassandra"
    assert through_c == "True", "the ImportError did not come from the compiled module"


@pytest.mark.parametrize(
    ("module", "env_value"),
    [
        pytest.param("concurrent_ext", None, marks=pytest.mark.c_extension, id="default"),
        pytest.param("concurrent_ext", "1", id="pure"),
        pytest.param(C_MODULE, None, marks=pytest.mark.c_extension, id="compiled-module"),
        pytest.param(PY_MODULE, None, id="pure-module"),
    ],
)
def test_import_is_warning_free(module: str, env_value: str | None) -> None:
    proc = _run(f"import {module}", env_value, "-W", "error")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_version_matches_distribution_metadata() -> None:
    import concurrent_ext

    assert concurrent_ext.__version__ == metadata.version("concurrent-ext")


def test_typing_files_are_installed() -> None:
    package = resources.files("concurrent_ext")
    assert package.joinpath("py.typed").is_file()
    assert package.joinpath("_concurrent_c.pyi").is_file()


def _stub() -> ast.Module:
    return ast.parse(resources.files("concurrent_ext").joinpath("_concurrent_c.pyi").read_text("utf-8"))


def _stub_signatures() -> dict[str, list[tuple[str, str]]]:
    """(name, kind) of each parameter of the public functions in _concurrent_c.pyi."""
    signatures = {}
    for node in _stub().body:
        if isinstance(node, ast.FunctionDef) and node.name in PUBLIC_FUNCTIONS:
            a = node.args
            params = [(p.arg, "POSITIONAL_OR_KEYWORD") for p in a.posonlyargs + a.args]
            params += [(a.vararg.arg, "VAR_POSITIONAL")] if a.vararg else []
            params += [(p.arg, "KEYWORD_ONLY") for p in a.kwonlyargs]
            params += [(a.kwarg.arg, "VAR_KEYWORD")] if a.kwarg else []
            signatures[node.name] = params
    return signatures


def _runtime_signatures(module: Any) -> dict[str, list[tuple[str, str]]]:
    return {
        name: [(p.name, p.kind.name) for p in inspect.signature(getattr(module, name)).parameters.values()]
        for name in PUBLIC_FUNCTIONS
    }


@pytest.mark.parametrize(
    "module_name", [pytest.param(C_MODULE, marks=pytest.mark.c_extension, id="c"), pytest.param(PY_MODULE, id="py")]
)
def test_stub_matches_the_implementations(module_name: str) -> None:
    module = importlib.import_module(module_name)
    assert _stub_signatures() == _runtime_signatures(module)
    stub_all = next(
        ast.literal_eval(node.value)
        for node in _stub().body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "__all__"
    )
    assert sorted(stub_all) == sorted(module.__all__)
