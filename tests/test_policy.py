"""A repository's .github/trunkguard.yml: merged over the defaults, or one clear error."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.policy import MAX_DEPTH, MAX_NODES, ConfigError, default_config, load_config


def test_defaults_follow_trunk_based_guidance():
    config = default_config()
    assert (config.policy.age.warn_days, config.policy.age.fail_days) == (2, 14)
    assert (config.policy.behind.warn_commits, config.policy.behind.fail_commits) == (None, None)
    assert (config.policy.conflicts.with_trunk, config.policy.conflicts.between_pulls) == (
        "warn",
        "warn",
    )
    assert (config.policy.comment.when, config.policy.comment.resolved) == ("problems", "edit")
    assert config.policy.exempt.drafts and config.policy.exempt.labels == ()
    assert (config.forecast.active_days, config.pulls.recent_days) == (30, 30)


def test_a_file_overrides_key_by_key():
    config = load_config(
        "policy:\n  age:\n    warn_days: 3\n  exempt:\n    labels: [wip, do-not-merge]\n"
        "  conflicts:\n    between_pulls: fail\nforecast:\n  active_days: 7\n"
    )
    assert (config.policy.age.warn_days, config.policy.age.fail_days) == (3, 14)
    assert config.policy.exempt.labels == ("wip", "do-not-merge")
    assert config.policy.exempt.drafts is True
    assert config.policy.conflicts == type(config.policy.conflicts)(
        with_trunk="warn", between_pulls="fail"
    )
    assert config.forecast.active_days == 7


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("policy:\n  age:\n    warn_days: three\n",
         "policy.age.warn_days: Input should be a valid integer, got 'three'"),
        ("policy:\n  age:\n    warn_days: 20\n",
         "policy.age: warn_days (20) must not exceed fail_days (14)"),
        ("policy:\n  agee: {}\n", "policy.agee: unknown key"),
        ("stores:\n  keep_daily_days: 1\n",
         "stores: unknown key (a repository may set policy, branches, forecast, pulls, report, "
         "nudges, resolve)"),
        # The server's section, as in a copy of config/default.yml: checked, then ignored.
        ("store:\n  keep_daily_days: 0\n",
         "store.keep_daily_days: Input should be greater than or equal to 1, got 0"),
        ("store:\n  keep_dayly_days: 9\n", "store.keep_dayly_days: unknown key"),
        ("policy:\n  conflicts:\n    with_trunk: block\n",
         "policy.conflicts.with_trunk: Input should be 'fail', 'warn' or 'off', got 'block'"),
        ("policy:\n  exempt:\n    labels: wip\n",
         "policy.exempt.labels: Input should be a list, got 'wip'"),
        ("policy:\n  exempt:\n    labels: [wip, 3]\n",
         "policy.exempt.labels[1]: Input should be a valid string, got 3"),
        ("policy:\n  exempt:\n    drafts: 1\n",
         "policy.exempt.drafts: Input should be a valid boolean, got 1"),
        ("policy:\n  behind:\n    warn_commits: 0\n",
         "policy.behind.warn_commits: Input should be greater than or equal to 1, got 0"),
        ("- just a list\n", "expected a mapping of settings, got ['just a list']"),
        ("policy: [1\n", "not valid YAML (line 2): expected ',' or ']', but got '<stream end>'"),
        # PyYAML raises ValueError, AttributeError, KeyError for these: said as YAML errors.
        ("policy: !!int x\n", "not valid YAML (line 1): 'x' is not a valid !!int"),
        ("report:\n  weekday: !!bool x\n", "not valid YAML (line 2): 'x' is not a valid !!bool"),
        ("report:\n  time: 2024-13-45\n",
         "not valid YAML (line 2): '2024-13-45' is not a valid !!timestamp"),
        ("policy: {}\nforecast: {}\npolicy: {}\n", "policy: set twice (lines 1 and 3)"),
        ("policy:\n  age:\n    warn_days: 3\n    'warn_days': 4\n",
         "policy.age.warn_days: set twice (lines 3 and 4)"),
        ("policy: {exempt: {labels: [a, {b: 1, b: 2}]}}\n",
         "policy.exempt.labels[1].b: set twice (line 1)"),
    ],
)  # fmt: skip
def test_a_bad_file_names_the_key_the_value_and_what_was_expected(text, message):
    with pytest.raises(ConfigError) as caught:
        load_config(text, ".github/trunkguard.yml")
    assert str(caught.value) == f".github/trunkguard.yml: {message}"


def test_an_empty_file_is_the_defaults():
    assert load_config("") == default_config()
    assert load_config("# nothing set yet\n") == default_config()


def test_alias_bombs_and_huge_files_are_refused_quickly():
    # Nine levels of nine aliases: 9**9 labels once expanded, a few hundred bytes on disk.
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    )
    with pytest.raises(ConfigError, match=f"more than {MAX_NODES:,} values once aliases"):
        load_config(bomb + "policy: {exempt: {labels: *i}}\n")
    many = (
        "".join(f"k{n}: &k{n} x\n" for n in range(150))
        + "policy: ["
        + ", ".join(f"*k{n}" for n in range(150))
        + "]\n"
    )
    with pytest.raises(ConfigError, match="more than 100 aliases"):
        load_config(many)
    with pytest.raises(ConfigError, match="2,097,152 bytes; a configuration is at most 64 KiB"):
        load_config("#" * (2 * 1024 * 1024))


DEEP = "policy: " + "[" * 5000 + "]" * 5000 + "\n"  # 10 KB


def test_nesting_deeper_than_the_limit_is_refused_before_it_exhausts_the_stack():
    with pytest.raises(ConfigError) as caught:
        load_config(DEEP)
    assert str(caught.value) == (
        f".github/trunkguard.yml: more than {MAX_DEPTH} levels of nesting (line 1)"
    )
    block = "policy:\n" + "".join(" " * n + f"k{n}:\n" for n in range(1, 100))
    with pytest.raises(ConfigError, match=f"more than {MAX_DEPTH} levels of nesting .line 21."):
        load_config(block)
    # At the limit: read, then refused by the policy's own rules.
    deepest = "policy:\n  exempt:\n    labels: " + "[" * 17 + "]" * 17 + "\n"
    with pytest.raises(ConfigError, match=r"^\S+: policy.exempt.labels\[0\]: Input should be"):
        load_config(deepest)
    with pytest.raises(ConfigError, match="levels of nesting"):
        load_config(deepest.replace("[", "[[", 1).replace("]", "]]", 1))


def test_aliases_cannot_nest_deeper_than_the_limit():
    # 18 levels, then each alias one level more once expanded.
    links = "".join(f"  a{n}: &a{n} [*a{n - 1}]\n" for n in range(1, 5))
    chain = "policy:\n  a0: &a0 " + "[" * 18 + "]" * 18 + "\n" + links
    with pytest.raises(ConfigError, match=f"more than {MAX_DEPTH} levels of nesting once"):
        load_config(chain)
    with pytest.raises(ConfigError, match=f"more than {MAX_DEPTH} levels of nesting once"):
        load_config("policy: &p {age: *p}\n")  # a mapping that holds itself


def test_a_merge_key_may_still_bring_keys_that_are_set_again():
    config = load_config("policy:\n  age: {<<: {warn_days: 3, fail_days: 30}, warn_days: 5}\n")
    assert (config.policy.age.warn_days, config.policy.age.fail_days) == (5, 30)


def test_config_check_command(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    missing = runner.invoke(cli, ["config", "check"])  # no file: the defaults, said so
    assert missing.exit_code == 0
    assert missing.output.splitlines()[:2] == [
        "no .github/trunkguard.yml: the defaults are in effect",
        "  branch age: warn after 2 days, fail after 14 days",
    ]
    named = runner.invoke(cli, ["config", "check", "trunkguard.yml"])  # a file named: a typo?
    assert named.exit_code == 1
    assert named.output.strip() == "Error: trunkguard.yml: No such file or directory"
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github" / "trunkguard.yml").write_text("policy:\n  age:\n    warn_days: 3\n")
    good = runner.invoke(cli, ["config", "check"])
    assert good.exit_code == 0, good.output
    assert good.output.splitlines()[:2] == [
        ".github/trunkguard.yml: valid",
        "  branch age: warn after 3 days, fail after 14 days",
    ]
    as_json = json.loads(runner.invoke(cli, ["config", "check", "--json"]).output)
    assert as_json["policy"]["age"] == {"warn_days": 3, "fail_days": 14}
    (tmp_path / "bad.yml").write_text("policy:\n  age:\n    fail_days: -1\n")
    bad = runner.invoke(cli, ["config", "check", "bad.yml"])
    assert bad.exit_code == 1
    assert bad.output.strip() == (
        "Error: bad.yml: policy.age.fail_days: Input should be greater than or equal to 1, got -1"
    )
    (tmp_path / "deep.yml").write_text(DEEP)
    deep = runner.invoke(cli, ["config", "check", "deep.yml"])
    assert (deep.exit_code, deep.output) == (
        1,
        f"Error: deep.yml: more than {MAX_DEPTH} levels of nesting (line 1)\n",
    )
    (tmp_path / "twice.yml").write_text("policy: {}\npolicy: {}\n")
    twice = runner.invoke(cli, ["config", "check", "twice.yml"])
    assert (twice.exit_code, twice.output) == (
        1,
        "Error: twice.yml: policy: set twice (lines 1 and 2)\n",
    )


def test_a_repository_trusts_only_rules_the_engine_has():
    from bot.policy import ConfigError, load_config

    trusted = load_config("resolve:\n  rules: [versions]\n").resolve
    assert trusted.trusted == ("same-change", "line-merge", "versions")
    assert load_config("").resolve.trusted == ("same-change", "line-merge")
    with pytest.raises(ConfigError, match="unknown rule always-ours"):
        load_config("resolve:\n  rules: [always-ours]\n")
