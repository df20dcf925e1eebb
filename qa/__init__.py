"""Question answering over Vietnamese news: cited passages from the corpus alone."""
from .engine import Engine
from .types import Answer, AnswerSentence, Article, Chunk, Passage

__all__ = ["Engine", "Answer", "AnswerSentence", "Article", "Chunk", "Passage"]
__version__ = "0.1.0"
