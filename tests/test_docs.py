"""The README and docs/: the README stays a short front door whose curl and Python examples
work, and every relative link in them leads to a file that exists (and, for a link into a
Markdown file, to a heading in it)."""
import re
import subprocess
import sys

import pytest

from harness import ROOT

PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```.*?^```", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def links(page):
    """The targets of the Markdown links and images in `page`, outside code."""
    text = CODE_SPAN.sub("", FENCE.sub("", page.read_text()))
    return LINK.findall(text)


def slug(heading):
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(page):
    """Every heading's anchor in a Markdown file (a repeated heading gets -1, -2, ...)."""
    seen, found = {}, set()
    for heading in re.findall(r"^#{1,6} (.+)$", FENCE.sub("", page.read_text()), re.M):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def test_the_readme_is_a_short_front_door():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= 200, f"README.md has {len(lines)} lines; put depth into docs/"


def test_the_slug_follows_github():
    assert slug("Set-up: what `make install` and `make test` put where") == \
        "set-up-what-make-install-and-make-test-put-where"
    assert slug("Open Inference Protocol (KServe V2)") == "open-inference-protocol-kserve-v2"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(page):
    broken = []
    for target in links(page):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.is_file():
            broken.append(f"{target}: no file {resolved.relative_to(ROOT)}")
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target}: no heading #{anchor} in {resolved.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)} has broken links:\n" + "\n".join(broken)


def readme_blocks(language):
    return re.findall(rf"^```{language}\n(.*?)^```", (ROOT / "README.md").read_text(), re.M | re.S)


def test_the_readmes_curl_and_python_examples_work(server):
    """The README's examples as a user runs them, against the real server on its own port."""
    here = server.url.removeprefix("http://")
    commands = [line for block in readme_blocks("bash") for line in block.splitlines()
                if line.startswith("curl ")]
    assert len(commands) >= 2
    for command in commands:
        done = subprocess.run(command.replace("localhost:5000", here), shell=True, cwd=ROOT,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and '"status": "ok"' in done.stdout, (command, done.stderr)
    scripts = [block for block in readme_blocks("python") if "requests" in block]
    assert scripts
    for script in scripts:
        done = subprocess.run([sys.executable, "-c", script.replace("localhost:5000", here)],
                              cwd=ROOT, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and done.stdout.startswith("7 0.9"), done.stderr
