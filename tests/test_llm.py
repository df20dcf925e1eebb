"""Generated answers: every sentence checked against the passages it cites, and the extractive answer
whenever the model fails, declines or writes nothing that holds. Against a real HTTP server on
127.0.0.1 that speaks the OpenAI chat-completions protocol and replies what each test scripts."""
from __future__ import annotations

import json
import socket

import pytest
from conftest import run_cli
from llm_server import Reply, scripted_server

from qa import cli
from qa.llm.answer import Draft, as_json, checked, generated_text, standalone_question
from qa.llm.client import ChatClient, LLMConfig, LLMError
from qa.llm.verify import Evidence, amounts, check_sentence, split_claims
from qa.types import Answer, Passage

P1 = Passage(1, "news/a.txt", "Mỹ trao vaccine cho ASEAN", "2021-08-25", "TTXVN",
             "Ngày 25/8/2021, Hoa Kỳ đã trao tặng hơn 42 triệu liều vaccine COVID-19 cho các nước ASEAN, "
             "Bộ trưởng Ngoại giao Bùi Thanh Sơn cho biết tại hội nghị.", 0, 120, 1.0)
P2 = Passage(2, "news/b.txt", "Nhật Bản hỗ trợ Việt Nam", "2021-07-01", "VnExpress",
             "Nhật Bản đã cung cấp 3 triệu liều vaccine AstraZeneca cho Việt Nam thông qua cơ chế COVAX.",
             0, 90, 0.9)
ANSWER = Answer("Mỹ đã trao bao nhiêu liều vaccine cho ASEAN?", False,
                "Ngày 25/8/2021, Hoa Kỳ đã trao tặng hơn 42 triệu liều vaccine COVID-19 cho các nước ASEAN [1]",
                (P1, P2), confidence=0.9)
CORRECT = "Mỹ đã trao tặng hơn 42 triệu liều vaccine COVID-19 cho các nước ASEAN [1]. Nhật Bản cung cấp 3 triệu liều cho Việt Nam [2]."


@pytest.fixture(scope="module")
def server():
    with scripted_server() as s:
        yield s


def client_for(server, timeout: float = 10.0, key: str = "") -> ChatClient:
    return ChatClient(LLMConfig(server.url, "test-model", key, timeout))


# --- reading and checking a reply ----------------------------------------------------------------

def test_sentences_and_their_citations_are_read_wherever_the_marks_are():
    text = "- Câu một có nguồn [1]. Câu hai có hai nguồn [1][2].\n2. Câu ba. [2] Câu bốn [1, 3] và [2-3]."
    assert split_claims(text) == [("Câu một có nguồn.", (1,)), ("Câu hai có hai nguồn.", (1, 2)),
                                  ("Câu ba.", (2,)), ("Câu bốn và.", (1, 3, 2))]


def test_amounts_are_compared_by_value():
    values = [v for _, v, _ in amounts("42 triệu, 42 million, 42.000.000 và 1,5 tỷ")]
    assert values == [42e6, 42e6, 42e6, 1.5e9]


@pytest.mark.parametrize("sentence, cited, verified, citations, problem", [
    ("Mỹ trao hơn 42 triệu liều vaccine cho ASEAN.", (1,), True, (1,), ""),
    ("The United States donated over 42 million doses to ASEAN on 25/8/2021.", (1,), True, (1,), ""),
    ("Hoa Kỳ trao 42.000.000 liều vaccine cho ASEAN.", (1,), True, (1,), ""),
    ("Hoa Kỳ trao 43 triệu liều vaccine cho ASEAN.", (1,), False, (1,), "“43 triệu” không có trong [1]"),
    ("Hoa Kỳ trao 42 nghìn liều vaccine cho ASEAN.", (1,), False, (1,), "“42 nghìn” không có trong [1]"),
    ("Nhật Bản cung cấp 3 triệu liều cho Việt Nam.", (1,), True, (2,), "nguồn [1] được sửa thành [2]"),
    ("Nhật Bản cung cấp 3 triệu liều cho Việt Nam.", (7,), True, (2,), "nguồn [7] được sửa thành [2]"),
    ("Nhật Bản cung cấp 3 triệu liều cho Việt Nam.", (), False, (), "không ghi nguồn"),
    ("Thứ trưởng Nguyễn Văn Bình cho biết tại hội nghị.", (1,), False, (1,), "“Nguyễn Văn Bình” không có trong [1]"),
    ("Hàn Quốc trao tặng vaccine cho các nước ASEAN.", (1,), False, (1,), "“Hàn Quốc” không có trong [1]"),
    ("Các nước thành viên đã thống nhất một lộ trình thương mại mới.", (1,), False, (1,), "nội dung không thấy trong [1]"),
])
def test_each_claim_must_hold_in_the_passages_it_cites(sentence, cited, verified, citations, problem):
    result = check_sentence(sentence, cited, Evidence([P1, P2]))
    assert (result.verified, result.citations) == (verified, citations)
    assert (problem in result.problems) if problem else result.problems == ()


def test_what_fails_is_dropped_and_said():
    generated = checked("Mỹ trao hơn 42 triệu liều vaccine cho ASEAN [1]. Hoa Kỳ còn trao 10 triệu liều cho Lào [1].",
                        ANSWER, "m")
    assert generated.status == "ok"
    assert generated_text(generated) == "Mỹ trao hơn 42 triệu liều vaccine cho ASEAN. [1]"
    assert generated.note == "Đã bỏ 1 câu không kiểm chứng được với nguồn."
    assert [s["verified"] for s in as_json(generated)["sentences"]] == [True, False]


def test_nothing_verified_or_a_refusal_falls_back_to_the_extractive_answer():
    assert checked("Hoa Kỳ trao 50 triệu liều [1].", ANSWER, "m").status == "fallback"
    refusal = checked("Các đoạn trích không trả lời câu hỏi này.", ANSWER, "m")
    assert refusal.status == "fallback" and "cho rằng các đoạn trích không trả lời" in refusal.note


# --- against the server ---------------------------------------------------------------------------

def test_a_correct_answer_streams_and_is_verified(server):
    server.script(Reply(CORRECT))
    draft = Draft(client_for(server, key="sk-test-key"), ANSWER, history=[("Câu hỏi trước?", "Câu trả lời trước.")])
    assert "".join(draft.stream()) == CORRECT
    generated = draft.result()
    assert generated.status == "ok" and len(generated.verified) == 2 and generated.note == ""
    request = server.requests[-1]
    assert request["headers"]["authorization"] == "Bearer sk-test-key"
    body = request["body"]
    assert body["model"] == "test-model" and body["stream"] is True
    prompt = body["messages"][-1]["content"]
    assert "[1] Mỹ trao vaccine cho ASEAN (TTXVN, 2021-08-25)" in prompt and "[2] Nhật Bản hỗ trợ" in prompt
    assert prompt.endswith("Câu hỏi: Mỹ đã trao bao nhiêu liều vaccine cho ASEAN?")
    assert [m["content"] for m in body["messages"][1:3]] == ["Câu hỏi trước?", "Câu trả lời trước."]


@pytest.mark.parametrize("reply, status, shown", [
    (CORRECT.replace("42 triệu", "45 triệu"), "ok", "Nhật Bản cung cấp 3 triệu liều cho Việt Nam. [2]"),
    (CORRECT.replace("Việt Nam [2]", "Việt Nam [1]"), "ok",
     "Mỹ đã trao tặng hơn 42 triệu liều vaccine COVID-19 cho các nước ASEAN. [1] Nhật Bản cung cấp 3 triệu liều cho Việt Nam. [2]"),
    ("Mỹ đã trao tặng hơn 42 triệu liều vaccine cho ASEAN.", "fallback", ""),
    ("Đại sứ John Smith trao tặng vaccine cho các nước ASEAN [1].", "fallback", ""),
    ("Tôi không biết.", "fallback", ""),
])
def test_scripted_replies(server, reply, status, shown):
    server.script(Reply(reply))
    generated = Draft(client_for(server), ANSWER).result()
    assert generated.status == status
    assert generated_text(generated) == shown


@pytest.mark.parametrize("reply, timeout, message", [
    (Reply(CORRECT, delay=2.0), 0.5, "không trả lời trong 0.5 giây"),
    (Reply(body=b"<html>502 Bad Gateway</html>"), 10, "không đúng giao thức"),
    (Reply(status=500, error="boom"), 10, "HTTP 500"),
    (Reply(status=400, error="This model's maximum context length is 4096 tokens"), 10, "dài quá ngữ cảnh"),
    (Reply(""), 10, "trả lời rỗng"),
])
def test_faults_become_a_message_and_the_extractive_answer(server, reply, timeout, message):
    server.script(reply)
    generated = Draft(client_for(server, timeout=timeout), ANSWER).result()
    assert generated.status == "error"
    assert message in generated.note and generated.note.endswith("trích nguyên văn từ nguồn.")


def test_a_server_that_is_down_is_named():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = ChatClient(LLMConfig(f"http://127.0.0.1:{port}/v1", "m", "", 5))
    generated = Draft(client, ANSWER).result()
    assert generated.status == "error" and "Không kết nối được máy chủ mô hình" in generated.note


def test_the_key_never_shows(server):
    key = "sk-very-secret-0123456789"
    server.script(Reply(status=401, error=f"Incorrect API key provided: {key}"))
    client = client_for(server, key=key)
    generated = Draft(client, ANSWER).result()
    assert "HTTP 401" in generated.note and key not in generated.note and "***" in generated.note
    assert key not in repr(client.config)


def test_a_follow_up_is_rewritten_by_the_model_or_left_to_the_rules(server):
    client = client_for(server)
    server.script(Reply("Nhật Bản đã trao bao nhiêu liều vaccine cho ASEAN?"))
    assert standalone_question(client, "Còn Nhật Bản thì sao?", ["Mỹ trao bao nhiêu liều vaccine cho ASEAN?"]) == \
        "Nhật Bản đã trao bao nhiêu liều vaccine cho ASEAN?"
    assert "Còn Nhật Bản thì sao?" in server.requests[-1]["body"]["messages"][-1]["content"]
    server.script(Reply(status=500))
    assert standalone_question(client, "Còn Nhật Bản thì sao?", ["Mỹ trao bao nhiêu liều?"]) is None
    assert standalone_question(client, "Mỹ trao bao nhiêu liều?", []) is None


def test_config_from_the_environment():
    assert LLMConfig.from_env({}) is None
    config = LLMConfig.from_env({"QA_LLM_URL": "http://h:1/v1", "QA_LLM_MODEL": "qwen", "QA_LLM_TIMEOUT": "5"})
    assert (config.url, config.model, config.api_key, config.timeout) == ("http://h:1/v1", "qwen", "", 5.0)
    with pytest.raises(LLMError, match="QA_LLM_TIMEOUT"):
        LLMConfig.from_env({"QA_LLM_URL": "http://h:1/v1", "QA_LLM_TIMEOUT": "soon"})


# --- the command line ---------------------------------------------------------------------------------

QUESTION = "Quan hệ ASEAN-Mỹ được nâng cấp lên Đối tác chiến lược tại hội nghị nào?"  # answered with the fake encoder


def test_ask_llm_json(server, corpus, tmp_path, fake_model, capsys, monkeypatch):
    index = tmp_path / "index"
    assert cli.main(["index", "--corpus", str(corpus), "--index", str(index)]) == 0
    capsys.readouterr()
    code, out, _ = run_cli(capsys, "ask", QUESTION, "--index", index, "--json")
    plain = json.loads(out)
    assert not plain["abstained"] and "generated" not in plain
    first = plain["sentences"][0]
    server.script(Reply(f"{first['text']} [{first['citation']}]"))
    monkeypatch.setenv("QA_LLM_URL", server.url)
    monkeypatch.setenv("QA_LLM_MODEL", "test-model")
    code, out, _ = run_cli(capsys, "ask", QUESTION, "--index", index, "--json", "--llm")
    generated = json.loads(out)["generated"]
    assert code == 0 and generated["status"] == "ok" and generated["model"] == "test-model"
    assert generated["sentences"][0]["verified"] and generated["sentences"][0]["citations"] == [first["citation"]]
    code, out, _ = run_cli(capsys, "ask", QUESTION, "--index", index, "--llm")
    assert "Do mô hình test-model viết, từng câu đã đối chiếu với nguồn:" in out
    server.script(Reply(status=500))
    code, out, _ = run_cli(capsys, "ask", QUESTION, "--index", index, "--llm")
    assert code == 0 and "HTTP 500" in out and plain["answer"] in out  # the extractive answer stands


def test_ask_llm_without_a_server_says_how_to_set_one(corpus, tmp_path, fake_model, capsys, monkeypatch):
    monkeypatch.delenv("QA_LLM_URL", raising=False)
    code, _, err = run_cli(capsys, "ask", QUESTION, "--index", tmp_path / "none", "--llm")
    assert code != 0 and "QA_LLM_URL" in err
