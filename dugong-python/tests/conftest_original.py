"""pytest plugin for running python-dugong 3.8.2's own test suite.

Load it with ``-p conftest_original`` (its directory on ``PYTHONPATH``); see
run_original.sh. The suite was written for Python versions that still had
``asyncio.coroutine``, which Python 3.11 removed; its test_aio.py decorates a
generator-based coroutine with it. This plugin puts a stand-in back and does
nothing else: no test is skipped or changed.
"""

import asyncio
import functools
import inspect
import types


def _coroutine(func):
    """Stand-in for the removed ``asyncio.coroutine`` decorator.

    Makes the generator function *func* usable as an asyncio coroutine
    function: its generators may ``yield from`` awaitables, and calling the
    decorated function returns a native coroutine, which every supported
    Python accepts where a coroutine is required (``asyncio.Task``,
    ``asyncio.ensure_future``). A non-generator *func* works as well: an
    awaitable it returns is awaited, any other value is the result.
    """
    if inspect.iscoroutinefunction(func):
        return func
    legacy = types.coroutine(func)

    @functools.wraps(func)
    async def wrapper(*args, **kwargs):
        result = legacy(*args, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    return wrapper


if not hasattr(asyncio, 'coroutine'):
    asyncio.coroutine = _coroutine
