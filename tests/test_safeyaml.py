"""The strict YAML loader closes what safe_load leaves open."""

from __future__ import annotations

import contextlib

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from adambench import safeyaml
from adambench.errors import ConfigError


def test_plain_documents_load():
    assert safeyaml.loads("a: 1\nb: [1.5, x, true, null]\nc: {d: e}") == {
        "a": 1,
        "b": [1.5, "x", True, None],
        "c": {"d": "e"},
    }
    assert safeyaml.loads("") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: 1\na: 2\n", "line 2: duplicate key 'a'"),
        (
            "a: !!python/object:os.system {}\n",
            "tag 'tag:yaml.org,2002:python/object:os.system' is not allowed",
        ),
        ("a: !!python/name:os.system\n", "is not allowed"),
        ("a: !custom 1\n", "tag '!custom' is not allowed"),
        ("a:\n\tb: 1\n", "invalid YAML"),
        ("a: [1, 2\n", "invalid YAML"),
        ("base: &b {x: 1}\nderived:\n  <<: *b\n", "merge keys"),
        ("? [1, 2]\n: 3\n", "mapping keys must be plain scalars"),
        ("a: 1\n---\nb: 2\n", "invalid YAML"),
        ("[" * 100 + "]" * 100, "nest"),
    ],
)
def test_refusals(text, message):
    with pytest.raises(ConfigError, match=message):
        safeyaml.loads(text, "f.yaml")


def test_billion_laughs_is_refused_without_expanding():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for k in range(1, 10):
        prev = f"*a{k - 1}"
        lines.append(f"a{k}: &a{k} [{', '.join([prev] * 10)}]")
    with pytest.raises(ConfigError, match="expands to more than"):
        safeyaml.loads("\n".join(lines))


def test_large_file_is_refused_before_parsing(tmp_path):
    path = tmp_path / "big.yaml"
    path.write_text("a: " + "x" * (safeyaml.MAX_BYTES + 10))
    with pytest.raises(ConfigError, match="larger than 1000 kB"):
        safeyaml.load_file(path)


def test_missing_directory_and_binary_files(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        safeyaml.load_file(tmp_path / "nope.yaml")
    with pytest.raises(ConfigError, match="is a directory"):
        safeyaml.load_file(tmp_path)
    (tmp_path / "bin.yaml").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(ConfigError, match="not UTF-8"):
        safeyaml.load_file(tmp_path / "bin.yaml")


def test_nan_and_inf_load_as_floats_for_validators_to_refuse():
    data = safeyaml.loads("a: .nan\nb: -.inf")
    assert data["a"] != data["a"] and data["b"] == float("-inf")


@given(st.text(max_size=200))
def test_fuzz_any_text_loads_or_raises_config_error(text):
    with contextlib.suppress(ConfigError):
        safeyaml.loads(text)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=4), c, max_size=4),
        max_leaves=20,
    )
)
def test_round_trips_what_yaml_dumps(value):
    assert safeyaml.loads(yaml.safe_dump(value)) == value
