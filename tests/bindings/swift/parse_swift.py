"""Parses Swift files with tree-sitter-swift and reports every syntax error.

    parse_swift.py FILE_OR_DIR...

Prints one line per file and "N passed, N failed"; exits 1 when any file fails to parse (or
when no file was found). There is no Swift compiler here, so this is the check that the
Swift sources (hand-written and generated) are at least well-formed.

Two constructs that UniFFI generates are valid Swift that tree-sitter-swift 0.7 cannot parse;
before parsing, each is rewritten to what the compiler makes of it (reported per file):
- `#if swift(>=5.8)` / `@_documentation(visibility: private)` / `#endif`: the grammar does not
  accept a compiler conditional around a lone attribute; every Swift >= 5.8 compiler keeps the
  attribute, so the two directive lines are blanked;
- `{ () }` (a closure returning the empty tuple) becomes `{ Void() }`, the same value.
Line numbers are unchanged by both rewrites.
"""

import pathlib
import re
import sys

import tree_sitter
import tree_sitter_swift

REWRITES = [
    (
        re.compile(
            r"^[ \t]*#if swift\(>=5\.8\)[ \t]*\n([ \t]*@_documentation\(visibility: private\)[ \t]*\n)[ \t]*#endif[ \t]*$",
            re.M,
        ),
        r"\n\1",
    ),
    (re.compile(r"\{ \(\) \}"), "{ Void() }"),
]


def swift_files(arguments):
    for argument in arguments:
        path = pathlib.Path(argument)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*.swift") if ".build" not in p.parts)
        else:
            yield path


def syntax_errors(node, found):
    if node.is_error or node.is_missing:
        found.append(node)
        return
    if node.has_error:
        for child in node.children:
            syntax_errors(child, found)


def main(arguments):
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_swift.language()))
    passed = failed = 0
    for path in swift_files(arguments):
        text = path.read_text(encoding="utf-8")
        rewritten = 0
        for pattern, replacement in REWRITES:
            text, count = pattern.subn(replacement, text)
            rewritten += count
        tree = parser.parse(text.encode("utf-8"))
        errors = []
        syntax_errors(tree.root_node, errors)
        note = f" ({rewritten} generated constructs rewritten)" if rewritten else ""
        if errors:
            failed += 1
            print(f"FAIL {path}{note}")
            lines = text.splitlines()
            for error in errors[:10]:
                row, column = error.start_point
                kind = "missing " + error.type if error.is_missing else "syntax error"
                source = lines[row].strip() if row < len(lines) else ""
                print(f"  {path}:{row + 1}:{column + 1}: {kind}: {source[:100]}")
        else:
            passed += 1
            print(f"ok   {path}{note}")
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
