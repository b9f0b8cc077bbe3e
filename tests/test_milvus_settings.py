"""Where the vectors live: the vector_store settings, checked before anything connects."""

from __future__ import annotations

import pytest

from qa.config import Settings
from qa.errors import ConfigError


@pytest.mark.parametrize(
    "where", ["milvus://host:19530", "http://host", "http://host:port", "http://host:1/path", "index"]
)
def test_unusable_vector_store_settings_are_refused(where):
    with pytest.raises(ConfigError, match="vector_store"):
        Settings(vector_store=where)


def test_vector_store_settings_from_the_environment(tmp_path):
    env = {"QA_VECTOR_STORE": "http://milvus:19530", "QA_VECTOR_STORE_TOKEN": "root:Milvus"}
    settings = Settings.load(env, root=tmp_path)
    assert settings.milvus and settings.vector_store_token == "root:Milvus"
    assert not Settings(root=tmp_path, vector_store="faiss").milvus
    assert Settings(root=tmp_path, vector_store=str(tmp_path / "v.db")).milvus
    with pytest.raises(ConfigError, match="vector_store_collection"):
        Settings(vector_store_collection="1-bad")
