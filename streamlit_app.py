"""Chat UI: ask the news corpus a question, read the answer and judge it against its cited passages.

Run with `streamlit run streamlit_app.py` (or `make run`). The corpus folder and the index folder
come from the environment variables QA_CORPUS and QA_INDEX (default: corpus/ and embeddings/);
QA_STORE=postgresql://... serves the index from that database instead (a replica works for reading).
All the work is done by the `qa` library; this file only lays it out. Corpus text only ever
reaches the page escaped (qa.highlight), never as markup.
"""
from __future__ import annotations

import datetime as dt
import html
import os
import re
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import streamlit as st

from qa.normalize import fold_diacritics
from qa.overview import Overview, answered_examples, overview
from qa.build import rate_and_eta
from qa.embed.encoder import DEFAULT_MODEL, Encoder, load_encoder
from qa.engine import Engine
from qa.errors import QAError
from qa.export import answer_markdown, conversation_markdown
from qa.filters import (ArticleFilter, all_outlets, article_outlets, date_bounds, doc_ids, format_date, page,
                        search, select, undated)
from qa.highlight import (HIGHLIGHT_CSS, answer_html, article_html, generated_html, passage_html, short_html,
                          source_anchor)
from qa.index.location import build_at, manifest_at, version_at
from qa.index.postgres import is_store_url
from qa.ingest import DEFAULT_MAX_BYTES
from qa.llm.answer import Draft, ask_in_context, can_generate
from qa.llm.client import ChatClient, LLMConfig
from qa.remove import remove_articles
from qa.types import Answer, Article, Generated, Passage
from qa.upload import ALLOWED_SUFFIXES, AddResult, add_uploads

# Example questions the seed corpus answers; only those whose words the corpus contains are offered.
EXAMPLES = (
    "Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?",
    "Quỹ Liên kết ASEAN-Nhật Bản đã tài trợ bao nhiêu tiền?",
    "ASEAN và Trung Quốc hợp tác ứng phó COVID-19 như thế nào?",
    "Thứ trưởng Nguyễn Quốc Dũng họp với những cơ quan nào?",
)
VIETNAM_TIME = dt.timezone(dt.timedelta(hours=7))
ARTICLES_PER_PAGE = 25
EXAMPLE_TITLES = 6  # questions tried on the newest articles' titles
REMOVE_CHOICES = 50  # matches offered for removal: the search narrows them
UPLOAD_MB = max(1, DEFAULT_MAX_BYTES // (1024 * 1024))

# Opens the article at the cited passage. A fixed script (no user text in it); it retries briefly
# because the dialog's article may be laid out after the script runs.
SCROLL_TO_PASSAGE = """<script>(() => {
  let tries = 0;
  const go = () => {
    const focus = [...document.querySelectorAll('[role="dialog"] .qa-focus')].pop();
    if (focus) focus.scrollIntoView({block: "center"});
    else if (tries++ < 40) setTimeout(go, 50);
  };
  go();
})();</script>"""
# After a new answer the page rests on the bottom of its last source (the chat pins itself to the
# bottom), or where the reader left it, above the new question. Bring the question and its answer
# into view instead: once the page has stopped moving (Streamlit keeps pinning while its scroll
# animation runs, and lets go on a scroll made after it), scroll once; never after the reader has
# scrolled, clicked or typed.
SCROLL_TO_QUESTION = """<script>(() => {
  const question = [...document.querySelectorAll('.qa-question')].pop()?.closest('[data-testid="stChatMessage"]');
  const box = document.querySelector('[data-testid="stAppScrollToBottomContainer"]');
  if (!question || !box) return;
  let seen = "", since = Date.now();
  const started = since;
  const timer = setInterval(() => {
    const now = box.scrollHeight + ":" + box.scrollTop;
    if (now !== seen) { seen = now; since = Date.now(); }
    else if (Date.now() - since > 300) { stop(); question.scrollIntoView({block: "start"}); }
    if (Date.now() - started > 6000) stop();
  }, 50);
  const stop = () => clearInterval(timer);
  for (const e of ["wheel", "touchstart", "mousedown", "keydown"]) addEventListener(e, stop, {once: true, capture: true});
})();</script>"""

PAGE_CSS = HIGHLIGHT_CSS + """
.qa-card-head { font-weight: 600; margin-bottom: .15rem; }
.qa-rank { display: inline-block; min-width: 2.1em; padding: 0 .35em; margin-right: .35em; border-radius: .6em;
  background: #1f6feb; color: #fff; font-size: .8rem; text-align: center; }
.qa-meta { color: #6b7280; font-size: .85rem; margin-bottom: .45rem; }
.qa-answer { font-size: 1.05rem; }
.qa-cite { color: #1f6feb; font-weight: 600; }
.qa-question { white-space: pre-wrap; }
[data-testid="stChatMessage"] { scroll-margin-top: 4rem; }  /* clear of the page's top bar */
/* The file uploader's own words are English; the page speaks Vietnamese. */
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  content: "Chọn tệp"; font-size: .875rem; }
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "Tối đa UPLOAD_MB MB mỗi tệp"; font-size: .8rem; }
/* The sidebar opener says what it opens (an icon alone is lost on a phone). */
[data-testid="stExpandSidebarButton"]::after { content: "Kho bài viết"; margin-left: .3rem; font-size: .85rem; }
.qa-articles { list-style: none; padding: 0; margin: 0; max-height: 24rem; overflow-y: auto; }
.qa-articles li { padding: .35rem 0; margin: 0; border-bottom: 1px solid rgba(128, 128, 128, .2); }
.qa-articles, .qa-articles li { margin-left: 0 !important; padding-left: 0 !important; }
.qa-articles .qa-article-title { font-size: .9rem; line-height: 1.35; }
.qa-articles .qa-meta { margin: .1rem 0 0; font-size: .8rem; }
""".replace("UPLOAD_MB", str(UPLOAD_MB))


# --- shared state: one engine per (corpus, index), for every session --------------------------

def locations() -> tuple[Path, Path | str]:
    store = os.environ.get("QA_STORE")
    return Path(os.environ.get("QA_CORPUS") or "corpus"), store or Path(os.environ.get("QA_INDEX") or "embeddings")


CLOSE_REPLACED_AFTER_S = 120.0  # longer than any question takes


class Library:
    """A corpus and its index, with the engine opened on it; shared by all sessions."""

    def __init__(self, corpus: Path, index: Path | str):
        self.corpus = corpus
        self.index = index
        self.lock = threading.Lock()  # one build or reload at a time
        self.engine: Engine | None = None
        self.snapshot = ""  # the index snapshot the engine was opened on
        self.examples: list[str] = []
        self.overview: Overview | None = None

    def live_snapshot(self) -> str:
        return version_at(self.index)

    def open(self) -> None:
        """(Re)open the engine on the current snapshot, reusing the loaded model."""
        manifest = manifest_at(self.index)
        replaced = self.engine
        self.engine = Engine.open(self.index, encoder=shared_encoder(manifest.model_spec))
        if replaced is not None:
            # Other sessions may be answering on it still: its database connections close later.
            threading.Timer(CLOSE_REPLACED_AFTER_S, replaced.close).start()
        self.snapshot = self.live_snapshot()
        self.overview = overview(self.engine.articles.values())
        self.examples = answered_examples(example_candidates(self.engine.articles.values()), self.engine.ask)


def example_candidates(articles) -> list[str]:
    """The curated examples, the first one typed without diacritics, then questions on the newest
    articles' titles; `answered_examples` keeps those the corpus answers."""
    newest = sorted((a for a in articles if a.title), key=lambda a: a.date, reverse=True)[:EXAMPLE_TITLES]
    titled = [f"{a.title.rstrip(' .:;!?')} như thế nào?" for a in newest]
    return [*EXAMPLES, fold_diacritics(EXAMPLES[0]).lower().rstrip("?"), *titled]


@st.cache_resource(show_spinner=False)
def shared_library(corpus: str, index: str) -> Library:
    return Library(Path(corpus), index if is_store_url(index) else Path(index))


@st.cache_resource(show_spinner="Đang tải mô hình ngôn ngữ…")
def shared_encoder(model_spec: str) -> Encoder:
    return load_encoder(model_spec)


@st.cache_resource(show_spinner=False)
def shared_llm(config: LLMConfig) -> ChatClient:
    return ChatClient(config)


def configured_llm() -> LLMConfig | None:
    """The user's own model server (QA_LLM_URL), if one is configured and its settings are valid."""
    try:
        return LLMConfig.from_env()
    except QAError as exc:
        st.sidebar.warning(str(exc))
        return None


def ready_engine(lib: Library) -> Engine:
    """The shared engine: built from the corpus on the very first start, reopened when the index changed."""
    if lib.engine is not None and lib.live_snapshot() == lib.snapshot:
        return lib.engine
    with st.spinner("Đang mở kho bài viết…"), lib.lock:
        if not lib.live_snapshot():
            build_first_index(lib)
        if lib.engine is None or lib.live_snapshot() != lib.snapshot:
            lib.open()
    return lib.engine


def build_first_index(lib: Library) -> None:
    with st.status("Lần chạy đầu: đang lập chỉ mục kho bài viết…", expanded=True) as status:
        encoder = shared_encoder(DEFAULT_MODEL)
        bar = st.progress(0.0, text="Đang đọc và chia đoạn các bài viết…")

        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            bar.progress(done / total if total else 1.0,
                         text=f"Đang lập chỉ mục: {done}/{total} đoạn{speed(done, total, started)}")

        try:
            report = build_at(lib.corpus, lib.index, model=DEFAULT_MODEL, encoder=encoder, progress=progress)
        except QAError:
            status.update(label="Không lập được chỉ mục.", state="error", expanded=False)
            raise
        status.update(label=f"Đã lập chỉ mục {report.articles} bài viết, {report.chunks} đoạn "
                            f"trong {report.seconds:.0f} giây.", state="complete", expanded=False)


# --- small formatting helpers -----------------------------------------------------------------


def speed(done: int, total: int, started: float) -> str:
    """" · 12.3 đoạn/giây · còn khoảng 4 phút" once something is embedded."""
    rate, left = rate_and_eta(done, total, time.perf_counter() - started)
    if left is None:
        return ""
    remaining = f"{left / 60:.0f} phút" if left >= 90 else f"{left:.0f} giây"
    return f" · {rate:.1f} đoạn/giây · còn khoảng {remaining}"

def esc(text: str) -> str:
    return html.escape(text, quote=True)


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~$:])")


def md_escape(text: str) -> str:
    """Corpus text for a Markdown label (expander titles): every Markdown character taken literally."""
    return _MD_SPECIAL.sub(r"\\\1", text)


def relevance(passage: Passage, top_score: float) -> str:
    """Five dots, relative to the best passage of the same answer (scores compare within one query only)."""
    share = passage.score / top_score if top_score > 0 else 0.0
    level = max(1, min(5, round(1 + 4 * share)))
    return "●" * level + "○" * (5 - level)


def passage_meta(passage: Passage, top_score: float, cited: bool) -> list[str]:
    parts = [passage.source or "không rõ nguồn", format_date(passage.date) or "không rõ ngày",
             f"liên quan {relevance(passage, top_score)}"]
    return parts + (["được trích dẫn"] if cited else [])


def also_in_line(passage: Passage, articles: dict[str, Article]) -> str:
    """"Cũng đăng trên: vietnamplus.vn (12/03/2020), baotintuc.vn" for the story's other copies."""
    copies = []
    for doc_id in passage.also_in:
        article = articles.get(doc_id)
        if article is None:
            continue
        where = article.source or article.title or doc_id
        copies.append(f"{where} ({format_date(article.date)})" if article.date else where)
    return "Cũng đăng trên: " + ", ".join(copies)


def indexed_at(created: str) -> str:
    try:
        when = dt.datetime.fromisoformat(created).astimezone(VIETNAM_TIME)
    except ValueError:
        return created
    return when.strftime("%H:%M %d/%m/%Y") + " (giờ Việt Nam)"


# --- sidebar ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    top_k: int
    doc_ids: list[str] | None  # None: the whole corpus
    llm: ChatClient | None = None  # the user's model writes the answers; None: extractive only


def sidebar(lib: Library, engine: Engine) -> Settings:
    with st.sidebar:
        st.header("Kho bài viết")
        corpus_facts(engine)
        top_k = st.slider("Số đoạn trích cho mỗi câu trả lời", 1, 10, 5, key="top_k")
        llm = None
        config = configured_llm()
        if config is not None and st.toggle(
                f"Để mô hình {config.model} viết câu trả lời", value=True, key="use_llm",
                help="Mô hình ngôn ngữ của bạn (QA_LLM_URL) viết câu trả lời từ các đoạn nguồn; từng câu được "
                     "đối chiếu với đoạn nó trích trước khi hiện, câu không kiểm chứng được bị bỏ. Tắt để chỉ "
                     "dùng câu trích nguyên văn."):
            llm = shared_llm(config)
        flt = article_filter(engine.articles)
        articles_table(engine.articles, flt)
        st.divider()
        upload_form(lib, engine)
        remove_form(lib, engine)
        st.divider()
        if st.button("Bắt đầu cuộc trò chuyện mới", icon=":material/refresh:", key="new_chat"):
            st.session_state["messages"] = []
    return Settings(top_k, doc_ids(engine.articles, flt), llm)


def corpus_facts(engine: Engine) -> None:
    m = engine.store.manifest
    st.markdown(f"**{m.articles}** bài viết · **{m.chunks}** đoạn")
    with st.expander("Chi tiết kỹ thuật"):
        st.caption(f"Mô hình: {m.model_id}  \nLập chỉ mục lúc: {indexed_at(m.created)}")


def coverage_line(facts: Overview) -> str:
    """"Kho gồm 5 bài viết từ 3 nguồn (TTXVN, ...), đăng từ ... đến ...; nhắc nhiều: ASEAN, ..." """
    outlets = ", ".join(name for name, _ in facts.outlets)
    more = ", …" if facts.outlet_count > len(facts.outlets) else ""
    line = f"Kho gồm {facts.articles} bài viết" + (f" từ {facts.outlet_count} nguồn ({outlets}{more})" if outlets else "")
    if facts.first:
        line += f", đăng từ {format_date(facts.first)} đến {format_date(facts.last)}"
    if facts.undated:
        line += f" ({facts.undated} bài không rõ ngày)"
    if facts.names:
        line += "; nhắc đến nhiều nhất: " + ", ".join(facts.names)
    return line + "."


def article_filter(articles: dict[str, Article]) -> ArticleFilter:
    st.subheader("Phạm vi tìm kiếm")
    outlets = st.multiselect("Nguồn tin", all_outlets(articles.values()), key="flt_outlets",
                             placeholder="Tất cả các nguồn")
    date_from = date_to = None
    bounds = date_bounds(articles.values())
    keep_undated = True
    if bounds and st.toggle("Lọc theo ngày đăng", key="flt_by_date"):
        picked = st.date_input("Khoảng ngày", value=bounds, format="DD/MM/YYYY", key="flt_dates")
        picked = picked if isinstance(picked, (tuple, list)) else (picked,)
        date_from = picked[0] if len(picked) > 0 else None
        date_to = picked[1] if len(picked) > 1 else None
        count = undated(articles.values())
        if count:
            keep_undated = st.checkbox(f"Vẫn tìm trong {count} bài không rõ ngày đăng", value=True,
                                       key="flt_undated")
    return ArticleFilter(frozenset(outlets), date_from, date_to, keep_undated)


def articles_table(articles: dict[str, Article], flt: ArticleFilter) -> None:
    shown = select(articles, flt)
    label = (f"Danh sách bài viết ({len(shown)}/{len(articles)} trong phạm vi)" if flt.active
             else f"Danh sách bài viết ({len(articles)})")
    if flt.active:
        st.caption(f"Câu hỏi chỉ được tìm trong {len(shown)}/{len(articles)} bài.")
    with st.expander(label):
        if not shown:
            st.caption("Không có bài nào khớp bộ lọc.")
            return
        # A corpus of 20,000 articles is listed a page at a time, and searched by title or outlet.
        wanted = st.text_input("Tìm bài theo tiêu đề hoặc nguồn", key="list_search",
                               placeholder="vd. ASEAN, Hoa Kỳ, vnexpress")
        found = search(shown, wanted)
        if not found:
            st.caption("Không có bài nào khớp.")
            return
        pages = page(found, 1, ARTICLES_PER_PAGE).pages
        number = (st.number_input(f"Trang (trong {pages})", 1, pages, 1, key="list_page")
                  if pages > 1 else 1)
        current = page(found, int(number), ARTICLES_PER_PAGE)
        st.caption(f"Bài {current.first}–{current.first + len(current.items) - 1} trong {len(found)}")
        items = "".join(
            f'<li><div class="qa-article-title">{esc(a.title)}</div>'
            f'<div class="qa-meta">{esc(" / ".join(article_outlets(a)))} · '
            f'{esc(format_date(a.date) or "không rõ ngày")}</div></li>' for a in current.items)
        st.html(f'<ul class="qa-articles">{items}</ul>')


def upload_form(lib: Library, engine: Engine) -> None:
    st.subheader("Thêm bài viết")
    generation = st.session_state.setdefault("upload_generation", 0)
    files = st.file_uploader(
        "Tệp .txt, .md, .html, .pdf, .docx hoặc .jsonl", type=[s.lstrip(".") for s in ALLOWED_SUFFIXES],
        accept_multiple_files=True, key=f"uploader-{generation}",
        max_upload_size=UPLOAD_MB,
        help="Mỗi tệp là một bài báo hay một thông cáo (văn bản UTF-8, PDF có lớp chữ, DOCX); tệp .jsonl gồm mỗi "
             "dòng một bài với các trường id, title, date, source, text.",
    )
    if st.button("Thêm vào kho và lập chỉ mục", disabled=not files, type="primary", key="upload_go"):
        result = add_files(lib, engine, files)
        st.session_state["upload_notes"] = upload_notes(result)
        st.session_state["upload_generation"] = generation + 1  # a fresh, empty uploader
        st.rerun()
    for kind, text in st.session_state.get("upload_notes", []):
        getattr(st, kind)(text)


def remove_form(lib: Library, engine: Engine) -> None:
    """Take an article out of the corpus folder (kept aside in corpus/.removed/) and the index."""
    if not lib.corpus.is_dir():
        return
    with st.expander("Xoá bài khỏi kho"):
        wanted = st.text_input("Tìm bài cần xoá", key="remove_search", placeholder="tiêu đề, nguồn hoặc tên tệp")
        found = search(list(engine.articles.values()), wanted)[:REMOVE_CHOICES] if wanted.strip() else []
        if wanted.strip() and not found:
            st.caption("Không có bài nào khớp.")
        choice = st.selectbox("Bài sẽ xoá", found, index=None, key="remove_pick", placeholder="Chọn một bài",
                              format_func=lambda a: f"{a.title} · {a.doc_id}", disabled=not found)
        if st.button("Xoá khỏi kho và cập nhật chỉ mục", disabled=choice is None, key="remove_go"):
            with lib.lock, st.spinner("Đang xoá và cập nhật chỉ mục…"):
                try:
                    result = remove_articles([choice.doc_id], lib.corpus, lib.index, encoder=engine.encoder)
                except QAError as exc:
                    notes = [("error", f"Không xoá được “{choice.title}”: {exc}")]
                else:
                    lib.open()
                    notes = [("success", f"Đã xoá “{choice.title}” khỏi kho; tệp được giữ trong "
                                         f"{result.kept_in.relative_to(lib.corpus.resolve())}/ nếu cần khôi phục. "
                                         f"Chỉ mục còn {result.report.articles} bài.")]
            st.session_state["remove_notes"] = notes
            st.session_state.pop("remove_search", None)
            st.rerun()
        for kind, text in st.session_state.get("remove_notes", []):
            getattr(st, kind)(text)


def add_files(lib: Library, engine: Engine, files) -> AddResult:
    bar = st.progress(0.0, text="Đang kiểm tra và lưu tệp…")

    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0,
                     text=f"Đang lập chỉ mục đoạn mới: {done}/{total}{speed(done, total, started)}")

    with lib.lock:
        result = add_uploads([(f.name, f.getvalue()) for f in files], lib.corpus, lib.index,
                             encoder=engine.encoder, model=engine.store.manifest.model_spec, progress=progress)
        if result.report is not None:
            lib.open()
    bar.empty()
    return result


def upload_notes(result: AddResult) -> list[tuple[str, str]]:
    notes: list[tuple[str, str]] = []
    for saved in result.saved:
        if saved.written:
            what = f"{len(saved.written)} bài" if len(saved.written) > 1 or saved.upload.endswith(".jsonl") else ""
            notes.append(("success", f"Đã thêm “{saved.upload}” {what}".rstrip() + "."))
        if saved.unchanged and not saved.written:
            notes.append(("info", f"“{saved.upload}” đã có trong kho, không có gì mới."))
        if saved.skipped:
            notes.append(("warning", f"“{saved.upload}”: bỏ qua " + "; ".join(saved.skipped[:5])
                          + ("; …" if len(saved.skipped) > 5 else "")))
    for name, message in result.errors:
        notes.append(("error", f"“{name}”: {message}"))
    if result.build_error:
        notes.append(("error", f"Đã lưu tệp nhưng chưa cập nhật được chỉ mục: {result.build_error}"))
    if result.report is not None:
        r = result.report
        notes.append(("info", f"Chỉ mục đã cập nhật: {r.articles} bài, {r.chunks} đoạn "
                              f"(nhúng mới {r.embedded}, dùng lại {r.reused}) trong {r.seconds:.1f} giây."))
    return notes


# --- the conversation -------------------------------------------------------------------------

def choose_example(question: str) -> None:
    st.session_state["example"] = question


def welcome(examples: list[str], facts: Overview | None) -> None:
    with st.chat_message("assistant"):
        st.markdown("Xin chào! Hãy đặt câu hỏi về các bài viết trong kho. Câu trả lời được trích nguyên văn "
                    "từ bài báo, kèm số **[n]** chỉ tới đoạn nguồn bên dưới để bạn tự kiểm chứng.")
        if facts is not None:
            st.markdown(md_escape(coverage_line(facts)))
        st.markdown("Có thể hỏi bằng tiếng Việt có dấu, **không dấu** hoặc **tiếng Anh**; khi kho không có "
                    "thông tin, công cụ nói rõ thay vì đoán.")
        if examples:
            st.markdown("**Thử một câu hỏi:**")
            for i, question in enumerate(examples):
                st.button(question, key=f"example-{i}", on_click=choose_example, args=(question,),
                          icon=":material/chat:")


def chat(lib: Library, engine: Engine, settings: Settings) -> None:
    messages: list[dict] = st.session_state.setdefault("messages", [])
    typed = st.chat_input("Nhập câu hỏi, ví dụ: Mỹ cung cấp bao nhiêu liều vaccine cho ASEAN?", key="question")
    question = typed or st.session_state.pop("example", None)
    if not messages and not question:
        welcome(lib.examples, lib.overview)
        return
    for i, message in enumerate(messages):
        show_message(i, message, engine)
    if question and not any(ch.isalnum() for ch in question):
        st.warning("Câu hỏi trống: hãy gõ một câu hỏi bằng tiếng Việt hoặc tiếng Anh.")  # no empty bubble
    elif question:
        ask(question, messages, engine, settings)
    download_conversation(messages, engine)


def download_conversation(messages: list[dict], engine: Engine) -> None:
    """At the end of the sidebar, once the conversation (this run's answer included) is known."""
    questions = [m["content"] for m in messages if m["role"] == "user"]
    replies = [(m.get("answer"), m.get("generated")) for m in messages if m["role"] == "assistant"]
    if not replies:
        return
    text = conversation_markdown([(q, a, g) for q, (a, g) in zip(questions, replies)], engine.articles)
    stamp = dt.datetime.now(VIETNAM_TIME).strftime("%Y%m%d-%H%M")
    with st.sidebar:
        st.download_button("Tải cuộc trò chuyện (Markdown)", text, file_name=f"hoi-dap-{stamp}.md",
                           mime="text/markdown", icon=":material/download:", key="download_chat")


def ask(question: str, messages: list[dict], engine: Engine, settings: Settings) -> None:
    history = [m["content"] for m in messages if m["role"] == "user"]
    earlier = [(m["content"], shown_text(r)) for m, r in zip(messages[::2], messages[1::2])]
    messages.append({"role": "user", "content": question})
    show_message(len(messages) - 1, messages[-1], engine)
    with st.chat_message("assistant"):
        reply = {"role": "assistant", "answer": None, "error": "", "filtered": settings.doc_ids is not None,
                 "generated": None, "standalone": None}
        started = time.perf_counter()
        with st.spinner("Đang tìm trong kho bài viết…"):
            try:
                if settings.llm is not None:
                    reply["answer"], reply["standalone"] = ask_in_context(
                        engine, settings.llm, question, history, top_k=settings.top_k, doc_ids=settings.doc_ids)
                else:
                    reply["answer"] = engine.ask(question, top_k=settings.top_k, history=history,
                                                 doc_ids=settings.doc_ids)
            except QAError as exc:
                reply["error"] = str(exc)
        if settings.llm is not None and reply["answer"] is not None and can_generate(reply["answer"]):
            draft = Draft(settings.llm, reply["answer"], earlier)
            # The reply shows as the model writes it; once checked, the verified answer replaces it.
            with st.empty():
                st.write_stream(draft.stream())
                reply["generated"] = draft.result()
                st.empty()
        reply["seconds"] = time.perf_counter() - started
        messages.append(reply)
        show_reply(len(messages) - 1, reply, engine)
    st.html(SCROLL_TO_QUESTION, unsafe_allow_javascript=True)


def shown_text(reply: dict) -> str:
    """What the conversation showed for a reply, as the model is told it."""
    answer, generated = reply.get("answer"), reply.get("generated")
    if answer is None or answer.abstained:
        return "Kho bài viết không trả lời câu hỏi này."
    if generated is not None and generated.shown:
        return " ".join(s.text for s in generated.verified)
    return answer.answer


def show_message(index: int, message: dict, engine: Engine) -> None:
    if message["role"] == "user":
        with st.chat_message("user"):
            st.html(f'<div class="qa-question">{esc(message["content"])}</div>')
    else:
        with st.chat_message("assistant"):
            show_reply(index, message, engine)


def show_reply(index: int, reply: dict, engine: Engine) -> None:
    answer: Answer | None = reply["answer"]
    if reply.get("standalone"):
        st.caption(f"Câu hỏi đầy đủ (mô hình viết lại): {md_escape(reply['standalone'])}")
    if answer is not None and answer.restored:
        # The reading of a question typed without diacritics, so a wrong guess can be retyped.
        st.caption(f"Đã hiểu là: {md_escape(answer.restored)}")
    if answer is None:
        st.warning(f"Không xử lý được câu hỏi: {reply['error']}")
    elif not answer.passages:
        st.info("Không có bài viết nào trong phạm vi tìm kiếm đã chọn. Hãy bỏ bớt bộ lọc ở thanh bên."
                if reply["filtered"] else "Kho bài viết chưa có đoạn nào để tìm.")
    elif answer.abstained:
        show_not_found(index, answer, engine)
    else:
        show_answer(index, answer, engine, reply.get("seconds", 0.0), reply.get("generated"))


def copy_box(answer: Answer, engine: Engine, generated: Generated | None = None) -> None:
    """The answer with its sources as Markdown; the code block's copy button copies it."""
    with st.expander("Sao chép câu trả lời kèm nguồn (Markdown)", icon=":material/content_copy:"):
        st.code(answer_markdown(answer, engine.articles, generated), language="markdown", wrap_lines=True)


def show_not_found(index: int, answer: Answer, engine: Engine) -> None:
    st.markdown("**Kho bài viết không trả lời câu hỏi này.**")
    if answer.reason:
        st.markdown(md_escape(answer.reason))
    st.caption("Hãy thử diễn đạt lại, hoặc thêm bài viết ở thanh bên.")
    with st.expander("Các đoạn gần nhất (không đủ để trả lời câu hỏi)", expanded=False):
        top = answer.passages[0].score
        for passage in answer.passages:
            passage_card(f"{index}-{passage.rank}", passage, answer, engine, top, cited=False)


def show_answer(index: int, answer: Answer, engine: Engine, seconds: float, generated: Generated | None = None) -> None:
    written = generated is not None and generated.shown
    if written:
        show_generated(index, generated, seconds)
    else:
        if generated is not None:
            st.info(generated.note, icon=":material/info:")
        if answer.short is not None:
            st.html(short_html(answer.short, anchor=str(index)))
        st.html(answer_html(answer.sentences, answer.short, anchor=str(index)))
        confidence = min(99, int(answer.confidence * 100))  # a calibrated estimate is never certainty
        st.caption(f"Độ tin cậy {confidence}% · {seconds:.1f} giây · câu trả lời trích nguyên văn từ "
                   "các đoạn dưới đây")
    copy_box(answer, engine, generated)
    cited = sorted({c for s in generated.verified for c in s.citations} if written
                   else {s.citation for s in answer.sentences})
    featured = cited[0] if cited else answer.passages[0].rank
    top = answer.passages[0].score
    st.markdown("**Nguồn trích dẫn**")
    groups = by_article(answer.passages)
    # The article of the first cited passage is shown open, the other articles folded.
    first = next(g for g in groups if any(p.rank == featured for p in g))
    anchors(index, first)
    with st.container(border=True):
        lead = next(p for p in first if p.rank == featured)
        passage_card(f"{index}-{lead.rank}", lead, answer, engine, top, cited=True)
        rest = [p for p in first if p is not lead]
        if rest:
            with st.expander(f"Thêm {len(rest)} đoạn từ bài này"):
                for passage in rest:
                    passage_card(f"{index}-{passage.rank}", passage, answer, engine, top, passage.rank in cited,
                                 heading=False)
    for group in groups:
        if group is first:
            continue
        ranks = ", ".join(str(p.rank) for p in group)
        is_cited = any(p.rank in cited for p in group)
        count = f" · {len(group)} đoạn từ bài này" if len(group) > 1 else ""
        label = f"[{ranks}] {group[0].title} — " + " · ".join(passage_meta(group[0], top, is_cited)) + count
        anchors(index, group)
        with st.expander(md_escape(label)):
            for passage in group:
                if len(group) > 1:
                    st.caption(f"Đoạn [{passage.rank}]")
                passage_card(f"{index}-{passage.rank}", passage, answer, engine, top, passage.rank in cited,
                             heading=False)


def show_generated(index: int, generated: Generated, seconds: float) -> None:
    """A model's answer: its verified sentences, marked as written by it, and what was left out."""
    st.html(generated_html(generated.verified, anchor=str(index)))
    st.caption(f"Do mô hình {generated.model} viết · từng câu đã đối chiếu với đoạn nguồn được trích · "
               f"{seconds:.1f} giây")
    dropped = [s for s in generated.sentences if not s.verified]
    if dropped:
        with st.expander(generated.note, icon=":material/rule:"):
            for s in dropped:
                st.markdown(f"~~{md_escape(s.text)}~~  \n*{md_escape('; '.join(s.problems))}*")
    corrected = [s for s in generated.verified if s.problems]
    if corrected:
        st.caption("Đã sửa nguồn: " + "; ".join(p for s in corrected for p in s.problems))


def by_article(passages: tuple[Passage, ...]) -> list[list[Passage]]:
    """The passages grouped by article, articles in the order of their best passage."""
    groups: dict[str, list[Passage]] = {}
    for passage in passages:
        groups.setdefault(passage.doc_id, []).append(passage)
    return list(groups.values())


def anchors(index: int, passages: list[Passage]) -> None:
    """Targets for the answer's [n] links, where each passage's card or folder starts."""
    st.html("".join(f'<div id="{source_anchor(f"{index}-{p.rank}")}"></div>' for p in passages))


def original_link(url: str) -> str:
    """" · bài gốc" linking the article's web page, when its URL is one."""
    if not url.startswith(("https://", "http://")):
        return ""
    return f' · <a href="{esc(url)}" target="_blank" rel="noopener noreferrer">bài gốc</a>'


def passage_card(key: str, passage: Passage, answer: Answer, engine: Engine, top: float, cited: bool,
                 heading: bool = True) -> None:
    head = ""
    if heading:
        link = original_link(engine.articles[passage.doc_id].url)
        head = (f'<div class="qa-card-head"><span class="qa-rank">{passage.rank}</span>{esc(passage.title)}</div>'
                f'<div class="qa-meta">{esc(" · ".join(passage_meta(passage, top, cited)))}{link}</div>')
    st.html(f'<div class="qa-card">{head}{passage_html(passage, answer)}</div>')
    if passage.also_in:
        st.caption(also_in_line(passage, engine.articles))
    if st.button("Đọc toàn bài", key=f"read-{key}", icon=":material/article:", type="tertiary"):
        read_article(engine.articles[passage.doc_id], passage, answer)


@st.dialog("Toàn văn bài viết", width="large")
def read_article(article: Article, passage: Passage, answer: Answer) -> None:
    meta = [article.source, format_date(article.date), article.author]
    link = original_link(article.url)
    st.html(f'<div class="qa-card-head">{esc(article.title)}</div>'
            f'<div class="qa-meta">{esc(" · ".join(m for m in meta if m) or "không rõ nguồn")}{link}</div>')
    st.caption(f"Đoạn [{passage.rank}] nằm trong khung xanh; câu dùng để trả lời được tô vàng; "
               "từ của câu hỏi được gạch chân.")
    st.html(article_html(article.text, passage, answer))
    st.html(SCROLL_TO_PASSAGE, unsafe_allow_javascript=True)


# --- the page ---------------------------------------------------------------------------------

def main() -> None:
    st.set_page_config(page_title="Hỏi đáp tin đối ngoại", page_icon="📰", layout="centered")
    st.html(f"<style>{PAGE_CSS}</style>")
    st.title("Hỏi đáp tin đối ngoại")
    st.caption("Câu trả lời được trích từ kho bài báo tiếng Việt, kèm đoạn nguồn để bạn tự đánh giá.")
    corpus, index = locations()
    lib = shared_library(str(corpus), str(index))
    try:
        engine = ready_engine(lib)
    except QAError as exc:
        st.error(f"Không mở được kho bài viết: {exc}")
        st.stop()
    settings = sidebar(lib, engine)
    chat(lib, engine, settings)


main()
