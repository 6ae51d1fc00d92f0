"""docs/operations.md documents every environment variable the code reads, with its default.

Pure: no Flask app, no store, nothing of the project imported. The code side is collected by
parsing the source with `ast`, so a half-finished refactor elsewhere cannot break the import
of this test, and a module may move between packages without the test noticing anything but
what it reads from the environment:

* every `os.environ.get(NAME, ...)`, `os.environ[NAME]`, `NAME in os.environ`, `os.getenv(NAME)`
  in the top-level packages (core, app, status, sync, reserve) and gunicorn.conf.py, where NAME
  is a literal or a module constant (also one imported from another module);
* every key passed to a "keyed environment applier": a function with a parameter that defaults
  to `os.environ` and a loop over another parameter whose items it looks up there (today
  `core.config.apply_environment(config, keys)`, called with the ENVIRONMENT_KEYS tuples of
  status.settings, sync.settings and reserve);
* the defaults: the literal second argument of `os.environ.get`, else the literal value of the
  attribute of the same name on the class `Config` (today in core/config.py);
* the Makefile's `NAME ?= value` variables, which make takes from the environment.

The documentation side is the table between `<!-- environment-variables:begin -->` and
`<!-- environment-variables:end -->` (rows `| `NAME` | default | read by | meaning |`) and the
table between `<!-- make-variables:begin -->` and `<!-- make-variables:end -->` (same shape).
A default cell starts with `unset` (no value), with a backticked literal written as it would be
set in the environment (JSON for numbers, booleans, objects; strings bare), or with free text
where the code's default is not a plain literal.
"""
from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"
PACKAGES = ("core", "app", "status", "sync", "reserve")
EXTRA_FILES = ("gunicorn.conf.py",)
MAKEFILE = ROOT / "Makefile"
ENV_TABLE = "environment-variables"
MAKE_TABLE = "make-variables"

ROW = re.compile(r"^\|\s*`(?P<name>[A-Za-z_][A-Za-z0-9_]*)`\s*\|(?P<rest>.*)\|\s*$")
MAKE_ASSIGNMENT = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*\?=\s*(?P<value>.*?)\s*$")
READ_METHODS = ("get", "setdefault", "pop")
UNSET = object()  # a documented default of "unset"
FREE_TEXT = object()  # a documented default that is prose, not a literal


# --- The documentation side -------------------------------------------------------------------


@dataclass(frozen=True)
class DocRow:
    name: str
    default: object  # UNSET, FREE_TEXT or the backticked text
    cells: tuple[str, ...]
    line: int


def parse_default(cell: str) -> object:
    cell = cell.strip()
    if cell.lower().startswith("unset"):
        return UNSET
    match = re.match(r"^`([^`]*)`", cell)
    return match.group(1) if match else FREE_TEXT


def doc_table(text: str, marker: str) -> list[DocRow]:
    """Return the rows of the table between the begin and end markers."""
    begin, end = f"<!-- {marker}:begin -->", f"<!-- {marker}:end -->"
    assert text.count(begin) == 1 and text.count(end) == 1, f"docs/operations.md needs one {begin} … {end}"
    start = text.index(begin)
    offset = text[:start].count("\n") + 1
    rows = []
    for number, line in enumerate(text[start:text.index(end)].splitlines(), start=offset):
        match = ROW.match(line.strip())
        if match:
            cells = tuple(cell.strip() for cell in match.group("rest").split("|"))
            rows.append(DocRow(match.group("name"), parse_default(cells[0]), cells, number))
    return rows


# --- The code side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class ModuleRef:
    name: str


@dataclass(frozen=True)
class Read:
    name: str
    where: str
    default: object = UNSET  # UNSET: none given (or not a literal)


@dataclass
class Module:
    name: str
    path: Path
    tree: ast.Module
    constants: dict[str, ast.expr] = field(default_factory=dict)
    imports: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # alias → (module, attribute)

    @property
    def package(self) -> str:
        return self.name if self.path.name == "__init__.py" else self.name.rpartition(".")[0]


def source_files() -> Iterator[tuple[str, Path]]:
    for package in PACKAGES:
        folder = ROOT / package
        if not (folder / "__init__.py").exists():
            continue
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = path.relative_to(ROOT).with_suffix("").parts
            yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path
    for name in EXTRA_FILES:
        if (ROOT / name).exists():
            yield name.removesuffix(".py").replace(".", "_"), ROOT / name


def load_modules(sources: dict[str, tuple[Path, str]]) -> dict[str, Module]:
    modules = {}
    for name, (path, text) in sources.items():
        module = Module(name, path, ast.parse(text, filename=str(path)))
        for node in module.tree.body:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target] \
                if isinstance(node, ast.AnnAssign) and node.value is not None else []
            for target in targets:
                if isinstance(target, ast.Name):
                    module.constants[target.id] = node.value
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        module.imports[alias.asname] = (alias.name, None)
                    else:
                        top = alias.name.split(".")[0]
                        module.imports[top] = (top, None)
            elif isinstance(node, ast.ImportFrom):
                source = node.module or ""
                if node.level:
                    base = module.package.split(".")
                    base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                    source = ".".join([*base, source] if source else base)
                for alias in node.names:
                    module.imports[alias.asname or alias.name] = (source, alias.name)
        modules[name] = module
    return modules


class Collector:
    """What the source reads from the environment, found with ast."""

    def __init__(self, modules: dict[str, Module]) -> None:
        self.modules = modules
        self.reads: list[Read] = []
        self.unresolved: list[str] = []
        self.config_defaults: dict[str, object] = {}
        self.config_classes: list[str] = []
        self.appliers = self._find_appliers()
        for module in modules.values():
            self._scan(module)
            self._config_class(module)

    # Names and values

    def lookup(self, module: Module, name: str, depth: int = 0) -> object:
        """Return the value of a module-level name: a string, a tuple of strings, a ModuleRef or None."""
        if depth > 10:
            return None
        if name in module.constants:
            return self.value(module, module.constants[name], depth + 1)
        if name in module.imports:
            source, attribute = module.imports[name]
            if attribute is None:
                return ModuleRef(source)
            if f"{source}.{attribute}" in self.modules:
                return ModuleRef(f"{source}.{attribute}")
            if source in self.modules:
                return self.lookup(self.modules[source], attribute, depth + 1)
            if source == "os" and attribute in ("environ", "getenv"):
                return ModuleRef(f"os.{attribute}")
        return None

    def value(self, module: Module, node: ast.expr, depth: int = 0) -> object:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items: list[str] = []
            for element in node.elts:
                inner = self.value(module, element.value if isinstance(element, ast.Starred) else element, depth)
                if isinstance(inner, str) and not isinstance(element, ast.Starred):
                    items.append(inner)
                elif isinstance(inner, tuple):
                    items.extend(inner)
                else:
                    return None
            return tuple(items)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(module, node.left, depth), self.value(module, node.right, depth)
            if isinstance(left, tuple) and isinstance(right, tuple):
                return left + right
            return None
        if isinstance(node, ast.Name):
            return self.lookup(module, node.id, depth)
        if isinstance(node, ast.Attribute):
            owner = self.value(module, node.value, depth)
            if isinstance(owner, ModuleRef):
                if f"{owner.name}.{node.attr}" in self.modules:
                    return ModuleRef(f"{owner.name}.{node.attr}")
                if owner.name in self.modules:
                    return self.lookup(self.modules[owner.name], node.attr, depth + 1)
                if owner.name == "os" and node.attr in ("environ", "getenv"):
                    return ModuleRef(f"os.{node.attr}")
        return None

    def is_environ(self, module: Module, node: ast.expr) -> bool:
        return self.value(module, node) == ModuleRef("os.environ")

    # Keyed appliers: def f(config, keys, environ=os.environ): for key in keys: ... environ[key] ...

    def _find_appliers(self) -> dict[tuple[str, str], tuple[int, str]]:
        found = {}
        for module in self.modules.values():
            for node in module.tree.body:
                if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    continue
                positional = [*node.args.posonlyargs, *node.args.args]
                defaults = dict(zip([a.arg for a in positional][-len(node.args.defaults):], node.args.defaults)) \
                    if node.args.defaults else {}
                defaults.update({a.arg: d for a, d in zip(node.args.kwonlyargs, node.args.kw_defaults) if d})
                environs = {name for name, default in defaults.items() if self.is_environ(module, default)}
                if not environs:
                    continue
                names = [a.arg for a in positional]
                for loop in ast.walk(node):
                    if not (isinstance(loop, ast.For) and isinstance(loop.iter, ast.Name)
                            and isinstance(loop.target, ast.Name) and loop.iter.id in names):
                        continue
                    if self._looks_up(loop, loop.target.id, environs):
                        found[(module.name, node.name)] = (names.index(loop.iter.id), loop.iter.id)
        return found

    @staticmethod
    def _looks_up(loop: ast.For, key: str, environs: set[str]) -> bool:
        def is_key(node: ast.expr) -> bool:
            return isinstance(node, ast.Name) and node.id == key

        def is_env(node: ast.expr) -> bool:
            return isinstance(node, ast.Name) and node.id in environs

        for node in ast.walk(loop):
            if isinstance(node, ast.Compare) and is_key(node.left) and any(
                    isinstance(op, (ast.In, ast.NotIn)) and is_env(right)
                    for op, right in zip(node.ops, node.comparators)):
                return True
            if isinstance(node, ast.Subscript) and is_env(node.value) and is_key(node.slice):
                return True
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_env(node.func.value) \
                    and node.args and is_key(node.args[0]):
                return True
        return False

    def _applier_of(self, module: Module, func: ast.expr) -> tuple[int, str] | None:
        if isinstance(func, ast.Name):
            if (module.name, func.id) in self.appliers and func.id not in module.imports:
                return self.appliers[(module.name, func.id)]
            source, attribute = module.imports.get(func.id, (None, None))
            return self.appliers.get((source, attribute)) if source and attribute else None
        if isinstance(func, ast.Attribute):
            owner = self.value(module, func.value)
            if isinstance(owner, ModuleRef):
                return self.appliers.get((owner.name, func.attr))
        return None

    # Reads

    @staticmethod
    def where(module: Module, node: ast.AST) -> str:
        path = module.path.relative_to(ROOT) if module.path.is_relative_to(ROOT) else module.path.name
        return f"{path}:{node.lineno}"

    def _record(self, module: Module, node: ast.AST, key: ast.expr, default: ast.expr | None = None) -> None:
        where = self.where(module, node)
        name = self.value(module, key)
        if not isinstance(name, str):
            self.unresolved.append(f"{where}: {ast.unparse(key)}")
            return
        literal = UNSET
        if default is not None:
            try:
                literal = ast.literal_eval(default)
            except (ValueError, TypeError, SyntaxError):
                literal = UNSET
        self.reads.append(Read(name, where, literal))

    def _scan(self, module: Module) -> None:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.Call):
                func = node.func
                target = self.value(module, func)
                if (isinstance(func, ast.Attribute) and func.attr in READ_METHODS
                        and self.is_environ(module, func.value)) or target == ModuleRef("os.getenv"):
                    if node.args:
                        self._record(module, node, node.args[0], node.args[1] if len(node.args) > 1 else None)
                    continue
                applier = self._applier_of(module, func)
                if applier is not None:
                    index, keyword = applier
                    keys = node.args[index] if len(node.args) > index else next(
                        (k.value for k in node.keywords if k.arg == keyword), None)
                    where = self.where(module, node)
                    names = self.value(module, keys) if keys is not None else None
                    if not isinstance(names, tuple):
                        self.unresolved.append(f"{where}: keys {ast.unparse(keys) if keys else '(none)'}")
                        continue
                    self.reads.extend(Read(name, where) for name in names)
            elif isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) \
                    and self.is_environ(module, node.value):
                self._record(module, node, node.slice)
            elif isinstance(node, ast.Compare):
                for op, right in zip(node.ops, node.comparators):
                    if isinstance(op, (ast.In, ast.NotIn)) and self.is_environ(module, right):
                        self._record(module, node, node.left)

    def _config_class(self, module: Module) -> None:
        for node in module.tree.body:
            if not (isinstance(node, ast.ClassDef) and node.name == "Config"):
                continue
            self.config_classes.append(module.name)
            for statement in node.body:
                if isinstance(statement, ast.Assign):
                    targets, value = statement.targets, statement.value
                elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                    targets, value = [statement.target], statement.value
                else:
                    continue
                try:
                    literal = ast.literal_eval(value)
                except (ValueError, TypeError, SyntaxError):
                    continue
                for target in targets:
                    if isinstance(target, ast.Name):
                        self.config_defaults[target.id] = literal

    # Results

    def names(self) -> set[str]:
        return {read.name for read in self.reads}

    def defaults(self, name: str) -> list[object]:
        """Return the code's plain-literal defaults of a variable (empty: none known)."""
        given = sorted({repr(read.default): read.default for read in self.reads
                        if read.name == name and read.default is not UNSET}.items())
        if given:
            return [value for _, value in given]
        if name in self.config_defaults:
            return [self.config_defaults[name]]
        return []


def collect(sources: dict[str, tuple[Path, str]] | None = None) -> Collector:
    if sources is None:
        sources = {name: (path, path.read_text(encoding="utf-8")) for name, path in source_files()}
    return Collector(load_modules(sources))


def make_variables() -> dict[str, str]:
    found = {}
    for line in MAKEFILE.read_text(encoding="utf-8").splitlines():
        match = MAKE_ASSIGNMENT.match(line)
        if match:
            found[match.group("name")] = match.group("value")
    return found


def default_matches(documented: object, code: object) -> bool:
    """Return whether the documented default states the code's default."""
    if code is None or code == "":
        return documented is UNSET
    if documented is UNSET or documented is FREE_TEXT:
        return False
    if isinstance(code, str):
        return documented == code
    try:
        parsed = json.loads(documented)
    except ValueError:
        return False
    if isinstance(code, bool) or isinstance(parsed, bool):
        return parsed is code
    return parsed == code


# --- Tests ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def doc_text() -> str:
    assert DOC.exists(), "docs/operations.md is missing"
    return DOC.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def code() -> Collector:
    return collect()


def test_collector_finds_reads_of_every_form(tmp_path: Path) -> None:
    sources = {
        "pkg.names": (tmp_path / "names.py", 'VARIABLE = "FROM_CONSTANT"\nKEYS = ("KEY_A", "KEY_B")\n'),
        "pkg.conf": (tmp_path / "conf.py", (
            "import os\n"
            "def apply(config, keys, environ=os.environ):\n"
            "    for key in keys:\n"
            "        if key in environ:\n"
            "            config[key] = environ[key]\n"
            "class Config:\n"
            "    PLAIN = 5\n"
            "    NOT_PLAIN = 2 * 3\n"
        )),
        "pkg.user": (tmp_path / "user.py", (
            "import os\n"
            "from os import environ as env, getenv\n"
            "from pkg.names import VARIABLE\n"
            "from pkg import names\n"
            "from pkg.conf import apply as apply_them\n"
            "A = os.environ.get('WITH_DEFAULT', '8')\n"
            "B = os.environ['SUBSCRIPT']\n"
            "C = 'MEMBER' in os.environ\n"
            "D = getenv('GETENV')\n"
            "E = env.get(VARIABLE)\n"
            "F = os.environ.get(names.VARIABLE)\n"
            "def f(config, name):\n"
            "    apply_them(config, (*names.KEYS, 'KEY_C'))\n"
            "    return os.environ.get(name)\n"
            "os.environ['WRITTEN'] = '1'\n"
        )),
    }
    found = collect(sources)
    assert found.names() == {"WITH_DEFAULT", "SUBSCRIPT", "MEMBER", "GETENV", "FROM_CONSTANT", "KEY_A", "KEY_B",
                             "KEY_C"}
    assert found.unresolved == ["user.py:14: name"]  # os.environ.get(name): which variable cannot be seen
    assert found.defaults("WITH_DEFAULT") == ["8"]
    assert found.defaults("PLAIN") == [5] and found.defaults("NOT_PLAIN") == []


def test_default_cells_are_read_as_documented() -> None:
    assert parse_default("unset: SQLite in the instance folder") is UNSET
    assert parse_default("`60`") == "60"
    assert parse_default("generated once") is FREE_TEXT
    assert default_matches("3.0", 3.0) and default_matches("false", False) and not default_matches("0", False)
    assert default_matches("http://127.0.0.1:5001", "http://127.0.0.1:5001") and not default_matches("5000", 5001)
    assert default_matches('{"a": [1]}', {"a": [1]}) and default_matches(UNSET, None) and default_matches(UNSET, "")


def test_the_code_side_is_found(code: Collector) -> None:
    assert code.config_classes, "no class Config found in the packages; where did the configuration go?"
    assert len(code.config_classes) == 1, f"more than one class Config: {code.config_classes}"
    assert code.appliers, "no function applying a list of keys from os.environ found (core.config.apply_environment)"
    assert "DATABASE_URL" in code.names()


def test_every_environment_read_names_its_variable(code: Collector) -> None:
    assert not code.unresolved, (
        "environment reads whose variable name is not a literal or a module constant (the documentation "
        "check cannot see them; name the variable with a constant):\n" + "\n".join(code.unresolved))


def test_table_rows_are_well_formed(doc_text: str) -> None:
    for marker in (ENV_TABLE, MAKE_TABLE):
        rows = doc_table(doc_text, marker)
        assert rows, f"the {marker} table has no rows"
        names = [row.name for row in rows]
        twice = sorted({name for name in names if names.count(name) > 1})
        assert not twice, f"{marker}: listed twice: {twice}"
        for row in rows:
            assert len(row.cells) == 3, f"line {row.line}: `{row.name}` needs | default | read by | meaning |"
            assert all(row.cells), f"line {row.line}: `{row.name}` has an empty cell"


def test_every_environment_variable_is_documented(doc_text: str, code: Collector) -> None:
    documented = {row.name for row in doc_table(doc_text, ENV_TABLE)}
    read = code.names()
    missing = sorted(read - documented)
    where = {name: sorted({r.where for r in code.reads if r.name == name}) for name in missing}
    assert not missing, "read from the environment but not in docs/operations.md: " + ", ".join(
        f"{name} ({', '.join(where[name])})" for name in missing)


def test_every_documented_variable_is_still_read(doc_text: str, code: Collector) -> None:
    documented = {row.name for row in doc_table(doc_text, ENV_TABLE)}
    gone = sorted(documented - code.names())
    assert not gone, f"documented in docs/operations.md but no longer read from the environment: {', '.join(gone)}"


def test_documented_defaults_match_the_code(doc_text: str, code: Collector) -> None:
    wrong = []
    for row in doc_table(doc_text, ENV_TABLE):
        for default in code.defaults(row.name):
            if not default_matches(row.default, default):
                shown = "unset" if row.default is UNSET else row.cells[0]
                expected = repr(default) if isinstance(default, str) else json.dumps(default, ensure_ascii=False)
                wrong.append(f"line {row.line}: `{row.name}` documents {shown}, the code's default is {expected}")
    assert not wrong, "defaults in docs/operations.md that differ from the code:\n" + "\n".join(wrong)


def test_make_variables_are_documented_with_their_defaults(doc_text: str) -> None:
    variables = make_variables()
    rows = {row.name: row for row in doc_table(doc_text, MAKE_TABLE)}
    assert set(rows) == set(variables), (
        f"Makefile `?=` variables not documented: {sorted(set(variables) - set(rows))}; "
        f"documented but not in the Makefile: {sorted(set(rows) - set(variables))}")
    wrong = [f"`{name}`: documented {rows[name].cells[0]}, Makefile has {value!r}"
             for name, value in variables.items() if rows[name].default != value]
    assert not wrong, "Makefile defaults differ from docs/operations.md:\n" + "\n".join(wrong)
