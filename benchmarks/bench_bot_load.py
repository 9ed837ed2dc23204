"""Bot load: the real `psoasbot telegram` process answering 100 chats through a fake Bot API.

The fake Bot API server of the tests (tests/fake_bot_api.py) runs in this process on
127.0.0.1; the bot runs as a user runs it (`python -m psoasbot telegram`, built-in corpus,
long polling) with `--no-rate-limiter`, so that Telegram's 30 messages a second do not
cap it, and a per-user limit that lets each chat ask all its questions. After one warm-up
question, 100 private chats ask 10 questions each (1,000 in all, drawn from a fixed list
of plain-language questions). By default each chat asks its next question as soon as its
reply arrives, so 100 questions are always waiting: latency is what a person sees while
the bot is saturated. With --burst all 1,000 are queued at once and the bot takes up to
100 per getUpdates: latency is then mostly time spent in the queue.

Throughput is replies over the time from the first question handed out by getUpdates to
the last reply; latency runs from the getUpdates answer that delivered a question to the
sendMessage that replies to it (matched by chat and reply_to message id). Memory is the
bot process's resident set (/proc/PID/status): "steady" is the median of samples taken
after the first tenth of the replies, "peak" is VmHWM. The target: >= 300 replies/s
(10 times what Telegram allows a bot), no reply lost, memory <= 150 MB. Each run stops by
itself: after --timeout seconds it reports what it has and the script exits with status 1,
as it does when a reply is lost or the bot logs an error.

    .venv/bin/python benchmarks/bench_bot_load.py [--runs 3] [--burst] [--timeout 120]

The bot talks to the Bot API through its aiohttp transport. `--transport httpx` runs it on
python-telegram-bot's own HTTPXRequest instead (same pool sizes, or --httpx-pool N), and
`--transport both` alternates the two, run by run (--runs pairs: the machine's load
drifts), then prints each one's medians and their ratio. `--compare-semantic` (with the
[semantic] extra installed) alternates the same way the bot matching by words only
(`--no-semantic`) and by meaning too.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from fake_bot_api import JSON, FakeBotAPI, text_message  # noqa: E402

TOKEN = "123456789:AAHbenchTokenForLoad_0123456789abcdef"
WARM_UP_CHAT = 999_999
TARGET_RATE = 300.0
TARGET_MB = 150.0

# Plain-language questions, as people type them (none is from tests/data/dev.jsonl); a few
# are off topic or describe warning signs, as real traffic does.
QUESTIONS = (
    "why is my psoas so tight",
    "what does the psoas muscle actually do?",
    "my hip flexors ache after a long drive, is that the psoas?",
    "best stretch for a tight psoas?",
    "Can a tight psoas cause pain in the front of my hip when I walk?",
    "is it bad to stretch my psoas every day",
    "why does my lower back hurt when I lie flat on my back",
    "how do i release my psoas at home",
    "does sitting at a desk all day shorten the hip flexors",
    "what is the difference between the psoas and the iliacus",
    "Can a tight psoas make one leg feel shorter than the other?",
    "how can i tell if my psoas is tight or weak",
    "I run a lot and the front of my hip hurts, what can I do?",
    "does yoga help the psoas",
    "What is constructive rest?",
    "is pandiculation the same as stretching?",
    "why do I feel emotional after hip opening stretches",
    "can breathing exercises relax the psoas",
    "my back clicks when I lift my leg, is that my psoas?",
    "how long until a tight psoas loosens up",
    "Should I foam roll my psoas?",
    "is the psoas connected to the diaphragm",
    "what muscles work with the psoas",
    "can stress make my hips tight",
    "is a tight psoas why my belly sticks out",
    "which exercises strengthen a weak psoas",
    "Is it normal for the psoas stretch to hurt?",
    "can cycling make my hip flexors tight",
    "what posture is best for the psoas when standing",
    "does a tight psoas cause sciatica",
    "How do I stretch my hip flexors without hurting my knees?",
    "can pregnancy affect the psoas",
    "why does my groin hurt after sitting cross legged",
    "are lunges good for a tight psoas",
    "what is somatic movement",
    "how should I sleep if my psoas is tight",
    "Is walking good for the psoas?",
    "can a tight psoas cause hip pain at night",
    "why do my hips feel stiff every morning",
    "what happens if the psoas is too weak",
    "where would I feel psoas pain",
    "does the psoas attach to the spine",
    "how to relax the psoas before bed",
    "Can my psoas cause pain in my stomach area?",
    "do dancers have tight psoas muscles",
    "what is the best way to loosen tight hips",
    "is it my psoas or my hamstrings that are tight",
    "how many minutes should I spend in constructive rest",
    "can I stretch my psoas while pregnant",
    "what shoes are best for running a marathon",
    "what time does the pharmacy close on sunday",
    "my back hurts and I can't feel my legs since this morning",
)


@dataclass
class Question:
    chat_id: int
    message_id: int
    handed_out: float | None = None
    replied: float | None = None
    answered: bool = False


@dataclass
class Run:
    questions: dict[tuple[int, int], Question] = field(default_factory=dict)
    started: float = 0.0
    batches: list[int] = field(default_factory=list)  # questions per getUpdates answer
    rss_samples: list[tuple[int, float]] = field(default_factory=list)  # (replies, MB)
    peak_mb: float = 0.0
    idle_mb: float = 0.0
    bot_cpu: float = 0.0
    bot_system_cpu: float = 0.0
    server_cpu: float = 0.0
    log_errors: list[str] = field(default_factory=list)
    updates_logged: int = 0
    timed_out: bool = False
    exit_status: int | None = None

    def replies(self) -> list[Question]:
        return [q for q in self.questions.values() if q.replied is not None]

    def rate(self) -> float:
        replies = self.replies()
        handed = [q.handed_out for q in self.questions.values() if q.handed_out is not None]
        if not replies or not handed:
            return 0.0
        last = max(q.replied for q in replies if q.replied is not None)
        return len(replies) / max(last - min(handed), 1e-9)

    def latencies_ms(self) -> list[float]:
        return sorted(
            (q.replied - q.handed_out) * 1000
            for q in self.questions.values()
            if q.replied is not None and q.handed_out is not None
        )

    def steady_mb(self) -> float:
        after = len(self.questions) // 10
        samples = [mb for replies, mb in self.rss_samples if replies >= after]
        return statistics.median(samples) if samples else 0.0


class LoadAPI(FakeBotAPI):
    """The fake Bot API, timing each question from getUpdates to the sendMessage replying."""

    def __init__(self, token: str, plan: dict[int, list[str]], closed_loop: bool) -> None:
        super().__init__(token)
        self.run = Run()
        self._plan = {chat: list(texts) for chat, texts in plan.items()}
        self._closed_loop = closed_loop
        self.replied = 0
        self.answered = 0

    def ask(self, chat_id: int) -> None:
        """Queue the next question of a chat (while the measurement runs)."""
        text = self._plan[chat_id].pop(0)
        with self._lock:  # so that no getUpdates hands the question out before it is known
            message = self.push_message(text_message(self.private_chat(chat_id), text))
            self.run.questions[chat_id, message["message_id"]] = Question(
                chat_id, message["message_id"]
            )

    def _api_getUpdates(self, params: JSON) -> list[JSON]:
        updates = super()._api_getUpdates(params)
        now = time.perf_counter()
        with self._lock:
            fresh = 0
            for update in updates:
                message = update.get("message") or {}
                key = (int(message.get("chat", {}).get("id", 0)), int(message.get("message_id", 0)))
                question = self.run.questions.get(key)
                if question is not None and question.handed_out is None:
                    question.handed_out = now
                    fresh += 1
            if fresh:
                self.run.batches.append(fresh)
        return updates

    def _api_sendMessage(self, params: JSON) -> JSON:
        result = super()._api_sendMessage(params)
        now = time.perf_counter()
        reply_to = int((params.get("reply_parameters") or {}).get("message_id", 0))
        key = (int(params["chat_id"]), reply_to)
        with self._lock:
            question = self.run.questions.get(key)
            if question is None or question.replied is not None:
                return result  # the warm-up, or the second part of a long answer
            question.replied = now
            # A reply quotes passages or says there are none, and always ends with the
            # disclaimer; "slow down" and the apology for an error do not.
            question.answered = "Disclaimer:" in str(result["text"])
            self.replied += 1
            self.answered += question.answered
            if self._closed_loop and self._plan[question.chat_id]:
                self.ask(question.chat_id)
        return result


def rss_mb(pid: int, field_name: str = "VmRSS") -> float:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0.0
    match = re.search(rf"^{field_name}:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else 0.0


def cpu_seconds(pid: int) -> tuple[float, float]:
    """The user and system CPU time a process has used."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


def plan_questions(chats: int, per_chat: int) -> dict[int, list[str]]:
    """Give each chat its questions: a fixed sequence through the list, a different start each."""
    plan = {}
    for n in range(chats):
        plan[1000 + n] = [QUESTIONS[(n * 7 + i) % len(QUESTIONS)] for i in range(per_chat)]
    return plan


# Runs `psoasbot telegram` with python-telegram-bot's HTTPXRequest as the transport:
# app.make_request is where the bot chooses it.
HTTPX_BOT = """\
import sys
from telegram.request import HTTPXRequest
from psoasbot.cli import main
from psoasbot.telegram_bot import app
pool = int(sys.argv.pop(1))
app.make_request = lambda size: HTTPXRequest(connection_pool_size=pool or size)
raise SystemExit(main(sys.argv[1:]))
"""


def bot_command(per_chat: int, extra: list[str], transport: str, httpx_pool: int) -> list[str]:
    limit = str(max(1, per_chat))  # every chat may ask all its questions within the minute
    options = ["--no-rate-limiter", "--per-user-limit", limit, *extra]
    if transport == "httpx":
        return [sys.executable, "-c", HTTPX_BOT, str(httpx_pool), "telegram", *options]
    return [sys.executable, "-m", "psoasbot", "telegram", *options]


def wait(predicate: Callable[[], object], deadline: float, step: float = 0.01) -> bool:
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(step)
    return True


def start_profiler(path: str | None, pid: int) -> subprocess.Popen[bytes] | None:
    """Sample the bot with py-spy (pip install py-spy) into `path`, as collapsed stacks."""
    if not path:
        return None
    py_spy = Path(sys.executable).with_name("py-spy")
    command = [
        str(py_spy),
        "record",
        "--pid",
        str(pid),
        "--rate",
        "250",
        "--format",
        "raw",
        "--nonblocking",
    ]
    profiler = subprocess.Popen([*command, "--threads", "--idle", "-o", path])
    time.sleep(1.0)  # let it attach
    return profiler


def one_run(
    args: argparse.Namespace, log_path: Path, transport: str, extra: list[str] | None = None
) -> Run:
    plan = plan_questions(args.chats, args.per_chat)
    api = LoadAPI(TOKEN, plan, closed_loop=not args.burst)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PSOASBOT_")}
    env.update(
        PSOASBOT_TELEGRAM_TOKEN=TOKEN,
        PSOASBOT_TELEGRAM_API_URL=api.base_url,
        NO_PROXY="127.0.0.1,localhost",
        PYTHONPATH=str(ROOT),
        # A journal of its own for each run: the fake Bot API numbers updates from 1 again.
        PSOASBOT_STATE_DIR=str(log_path.with_suffix(".state")),
    )
    deadline = time.monotonic() + args.timeout
    run = api.run
    with api, open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(
            bot_command(args.per_chat, args.bot_args + (extra or []), transport, args.httpx_pool),
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=log,
            text=True,
        )
        try:
            if not wait(lambda: api.polled() or process.poll() is not None, deadline):
                run.timed_out = True
                return run
            if process.poll() is not None:
                raise SystemExit(f"the bot exited at start-up:\n{log_path.read_text()}")
            api.push_message(text_message(api.private_chat(WARM_UP_CHAT), QUESTIONS[0]))
            if not wait(lambda: api.sent_messages(), deadline):
                run.timed_out = True
                return run
            run.idle_mb = rss_mb(process.pid)
            bot_cpu = cpu_seconds(process.pid)
            server_cpu = time.process_time()
            profiler = start_profiler(args.py_spy, process.pid)
            run.started = time.perf_counter()
            if args.burst:
                for _ in range(args.per_chat):  # round by round, as people would write
                    for chat in plan:
                        api.ask(chat)
            else:
                for chat in plan:
                    api.ask(chat)
            total = args.chats * args.per_chat
            while api.replied < total and time.monotonic() < deadline:
                run.rss_samples.append((api.replied, rss_mb(process.pid)))
                time.sleep(0.02)
            run.timed_out = api.replied < total
            user, system = cpu_seconds(process.pid)
            run.bot_cpu = user + system - sum(bot_cpu)
            run.bot_system_cpu = system - bot_cpu[1]
            run.server_cpu = time.process_time() - server_cpu
            run.rss_samples.append((api.replied, rss_mb(process.pid)))
            run.peak_mb = rss_mb(process.pid, "VmHWM")
            if profiler is not None:
                profiler.send_signal(signal.SIGINT)
                profiler.wait(timeout=60)
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                run.exit_status = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    log_text = log_path.read_text(encoding="utf-8", errors="replace")
    run.log_errors = [
        line for line in log_text.splitlines() if " ERROR " in line or " CRITICAL " in line
    ]
    run.updates_logged = len(re.findall(r" update=\d+ ", log_text))
    return run


def summary(
    replies: int, total: int, rate: float, p50: float, p99: float, mb: tuple[float, float]
) -> str:
    return (
        f"{replies}/{total} replies, {rate:.0f} replies/s, latency p50 {p50:.0f} ms "
        f"p99 {p99:.0f} ms, RSS steady {mb[0]:.0f} MB peak {mb[1]:.0f} MB"
    )


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile of sorted values."""
    if not values:
        return float("nan")
    return values[max(0, math.ceil(q * len(values)) - 1)]


# replies, replies/s, latency p50 and p99 (ms), RSS steady and peak (MB)
Row = tuple[float, float, float, float, float, float]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs, each with a fresh bot")
    parser.add_argument("--chats", type=int, default=100, help="private chats (default 100)")
    parser.add_argument("--per-chat", type=int, default=10, help="questions per chat (10)")
    parser.add_argument("--burst", action="store_true", help="queue every question at once")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per run (120)")
    parser.add_argument(
        "--py-spy", metavar="PATH", help="profile the bot's load phase into PATH (collapsed)"
    )
    parser.add_argument(
        "--transport",
        choices=("aiohttp", "httpx", "both"),
        default="aiohttp",
        help="the bot's HTTP transport: its own (aiohttp), PTB's httpx, or both in turn",
    )
    parser.add_argument(
        "--httpx-pool",
        type=int,
        default=0,
        metavar="N",
        help="httpx: connections per pool (default: the bot's own sizes, 64 and 1)",
    )
    parser.add_argument(
        "--compare-semantic",
        action="store_true",
        help="alternate the bot with --no-semantic and without (needs the [semantic] extra)",
    )
    parser.add_argument(
        "--bot-args", nargs=argparse.REMAINDER, default=[], help="more options for the bot"
    )
    args = parser.parse_args()
    total = args.chats * args.per_chat
    mode = "burst: all queued at once" if args.burst else "each chat asks again on its reply"
    print(
        f"{total} questions from {args.chats} chats ({mode}); load average "
        f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs"
    )
    # Each variant: its transport and the bot's options of its own.
    variants: dict[str, tuple[str, list[str]]] = {t: (t, []) for t in ("aiohttp", "httpx")}
    if args.transport != "both":
        variants = {args.transport: (args.transport, [])}
    if args.compare_semantic:
        if args.transport == "both":
            parser.error("--compare-semantic takes one --transport")
        variants = {
            "words only": (args.transport, ["--no-semantic"]),
            "semantic": (args.transport, []),
        }
    transports = list(variants)
    failed = False
    rows: dict[str, list[Row]] = {transport: [] for transport in transports}
    with tempfile.TemporaryDirectory() as folder:
        for n in range(1, args.runs + 1):
            # Each pair in turn starts with the other variant, so neither always runs
            # first on a machine whose load drifts.
            for name in transports if n % 2 else transports[::-1]:
                label = f"run {n}" + (f" {name}" if len(transports) > 1 else "")
                log_path = Path(folder) / f"bot-{name.replace(' ', '-')}-{n}.log"
                transport, extra = variants[name]
                run = one_run(args, log_path, transport, extra)
                row, ok = report_run(run, total, label, args)
                rows[name].append(row)
                failed = failed or not ok
    medians = {}
    for transport, table in rows.items():
        medians[transport] = m = [statistics.median(column) for column in zip(*table, strict=True)]
        label = f"median of {len(table)}" + (f" {transport}" if len(transports) > 1 else "")
        print(f"{label}: {summary(round(m[0]), total, m[1], m[2], m[3], (m[4], m[5]))}")
    if len(transports) > 1:
        first, second = transports
        fast, slow = medians[first], medians[second]
        pairs = [a[1] / h[1] for a, h in zip(rows[first], rows[second], strict=True)]
        print(
            f"{first} / {second}: replies/s {fast[1] / slow[1]:.2f}x (median of pair ratios "
            f"{statistics.median(pairs):.2f}x, {min(pairs):.2f}-{max(pairs):.2f}); latency "
            f"p50 {fast[2] / slow[2]:.2f}x, p99 {fast[3] / slow[3]:.2f}x; RSS steady "
            f"{slow[4] - fast[4]:+.0f} MB, peak {slow[5] - fast[5]:+.0f} MB"
        )
    shipped = medians[transports[0]]
    met = shipped[1] >= TARGET_RATE and shipped[5] <= TARGET_MB and not failed
    print(
        f"target >= {TARGET_RATE:.0f} replies/s, no reply lost, <= {TARGET_MB:.0f} MB "
        f"({transports[0]}): " + ("met" if met else "NOT met")
    )
    return 1 if failed else 0


def report_run(run: Run, total: int, label: str, args: argparse.Namespace) -> tuple[Row, bool]:
    """Print a run's figures and problems; return its row and whether it had none."""
    latencies = run.latencies_ms()
    replies = run.replies()
    lost = total - len(replies)
    wrong = sum(not q.answered for q in replies)
    row = (
        float(len(replies)),
        run.rate(),
        percentile(latencies, 0.50),
        percentile(latencies, 0.99),
        run.steady_mb(),
        run.peak_mb,
    )
    print(f"{label}: {summary(len(replies), total, row[1], row[2], row[3], (row[4], row[5]))}")
    print(
        f"       idle after warm-up {run.idle_mb:.0f} MB; max latency "
        f"{max(latencies, default=0):.0f} ms; CPU bot {run.bot_cpu:.2f} s "
        f"({run.bot_cpu / max(len(replies), 1) * 1000:.2f} ms/reply, "
        f"{run.bot_system_cpu / max(run.bot_cpu, 1e-9):.0%} system), fake server "
        f"{run.server_cpu:.2f} s; {run.updates_logged - 1} updates logged; "
        f"{len(run.batches)} getUpdates batches of "
        f"{statistics.mean(run.batches or [0]):.1f} questions on average; load "
        f"average {os.getloadavg()[0]:.2f}"
    )
    problems = []
    if run.timed_out:
        problems.append(f"timed out after {args.timeout:.0f} s")
    if lost:
        problems.append(f"{lost} replies lost")
    if wrong:
        problems.append(f"{wrong} replies without an answer")
    if run.log_errors:
        problems.append(f"{len(run.log_errors)} errors logged: {run.log_errors[0]}")
    if run.exit_status != 0:
        problems.append(f"the bot exited with status {run.exit_status}")
    if problems:
        print("       FAILED: " + "; ".join(problems))
    return row, not problems


if __name__ == "__main__":
    raise SystemExit(main())
