#!/usr/bin/env python3
"""Checks the search page (Sources/Server/Resources/page) the way a browser would read it:

  - the HTML parses (Python's html.parser) with every element closed in order, no stray end
    tag, no duplicate id;
  - every id the script looks up (`$("x")`, `getElementById("x")`, `querySelector("#x")`) and
    every id selector of the stylesheet (`#x`) names an element of the HTML;
  - the stylesheet's braces balance and each declaration reads `name: value`;
  - with --node, the script compiles as a classic browser script (`vm.Script` in Node), so a
    syntax error fails with its line.

FILE is either `index.html` with its linked `page.css`/`page.js` (read next to it), or the page
as served (the two inlined). Run by `ServerTests.PageFilesTests`. Usage:
Tools/check-page.py [--node PATH] FILE. Exit 0 when every check passes, 1 with the problems.
"""
import argparse, os, re, subprocess, sys, tempfile
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Page(HTMLParser):
    def __init__(self, folder):
        super().__init__(convert_charrefs=True)
        self.folder = folder
        self.open = []          # (tag, line) of the elements not yet closed
        self.ids = {}           # id -> line
        self.problems = []
        self.scripts = []       # (name, text)
        self.styles = []        # (name, text)
        self._inline = None     # "script" / "style" while inside one

    def where(self):
        return "line %d" % self.getpos()[0]

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            if a["id"] in self.ids:
                self.problems.append("%s: id %r already used on line %d" % (self.where(), a["id"], self.ids[a["id"]]))
            self.ids[a["id"]] = self.getpos()[0]
        if tag == "link" and a.get("rel") == "stylesheet":
            self.styles.append((a["href"], self.linked(a.get("href"))))
        if tag == "script":
            if a.get("src"):
                self.scripts.append((a["src"], self.linked(a["src"])))
            else:
                self._inline = "script"
        if tag == "style":
            self._inline = "style"
        if tag not in VOID:
            self.open.append((tag, self.getpos()[0]))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.open.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append("%s: </%s> closes a void element" % (self.where(), tag))
        elif not self.open:
            self.problems.append("%s: </%s> closes nothing" % (self.where(), tag))
        elif self.open[-1][0] != tag:
            t, line = self.open[-1]
            self.problems.append("%s: </%s> while <%s> (line %d) is open" % (self.where(), tag, t, line))
        else:
            self.open.pop()
        self._inline = None

    def handle_data(self, data):
        if self._inline == "script":
            self.scripts.append(("inline script at %s" % self.where(), data))
        elif self._inline == "style":
            self.styles.append(("inline style at %s" % self.where(), data))

    def linked(self, href):
        path = os.path.join(self.folder, href or "")
        try:
            with open(path, encoding="utf-8") as f:
                return f.read()
        except OSError as e:
            self.problems.append("%s: cannot read %s (%s)" % (self.where(), href, e.strerror))
            return ""


def css_problems(name, css, ids):
    out = []
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    depth = 0
    parts = re.split(r"([{}])", css)
    for i, text in enumerate(parts):
        if text == "{":
            depth += 1
        elif text == "}":
            depth -= 1
            if depth < 0:
                out.append("%s: '}' closes nothing" % name)
                depth = 0
        elif i + 1 < len(parts) and parts[i + 1] == "{":
            # A selector (or an at-rule such as @media): its id selectors must exist.
            if not text.strip().startswith("@"):
                for ident in re.findall(r"#([A-Za-z_][\w-]*)", text):
                    if ident not in ids:
                        out.append("%s: selector %r names id %r, which the HTML lacks" % (name, text.strip(), ident))
        else:
            # Declarations (or space between rules).
            for decl in text.split(";"):
                if decl.strip() and (depth == 0 or ":" not in decl):
                    out.append("%s: %r is not a declaration inside a rule" % (name, decl.strip()))
    if depth != 0:
        out.append("%s: %d unclosed '{'" % (name, depth))
    return out


LOOKUPS = [r"""\$\(\s*["']([^"']+)["']\s*\)""", r"""getElementById\(\s*["']([^"']+)["']\s*\)""",
           r"""querySelector(?:All)?\(\s*["']#([\w-]+)"""]


def js_problems(name, js, ids, node):
    out = []
    for pattern in LOOKUPS:
        for m in re.finditer(pattern, js):
            if m.group(1) not in ids:
                line = js.count("\n", 0, m.start()) + 1
                out.append("%s:%d: looks up id %r, which the HTML lacks" % (name, line, m.group(1)))
    if node:
        # A classic script, as a browser's <script> compiles it (not a CommonJS module).
        compile_js = ("const fs = require('fs'), vm = require('vm');"
                      "new vm.Script(fs.readFileSync(process.argv[1], 'utf8'), { filename: process.argv[2] });")
        with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False, encoding="utf-8") as f:
            f.write(js)
        try:
            r = subprocess.run([node, "-e", compile_js, f.name, name], capture_output=True, text=True, timeout=60)
        finally:
            os.unlink(f.name)
        if r.returncode != 0:
            # Node prints the line, a caret and the error, then its own stack: keep the first part.
            report = (r.stderr or r.stdout).split("\n    at ")[0].strip()
            out.append("%s: not valid JavaScript:\n%s" % (name, report))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--node", help="Node.js binary: also compile the script")
    ap.add_argument("file")
    args = ap.parse_args()
    with open(args.file, encoding="utf-8") as f:
        html = f.read()
    page = Page(os.path.dirname(os.path.abspath(args.file)))
    page.feed(html)
    page.close()
    problems = list(page.problems)
    for tag, line in page.open:
        problems.append("<%s> on line %d is never closed" % (tag, line))
    if not page.scripts:
        problems.append("the page has no script")
    if not page.styles:
        problems.append("the page has no stylesheet")
    for name, css in page.styles:
        problems += css_problems(name, css, page.ids)
    for name, js in page.scripts:
        problems += js_problems(name, js, page.ids, args.node)
    for p in problems:
        print(p)
    if problems:
        return 1
    print("ok: %d ids, %d script(s)%s, %d stylesheet(s)" % (
        len(page.ids), len(page.scripts), " compiled" if args.node else "", len(page.styles)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
