from dataclasses import dataclass

import pytest

from emoconv.config import check, config_hash, from_dict, to_dict
from emoconv.errors import ConfigError
from emoconv.fileio import atomic_write_json, stable_hash


@dataclass(frozen=True)
class Opt:
    lr: float = 1e-3
    layers: tuple[int, ...] = (1, 2)
    name: str = "x"

    def __post_init__(self) -> None:
        check(self.lr > 0, f"opt.lr must be > 0, got {self.lr}")


def test_from_dict_casts_ints_and_lists():
    opt = from_dict(Opt, {"lr": 1, "layers": [3, 4]})
    assert opt == Opt(lr=1.0, layers=(3, 4))
    assert to_dict(opt) == {"lr": 1.0, "layers": [3, 4], "name": "x"}


def test_unknown_key_names_key_and_known_keys():
    with pytest.raises(ConfigError, match=r"train: unknown key\(s\) lrr; known keys: lr, layers, name"):
        from_dict(Opt, {"lrr": 1}, where="train")


def test_wrong_type_names_field():
    with pytest.raises(ConfigError, match=r"train.name: expected str"):
        from_dict(Opt, {"name": 3}, where="train")


def test_value_check_raises_config_error():
    with pytest.raises(ConfigError, match="opt.lr must be > 0"):
        from_dict(Opt, {"lr": -1})


def test_config_hash_changes_with_values_only():
    assert config_hash(Opt()) == config_hash(Opt())
    assert config_hash(Opt()) != config_hash(Opt(lr=2e-3))
    assert stable_hash({"a": 1, "b": 2}) == stable_hash({"b": 2, "a": 1})


def test_atomic_write_leaves_no_temp_files(tmp_path):
    atomic_write_json(tmp_path / "x.json", {"a": 1})
    assert [p.name for p in tmp_path.iterdir()] == ["x.json"]
