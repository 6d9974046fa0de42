"""generator.quick_exit: the collector frozen at exit, once however often it is asked."""

from __future__ import annotations

from tests.conftest import fresh_python


def test_the_collector_is_frozen_at_exit_after_later_handlers_and_only_once():
    code = (
        "import atexit, gc\n"
        "calls, freeze = [], gc.freeze\n"
        "def counted():\n    calls.append(1)\n    freeze()\n"
        "gc.freeze = counted\n"
        "atexit.register(lambda: print('last', gc.get_freeze_count() > 0, len(calls)))\n"
        "from generator.quick_exit import freeze_at_exit\n"
        "freeze_at_exit(); freeze_at_exit()\n"
        "atexit.register(lambda: print('first', gc.get_freeze_count() > 0, flush=True))\n"
    )
    stdout = fresh_python(code)
    # a handler registered later runs before the freeze, one registered earlier after it;
    # asked twice, the collector is frozen once
    assert stdout.split("\n")[:2] == ["first False", "last True 1"]
