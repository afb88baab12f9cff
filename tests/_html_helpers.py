"""A small DOM over ``html.parser`` for tests of generated HTML: it fails on a tag that is not closed in order."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
XSS = "<script>document.title='pwned'</script>"
"""A user string that would retitle the page if it ever reached the page as markup."""
XSS_IMG = "<img src=x onerror=\"document.title='pwned'\">"
TRICKY = "&\"'<>"


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    def text(self) -> str:
        """The text inside, as a browser would show it (entities decoded)."""
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def find_all(self, tag: str, css: str | None = None) -> list[Node]:
        """Every element ``tag`` below this one (document order); with ``css``, those whose class has it."""
        found: list[Node] = []
        for child in self.children:
            if isinstance(child, Node):
                if child.tag == tag and (css is None or css in child.attrs.get("class", "").split()):
                    found.append(child)
                found += child.find_all(tag, css)
        return found

    def find(self, tag: str, css: str | None = None) -> Node:
        found = self.find_all(tag, css)
        assert found, f"no <{tag}> (class {css}) in the HTML"
        return found[0]


class _Builder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        open_tag = self.stack[-1].tag
        assert open_tag == tag, f"</{tag}> closes <{open_tag}>: the HTML is not well-formed"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(html: str) -> Node:
    """The document as a tree; AssertionError when an element is closed out of order or left open."""
    builder = _Builder()
    builder.feed(html)
    builder.close()
    assert [n.tag for n in builder.stack] == ["#root"], f"unclosed elements: {[n.tag for n in builder.stack[1:]]}"
    return builder.root


def table_rows(table: Node) -> tuple[list[str], list[list[str]]]:
    """(header texts, each body row's cell texts)."""
    head = [th.text() for th in table.find("thead").find_all("th")]
    rows = [[td.text() for td in tr.find_all("td")] for tr in table.find("tbody").find_all("tr")]
    return head, rows


class ZMQInteractiveShell:
    """Stands in for the shell of a Jupyter kernel (``in_notebook`` looks for this class name)."""


class FakeNotebook:
    """``IPython`` and ``IPython.display`` as a kernel has them: every display and its in-place updates."""

    def __init__(self) -> None:
        import types

        self.outputs: list[list[str]] = []  # per display: its HTML, then each update's
        ipython = types.ModuleType("IPython")
        ipython.get_ipython = ZMQInteractiveShell  # type: ignore[attr-defined]
        display = types.ModuleType("IPython.display")
        display.HTML = lambda data: data  # type: ignore[attr-defined]
        display.display = self._display  # type: ignore[attr-defined]
        self.modules = {"IPython": ipython, "IPython.display": display}

    def _display(self, html: str, display_id: bool = False) -> object:
        assert display_id, "a progress bar needs a display id to update in place"
        shown = [html]
        self.outputs.append(shown)

        class Handle:
            def update(self, html: str) -> None:
                shown.append(html)

        return Handle()

    def final(self, index: int = 0) -> Node:
        """The last state of display ``index``, parsed."""
        return parse(self.outputs[index][-1])


def fake_notebook(monkeypatch: pytest.MonkeyPatch) -> FakeNotebook:
    """From now until the test ends, run as if in a Jupyter kernel; the notebook records what is displayed."""
    fake = FakeNotebook()
    for name, module in fake.modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return fake
