"""The chat app on the 20,000-article index: how long its first page takes to be usable.

Run: .venv/bin/python scripts/bench_app.py [--work .cache/news20k] [--loads 5]
Serves streamlit_app.py on the index `scripts/bench_news.py` built (QA_INDEX, QA_CORPUS), opens the
page in headless Chromium once cold (the server opens the index and loads the model), then
`--loads` times warm as a first visit (a new browser profile) and as a returning browser (its
cache of Streamlit's scripts kept), each time until the chat box, the example questions and the sidebar's
article list are shown; prints the cold time and the warm median and maximum. Needs the index
(run bench_news.py first) and Debian's chromium (`make install` installs it).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from local_servers import free_port, wait_healthy  # noqa: E402

READY = 600_000  # ms: a cold start opens 94,000 passages


VIEWPORT = {"width": 1280, "height": 800}


def load(new_page, url: str) -> float:
    """Seconds from navigation to a usable page: chat box, an example question, the article list.
    `new_page` opens it: in a new browser profile (a first visit), or in a context whose pages share
    its cache (a returning user)."""
    page = new_page()
    started = time.perf_counter()
    page.goto(url, wait_until="domcontentloaded")
    page.locator('[data-testid="stChatInputTextArea"]').wait_for(timeout=READY)
    page.locator(".st-key-example-0 button").wait_for(timeout=READY)
    page.locator(".qa-articles li").first.wait_for(state="attached", timeout=READY)  # in a folded panel
    seconds = time.perf_counter() - started
    page.close()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", type=Path, default=ROOT / ".cache" / "news20k")
    parser.add_argument("--loads", type=int, default=5)
    args = parser.parse_args()
    index, corpus = args.work / "index", args.work / "corpus"
    if not (index / "CURRENT").exists():
        sys.exit(f"No index at {index}: run scripts/bench_news.py first (it needs ../shared).")
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = dict(os.environ, QA_INDEX=str(index), QA_CORPUS=str(corpus))
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
                             "--server.headless", "true", "--server.port", str(port),
                             "--server.address", "127.0.0.1"], env=env, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        try:
            wait_healthy(url, proc, 300)
        except RuntimeError as exc:
            sys.exit(str(exc))
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
            def first_visit():
                return browser.new_page(viewport=VIEWPORT)

            cold = load(first_visit, url)
            warm = [load(first_visit, url) for _ in range(args.loads)]
            returning = browser.new_context(viewport=VIEWPORT).new_page
            load(returning, url)  # fills its cache
            cached = [load(returning, url) for _ in range(args.loads)]
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    print(f"first page, cold (index opened, model loaded): {cold:.1f} s")
    print(f"first page, warm server, first visit: median {statistics.median(warm):.2f} s, max {max(warm):.2f} s "
          f"({len(warm)} loads)")
    print(f"first page, warm server, returning browser (its cache kept): median {statistics.median(cached):.2f} s, "
          f"max {max(cached):.2f} s ({len(cached)} loads)")


if __name__ == "__main__":
    main()
