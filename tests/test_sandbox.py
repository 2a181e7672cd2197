"""What the machine offers for pasted code, and when code may run at all."""

import math

import pytest

from engine.runners.sandbox import (
    ALLOW_UNSANDBOXED_VARIABLE,
    Isolation,
    Limits,
    code_policy,
    detect_isolation,
)

SANDBOX = Isolation("sandbox", "/usr/bin/bwrap", "v1", "/sys/fs/cgroup", True, 7)
LIMITS_ONLY = Isolation("limits", None, None, None, True, 7, ("bubblewrap (test)",))


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1"])
def test_a_loopback_server_may_run_code_without_the_sandbox(address):
    assert code_policy(LIMITS_ONLY, address) is None


@pytest.mark.parametrize("address", [None, "", "0.0.0.0", "10.1.2.3"])
def test_a_server_open_to_other_machines_runs_code_only_in_the_sandbox(address, monkeypatch):
    monkeypatch.delenv(ALLOW_UNSANDBOXED_VARIABLE, raising=False)
    assert code_policy(SANDBOX, address) is None
    refusal = code_policy(LIMITS_ONLY, address)
    assert "cannot sandbox pasted code" in refusal and ALLOW_UNSANDBOXED_VARIABLE in refusal


def test_an_explicit_setting_allows_unsandboxed_code_on_an_open_server(monkeypatch):
    monkeypatch.setenv(ALLOW_UNSANDBOXED_VARIABLE, "on")
    assert code_policy(LIMITS_ONLY, "0.0.0.0") is None


def test_the_isolation_line_names_each_mechanism_in_force():
    line = SANDBOX.describe()
    for words in ("sandbox", "bubblewrap", "cgroup v1", "seccomp", "Landlock ABI 7"):
        assert words in line


def test_the_limits_level_says_there_is_no_sandbox_and_what_is_missing():
    line = LIMITS_ONLY.describe()
    assert "no sandbox" in line and "missing: bubblewrap" in line


def test_this_machine_has_the_sandbox_the_setup_script_installs():
    """scripts/setup.sh installs bubblewrap and pyseccomp; CI must run at the full level."""
    isolation = detect_isolation()
    assert isolation.sandboxed, isolation.describe()
    assert isolation.seccomp, isolation.describe()


@pytest.mark.parametrize("wall", [math.nan, math.inf, -1.0, 0.0])
def test_limits_refuse_a_wall_time_that_is_not_a_positive_finite_number(wall):
    with pytest.raises(ValueError):
        Limits(wall_seconds=wall)
