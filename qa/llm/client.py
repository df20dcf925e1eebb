"""The user's language model server: any OpenAI-compatible `POST /v1/chat/completions`
(llama.cpp's llama-server, Ollama, vLLM, LM Studio, a hosted API), through the `openai` client.

Configured from the environment: QA_LLM_URL (base URL, e.g. http://127.0.0.1:8080/v1), QA_LLM_MODEL,
QA_LLM_API_KEY (optional), QA_LLM_TIMEOUT (seconds, default 60). Every failure becomes an LLMError
whose message says, in Vietnamese, what went wrong; the key never appears in one.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Iterator, Mapping, Sequence

from ..errors import QAError

DEFAULT_TIMEOUT = 60.0


class LLMError(QAError):
    """The model could not be asked, or did not answer properly."""


@dataclass(frozen=True)
class LLMConfig:
    url: str
    model: str
    api_key: str = ""
    timeout: float = DEFAULT_TIMEOUT

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> "LLMConfig | None":
        """The server the environment names, or None when none is configured."""
        url = env.get("QA_LLM_URL", "").strip()
        if not url:
            return None
        try:
            timeout = float(env.get("QA_LLM_TIMEOUT", "") or DEFAULT_TIMEOUT)
        except ValueError:
            raise LLMError(f"QA_LLM_TIMEOUT phải là một số giây, không phải {env['QA_LLM_TIMEOUT']!r}.") from None
        return cls(url, env.get("QA_LLM_MODEL", "").strip() or "default", env.get("QA_LLM_API_KEY", "").strip(),
                   timeout)

    def __repr__(self) -> str:  # the key stays out of logs and tracebacks
        return f"LLMConfig(url={self.url!r}, model={self.model!r}, timeout={self.timeout})"


Message = Mapping[str, str]


class ChatClient:
    def __init__(self, config: LLMConfig):
        from openai import OpenAI

        self.config = config
        # Local servers need no key, but the client insists on one; retries would multiply the timeout.
        self._client = OpenAI(base_url=config.url, api_key=config.api_key or "not-needed",
                              timeout=config.timeout, max_retries=0)

    @property
    def model(self) -> str:
        return self.config.model

    def stream(self, messages: Sequence[Message], max_tokens: int = 700) -> Iterator[str]:
        """The reply's text as it is written; raises LLMError on any failure, also midway."""
        import openai

        try:
            chunks = self._client.chat.completions.create(model=self.config.model, messages=list(messages),
                                                          stream=True, temperature=0, max_tokens=max_tokens)
            seen = wrote = False
            for chunk in chunks:
                seen = True
                if not getattr(chunk, "choices", None):
                    continue
                delta = getattr(chunk.choices[0].delta, "content", None)
                if delta:
                    wrote = True
                    yield delta
            if not seen:  # not a stream of events at all: a proxy's page, a server of another protocol
                raise ValueError("no events")
            if not wrote:
                raise LLMError(f"Mô hình {self.model} trả lời rỗng.")
        except LLMError:
            raise
        except openai.APITimeoutError:
            raise LLMError(f"Mô hình {self.model} không trả lời trong {self.config.timeout:g} giây "
                           "(QA_LLM_TIMEOUT).") from None
        except openai.APIConnectionError:
            raise LLMError(f"Không kết nối được máy chủ mô hình {self.config.url}: hãy kiểm tra máy chủ đã chạy "
                           "và địa chỉ QA_LLM_URL.") from None
        except openai.BadRequestError as exc:
            if _too_long(exc):
                raise LLMError(f"Câu hỏi và các đoạn nguồn dài quá ngữ cảnh của mô hình {self.model}: hãy giảm "
                               "số đoạn trích hoặc dùng mô hình có ngữ cảnh dài hơn.") from None
            raise LLMError(self._status_message(exc)) from None
        except openai.APIStatusError as exc:
            raise LLMError(self._status_message(exc)) from None
        except (openai.APIError, ValueError, KeyError, AttributeError, TypeError):
            # A body that is not the protocol's JSON (a proxy's HTML page, a truncated stream).
            raise LLMError(f"Máy chủ mô hình {self.config.url} trả về dữ liệu không đúng giao thức "
                           "OpenAI chat completions.") from None

    def complete(self, messages: Sequence[Message], max_tokens: int = 700) -> str:
        return "".join(self.stream(messages, max_tokens))

    def _status_message(self, exc) -> str:
        detail = _redact(str(getattr(exc, "message", "") or ""), self.config.api_key)[:200]
        return f"Máy chủ mô hình trả lỗi HTTP {exc.status_code}" + (f": {detail}" if detail else "") + "."


def _too_long(exc) -> bool:
    text = str(exc).lower()
    return any(w in text for w in ("context length", "context_length", "maximum context", "too long",
                                   "exceeds the context", "n_ctx"))


def _redact(text: str, key: str) -> str:
    return text.replace(key, "***") if key else text
