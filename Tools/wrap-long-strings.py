#!/usr/bin/env python3
'''Wraps string literals that push a Swift line past 120 columns (swift-format leaves them).

A long one-line literal becomes a multi-line literal whose lines end in a backslash, so the
string's value is unchanged (the newline is escaped, the spaces before it are kept). Lines
inside an existing multi-line literal, raw strings and lines whose code (without the
literal) is itself too long are left alone.
    python3 Tools/wrap-long-strings.py FILE...
'''
import re
import sys

LIMIT = 120


def literals(line):
    """(start, end) of each "..." literal on the line (end is the index after the closing quote)."""
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if line.startswith("//", i):
            break
        if c == '"':
            if line.startswith('"""', i) or (i > 0 and line[i - 1] == "#"):
                return None
            j, depth = i + 1, 0
            while j < len(line):
                if line[j] == "\\" and line.startswith("\\(", j):
                    depth += 1
                    j += 2
                    continue
                if line[j] == "\\":
                    j += 2
                    continue
                if depth and line[j] == "(":
                    depth += 1
                elif depth and line[j] == ")":
                    depth -= 1
                elif not depth and line[j] == '"':
                    break
                j += 1
            else:
                return None
            out.append((i, j + 1))
            i = j + 1
            continue
        i += 1
    return out


def split_points(body):
    """Indices after which the literal's text may break: after a space outside any interpolation."""
    points, depth, j = [], 0, 0
    while j < len(body):
        if body.startswith("\\(", j):
            depth += 1
            j += 2
            continue
        if body[j] == "\\":
            j += 2
            continue
        if depth and body[j] == "(":
            depth += 1
        elif depth and body[j] == ")":
            depth -= 1
        elif not depth and body[j] == " ":
            points.append(j + 1)
        j += 1
    return points


def wrap(line):
    spans = literals(line)
    if not spans:
        return None
    start, end = max(spans, key=lambda s: s[1] - s[0])
    if len(line) - (end - start) + 6 > LIMIT:
        return None
    indent = len(line) - len(line.lstrip(" "))
    head = line[:start].rstrip()
    # The literal opens the line: it stays at the line's indentation; else one level deeper.
    inner = " " * (indent + (4 if head else 0))
    body = line[start + 1:end - 1]
    if body.endswith(" ") or body.startswith(" "):
        return None
    width = LIMIT - len(inner) - 2
    chunks, rest = [], body
    while len(rest) > width:
        cands = [p for p in split_points(rest) if p <= width]
        if not cands:
            break
        chunks.append(rest[:cands[-1]])
        rest = rest[cands[-1]:]
    chunks.append(rest)
    if len(chunks) == 1:
        return None
    text = ([head + "\n"] if head else []) + [inner + '"""\n']
    text += [inner + c + "\\\n" for c in chunks[:-1]]
    text += [inner + chunks[-1] + "\n", inner + '"""' + line[end:] + "\n"]
    return "".join(text)


def main():
    for path in sys.argv[1:]:
        lines = open(path).read().split("\n")
        out, inside, changed = [], False, 0
        for line in lines:
            if line.count('"""') % 2 == 1:
                inside = not inside
                out.append(line)
                continue
            if not inside and len(line) > LIMIT:
                w = wrap(line)
                if w:
                    out.append(w.rstrip("\n"))
                    changed += 1
                    continue
            out.append(line)
        if changed:
            open(path, "w").write("\n".join(out))
            print(f"{path}: {changed}")


main()
