"""The benchmark's own measuring: CPU-seconds of a step's process tree by kind."""

from __future__ import annotations

import os
import sys

from bench.ingest_bench import cpu_by_kind, jvm_thread_kind, run_process


def test_a_jvm_thread_kind_comes_from_the_start_of_its_name_as_linux_keeps_it():
    names = {
        "Executor task launch worker for task 3.0 in stage 7.0 (TID 21)": "tasks",
        "C2 CompilerThread0": "jit",
        "C1 CompilerThread0": "jit",
        "GC Thread#1": "gc",
        "VM Thread": "gc",
        "Thread-4": "jvm_other",
        "dag-scheduler-event-loop": "jvm_other",
        "main": "jvm_other",
    }
    assert {name: jvm_thread_kind(name[:15]) for name in names} == names


def test_cpu_of_a_jvm_its_threads_of_no_kind_did_not_take_is_the_rest_of_the_jvm():
    hz = os.sysconf("SC_CLK_TCK")
    processes = {10: (True, 10 * hz), 11: (False, 3 * hz), 12: (False, 2 * hz)}
    threads = {
        (10, 1): ("tasks", 4 * hz),
        (10, 2): ("jit", 2 * hz),
        (10, 3): ("jit", hz // 2),
        (10, 4): ("gc", hz // 2),
        (10, 5): ("jvm_other", 2 * hz),  # counted in the rest, with the JVM's ended threads (1 s)
    }
    assert cpu_by_kind(processes, threads) == {"tasks": 4.0, "jit": 2.5, "gc": 0.5, "jvm_other": 3.0, "python": 5.0}


def test_a_step_s_cpu_is_that_of_its_process_and_the_processes_it_starts(tmp_path):
    # Each process spins until its own CPU time reaches a known figure, then sleeps past a sample.
    def spinning(seconds: float) -> str:
        return f"import time\nwhile time.process_time() < {seconds}: pass\ntime.sleep(1.2)\n"

    starting_child = f"import subprocess, sys\nsubprocess.run([sys.executable, '-c', {spinning(0.6)!r}], check=True)\n"
    parent = starting_child + spinning(0.3) + "print('{}')\n"
    result = run_process([sys.executable, "-c", parent], dict(os.environ), tmp_path / "step.log")
    cpu = result["cpu_seconds"]
    assert {kind: cpu[kind] for kind in ("tasks", "jit", "gc", "jvm_other")} == dict.fromkeys(
        ("tasks", "jit", "gc", "jvm_other"), 0.0
    )
    # 0.9 s spun, and two interpreters' starts (a few hundredths of a second each on an idle host).
    assert 0.9 <= cpu["python"] <= 1.5
    assert result["summary"] == {}
