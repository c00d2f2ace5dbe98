"""Torch's thread count follows the cores free now (issue 33, item 9): on a busy machine a training
uses fewer threads instead of fighting the load; OMP_NUM_THREADS or an explicit setting wins."""

from __future__ import annotations

import os

import pytest

from miakit.learn.train import choose_threads


@pytest.mark.parametrize(
    "cores, load, limit, expected",
    [
        (2, 0.1, 2, 2),  # idle: every core
        (2, 0.6, 2, 1),  # most of a core busy
        (2, 1.0, 2, 1),  # one other process
        (2, 2.0, 2, 1),  # two CPU-bound processes beside it: one thread, never zero
        (2, 9.0, 2, 1),
        (16, 5.2, 16, 11),
        (16, 0.0, 4, 4),  # never above the limit (torch's default, or what was set)
    ],
)
def test_threads_are_the_free_cores(cores, load, limit, expected):
    assert choose_threads(limit, cores=cores, load=load) == expected


@pytest.fixture
def threads(monkeypatch):
    """torch at 2 threads on a machine whose load is 50, as use_free_cores first finds it; restored after."""
    import torch

    from miakit.learn import train

    before = torch.get_num_threads()
    monkeypatch.setattr(train, "_THREADS", {"set": None, "default": None, "pinned": None})
    monkeypatch.setattr(train, "machine_load", lambda: 50.0)
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    monkeypatch.delenv("MKL_NUM_THREADS", raising=False)
    torch.set_num_threads(2)
    yield torch
    torch.set_num_threads(before)


def test_a_busy_machine_gets_one_thread(threads):
    from miakit.learn.train import use_free_cores

    assert use_free_cores() == 1 and threads.get_num_threads() == 1


def test_omp_num_threads_is_honoured(threads, monkeypatch):
    from miakit.learn.train import use_free_cores

    monkeypatch.setenv("OMP_NUM_THREADS", "2")
    assert use_free_cores() == 2 and threads.get_num_threads() == 2


def test_a_count_set_since_is_left_alone(threads):
    from miakit.learn.train import use_free_cores

    assert use_free_cores() == 1
    threads.set_num_threads(2)  # the caller's own choice after the first training
    assert use_free_cores() == 2 and threads.get_num_threads() == 2


def test_an_explicit_torch_setting_is_never_raised(threads, monkeypatch):
    from miakit.learn import train
    from miakit.learn.train import use_free_cores

    monkeypatch.setattr(train, "machine_load", lambda: 0.0)
    threads.set_num_threads(1)
    assert use_free_cores() == 1


def test_pinned_threads_are_kept_and_restored(threads):
    from miakit.learn.train import pinned_threads, use_free_cores

    with pinned_threads(2):  # bench speed --threads 2 on a busy machine: exactly 2
        assert use_free_cores() == 2 and threads.get_num_threads() == 2
    assert threads.get_num_threads() == 2  # as it was before
    assert use_free_cores() == 1  # and the rule again after


def test_the_load_is_what_other_processes_keep_busy_now():
    """Two CPU-bound processes show as about two busy cores at once, not a minute later (the load
    average would still count a command's own earlier stages, and miss a load that just began)."""
    import subprocess
    import sys

    from miakit.learn.train import machine_load

    if not os.path.exists("/proc/stat"):
        pytest.skip("no /proc/stat here")
    busy = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(2)]
    try:
        import time

        time.sleep(0.5)  # both running
        load = machine_load()
    finally:
        for p in busy:
            p.kill()
            p.wait()
    assert load >= min(2, os.cpu_count() or 1) - 0.5, load
