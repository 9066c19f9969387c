"""tree-sitter: whether a file parses, and the named members of its containers."""

from __future__ import annotations

import functools
import importlib
from collections import Counter
from typing import Any

from tree_sitter import Language, Node, Parser

GRAMMARS = ("python", "ruby", "go", "javascript", "typescript", "tsx", "java", "c")


def _grammar(name: str) -> Any:
    if name not in GRAMMARS:
        raise KeyError(name)
    if name in ("typescript", "tsx"):
        typescript = importlib.import_module("tree_sitter_typescript")
        return typescript.language_tsx() if name == "tsx" else typescript.language_typescript()
    return importlib.import_module(f"tree_sitter_{name}").language()


@functools.cache
def parser(name: str) -> Parser:
    """A parser for one language (made once per process)."""
    return Parser(Language(_grammar(name)))


def parses(name: str, source: bytes) -> bool:
    """Whether the source parses without an error or a missing node."""
    return not parser(name).parse(source).root_node.has_error


# Nodes whose children are the members of a container: a module, a class body, a block of
# declarations, an object, an array or a struct's field list.
_DEFINITIONS = {
    "function_definition",
    "class_definition",
    "decorated_definition",
    "method",
    "singleton_method",
    "class",
    "module",
    "function_declaration",
    "method_declaration",
    "type_declaration",
    "class_declaration",
    "interface_declaration",
    "method_definition",
    "field_declaration",
    "constructor_declaration",
    "enum_declaration",
    "lexical_declaration",
    "pair",
}


def _name(node: Node) -> bytes | None:
    named = node.child_by_field_name("name") or node.child_by_field_name("key")
    if named is None and node.type == "decorated_definition":
        inner = node.child_by_field_name("definition")
        return _name(inner) if inner is not None else None
    if named is None and node.type in ("type_declaration", "lexical_declaration"):
        for child in node.named_children:
            found = _name(child)
            if found is not None:
                return found
        return None
    return named.text if named is not None else None


def member_names(name: str, source: bytes) -> Counter[tuple[bytes, ...]]:
    """Every named definition as its path of names from the file's top, counted.

    A name counted twice where neither side had it twice means a merge defined one member
    twice: the syntax rule refuses such a result.
    """
    found: Counter[tuple[bytes, ...]] = Counter()
    root = parser(name).parse(source).root_node
    stack: list[tuple[Node, tuple[bytes, ...]]] = [(root, ())]
    while stack:
        node, trail = stack.pop()
        for child in node.named_children:
            inner = trail
            if child.type in _DEFINITIONS:
                named = _name(child)
                if named is not None:
                    inner = (*trail, named)
                    found[inner] += 1
            if child.named_child_count and len(inner) < 4:
                stack.append((child, inner))
    return found
