"""Reading an operator's YAML file safely: bounded in size, nesting and alias expansion, and
parsed into its node graph too, whose marks give each error its line (tasks.config.files)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A config file cannot be used; str() is the message for the operator."""


# libyaml's loader (shipped in PyYAML's wheels) reads a 1,000-source file ~10x faster than
# the pure-Python one; fall back to that where PyYAML was built without it.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_index(node: yaml.Node | None, path: tuple[Any, ...] = ()) -> dict[tuple[Any, ...], int]:
    """Map each YAML path (keys and list indexes) to its 1-based line."""
    lines: dict[tuple[Any, ...], int] = {}
    if node is None:
        return lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            child = (*path, key.value)
            lines.update(line_index(value, child))
            lines[child] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            lines.update(line_index(item, (*path, i)))
    return lines


def field_name(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in (p for p in loc if p != "[key]"):  # a mapping key that fails: the key names itself
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


# A config file is read whole and every error explained with its line: bound what that costs.
# The largest real files (a few thousand sources) are well under 1 MiB and nest 7 levels deep;
# a 400-byte file of nested aliases ("billion laughs") would otherwise expand to 10^8 nodes
# when an error's line is looked up, and 990 levels of brackets overflow Python's stack.
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_DEPTH = 32
MAX_ALIAS_NODES = 100_000


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _check_shape(path: Path, root: yaml.Node) -> None:
    """Refuse a document nested deeper than MAX_DEPTH, with an alias that refers to itself, or
    whose aliases add more than MAX_ALIAS_NODES nodes to it. One pass over the composed graph
    (each collection once, however many aliases name it), without recursion: 0.1 s for a
    5,000-source file, a quarter of its load."""
    size: dict[int, int] = {}  # id(collection) -> nodes under it once aliases are expanded, itself included
    height: dict[int, int] = {}
    on_path: set[int] = set()
    written = 1  # nodes as written (a scalar named by an alias counts again: one node per alias)
    stack: list[tuple[yaml.Node, int, bool]] = [(root, 1, False)]
    while stack:
        node, depth, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size.get(id(k), 1) for k in kids)
            height[key] = 1 + max((height.get(id(k), 1) for k in kids), default=0)
            continue
        if key in on_path:
            raise ConfigError(f"{path}:{node.start_mark.line + 1}: YAML alias refers to itself")
        seen = key in size  # named again by an alias: its whole height hangs from here
        if depth + (height[key] - 1 if seen else 0) > MAX_DEPTH:
            raise ConfigError(f"{path}:{node.start_mark.line + 1}: YAML nested deeper than {MAX_DEPTH} levels")
        if seen or isinstance(node, yaml.ScalarNode):
            continue
        on_path.add(key)
        stack.append((node, depth, True))
        kids = _children(node)
        written += len(kids)
        stack.extend((kid, depth + 1, False) for kid in kids if not isinstance(kid, yaml.ScalarNode))
        if depth + 1 > MAX_DEPTH and kids:
            raise ConfigError(f"{path}:{kids[0].start_mark.line + 1}: YAML nested deeper than {MAX_DEPTH} levels")
    if size.get(id(root), 1) - written > MAX_ALIAS_NODES:
        raise ConfigError(f"{path}: YAML aliases expand to more than {MAX_ALIAS_NODES:,} nodes")


def read_config(path: Path) -> str:
    """The file's text, refused over MAX_FILE_BYTES or when it is not UTF-8."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"{path}: larger than {MAX_FILE_BYTES // 1024 // 1024} MiB: not a config file")
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text: {exc.reason} at byte {exc.start}") from None


def parse_yaml(path: Path, text: str) -> tuple[Any, yaml.Node | None]:
    """The YAML document (plain types only: a safe loader) and its node graph, whose marks
    give an error its line; bounded by _check_shape before anything is built from it."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, None
        _check_shape(path, node)
        return loader.construct_document(node), node
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}:{mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}{where}: YAML error: {problem}") from None
    finally:
        loader.dispose()
