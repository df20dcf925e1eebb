"""The chat UI under Streamlit's AppTest, with the real model on a private copy of the corpus.

One corpus copy and one index serve the whole module, and the app's `st.cache_resource` keeps one
engine (and one model) for every AppTest session in this process: the model loads once.
The upload test changes the corpus, so it runs last.
"""
from __future__ import annotations

import html
import re
import shutil
from pathlib import Path

import pytest

pytest.importorskip("streamlit")
from streamlit.testing.v1 import AppTest  # noqa: E402

from qa.index.store import has_index  # noqa: E402
from llm_server import Reply, scripted_server  # noqa: E402

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "streamlit_app.py")
TIMEOUT = 180  # the first run loads the model and builds the index

NOT_FOUND = "Kho bài viết không trả lời câu hỏi này."
NEW_ARTICLE = """Việt Nam và Australia ký thỏa thuận hợp tác nông nghiệp công nghệ cao

Ngày 12/5/2023 tại Hà Nội, Bộ Nông nghiệp và Phát triển nông thôn Việt Nam và Bộ Nông nghiệp Australia đã ký thỏa thuận hợp tác về nông nghiệp công nghệ cao.

Theo thỏa thuận, Australia sẽ hỗ trợ 15 triệu đô la Australia để đào tạo 300 kỹ sư nông nghiệp Việt Nam trong 5 năm tới.

Hai bên cũng thống nhất mở rộng xuất khẩu trái cây nhiệt đới và thủy sản sang thị trường của nhau.

Ghi chú của biên tập viên: <img src=x onerror=alert(1)> và <script>alert("xss")</script> là văn bản.
"""


@pytest.fixture(scope="module")
def app_env(tmp_path_factory):
    """A private corpus and an empty index folder, named to the app through QA_CORPUS and QA_INDEX."""
    root = tmp_path_factory.mktemp("app")
    corpus, index = root / "corpus", root / "index"
    shutil.copytree(ROOT / "corpus", corpus)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("QA_CORPUS", str(corpus))
        mp.setenv("QA_INDEX", str(index))
        first = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        yield {"corpus": corpus, "index": index, "first": first}


def new_session() -> AppTest:
    return AppTest.from_file(APP, default_timeout=TIMEOUT).run()


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input(key="question").set_value(question).run()
    assert not at.exception, at.exception
    return at


def html_of(block) -> str:
    return "\n".join(h.value for h in block.html)


def last_reply(at: AppTest):
    reply = at.chat_message[-1]
    assert reply.name == "assistant"
    return reply


def md_title(title: str) -> str:
    return re.sub(r"([\\`*_{}\[\]<>()#+\-.!|~$:])", r"\\\1", title)


def plain(markup: str) -> str:
    return re.sub(r"<[^>]+>", "", markup)


def test_first_start_builds_the_index_then_offers_examples(app_env):
    first = app_env["first"]
    assert not first.exception, first.exception
    assert has_index(app_env["index"])
    assert "Đã lập chỉ mục 5 bài viết" in first.status[0].label
    examples = [b.label for b in first.button if (b.key or "").startswith("example-")]
    assert len(examples) >= 3 and "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?" in examples
    # What the corpus covers, in words; the model's name only in the details panel.
    welcome = "\n".join(m.value for m in first.chat_message[0].markdown)
    assert "Kho gồm 5 bài viết từ " in welcome and "không dấu" in welcome and "tiếng Anh" in welcome
    assert "ASEAN" in welcome.split("nhắc đến nhiều nhất")[1]
    sidebar = "\n".join(m.value for m in first.sidebar.markdown)
    assert "**5** bài viết" in sidebar and "e5" not in sidebar


def test_later_sessions_reuse_the_index(app_env):
    snapshot = (app_env["index"] / "CURRENT").read_text()
    at = new_session()
    assert not at.exception and not at.status  # no build this time
    assert (app_env["index"] / "CURRENT").read_text() == snapshot


def test_seed_question_shows_answer_evidence_and_source(app_env):
    at = new_session()
    at.button(key="example-0").click().run()
    assert not at.exception, at.exception
    reply = last_reply(at)
    markup = html_of(reply)
    assert "42 triệu liều vaccine" in plain(markup)
    # The short answer first, marked in its sentence too; [1] links to source 1's card.
    assert '<strong>hơn 42 triệu liều</strong>' in markup and '<mark class="qa-short">hơn 42 triệu liều</mark>' in markup
    link = re.search(r'<sup class="qa-cite"><a href="#(qa-source-[\w-]+-1)">\[1\]</a></sup>', markup)
    assert link and f'id="{link[1]}"' in markup
    # The cited passage is open: its title, its outlet line, and the supporting sentence marked in it.
    assert "Thủ tướng Phạm Minh Chính sẽ dẫn đầu Đoàn đại biểu Việt Nam" in markup
    assert '<mark class="qa-support">' in markup and '<mark class="qa-term">' in markup
    # The other passages sit in expanders labelled with number, title and outlet.
    labels = [e.label for e in reply.expander if e.label.startswith("\\[")]
    assert labels and all(re.match(r"\\\[\d(, \d)*\\\] ", label) for label in labels)
    # One folder per article: passages of one article are grouped, never listed twice.
    titles = [label.split("\\] ", 1)[1].split(" — ")[0] for label in labels]
    featured = html.unescape(re.search(r'<div class="qa-card-head"><span class="qa-rank">\d+</span>(.*?)</div>',
                                       markup)[1])
    assert len(set(titles)) == len(titles) and md_title(featured) not in titles
    # The answer as Markdown with its cited source, to copy; the conversation to download.
    copied = reply.code[0].value
    assert copied.startswith("**Hỏi:** ") and "hơn 42 triệu liều" in copied and "\n- [1] " in copied
    assert at.sidebar.get("download_button")
    assert any("ASEAN và Trung Quốc" in label and "TTXVN/Vietnam" in label for label in labels)


def test_unanswerable_question_says_not_found_and_folds_the_passages(app_env):
    at = ask(new_session(), "Who won the 2022 FIFA World Cup?")
    reply = last_reply(at)
    assert NOT_FOUND in [m.value.strip("*") for m in reply.markdown]
    assert "qa-answer" not in html_of(reply)
    assert [e.label for e in reply.expander] == ["Các đoạn gần nhất (không đủ để trả lời câu hỏi)"]
    assert not reply.expander[0].proto.expanded


def test_an_empty_question_gets_a_vietnamese_hint_and_no_bubble(app_env):
    at = new_session()
    at = ask(at, "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?")
    bubbles = len(at.chat_message)
    at = ask(at, " ? ")
    assert len(at.chat_message) == bubbles
    assert [w.value for w in at.warning] == ["Câu hỏi trống: hãy gõ một câu hỏi bằng tiếng Việt hoặc tiếng Anh."]


def test_an_unaccented_question_shows_how_it_was_read(app_env):
    reply = last_reply(ask(new_session(), "my cung cap bao nhieu lieu vaccine cho asean"))
    assert "Đã hiểu là: mỹ cung cấp bao nhiêu liều vaccine cho asean" in [c.value for c in reply.caption]
    assert "42 triệu liều" in plain(html_of(reply))


def test_follow_up_uses_the_conversation(app_env):
    at = ask(new_session(), "ASEAN và Hoa Kỳ cam kết tăng cường quan hệ gì?")
    assert "Hoa Kỳ" in plain(html_of(last_reply(at)))
    at = ask(at, "Còn Nhật Bản thì sao?")
    assert len(at.chat_message) == 4  # the conversation is kept
    markup = html_of(last_reply(at))
    answer = plain(next(h.value for h in last_reply(at).html if "qa-answer" in h.value))
    assert "Nhật Bản" in answer
    assert "ASEAN và Nhật Bản cam kết tăng cường quan hệ đối tác chiến lược" in markup


@pytest.fixture
def llm(monkeypatch):
    """The user's own model server, configured as the README says: a scripted one on 127.0.0.1."""
    with scripted_server() as server:
        monkeypatch.setenv("QA_LLM_URL", server.url)
        monkeypatch.setenv("QA_LLM_MODEL", "test-model")
        yield server


def test_a_configured_model_writes_the_answer_and_only_what_holds_is_shown(app_env, llm):
    llm.script(Reply("Mỹ đã cung cấp hơn 42 triệu liều vaccine cho ASEAN [1]. "
                     "Đại sứ John Smith đã trao số vaccine này tại Jakarta [1]."))
    at = new_session()
    assert at.sidebar.toggle(key="use_llm").value  # shown, on, since a server is configured
    reply = last_reply(ask(at, "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?"))
    answer = next(h.value for h in reply.html if "qa-answer" in h.value)
    assert "Mỹ đã cung cấp hơn 42 triệu liều vaccine cho ASEAN." in plain(answer) and "John Smith" not in answer
    assert re.search(r'<sup class="qa-cite"><a href="#qa-source-[\w-]+-1">\[1\]</a></sup>', answer)
    assert any(c.value.startswith("Do mô hình test-model viết") for c in reply.caption)
    assert "Đã bỏ 1 câu không kiểm chứng được với nguồn." in [e.label for e in reply.expander]
    prompt = llm.requests[-1]["body"]["messages"][-1]["content"]
    assert prompt.startswith("Các đoạn trích:\n\n[1] ") and "Câu hỏi: Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?" in prompt
    # A follow-up is rewritten by the model, and retrieval uses the rewrite.
    llm.script(Reply("Nhật Bản cam kết gì với ASEAN về vaccine?"), Reply("Tôi không biết."))
    reply = last_reply(ask(at, "Còn Nhật Bản thì sao?"))
    assert "Câu hỏi đầy đủ (mô hình viết lại): Nhật Bản cam kết gì với ASEAN về vaccine?" in [c.value for c in reply.caption]


def test_a_model_fault_shows_a_message_and_the_extractive_answer(app_env, llm):
    llm.script(Reply(status=500, error="boom"))
    reply = last_reply(ask(new_session(), "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?"))
    assert any("HTTP 500" in i.value for i in reply.info)
    assert "42 triệu liều" in plain(next(h.value for h in reply.html if "qa-answer" in h.value))
    assert any("trích nguyên văn" in c.value for c in reply.caption)


def test_without_a_model_server_there_is_no_model_toggle(app_env, monkeypatch):
    monkeypatch.delenv("QA_LLM_URL", raising=False)
    assert not [t for t in new_session().sidebar.toggle if t.key == "use_llm"]


def test_whole_article_opens_with_the_passage_in_place(app_env):
    at = new_session()
    at.button(key="example-0").click().run()
    at.button(key="read-1-1").click().run()
    assert not at.exception, at.exception
    whole = [h.value for h in at.html if 'class="qa-focus"' in h.value]
    assert len(whole) == 1
    assert "42 triệu liều vaccine" in plain(whole[0]) and len(plain(whole[0])) > 4000


def test_outlet_filter_narrows_retrieval(app_env):
    at = new_session()
    at.multiselect(key="flt_outlets").set_value(["MOFA"]).run()
    assert any("chỉ được tìm trong 1/5 bài" in c.value for c in at.sidebar.caption)
    # Only the MOFA article is searched: it says nothing of vaccines, and every passage offered is its own.
    at = ask(at, "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?")
    reply = last_reply(at)
    assert NOT_FOUND in [m.value.strip("*") for m in reply.markdown]
    metas = re.findall(r'<div class="qa-meta">(.*?)</div>', html_of(reply))
    assert metas and all(m.startswith("MOFA · 14/12/2016") for m in metas)


def test_a_date_range_keeps_undated_articles_unless_the_user_excludes_them(app_env):
    at = new_session()
    at.toggle(key="flt_by_date").set_value(True).run()
    keep = at.checkbox(key="flt_undated")
    count = int(re.search(r"trong (\d+) bài không rõ ngày", keep.label).group(1))
    assert keep.value and count >= 1
    assert any("chỉ được tìm trong 5/5 bài" in c.value for c in at.sidebar.caption)
    keep.uncheck().run()
    assert any(f"chỉ được tìm trong {5 - count}/5 bài" in c.value for c in at.sidebar.caption)


def test_the_article_list_is_searched_by_title_without_diacritics(app_env):
    at = new_session()
    listed = lambda: [plain(t) for t in re.findall(r'<div class="qa-article-title">(.*?)</div>', html_of(at.sidebar))]
    assert len(listed()) == 5
    at.text_input(key="list_search").set_value("trung quoc").run()
    assert listed() == ["ASEAN và Trung Quốc cam kết tăng cường quan hệ đối tác"]
    assert any(c.value == "Bài 1–1 trong 1" for c in at.sidebar.caption)


def test_an_empty_corpus_is_reported_not_crashed(app_env, tmp_path, monkeypatch):
    (tmp_path / "corpus").mkdir()
    monkeypatch.setenv("QA_CORPUS", str(tmp_path / "corpus"))
    monkeypatch.setenv("QA_INDEX", str(tmp_path / "index"))
    at = new_session()
    assert not at.exception, at.exception
    assert at.error and at.error[0].value.startswith("Không mở được kho bài viết:")
    assert not at.chat_input


def test_upload_adds_an_article_that_then_answers(app_env):
    at = new_session()
    before = len(list(app_env["corpus"].iterdir()))
    at.file_uploader[0].set_value([
        ("Hợp tác nông nghiệp.txt", NEW_ARTICLE.encode(), "text/plain"),
        ("ban-cu.txt", "Bản tin mã hóa cũ".encode("utf-16-le"), "text/plain"),  # not UTF-8: refused
    ]).run()
    at.button(key="upload_go").click().run()
    assert not at.exception, at.exception
    notes = {kind: [n.value for n in getattr(at.sidebar, kind)] for kind in ("success", "error", "info")}
    assert notes["success"] == ["Đã thêm “Hợp tác nông nghiệp.txt”."]
    assert any("ban-cu.txt" in n and "UTF-8" in n for n in notes["error"])
    assert any("dùng lại 37" in n for n in notes["info"])  # the seed articles were not embedded again
    assert len(list(app_env["corpus"].iterdir())) == before + 1
    assert (app_env["corpus"] / "Hop_tac_nong_nghiep.txt").exists()
    assert "**6** bài viết" in "\n".join(m.value for m in at.sidebar.markdown)

    at = ask(at, "Australia hỗ trợ đào tạo bao nhiêu kỹ sư nông nghiệp Việt Nam?")
    reply = last_reply(at)
    markup = html_of(reply)
    assert "300 kỹ sư" in plain(markup)
    assert "Việt Nam và Australia ký thỏa thuận hợp tác nông nghiệp công nghệ cao" in markup

    # The article's markup-like text is shown as text, never as markup.
    at.button(key="read-1-1").click().run()
    whole = next(h.value for h in at.html if 'class="qa-focus"' in h.value)
    assert "&lt;img src=x onerror=alert(1)&gt;" in whole and "&lt;script&gt;" in whole
    assert "<img" not in whole and "<script" not in whole


def test_an_uploaded_article_can_be_removed_again(app_env):
    """After the upload test: the article it added is taken out of the corpus and the index."""
    at = new_session()
    at.text_input(key="remove_search").set_value("nong nghiep").run()
    picked = at.selectbox(key="remove_pick")
    assert picked.options == ["Việt Nam và Australia ký thỏa thuận hợp tác nông nghiệp công nghệ cao · "
                              "Hop_tac_nong_nghiep.txt"]
    picked.select_index(0).run()
    at.button(key="remove_go").click().run()
    assert not at.exception, at.exception
    assert [n.value for n in at.sidebar.success][-1].startswith(
        "Đã xoá “Việt Nam và Australia ký thỏa thuận hợp tác nông nghiệp công nghệ cao” khỏi kho")
    assert not (app_env["corpus"] / "Hop_tac_nong_nghiep.txt").exists()
    assert list((app_env["corpus"] / ".removed").glob("*/Hop_tac_nong_nghiep.txt"))
    assert "**5** bài viết" in "\n".join(m.value for m in at.sidebar.markdown)
