"""Turns pages of the PostgreSQL 15 manual (Debian package postgresql-doc-15) into the retrieval
evaluation corpus: one JSON line per page, {"id", "title", "source", "text"}, paragraphs separated by
blank lines. Navigation headers and footers are dropped; code blocks keep their line breaks.

    apt-get install -y postgresql-doc-15
    python3 scripts/extract-postgresql-docs.py bench/datasets/postgresql-15-pages.txt \
        > bench/datasets/postgresql-15-docs.jsonl
"""

import html
import json
import re
import sys
from html.parser import HTMLParser

MANUAL = "/usr/share/doc/postgresql-doc-15/html"
BLOCKS = {"p", "pre", "h1", "h2", "h3", "h4", "h5", "li", "dt", "dd", "tr", "table", "div", "blockquote", "br"}


class PageText(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip_depth = 0
        self.pre_depth = 0
        self.title = ""
        self.in_title = False

    def handle_starttag(self, tag, attrs):
        classes = dict(attrs).get("class", "") or ""
        if self.skip_depth:
            if tag == "div":
                self.skip_depth += 1
            return
        if tag == "div" and ("navheader" in classes or "navfooter" in classes or classes == "toc"):
            self.skip_depth = 1
            return
        if tag == "title":
            self.in_title = True
        if tag == "pre":
            self.pre_depth += 1
        if tag in BLOCKS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag):
        if self.skip_depth:
            if tag == "div":
                self.skip_depth -= 1
            return
        if tag == "title":
            self.in_title = False
        if tag == "pre":
            self.pre_depth -= 1
        if tag in BLOCKS:
            self.parts.append("\n\n")
        if tag in ("td", "th"):
            self.parts.append(" ")

    def handle_data(self, data):
        if self.in_title:
            self.title += data
            return
        if self.skip_depth:
            return
        if self.pre_depth:
            self.parts.append(data.replace("\n", "\u2028"))
        else:
            self.parts.append(re.sub(r"\s+", " ", data))


def page_text(name):
    parser = PageText()
    with open(f"{MANUAL}/{name}", encoding="utf-8") as handle:
        parser.feed(handle.read())
    text = "".join(parser.parts)
    paragraphs = [re.sub(r"[ \t]+", " ", block).strip() for block in re.split(r"\n\s*\n", text)]
    body = "\n\n".join(p.replace("\u2028", "\n") for p in paragraphs if p)
    title = re.sub(r"\s+", " ", html.unescape(parser.title)).strip()
    return title, body


def main():
    with open(sys.argv[1]) as handle:
        names = [line.strip() for line in handle if line.strip() and not line.startswith("#")]
    for name in names:
        title, text = page_text(name)
        record = {"id": name.removesuffix(".html"), "title": title, "source": f"postgresql-15/{name}", "text": text}
        print(json.dumps(record, ensure_ascii=False))


if __name__ == "__main__":
    main()
