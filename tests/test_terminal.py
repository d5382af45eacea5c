"""The command line in a real terminal: a pseudo-terminal (pty) of 100 x 40 with
TERM=xterm-256color and no COLUMNS, as a person's shell would run it. A progress bar and colours
(heatmap cell backgrounds, status colours) appear there, and not with NO_COLOR=1 or when the
output is piped."""

from __future__ import annotations

import errno
import fcntl
import os
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")

ROOT = Path(__file__).resolve().parent.parent
# Long enough (tens of millions of steps) that the progress bar, which waits half a second
# before it shows, always gets to show; two swept values give a heatmap.
# Long enough for the progress bar (shown after 0.5 s): about 2 s of the vectorised lockstep
# runner on two cores (20,000 steps took 0.2 s, and no bar showed).
SWEEP = ["sweep", "rosenbrock", "-O", "adam", "-g", "lr=1e-4:1:log10", "-g", "beta1=0.5,0.9",
         "--seeds", "100", "--steps", "400000", "--top", "3"]  # fmt: skip
RUN = ["run", "rosenbrock", "-O", "adam(lr=0.05),sgd(lr=0.01)", "--seeds", "20",
       "--steps", "500000"]  # fmt: skip
SGR = re.compile(r"\x1b\[([0-9;]*)m")


def environment(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env.pop("FORCE_COLOR", None)
    env.update(TERM="xterm-256color", PYTHONPATH=str(ROOT), **extra)
    return env


def in_terminal(args, **env):
    """Everything ``python -m adambench ARGS`` writes to a 100 x 40 pseudo-terminal (stdout and
    stderr both, in the order written), and its exit code."""
    leader, follower = os.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    proc = subprocess.Popen(
        [sys.executable, "-m", "adambench", *args],
        stdin=follower,
        stdout=follower,
        stderr=follower,
        env=environment(**env),
        cwd=ROOT,
        close_fds=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError as exc:  # EIO: the terminal's other end closed
            if exc.errno != errno.EIO:
                raise
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return b"".join(chunks).decode("utf-8", "replace"), proc.wait(timeout=600)


def piped(args, **env):
    proc = subprocess.run(
        [sys.executable, "-m", "adambench", *args],
        capture_output=True,
        text=True,
        env=environment(**env),
        cwd=ROOT,
        timeout=600,
    )
    return proc.stdout + proc.stderr, proc.returncode


def colour_codes(text):
    """The SGR escape sequences of ``text`` that set a foreground or background colour."""
    found = []
    for params in SGR.findall(text):
        codes = [int(p) for p in params.split(";") if p.isdigit()]
        if any(c in (38, 48) or 30 <= c <= 47 or 90 <= c <= 107 for c in codes):
            found.append(params)
    return found


def backgrounds(text):
    """The distinct background colours set in ``text`` (48;2;r;g;b or 48;5;n)."""
    return {
        m.group(1) for m in re.finditer(r"\x1b\[[0-9;]*?48;((?:2;\d+;\d+;\d+)|(?:5;\d+))", text)
    }


PROGRESS_BAR = "━"  # rich's bar
LEGEND = re.compile(r"worst \S+ ████████ best")


@pytest.fixture(scope="module")
def sweep_in_terminal():
    return in_terminal(SWEEP)


def test_a_sweep_in_a_terminal_shows_its_size_first_then_a_progress_bar(sweep_in_terminal):
    text, code = sweep_in_terminal
    assert code == 0, text
    assert PROGRESS_BAR in text and "runs/s" in text
    heading = text.index("20 configurations x 100 seeds = 2000 runs of 400000 steps")
    assert heading < text.index(PROGRESS_BAR)  # said before the work, not only at the end


def test_a_sweep_in_a_terminal_colours_whole_heatmap_cells(sweep_in_terminal):
    text, _ = sweep_in_terminal
    assert len(backgrounds(text)) >= 3  # a scale of cell colours, not one
    # A cell's background covers its padding too: a coloured space starts the cell.
    assert re.search(r"\x1b\[[0-9;]*48;[0-9;]*m \x1b\[0m", text) or re.search(
        r"\x1b\[[0-9;]*48;[0-9;]*m +[0-9★!]", text
    )
    assert LEGEND.search(SGR.sub("", text))  # what the colours mean, under the heatmap


def test_a_run_in_a_terminal_shows_progress_and_status_colours():
    text, code = in_terminal(RUN)
    assert code == 0, text
    assert PROGRESS_BAR in text and "steps" in text
    assert colour_codes(text)


@pytest.mark.parametrize("args", [SWEEP, RUN], ids=["sweep", "run"])
def test_no_colour_and_no_bar_when_piped(args):
    text, code = piped(args)
    assert code == 0, text
    assert not SGR.search(text) and PROGRESS_BAR not in text


@pytest.mark.parametrize("args", [SWEEP, RUN], ids=["sweep", "run"])
def test_no_colour_with_no_color_in_a_terminal(args):
    text, code = in_terminal(args, NO_COLOR="1")
    assert code == 0, text
    assert colour_codes(text) == []
    assert not LEGEND.search(SGR.sub("", text))  # no legend for colours that are not there
