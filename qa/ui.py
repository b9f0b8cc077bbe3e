"""The Gradio chat page (filled in by the chat UI work)."""

from __future__ import annotations

from .config import Settings
from .retrieval import Retriever

__all__ = ["build_ui"]


def build_ui(retriever: Retriever, settings: Settings):
    """A minimal chat box that answers with the top passage and its citation."""
    import gradio as gr

    from .cli import format_answer
    from .errors import QAError

    def respond(message: str, history: list) -> str:
        try:
            return format_answer(retriever.ask(message))
        except QAError as exc:
            raise gr.Error(str(exc)) from None

    return gr.ChatInterface(respond, title="Ask the course documents")
