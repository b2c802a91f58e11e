"""Reading YAML/JSON with positions, so every error can name file:line:column.

ruamel.yaml reads YAML 1.2, where the bare word ``NO`` is the string "NO" (PyYAML's YAML 1.1
would read it as False), and keeps the position of every key and item.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from planner.errors import InputError, Problem

MAX_FILE_BYTES = 50_000_000
MAX_DEPTH = 40
MAX_NODES = 2_000_000


class SourceTree:
    """A parsed document and the positions of its nodes."""

    def __init__(self, path: Path, root: Any):
        self.path = path
        self.root = root

    def position(self, loc: Sequence[str | int]) -> tuple[int | None, int | None]:
        """1-based (line, column) of the deepest node of ``loc`` found in the document."""
        node, line, col = self.root, 1, 1
        for key in loc:
            if isinstance(node, CommentedMap) and key in node:
                line, col = node.lc.key(key) if isinstance(key, str) else node.lc.value(key)
                line, col = line + 1, col + 1
                node = node[key]
            elif isinstance(node, CommentedSeq) and isinstance(key, int) and 0 <= key < len(node):
                line, col = node.lc.item(key)
                line, col = line + 1, col + 1
                node = node[key]
            else:
                break
        return line, col

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        line, col = self.position(loc)
        return Problem(str(self.path), line, col, field_path(loc), message)


def field_path(loc: Sequence[str | int]) -> str:
    """``('applicants', 3, 'zone')`` → ``applicants[3].zone``."""
    out = ""
    for key in loc:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else str(key))
    return out


def read_document(path: Path) -> SourceTree:
    """Parse a YAML or JSON file; syntax errors become located problems."""
    where = str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise InputError([Problem(where, None, None, "", f"file is {size} bytes; the limit is "
                                      f"{MAX_FILE_BYTES}: put long series in CSV files")])
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError([Problem(where, None, None, "", "file not found")]) from None
    except UnicodeDecodeError as exc:
        raise InputError([Problem(where, None, None, "",
                                  f"not UTF-8 text ({exc.reason} at byte {exc.start})")]) from None
    except OSError as exc:
        raise InputError([Problem(where, None, None, "", f"cannot read: {exc.strerror}")]) from None
    _check_brackets(text, where)
    yaml = YAML(typ="rt", pure=True)
    yaml.allow_duplicate_keys = False
    try:
        root = yaml.load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        msg = " ".join(str(x) for x in (exc.context, exc.problem) if x)
        raise InputError([Problem(where, line, col, "", f"not valid YAML/JSON: {msg}")]) from None
    except (YAMLError, RecursionError, ValueError) as exc:
        text = " ".join(str(exc).split())  # one line per problem
        raise InputError([Problem(where, None, None, "", f"not valid YAML/JSON: {text}")]) from None
    if not isinstance(root, CommentedMap):
        raise InputError([Problem(where, 1, 1, "", "the file must hold a mapping of keys")])
    _check_depth(root, where)
    return SourceTree(path, root)


def _check_brackets(text: str, where: str) -> None:
    """Refuse flow collections nested deeper than MAX_DEPTH before parsing: ruamel's scanner
    takes time quadratic in the nesting ('[' × 5000 takes minutes). Brackets inside quoted
    strings count too, which only matters beyond MAX_DEPTH of them."""
    codes = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    step = (np.isin(codes, (ord("["), ord("{"))).astype(np.int32)
            - np.isin(codes, (ord("]"), ord("}"))).astype(np.int32))
    depth = np.cumsum(step)
    if depth.size and depth.max() > MAX_DEPTH:
        at = int(np.argmax(depth > MAX_DEPTH))
        line = text.encode("utf-8")[:at].count(b"\n") + 1
        raise InputError([Problem(where, line, None, "",
                                  f"brackets nested deeper than {MAX_DEPTH} levels")])


def _check_depth(root: Any, where: str) -> None:
    """Refuse deep, self-referencing or alias-exploding documents ("billion laughs")."""
    budget = [MAX_NODES]

    def walk(node: Any, depth: int, path: set[int]) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise InputError([Problem(where, None, None, "",
                                      f"the document expands to more than {MAX_NODES} values "
                                      "(YAML aliases?); write series in CSV files")])
        if depth > MAX_DEPTH:
            raise InputError([Problem(where, None, None, "",
                                      f"nested deeper than {MAX_DEPTH} levels")])
        if isinstance(node, (dict, list)):
            if id(node) in path:
                raise InputError([Problem(where, None, None, "", "a YAML alias refers to itself")])
            path.add(id(node))
            for child in node.values() if isinstance(node, dict) else node:
                walk(child, depth + 1, path)
            path.discard(id(node))

    walk(root, 0, set())


def to_plain(node: Any) -> Any:
    """ruamel's round-trip containers and scalars → plain dict, list, str, int, float, bool."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (str, int)) else k: to_plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [to_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    return node
