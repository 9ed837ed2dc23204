"""Soak: 10,000 questions from 1,000 users through faults and a SIGKILL; nothing may be lost.

The fake Bot API of the tests (tests/fake_bot_api.py) runs in this process on 127.0.0.1;
the bot runs as a user runs it (`python -m psoasbot telegram`, built-in corpus, long
polling, `--no-rate-limiter` so that Telegram's 30 messages a second do not make the run
last six minutes; Telegram's "retry after" answers are still obeyed). 1,000 private chats
ask 10 questions each, handed out at --rate questions a second in random order. The fake
server injects faults at random (fixed seed): for sendMessage, 429 "retry after 1"
(--p429), 500/502 (--p5xx), a connection dropped before the message is taken (--pdrop) and
one dropped after it was taken, so that the bot cannot know it went out (--plost); for
getUpdates, 502s and dropped connections (--ppoll). Once between 30% and 60% of the
questions have a reply, the bot is killed with SIGKILL and started again on the same
state folder.

Reported: lost questions (no reply at all: the target is 0), duplicated messages (one
reply message delivered more than once; at most twice by design, and only where a send's
outcome was unknown: a dropped connection, a lost answer or the kill), the messages the
bot gave up on after two sends without an answer (README: "at most twice" means "maybe
never" when both sends of a message end without one; with independent faults that
happens to a fraction p**2 of the messages, p being the chance of a send without an
answer), and the bot's resident memory, sampled every second, per process. A run ends once
every question has a reply, or no reply came for --settle seconds after the last question,
or after --timeout seconds; the script exits with status 1 if a question is lost or the
time ran out.

    .venv/bin/python benchmarks/bench_soak.py [--questions 10000] [--users 1000] [--seed 1]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_bot_api import JSON, FakeBotAPI, text_message  # noqa: E402

TOKEN = "123456789:AAHsoakTokenForTests_0123456789abcdefg"
QUESTIONS = (
    "why is my psoas so tight",
    "what does the psoas muscle actually do?",
    "my hip flexors ache after a long drive, is that the psoas?",
    "best stretch for a tight psoas?",
    "is it bad to stretch my psoas every day",
    "how do i release my psoas at home",
    "does sitting at a desk all day shorten the hip flexors",
    "why doesn't stretching help my tight psoas",
    "what is pandiculation",
    "sudden numbness in my groin and I can't control my bladder",
    "what's a good recipe for lasagne",
    "how long should I hold the kneeling stretch",
)


class SoakAPI(FakeBotAPI):
    """The fake Bot API, with faults drawn at random for each sendMessage and getUpdates."""

    def __init__(self, token: str, args: argparse.Namespace) -> None:
        super().__init__(token)
        self._random = random.Random(args.seed)
        self._draw_lock = threading.Lock()
        self._table: dict[str, list[tuple[float, str]]] = {
            "sendMessage": [
                (args.p429, "429"),
                (args.p5xx / 2, "500"),
                (args.p5xx / 2, "502"),
                (args.pdrop, "drop"),
                (args.plost, "lost answer"),
            ],
            "getUpdates": [(args.ppoll / 2, "502"), (args.ppoll / 2, "drop")],
        }
        self.faults: Counter[str] = Counter()

    def handle(self, token: str, method: str, params: JSON) -> tuple[int, JSON] | None:
        with self._draw_lock:
            draw = self._random.random()
        for probability, fault in self._table.get(method, []):
            if draw >= probability:
                draw -= probability
                continue
            self.faults[f"{method} {fault}"] += 1
            if fault == "429":
                self.fail(method, 429, retry_after=1)
            elif fault == "drop":
                self.drop(method)
            elif fault == "lost answer":
                self.lose_answer(method)
            else:
                self.fail(method, int(fault))
            break
        return super().handle(token, method, params)


def rss_mb(pid: int) -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else 0.0


def start_bot(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    command = [
        sys.executable,
        "-m",
        "psoasbot",
        "telegram",
        "--no-rate-limiter",
        "--per-user-limit",
        "1000",
    ]
    with open(log, "a", encoding="utf-8") as out:
        return subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=out, text=True)


def wait(predicate: Callable[[], object], deadline: float) -> bool:
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=1_000)
    parser.add_argument("--rate", type=float, default=200.0, help="questions a second (200)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--p429", type=float, default=0.02)
    parser.add_argument("--p5xx", type=float, default=0.02)
    parser.add_argument("--pdrop", type=float, default=0.005)
    parser.add_argument("--plost", type=float, default=0.0025)
    parser.add_argument("--ppoll", type=float, default=0.02)
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds in all (600)")
    parser.add_argument(
        "--settle", type=float, default=30.0, help="seconds without a reply that end a run (30)"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"load average before: {os.getloadavg()[0]:.2f}")

    api = SoakAPI(TOKEN, args)
    with tempfile.TemporaryDirectory() as folder, api:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PSOASBOT_")}
        env.update(
            PSOASBOT_TELEGRAM_TOKEN=TOKEN,
            PSOASBOT_TELEGRAM_API_URL=api.base_url,
            PSOASBOT_STATE_DIR=str(Path(folder) / "state"),
            PSOASBOT_CACHE_DIR=str(Path(folder) / "cache"),
            NO_PROXY="127.0.0.1,localhost",
            PYTHONPATH=str(ROOT),
        )
        log = Path(folder) / "bot.log"
        deadline = time.monotonic() + args.timeout
        started = time.monotonic()
        bot = start_bot(env, log)
        processes = [bot]
        memory: list[list[tuple[float, float]]] = [[]]
        if not wait(lambda: api.polled() or bot.poll() is not None, deadline) or bot.poll():
            print(log.read_text())
            return 1

        plan = [
            (1_000_000 + n % args.users, QUESTIONS[rng.randrange(len(QUESTIONS))])
            for n in range(args.questions)
        ]
        rng.shuffle(plan)
        asked: list[JSON] = []
        done_feeding = threading.Event()

        def feed() -> None:
            begin = time.monotonic()
            for n, (chat, question) in enumerate(plan):
                pause = begin + n / args.rate - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                asked.append(api.push_message(text_message(api.private_chat(chat), question)))
            done_feeding.set()

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()

        def answered() -> int:
            return len({m["reply_parameters"]["message_id"] for m in api.sent_messages()})

        kill_at = int(args.questions * rng.uniform(0.3, 0.6))
        killed = False
        last_count, last_progress = -1, time.monotonic()
        while time.monotonic() < deadline:
            memory[-1].append((time.monotonic() - started, rss_mb(bot.pid)))
            count = answered()
            if count != last_count:
                last_count, last_progress = count, time.monotonic()
            elif done_feeding.is_set() and time.monotonic() - last_progress > args.settle:
                print(f"no reply for {args.settle:.0f} s: ending the run")
                break
            if not killed and count >= kill_at:
                bot.send_signal(signal.SIGKILL)
                bot.wait()
                at = time.monotonic() - started
                print(f"SIGKILL after {count} questions answered, at {at:.1f} s")
                killed = True
                bot = start_bot(env, log)
                processes.append(bot)
                memory.append([])
            if done_feeding.is_set() and count >= len(asked):
                break
            if bot.poll() is not None:
                print(f"the bot exited with status {bot.returncode}")
                break
            time.sleep(1.0)
        elapsed = time.monotonic() - started
        time.sleep(2.0)  # a duplicate still on its way would arrive now
        bot.send_signal(signal.SIGTERM)
        try:
            bot.wait(60)
        except subprocess.TimeoutExpired:
            bot.kill()

        sent = api.sent_messages()
        replies = Counter(int(m["reply_parameters"]["message_id"]) for m in sent)
        copies = Counter(
            (m["chat_id"], m["reply_parameters"]["message_id"], m["text"]) for m in sent
        )
        lost = [q for q in asked if q["message_id"] not in replies]
        duplicated = sum(1 for n in copies.values() if n > 1)
        most = max(copies.values(), default=0)
        lines = log.read_text().splitlines()
        errors = sum(1 for line in lines if " ERROR " in line or "Traceback" in line)
        given_up = sum(1 for line in lines if "not sending it again" in line)

    print(
        f"{len(asked)} questions from {args.users} users in {elapsed:.0f} s: lost {len(lost)}, "
        f"answered {len(replies)}; {len(sent)} messages sent, {duplicated} of "
        f"{len(copies)} distinct messages delivered twice (at most {most} copies); "
        f"{given_up} given up after two sends without an answer; {errors} errors logged"
    )
    print("faults injected: " + ", ".join(f"{k} {v}" for k, v in sorted(api.faults.items())))
    for n, samples in enumerate(memory, 1):
        if not samples:
            continue
        tail = [mb for _, mb in samples[len(samples) // 10 :]] or [mb for _, mb in samples]
        print(
            f"process {n}: RSS over {len(samples)} samples: first {samples[0][1]:.0f} MB, "
            f"median {statistics.median(tail):.0f} MB, max {max(mb for _, mb in samples):.0f} MB, "
            f"last {samples[-1][1]:.0f} MB"
        )
    timed_out = time.monotonic() > deadline
    if timed_out:
        print(f"timed out after {args.timeout:.0f} s")
    return 1 if lost or timed_out else 0


if __name__ == "__main__":
    raise SystemExit(main())
