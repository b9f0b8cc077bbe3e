"""The line ``qa eval`` ends with counts its questions in words a reader expects."""

from qa.eval.runs import EvalRun, Timing, format_timing


def _run(questions: int) -> EvalRun:
    return EvalRun((), (), None, 5, Timing(warm_up_s=1.5, answer_s=0.5, batch=64, questions=questions))


def test_one_question_is_one_question():
    assert format_timing(_run(1)).startswith("1 question answered in 0.50 s: 2.0 questions/s")
    assert format_timing(_run(1200)).startswith("1,200 questions answered in 0.50 s")
