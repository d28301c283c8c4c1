"""Parsing many files on every core: forked workers send each result back in the file cache's own format.

Parsing YAML is most of a cold check and each file is parsed on its own, so when there is enough to parse and
more than one core, the files are split between this process and forked workers. A worker parses its share and
writes each result to a nameless file in memory as the JSON the file cache stores (the caller's ``produce``:
``cache.encode_entry``, which the cache's tests already prove gives back exactly what was parsed); this process
parses its own share meanwhile, then decodes the workers' results (``decode``: checked field by field, as a cache
entry is). Nothing but this process's own children writes to those files, and a result that does not come back
whole (a worker that fails or is killed, an entry that does not decode, a result the format cannot carry) is parsed
here instead: the answer never depends on the workers.

``CALCHECK_JOBS=N`` sets how many processes share the work (``1``: none is forked); by default, every core this
process may run on, up to 8. Workers are forked only from a process with one thread, and only on systems with
``fork``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import Generic, TypeVar

# Below this many bytes to parse, forking costs more than it saves.
MIN_PARALLEL_BYTES = 2_000_000
MAX_JOBS = 8
_LENGTH = struct.Struct("<IQ")  # a result's index in the work list and its length in bytes

T = TypeVar("T")
R = TypeVar("R")


def jobs() -> int:
    """How many processes may parse at once (this one included)."""
    given = os.environ.get("CALCHECK_JOBS", "").strip()
    if given:
        try:
            return max(1, min(int(given), 64))
        except ValueError:
            return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_JOBS))


def parse_all(
    work: Sequence[T],
    size: Callable[[T], int],
    parse: Callable[[T], R],
    produce: Callable[[T], bytes | None],
    decode: Callable[[T, bytes], R | None],
) -> list[R]:
    """``parse`` applied to each item of ``work``, in order, shared with forked workers when that pays.

    A worker sends ``produce(item)``, the item's result encoded (None: nothing, the item is parsed here); ``decode``
    gives the result back, or None when the bytes are not exactly a result (the item is then parsed here).
    """
    count = _workers(sum(size(item) for item in work))
    if count == 0:
        return [parse(item) for item in work]
    shares = split([size(item) for item in work], count)
    results: list[R | None] = [None] * len(work)
    children: list[tuple[int, int]] = []
    for share in shares[1:]:
        started = _fork(work, share, produce)
        if started is not None:
            children.append(started)
        else:  # no worker: this process parses that share too
            shares[0].extend(share)
    try:
        for index in shares[0]:
            results[index] = parse(work[index])
        for pid, output in children:
            for index, body in _collect(pid, output):
                if 0 <= index < len(work) and results[index] is None:
                    results[index] = decode(work[index], body)
    except BaseException:  # interrupted: the workers' results are of no use
        for pid, _output in children:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        raise
    finally:
        for pid, output in children:
            _reap(pid, output)
    return [result if result is not None else parse(work[i]) for i, result in enumerate(results)]


class Later(Generic[R]):
    """A result worked out by a forked process while this one goes on (see ``later``)."""

    def __init__(self, here: Callable[[], R], decode: Callable[[bytes], R | None], child: tuple[int, int] | None):
        self._here = here
        self._decode = decode
        self._child = child
        self._done = False
        self._value: R

    def result(self) -> R:
        """The process's result once it has ended; worked out here if it does not come back whole."""
        if self._done:
            return self._value
        child, self._child = self._child, None
        value = None
        if child is not None:
            try:
                found = [body for index, body in _collect(*child) if index == 0]
            finally:
                _reap(*child)
            value = self._decode(found[0]) if found else None
        self._value = value if value is not None else self._here()
        self._done = True
        return self._value

    def cancel(self) -> None:
        """Stop the process if it still runs (its result is not wanted)."""
        child, self._child = self._child, None
        if child is not None:
            with contextlib.suppress(OSError):
                os.kill(child[0], signal.SIGKILL)
            _reap(*child)


def later(here: Callable[[], R], produce: Callable[[], bytes | None], decode: Callable[[bytes], R | None]) -> Later[R]:
    """``here()``, worked out by a forked process (which sends ``produce()``, ``here()``'s result encoded) while this
    one goes on. The answer never depends on the process: without a second core, ``fork`` or a single thread, or
    when what it sends does not decode, ``here()`` runs in this process when the result is asked for. The cores are
    this process's meanwhile: what the forked process parses, it parses itself (``CALCHECK_JOBS=1`` there)."""
    child = None
    if hasattr(os, "fork") and threading.active_count() == 1 and jobs() > 1:
        child = _fork([None], [0], lambda _: _alone(produce))
    return Later(here, decode, child)


def _alone(produce: Callable[[], bytes | None]) -> bytes | None:
    os.environ["CALCHECK_JOBS"] = "1"  # in the forked process only
    return produce()


def split(sizes: Sequence[int], workers: int) -> list[list[int]]:
    """Item indexes for this process (first) and each worker: largest first, to whoever is least loaded.

    This process also decodes what the workers send, so it takes a smaller share of the parsing itself.
    """
    # Encoding a result costs about 0.4 of parsing it and decoding about 0.1 (measured on 100k-assignment estates).
    here = max(0.05, 1.4 / workers - 0.1)
    parent_share = here / (1 + here)
    weights = [parent_share] + [(1 - parent_share) / workers] * workers
    loads = [0.0] * (workers + 1)
    shares: list[list[int]] = [[] for _ in range(workers + 1)]
    for index in sorted(range(len(sizes)), key=lambda i: (-sizes[i], i)):
        target = min(range(workers + 1), key=lambda w: (loads[w] + sizes[index]) / weights[w])
        shares[target].append(index)
        loads[target] += sizes[index]
    for share in shares:
        share.sort()
    return shares


def _workers(total: int) -> int:
    if total < MIN_PARALLEL_BYTES or not hasattr(os, "fork") or threading.active_count() > 1:
        return 0
    return jobs() - 1


class Background:
    """Items worked on by a forked process while this one goes on, taken when wanted (see ``background``)."""

    def __init__(self, child: tuple[int, int] | None) -> None:
        self._child = child

    def take(self, wait: bool = False) -> Iterator[tuple[int, bytes]]:
        """(index, bytes) for each item the process finished: it is stopped first if it still runs (the items it
        had not finished are the caller's to work out), or with ``wait`` waited for."""
        child, self._child = self._child, None
        if child is None:
            return
        if not wait:
            with contextlib.suppress(OSError):
                os.kill(child[0], signal.SIGKILL)  # an ended process not yet waited for takes no signal
        try:
            yield from _collect(*child)
        finally:
            _reap(*child)

    def cancel(self) -> None:
        for _ in self.take():
            pass


def background(work: Sequence[T], produce: Callable[[T], bytes | None]) -> Background:
    """``produce`` of each item of ``work``, by a forked process at the lowest priority (it takes a core this
    process leaves idle) while this one goes on; ``Background.take`` gives what it finished, each item written
    whole as soon as it is done. Nothing is forked without a second core, ``fork`` or a single thread."""
    child = None
    if work and hasattr(os, "fork") and threading.active_count() == 1 and jobs() > 1:
        child = _fork(work, list(range(len(work))), partial(_lowest, produce), flush=True)
    return Background(child)


def _lowest(produce: Callable[[T], bytes | None], item: T) -> bytes | None:
    if os.getpriority(os.PRIO_PROCESS, 0) < 19:  # in the forked process only
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, 0, 19)
    return produce(item)


def _fork(
    work: Sequence[T], share: list[int], produce: Callable[[T], bytes | None], flush: bool = False
) -> tuple[int, int] | None:
    """A worker writing its share's results to a file of its own (``flush``: each one whole as soon as it is
    done); (its pid, that file) or None."""
    try:
        output = _scratch_file()
    except OSError:
        return None
    try:
        pid = os.fork()
    except OSError:
        os.close(output)
        return None
    if pid == 0:  # the worker: never returns
        status = 1
        try:
            with os.fdopen(output, "wb", buffering=1 << 20) as stream:
                for index in share:
                    body = produce(work[index])
                    if body is not None:
                        stream.write(_LENGTH.pack(index, len(body)))
                        stream.write(body)
                        if flush:
                            stream.flush()
            status = 0
        finally:
            os._exit(status)
    return pid, output


def _scratch_file() -> int:
    """A file in memory with no name (or, without memfd, an unlinked temporary): nothing is left behind.

    Unlike a pipe, a worker never waits for this process to read what it wrote.
    """
    if hasattr(os, "memfd_create"):
        with contextlib.suppress(OSError):
            return os.memfd_create("calcheck-parse", os.MFD_CLOEXEC)
    with tempfile.TemporaryFile(prefix="calcheck-parse-") as handle:
        return os.dup(handle.fileno())


def _collect(pid: int, output: int) -> Iterator[tuple[int, bytes]]:
    """What a worker wrote whole, once it has ended: (index, bytes) pairs, read one at a time (only the result being
    decoded is held, not all a worker wrote); a cut-off last one is left out."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)
    try:
        stream = os.fdopen(os.dup(output), "rb", buffering=1 << 20)
    except OSError:
        return
    with stream:
        try:
            size = os.fstat(stream.fileno()).st_size
            stream.seek(0)
            while len(head := stream.read(_LENGTH.size)) == _LENGTH.size:
                index, length = _LENGTH.unpack(head)
                if length > size - stream.tell():  # cut off (never more than the file holds is asked for)
                    return
                yield index, stream.read(length)
        except OSError:
            return


def _reap(pid: int, output: int) -> None:
    with contextlib.suppress(OSError):
        os.close(output)
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, 0)
