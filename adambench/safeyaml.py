"""A strict YAML loader for problem, optimizer, sweep and suite files.

``yaml.safe_load`` alone is not enough for files users feed us: it accepts duplicate keys (the
last wins), raises ``RecursionError`` on deep nesting, and keeps aliases as shared references, so
a "billion laughs" file only explodes when traversed. This loader composes the node graph with
PyYAML's safe machinery and builds plain Python data itself, refusing:

- files larger than :data:`MAX_BYTES` (before parsing),
- tags other than the plain YAML scalars, sequences and mappings (no ``!!python/...``),
- duplicate keys, merge keys (``<<``) and non-scalar keys,
- documents that expand to more than :data:`MAX_NODES` nodes through aliases,
- nesting deeper than :data:`MAX_DEPTH`.

Every failure is a :class:`~adambench.errors.ConfigError` naming the file (and line where known).
``.nan`` / ``.inf`` load as floats; the validators of each file kind refuse them where a finite
number is due.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from adambench.errors import ConfigError

if TYPE_CHECKING:  # imported by the first parse (~25 ms): `show adam`, `--help` parse nothing
    import yaml

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "load_file", "loads"]

MAX_BYTES = 1_000_000
MAX_NODES = 100_000
MAX_DEPTH = 40

_YAML = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_YAML + t for t in ("str", "int", "float", "bool", "null")}
# Tags PyYAML resolves implicitly from plain scalars that we keep as their text.
_TEXT_TAGS = {_YAML + "timestamp"}


def _line(node: yaml.Node) -> str:
    return f"line {node.start_mark.line + 1}"


class _Builder:
    def __init__(self, loader: Any, where: str) -> None:
        import yaml

        self.yaml = yaml
        self.loader = loader
        self.where = where
        self.count = 0

    def fail(self, node: yaml.Node, message: str) -> ConfigError:
        return ConfigError(f"{_line(node)}: {message}", where=self.where)

    def build(self, node: yaml.Node, depth: int = 0) -> Any:
        yaml = self.yaml
        self.count += 1
        if self.count > MAX_NODES:
            raise ConfigError(
                f"the document expands to more than {MAX_NODES} nodes (aliases?); refused",
                where=self.where,
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, f"nesting deeper than {MAX_DEPTH} levels; refused")
        if isinstance(node, yaml.ScalarNode):
            if node.tag in _SCALAR_TAGS:
                return self.loader.construct_object(node)
            if node.tag in _TEXT_TAGS:
                return node.value
            raise self.fail(node, f"YAML tag '{node.tag}' is not allowed")
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _YAML + "seq":
                raise self.fail(node, f"YAML tag '{node.tag}' is not allowed")
            return [self.build(item, depth + 1) for item in node.value]
        if isinstance(node, yaml.MappingNode):
            if node.tag != _YAML + "map":
                raise self.fail(node, f"YAML tag '{node.tag}' is not allowed")
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _YAML + "merge":
                    raise self.fail(key_node, "merge keys (<<) are not supported")
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, "mapping keys must be plain scalars")
                key = self.build(key_node, depth + 1)
                if key in out:
                    raise self.fail(key_node, f"duplicate key '{key}'")
                out[key] = self.build(value_node, depth + 1)
            return out
        raise self.fail(node, "unsupported YAML node")  # pragma: no cover


def loads(text: str, where: str = "<string>") -> Any:
    """Parse one YAML document strictly (see the module docstring); ``None`` for an empty one."""
    if len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ConfigError(f"larger than {MAX_BYTES // 1000} kB; refused", where=where)
    import yaml

    loader = None
    try:
        # libyaml's parser when PyYAML was built with it (about 10x faster), else pure Python.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)(text)
        node = loader.get_single_node()
        if node is None:
            return None
        return _Builder(loader, where).build(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}: " if mark is not None else ""
        problem = exc.problem or exc.context or "invalid YAML"
        if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
            # libyaml says "found character that cannot start any token"
            problem = "a tab character; YAML indents with spaces, not tabs"
        raise ConfigError(f"{line}invalid YAML: {problem}", where=where) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", where=where) from None
    except RecursionError:
        raise ConfigError("YAML nested too deeply; refused", where=where) from None
    finally:
        if loader is not None:
            loader.dispose()


def _char_at(text: str, line: int, column: int) -> str:
    lines = text.split("\n")
    return lines[line][column : column + 1] if line < len(lines) else ""


def load_file(path: str | Path) -> Any:
    """Read and parse a YAML file strictly, refusing it before parsing when it is too large."""
    p = Path(path)
    where = str(path)
    try:
        if p.is_dir():
            raise ConfigError("is a directory, not a YAML file", where=where)
        size = p.stat().st_size
        if size > MAX_BYTES:
            raise ConfigError(f"larger than {MAX_BYTES // 1000} kB; refused", where=where)
        # Read at most one byte past the limit: a pipe or a device (/dev/zero, <(...)) has no
        # size to check beforehand and may never end.
        with p.open("rb") as fh:
            raw = fh.read(MAX_BYTES + 1)
        if len(raw) > MAX_BYTES:
            raise ConfigError(f"larger than {MAX_BYTES // 1000} kB; refused", where=where)
    except FileNotFoundError:
        raise ConfigError("no such file", where=where) from None
    except PermissionError:
        raise ConfigError("permission denied", where=where) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", where=where) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", where=where) from None
    return loads(text, where)
