"""Errors that carry a message meant for the person running the tool."""


class QAError(Exception):
    """Base class: the message says what is wrong and what to do."""


class CorpusError(QAError):
    pass


class IndexLoadError(QAError):
    pass


class ModelMismatchError(IndexLoadError):
    pass


class QuestionError(QAError):
    pass


class StoreError(QAError):
    """The database refused what an index build asked of it."""
