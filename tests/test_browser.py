"""End to end in a real browser: `streamlit run` on a free localhost port, driven by headless Chromium.

The server starts on a private copy of the seed corpus with no index, so it builds one on first
start as on a fresh machine. The time from pressing Enter to the shown answer and its cited passage
is measured (median of 3) and printed. Then an article whose text contains HTML and script tags is
uploaded through the page's file uploader: asked about, its tags must appear literally and never
run. Set QA_SCREENSHOT=1 to save the screenshot to docs/screenshot.png (else into tmp).
"""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from llm_server import Reply, scripted_server
from local_servers import free_port, wait_healthy

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
START_TIMEOUT = 60  # s until /_stcore/health answers
READY_TIMEOUT = 240_000  # ms until the chat is usable: first start loads the model and builds the index
ANSWER_TIMEOUT = 60_000  # ms

ATTACK_IMG = "<img src=x onerror=alert(1)>"
ATTACK_SCRIPT = '<script>alert("xss")</script>'
ATTACK_ARTICLE = f"""Hội thảo an ninh mạng ASEAN 2023 tại Đà Nẵng

Ngày 10/10/2023, Hội thảo an ninh mạng ASEAN 2023 đã khai mạc tại thành phố Đà Nẵng với 120 chuyên gia an ninh mạng tham dự.

Các chuyên gia trình bày cách kẻ tấn công chèn mã độc vào trang web, ví dụ chuỗi {ATTACK_IMG} hoặc thẻ {ATTACK_SCRIPT} trong nội dung bài viết.

Hội thảo kêu gọi các nước ASEAN tăng cường chia sẻ thông tin về các mối đe dọa trên không gian mạng.
"""
QUESTIONS = (
    "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?",
    "Quỹ Liên kết ASEAN-Nhật Bản đã tài trợ bao nhiêu tiền?",
    "Thứ trưởng Nguyễn Quốc Dũng họp với những cơ quan nào?",
)

try:
    from playwright.sync_api import sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

if sync_playwright is None:
    pytest.skip("the Python package playwright is not installed (pip install playwright)", allow_module_level=True)
if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    with streamlit_server(root, {"QA_CORPUS": str(corpus), "QA_INDEX": str(index)}) as url:
        yield {"url": url, "corpus": corpus, "index": index}


@contextmanager
def streamlit_server(root: Path, env: dict):
    port = free_port()
    log = root / f"streamlit-{port}.log"
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "streamlit_app.py"),
           "--server.address", "127.0.0.1", "--server.port", str(port), "--server.headless", "true",
           "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc, START_TIMEOUT, log)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


def open_session(browser, url: str):
    """A new browser context (its own cookies: its own Streamlit session) with the chat ready."""
    context = browser.new_context(viewport={"width": 1360, "height": 1300}, locale="vi-VN")
    pg = context.new_page()
    pg.dialogs = []  # every alert/confirm/prompt the page tries to open
    pg.errors = []

    def on_dialog(dialog):
        pg.dialogs.append(dialog.message)
        dialog.dismiss()

    pg.on("dialog", on_dialog)
    pg.on("pageerror", lambda exc: pg.errors.append(str(exc)))
    pg.goto(url, wait_until="domcontentloaded")
    pg.locator('[data-testid="stChatInputTextArea"]').wait_for(timeout=READY_TIMEOUT)
    # The welcome with its example questions shows once the engine is ready.
    pg.get_by_role("button", name=QUESTIONS[0]).wait_for(timeout=READY_TIMEOUT)
    return pg


@pytest.fixture(scope="module")
def page(server, browser):
    pg = open_session(browser, server["url"])
    yield pg
    pg.context.close()


def wait_idle(pg) -> None:
    """Until the script run is over (the page stops changing)."""
    pg.wait_for_function(
        "() => document.querySelector('[data-testid=stApp]')?.dataset.testScriptState === 'notRunning'",
        timeout=ANSWER_TIMEOUT)


def ask(pg, question: str) -> float:
    """Type the question, press Enter, wait for the answer and its cited passage; seconds taken."""
    answers = pg.locator(".qa-answer").count()
    cards = pg.locator(".qa-card-head").count()
    started = time.perf_counter()
    send(pg, question)
    wait_answered(pg, answers, cards)
    return time.perf_counter() - started


def wait_question_on_top(pg) -> None:
    """Until the page shows the last question at the top, below the top bar (the page scrolls there
    once it settles)."""
    pg.wait_for_function("() => { const top = [...document.querySelectorAll('.qa-question')].pop()"
                         ".getBoundingClientRect().top; return 60 <= top && top < 160; }", timeout=10_000)


def send(pg, question: str) -> None:
    box = pg.locator('[data-testid="stChatInputTextArea"]')
    box.fill(question)
    box.press("Enter")


def wait_answered(pg, answers: int, cards: int) -> None:
    """Until one more answer and one more cited passage than before are shown, and the run is over."""
    pg.wait_for_function(
        "([a, c]) => document.querySelectorAll('.qa-answer').length > a"
        " && document.querySelectorAll('.qa-card-head').length > c",
        arg=[answers, cards], timeout=ANSWER_TIMEOUT, polling=20)
    wait_idle(pg)


def screenshot_path(tmp_path: Path) -> Path:
    if os.environ.get("QA_SCREENSHOT") == "1":
        target = ROOT / "docs" / "screenshot.png"
        target.parent.mkdir(exist_ok=True)
        return target
    return tmp_path / "screenshot.png"


def test_question_shows_the_cited_passage_fast(page, tmp_path, capsys):
    times = [ask(page, QUESTIONS[0])]
    card = page.locator(".qa-card:has(.qa-card-head)").last
    assert "42 triệu liều vaccine" in page.locator(".qa-answer").last.inner_text()
    assert "[1]" in page.locator(".qa-answer").last.inner_text()
    assert card.locator("mark.qa-support").count() >= 1
    assert "Thủ tướng Phạm Minh Chính sẽ dẫn đầu Đoàn đại biểu" in card.locator(".qa-card-head").inner_text()
    shot = screenshot_path(tmp_path)
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000
    for question in QUESTIONS[1:]:
        times.append(ask(page, question))
    median = statistics.median(times)
    with capsys.disabled():
        print(f"\nEnter-to-answer: median {median:.2f} s over {len(times)} questions "
              f"({', '.join(f'{t:.2f}' for t in times)} s); screenshot: {shot}")
    assert median < 10, times
    assert not page.dialogs and not page.errors


def test_uploaded_article_with_html_is_shown_as_text_and_never_runs(page):
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploader.set_input_files(files=[{"name": "an-ninh-mang.txt", "mimeType": "text/plain",
                                     "buffer": ATTACK_ARTICLE.encode("utf-8")}])
    add = page.get_by_role("button", name="Thêm vào kho và lập chỉ mục")
    page.wait_for_function("b => !b.disabled", arg=add.element_handle(), timeout=ANSWER_TIMEOUT)
    add.click()
    page.get_by_text("Đã thêm “an-ninh-mang.txt”.").wait_for(timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    assert "6 bài viết" in page.locator('[data-testid="stSidebar"]').inner_text()
    ask(page, "Hội thảo an ninh mạng ASEAN 2023 có bao nhiêu chuyên gia tham dự?")
    card = page.locator(".qa-card:has(.qa-card-head)").last
    text = card.inner_text()
    assert "120 chuyên gia" in page.locator(".qa-answer").last.inner_text()
    assert ATTACK_IMG in text and ATTACK_SCRIPT in text  # shown literally
    assert page.locator('img[src="x"]').count() == 0
    assert page.evaluate("() => [...document.scripts].some(s => s.textContent.includes('xss'))") is False
    # The whole article, opened from the passage, shows the same text as text.
    page.get_by_role("button", name="Đọc toàn bài").last.click()
    dialog = page.get_by_role("dialog")
    dialog.locator(".qa-focus").wait_for(timeout=ANSWER_TIMEOUT)
    assert ATTACK_IMG in dialog.inner_text()
    assert page.locator('img[src="x"]').count() == 0
    page.keyboard.press("Escape")
    page.wait_for_timeout(500)
    assert page.dialogs == [], page.dialogs  # no alert() ever fired
    assert not page.errors


# Each session's question and a phrase only its answer holds.
SESSIONS = (
    (QUESTIONS[0], "42 triệu liều vaccine"),
    ("Các trung tâm kết nối ASEAN-Hoa Kỳ được thành lập ở những thành phố nào?", "Jakarta, Singapore và Bangkok"),
    ("quy lien ket asean nhat ban tai tro bao nhieu tien", "85 triệu USD"),
    ("Bao nhiêu dòng hành động của Kế hoạch sửa đổi 2017 đã được triển khai?", "71/75"),
)


def test_concurrent_sessions_each_get_their_own_answer(server, browser):
    # Four browser contexts are four Streamlit sessions sharing the app's one cached engine.
    pages = [open_session(browser, server["url"]) for _ in SESSIONS]
    try:
        for pg, (question, _) in zip(pages, SESSIONS):  # every question is in before any answer is out
            send(pg, question)
        for pg, (question, phrase) in zip(pages, SESSIONS):
            wait_answered(pg, 0, 0)
            answer = pg.locator(".qa-answer").last.inner_text()
            assert phrase in answer, (question, answer)
            assert pg.locator(".qa-answer").count() == 1
            shown = "\n".join(pg.locator('[data-testid="stChatMessage"]').all_inner_texts())
            assert question in shown
            assert not [q for q, _ in SESSIONS if q != question and q in shown], "another session's question shown"
            assert not pg.dialogs and not pg.errors
    finally:
        for pg in pages:
            pg.context.close()


def test_the_page_speaks_vietnamese(page):
    assert page.get_by_text("Deploy", exact=True).count() == 0  # .streamlit/config.toml: no developer toolbar
    shown = page.evaluate("""() => {
        const p = document.querySelector('[data-testid=stFileUploaderDropzone] button [data-testid=stMarkdownContainer] p');
        const hint = document.querySelector('[data-testid=stFileUploaderDropzoneInstructions] span');
        return [getComputedStyle(p).fontSize, getComputedStyle(p, '::after').content,
                getComputedStyle(hint).fontSize, getComputedStyle(hint, '::after').content]; }""")
    assert shown == ["0px", '"Chọn tệp"', "0px", '"Tối đa 5 MB mỗi tệp"'], shown  # not "Upload", "5MB per file"


def test_a_citation_link_scrolls_to_its_source(page):
    ask(page, QUESTIONS[0])
    link = page.locator(".qa-answer").last.locator("sup.qa-cite a").first
    target = link.get_attribute("href")
    assert target and target.startswith("#qa-source-")
    page.evaluate("() => window.scrollTo(0, 0)")
    link.click()
    page.wait_for_timeout(800)
    top = page.evaluate(f"() => document.getElementById('{target[1:]}').getBoundingClientRect().top")
    assert 0 <= top < page.viewport_size["height"], top


def test_each_answer_is_shown_from_its_question_not_from_the_bottom_of_its_sources(server, browser):
    pg = open_session(browser, server["url"])
    pg.set_viewport_size({"width": 1360, "height": 700})  # a laptop screen: the sources run below it
    try:
        for question in QUESTIONS:
            ask(pg, question)
            wait_question_on_top(pg)
            bottom = pg.evaluate("() => [...document.querySelectorAll('.qa-answer')].pop().getBoundingClientRect().bottom")
            assert bottom <= 700, (question, bottom)
    finally:
        pg.context.close()


def test_the_full_article_opens_at_the_cited_passage(server, browser):
    pg = open_session(browser, server["url"])  # a fresh chat: its first "Đọc toàn bài" is the cited passage's
    pg.set_viewport_size({"width": 1360, "height": 700})  # a laptop screen: the article is taller
    try:
        ask(pg, "Hoa Kỳ mở Văn phòng CDC khu vực Đông Nam Á tại Hà Nội vào ngày nào?")  # near the article's end
        pg.get_by_role("button", name="Đọc toàn bài").first.click()
        dialog = pg.get_by_role("dialog")
        focus = dialog.locator(".qa-focus").first
        focus.wait_for(timeout=ANSWER_TIMEOUT)
        pg.wait_for_timeout(800)
        box, height = focus.bounding_box(), pg.viewport_size["height"]
        assert box["y"] < height and box["y"] + box["height"] > 0, box  # in view
        scrolled = pg.evaluate("""() => { let most = 0;
            for (let e = document.querySelector('[role="dialog"] .qa-focus'); e; e = e.parentElement)
                most = Math.max(most, e.scrollTop);
            return most; }""")
        assert scrolled > 0  # the passage is far down the article: the view had to move to it
        assert "TTXVN" in dialog.locator(".qa-meta").inner_text()  # the outlet from the photo credit
        assert not pg.dialogs and not pg.errors
    finally:
        pg.context.close()


def test_press_releases_upload_answer_and_removal(page):
    from conftest import make_docx  # noqa: PLC0415 - the DOCX is built in the test, from python-docx

    pdf = (ROOT / "tests" / "data" / "press" / "thong-cao.pdf").read_bytes()
    uploader = page.locator('[data-testid="stFileUploaderDropzoneInput"]')
    uploader.set_input_files(files=[
        {"name": "thong-cao.pdf", "mimeType": "application/pdf", "buffer": pdf},
        {"name": "tuyen-bo.docx", "mimeType": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
         "buffer": make_docx()}])
    add = page.get_by_role("button", name="Thêm vào kho và lập chỉ mục")
    page.wait_for_function("b => !b.disabled", arg=add.element_handle(), timeout=ANSWER_TIMEOUT)
    add.click()
    page.get_by_text("Đã thêm “thong-cao.pdf”.").wait_for(timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    ask(page, "Ai được bổ nhiệm làm Đặc phái viên của Chủ tịch ASEAN về Myanmar?")
    assert "Erywan Yusof" in page.locator(".qa-answer").last.inner_text()
    ask(page, "Nhật Bản hỗ trợ đào tạo bao nhiêu kỹ sư bán dẫn mỗi năm?")
    assert "1.000 kỹ sư" in page.locator(".qa-answer").last.inner_text()
    # Removing the PDF takes it out of the corpus and its passages out of the index.
    articles = int(re.search(r"(\d+) bài viết", page.locator('[data-testid="stSidebar"]').inner_text())[1])
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_text("Xoá bài khỏi kho").click()
    sidebar.get_by_placeholder("tiêu đề, nguồn hoặc tên tệp").fill("thong-cao")
    sidebar.get_by_placeholder("tiêu đề, nguồn hoặc tên tệp").press("Enter")
    wait_idle(page)
    choice = sidebar.locator('[data-testid="stSelectbox"]').filter(has_text="Bài sẽ xoá").locator("input")
    choice.scroll_into_view_if_needed()
    choice.click()
    page.keyboard.type("thong")
    page.keyboard.press("Enter")
    wait_idle(page)
    sidebar.get_by_role("button", name="Xoá khỏi kho và cập nhật chỉ mục").click()
    sidebar.get_by_text("khỏi kho; tệp được giữ trong").wait_for(timeout=ANSWER_TIMEOUT)
    wait_idle(page)
    left = int(re.search(r"Chỉ mục còn (\d+) bài", sidebar.inner_text())[1])
    assert left == articles - 1 and f"{left} bài viết" in sidebar.inner_text()
    assert not page.dialogs and not page.errors


def test_the_chat_fits_a_phone(server, browser, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="vi-VN", is_mobile=True,
                                  has_touch=True)
    pg = context.new_page()
    try:
        pg.goto(server["url"], wait_until="domcontentloaded")
        pg.locator('[data-testid="stChatInputTextArea"]').wait_for(timeout=READY_TIMEOUT)
        pg.get_by_role("button", name=QUESTIONS[0]).wait_for(timeout=READY_TIMEOUT)
        ask(pg, QUESTIONS[0])
        wait_question_on_top(pg)
        widths = pg.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], widths  # no horizontal scroll
        assert "42 triệu liều" in pg.locator(".qa-answer").last.inner_text()
        opener = pg.locator('[data-testid="stExpandSidebarButton"]')
        assert pg.evaluate("e => getComputedStyle(e, '::after').content", opener.element_handle()) == '"Kho bài viết"'
        target = (ROOT / "docs" / "screenshot-phone.png" if os.environ.get("QA_SCREENSHOT") == "1"
                  else tmp_path / "phone.png")
        pg.screenshot(path=str(target))
    finally:
        context.close()


def test_a_model_answer_streams_then_only_its_verified_sentences_stay(server, browser, tmp_path):
    """A second server on the same index, with the user's model configured (a scripted one)."""
    with scripted_server() as llm, streamlit_server(tmp_path, {
            "QA_CORPUS": str(server["corpus"]), "QA_INDEX": str(server["index"]),
            "QA_LLM_URL": llm.url, "QA_LLM_MODEL": "test-model"}) as url:
        llm.script(Reply("Mỹ đã cung cấp hơn 42 triệu liều vaccine cho ASEAN [1]. "
                         "Đại sứ John Smith đã trao số vaccine này tại Jakarta [1].", pace=0.15))
        pg = open_session(browser, url)
        try:
            send(pg, QUESTIONS[0])
            # As the model writes, its words show before any checked answer does.
            pg.get_by_text("Mỹ đã cung cấp hơn", exact=False).first.wait_for(timeout=ANSWER_TIMEOUT)
            assert pg.locator(".qa-answer").count() == 0
            wait_answered(pg, 0, 0)
            answer = pg.locator(".qa-answer").last
            assert "Mỹ đã cung cấp hơn 42 triệu liều vaccine cho ASEAN." in answer.inner_text()
            assert "John Smith" not in answer.inner_text()
            assert pg.get_by_text("Do mô hình test-model viết · từng câu đã đối chiếu", exact=False).count() == 1
            assert pg.get_by_text("Đã bỏ 1 câu không kiểm chứng được với nguồn.").count() == 1
            answer.locator("a", has_text="[1]").click()
            target = answer.locator("a", has_text="[1]").get_attribute("href")[1:]
            pg.wait_for_function("(id) => { const r = document.getElementById(id).getBoundingClientRect();"
                                 " return r.top >= 0 && r.top < window.innerHeight; }", arg=target, timeout=10_000)
            assert not pg.dialogs and not pg.errors
        finally:
            pg.context.close()
