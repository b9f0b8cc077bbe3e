import re
from pathlib import Path

import pytest

from qa.config import Settings
from qa.errors import ConfigError


def test_environment_then_overrides(tmp_path):
    env = {
        "QA_K": "7",
        "QA_WINDOW_SIZES": "30,60",
        "QA_ALLOWED_ORIGINS": "https://a, https://b",
        "QA_SHAPING": "off",
        "QA_ROOT": str(tmp_path),
    }
    s = Settings.load(env)
    expected = (7, (30, 60), ("https://a", "https://b"), False)
    assert (s.k, s.window_sizes, s.allowed_origins, s.shaping) == expected
    assert s.seeds_dir == tmp_path.resolve() / "seeds" and s.index_dir == tmp_path.resolve() / "embeddings"
    assert Settings.load(env, k=3).k == 3


@pytest.mark.parametrize(
    "env",
    [
        {"QA_K": "abc"},
        {"QA_K": "0"},
        {"QA_PASSAGE_WORDS": "500"},
        {"QA_MODE": "magic"},
        {"QA_SHAPING": "maybe"},
    ],
)
def test_bad_values_are_config_errors(env):
    with pytest.raises(ConfigError):
        Settings.load(env)


def test_a_bad_value_from_the_environment_names_its_variable():
    named = r"^k must be between 1 and 50; QA_K='0' is set in the environment$"
    with pytest.raises(ConfigError, match=named):
        Settings.load({"QA_K": "0"})
    with pytest.raises(ConfigError, match=r"^k must be between 1 and 50$"):  # an override is no variable
        Settings.load({"QA_K": "5"}, k=0)
    with pytest.raises(ConfigError, match=r"^k must be between 1 and 50$"):
        Settings.load({}, k=0)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"QA_MAX_TURNS": "0"}, "max_turns must be between 1 and 1000; QA_MAX_TURNS='0' is set"),
        ({"QA_MAX_SESSIONS": "0"}, "max_sessions must be between 1 and 100000; QA_MAX_SESSIONS='0' is set"),
        ({"QA_AUTH_FAIL_LIMIT": "0"}, "auth_fail_limit must be at least 1 wrong key per minute; QA_AUTH_"),
        ({"QA_FEEDBACK_RATE_LIMIT": "0"}, "feedback_rate_limit must be at least 1 rating per minute; QA_"),
        ({"QA_LOOKUP_RATE_LIMIT": "0"}, "lookup_rate_limit must be at least 1 look-up per minute; QA_"),
        ({"QA_HISTORY_TURNS": "0"}, "history_turns must be between 1 and 50 (earlier questions a follow"),
        ({"QA_HISTORY_TURNS": "-1"}, "QA_HISTORY_TURNS='-1' is set in the environment"),
    ],
)
def test_each_setting_out_of_range_is_named_with_its_own_variable(env, said):
    """QA_MAX_TURNS=0 was "max_sessions must be 1..100000 and max_turns 1..1000", naming neither
    variable; QA_HISTORY_TURNS=0 or -1 was taken (and read every earlier question, or all but one)."""
    with pytest.raises(ConfigError, match=re.escape(said)):
        Settings.load(env)


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({"QA_PORT": "abc"}, "QA_PORT='abc' is not a valid value for port; use a whole number"),
        ({"QA_LOG_QUESTIONS": "maybe"}, "use 1 or 0 (also true/false, yes/no, on/off)"),
        ({"QA_ABSTAIN_THRESHOLD": "high"}, "for abstain_threshold; use a number"),
        ({"QA_WINDOW_SIZES": "a,b"}, "use whole numbers separated by commas, e.g. 20,40,60,100"),
    ],
)
def test_a_value_of_the_wrong_kind_is_told_what_the_setting_takes(env, said):
    """QA_LOG_QUESTIONS=maybe was "not a valid value for log_questions", with no word of what is."""
    with pytest.raises(ConfigError, match=re.escape(said)):
        Settings.load(env)


def test_relpath_is_posix_relative_to_root(tmp_path):
    s = Settings(root=tmp_path)
    assert s.relpath(tmp_path / "seeds" / "a.txt") == "seeds/a.txt"
    assert isinstance(s.feedback_path, Path)


def test_a_bad_key_from_the_environment_is_named_but_never_shown():
    secret = "tooshort-secret"
    with pytest.raises(ConfigError) as raised:
        Settings.load({"QA_ADMIN_KEY": secret})
    assert "QA_ADMIN_KEY is set in the environment" in str(raised.value)
    assert secret not in str(raised.value)
    with pytest.raises(ConfigError) as raised:
        Settings.load({"QA_ADMIN_KEY": "same-key-0123456789", "QA_API_KEY": "same-key-0123456789"})
    assert "same-key" not in str(raised.value)


@pytest.mark.parametrize("bad", ["lms.example.edu", "*", "https://lms.example.edu/course", "ftp://x.org"])
def test_an_allowed_origin_that_no_browser_sends_is_refused_at_start(bad):
    """An origin written without its scheme, or with a path, matched no request: the widget got
    403 with nothing said at start."""
    with pytest.raises(ConfigError, match=r"^allowed_origins must be origins.*QA_ALLOWED_ORIGINS="):
        Settings.load({"QA_ALLOWED_ORIGINS": f"https://ok.example, {bad}"})


def test_an_allowed_origin_loses_its_trailing_slash():
    s = Settings.load({"QA_ALLOWED_ORIGINS": "https://lms.example.edu/, http://localhost:8000"})
    assert s.allowed_origins == ("https://lms.example.edu", "http://localhost:8000")
