"""gitsync benchmark: full, incremental and no-op syncs of a synthetic workspace.

A loopback Workspace API server (tests/gitsync/gitsync_wsserver.py, in its own process)
serves a workspace in the seed's shape, /Clients/{year}/{engagement}/NOTEBOOKS/*, with
the published per-endpoint rate limits (list 50/s, export 60/s, times --rate-multiplier)
and a fixed per-request latency. For each scenario it prints:

- wall: the ``python -m gitsync run`` process, start to exit (imports, git, push included);
- floor: the rate-limit floor, max(list requests / list rate, export requests / export
  rate). list and export are separate per-endpoint buckets and gitsync runs the walk and
  the exports concurrently, so they overlap: the floor is the busier endpoint, not the
  sum (the sum is printed too). Requests counted are the logical ones (retries left out,
  so a retry storm cannot flatter the ratio);
- ratio: wall / floor (the target is <= 1.2);
- per export mode (``--modes``, default ``per-notebook,auto``: today's gitsync and the
  folder export, each on its own remote, against the same workspace): the
  per-notebook floor max(list requests / list rate, objects to export / export rate),
  what one export per object cannot go below; wall / that floor; and wall / the wall
  of the per-notebook mode in the same scenario ("vs today");
- peak RSS of the gitsync process (VmHWM), and of the largest process in its tree
  (git fast-import, pack-objects... included);
- the baseline: the legacy databricks-cli (0.18) ``workspace export_dir`` into a fresh
  folder, then ``git add -A && git commit``, against a second server instance with the
  same shape, rates and latency. The legacy CLI keeps only scheme and host of
  DATABRICKS_HOST (it drops the port), so that server listens on 127.0.0.2:80.

After every gitsync scenario the branch is checked against the server's own list of
what the mirror must hold (path -> git blob sha), file for file.
``--scenarios`` picks which of full, incremental, no-op run (``none``: only the storms).

``--storm 0.1,0.5`` adds a full sync under each 429 storm, for each mode of ``--modes``,
each against a fresh server, remote and cache. gitsync is configured with the published
rates, as a user would; the storm takes a share of them away:

- ``--storm-mode rate`` (default), what a workspace sends: its per-endpoint limiter
  grants gitsync only (1 - share) x the published rate (other tools use the rest of the
  budget) and answers 429 to every request above that, ``Retry-After: 1``. The floor is
  then the logical requests over the *granted* rate;
- ``--storm-mode random``: the server keeps the published rate but answers 429 to a
  random share of the requests it lets through (a flaky gateway). Slowing down cannot
  help there; the floor is the logical requests over (1 - share) x the rate.

The storm table prints wall/floor and in-run/floor against that floor, the 429s seen
and where gitsync's adaptive export rate went (lowest, final), with the export-mode
columns above (the per-notebook floor at the granted rate; "vs today" against the
per-notebook mode under the same storm). ``--gitsync-root DIR`` runs another checkout's
gitsync (an earlier version, for a before/after comparison); a version without
``--export-mode`` runs only the ``per-notebook`` mode, which is all it has.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "tests" / "gitsync" / "gitsync_wsserver.py"
TOKEN = "dapi-bench-token"
LIST_RATE, EXPORT_RATE = 50.0, 60.0
SCENARIOS = ("full", "incremental", "no-op")


@dataclass
class Result:
    name: str
    mode: str
    wall: float
    floor: float
    floor_sum: float
    in_run: float
    list_requests: int
    export_requests: int
    retries: int
    rss_mb: float
    git_rss_mb: float
    commits: int
    verified: str
    counts: dict[str, int]
    objects: int  # objects the run had to export: one request each per notebook
    folder_requests: int
    checks: int  # sample checks: per-notebook exports compared with the archive
    fallbacks: int  # folders that went one by one
    pn_floor: float  # max(list / list rate, objects / export rate)
    throttled: int = 0  # 429 answers, all endpoints
    export_rate_lowest: float = 0.0  # gitsync's adaptive export rate, lowest and at the end
    export_rate_final: float = 0.0


class Server:
    def __init__(
        self,
        args: argparse.Namespace,
        notebooks: int,
        host: str,
        port: int,
        extra: list[str],
        granted: float = 1.0,
    ) -> None:
        cmd = [
            sys.executable,
            str(SERVER),
            "--host",
            host,
            "--port",
            str(port),
            "--token",
            TOKEN,
            "--synthetic",
            str(notebooks),
            "--seed",
            str(args.seed),
            "--list-rate",
            str(LIST_RATE * args.rate_multiplier * granted),
            "--export-rate",
            str(EXPORT_RATE * args.rate_multiplier * granted),
            "--status-rate",
            str(LIST_RATE * args.rate_multiplier * granted),
            "--latency-ms",
            str(args.latency_ms),
            *extra,
        ]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise SystemExit(f"server did not start: {cmd}")
        self.url = line[1]

    def ctl(self, path: str) -> object:
        with urllib.request.urlopen(f"{self.url}/_ctl/{path}", timeout=600) as resp:
            return json.loads(resp.read())

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait()


def _vm_hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(x) for x in text.split()]


def run_gitsync(
    args: argparse.Namespace,
    server: Server,
    remote: Path,
    cache: Path,
    name: str,
    tmp: Path,
    mode: str,
    granted: float = 1.0,
) -> Result:
    """One ``python -m gitsync run``; the floors are at ``granted`` x the configured rates."""
    report = tmp / f"report-{_slug(name)}-{_slug(mode)}.json"
    root = args.gitsync_root or ROOT
    env = dict(os.environ)
    env.update(
        DATABRICKS_HOST=server.url,
        DATABRICKS_TOKEN=TOKEN,
        GITSYNC_CACHE_DIR=str(cache),
        PYTHONPATH=str(root),
    )
    for k in list(env):
        if k.startswith(("DATABRICKS_CONFIG", "DATABRICKS_CLIENT")):
            env.pop(k)
    cmd = [
        sys.executable,
        "-m",
        "gitsync",
        "run",
        "--source",
        "/Clients",
        "--repo",
        str(remote),
        "--list-rate",
        str(LIST_RATE * args.rate_multiplier),
        "--export-rate",
        str(EXPORT_RATE * args.rate_multiplier),
        "--report",
        str(report),
        "--progress",
        "never",
        # A gitsync without --export-mode exports per notebook (main() checks the mode).
        *(["--export-mode", mode.split(":")[0]] if args.has_export_mode else []),
        # "auto:3": auto with --folder-threshold 3 (to tune the threshold).
        *(["--folder-threshold", mode.split(":")[1]] if ":" in mode else []),
        *args.gitsync_args,
    ]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=root, env=env)
    peak = {"py": 0, "git": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(0.2):
            peak["py"] = max(peak["py"], _vm_hwm_kb(proc.pid))
            for child in _children(proc.pid):
                peak["git"] = max(peak["git"], _vm_hwm_kb(child))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, status, rusage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    stop.set()
    sampler.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode not in (0, 3):
        raise SystemExit(f"gitsync {name} exited {proc.returncode}")
    rep = json.loads(report.read_text())
    req = rep["requests"]
    lst = req["list"]["requests"] - req["list"]["retries"]
    exp = req["export"]["requests"] - req["export"]["retries"]
    lr = LIST_RATE * args.rate_multiplier * granted
    er = EXPORT_RATE * args.rate_multiplier * granted
    floor = max(lst / lr, exp / er)
    verified = verify(server, remote)
    modes = rep.get("export_modes") or {}
    objects = int(modes.get("objects", exp))
    return Result(
        name=name,
        mode=mode,
        wall=wall,
        floor=floor,
        floor_sum=lst / lr + exp / er,
        in_run=float(rep["durations"]["total"]),
        list_requests=lst,
        export_requests=exp,
        retries=sum(int(v["retries"]) for v in req.values()),
        rss_mb=max(peak["py"], 0) / 1024,
        # ru_maxrss of wait4 is the largest of the process and its reaped children (git).
        git_rss_mb=max(peak["git"], rusage.ru_maxrss) / 1024,
        commits=rep["commits"],
        verified=verified,
        counts=rep["counts"],
        objects=objects,
        folder_requests=int(modes.get("folder_requests", 0)),
        checks=int(modes.get("verify_requests", 0)),
        fallbacks=sum(int(v) for v in (modes.get("fallback_folders") or {}).values()),
        pn_floor=max(lst / lr, objects / er),
        throttled=sum(int(v.get("throttled", 0)) for v in req.values()),
        # Reports of versions before the adaptive rate have no such field.
        export_rate_lowest=float(req["export"].get("rate_lowest", er / granted)),
        export_rate_final=float(req["export"].get("rate_final", er / granted)),
    )


def _slug(text: str) -> str:
    """A mode or scenario name as part of a file name: auto:3 -> auto-t3, storm 0.1 -> storm-0.1."""
    return text.replace(":", "-t").replace(" ", "-")


def verify(server: Server, remote: Path) -> str:
    expected = server.ctl("expected?source=/Clients")
    assert isinstance(expected, dict)
    out = subprocess.run(
        ["git", "ls-tree", "-r", "-z", "--full-tree", "main"],
        cwd=remote,
        capture_output=True,
        check=True,
    ).stdout
    got: dict[str, str] = {}
    for rec in out.split(b"\0"):
        if rec:
            meta, _, path = rec.partition(b"\t")
            p = path.decode()
            if not p.startswith(".gitsync/"):
                got[p] = meta.split(b" ")[2].decode()
    if got == expected:
        return f"tree == workspace ({len(got)} files)"
    extra = len(set(got) - set(expected))
    missing = len(set(expected) - set(got))
    differ = sum(1 for p in set(got) & set(expected) if got[p] != expected[p])
    return f"MISMATCH: {extra} extra, {missing} missing, {differ} differ"


def find_legacy_cli(explicit: str | None) -> str | None:
    candidates = (
        [explicit] if explicit else [shutil.which("databricks"), "/tmp/legacycli/bin/databricks"]
    )
    for c in candidates:
        if not c or not Path(c).exists():
            continue
        out = subprocess.run([c, "--version"], capture_output=True, text=True, check=False)
        if "0.18" in out.stdout + out.stderr or "0.17" in out.stdout + out.stderr:
            return c
    return None


def run_baseline(args: argparse.Namespace, cli: str, tmp: Path) -> dict[str, float]:
    """The user's script today: export_dir into a fresh folder, then git add -A and commit."""
    # No too-large notebooks here: the legacy CLI aborts the whole export_dir on the first
    # export error, which would end the baseline rather than slow it.
    host = args.baseline_host
    try:
        server = Server(args, args.baseline_notebooks, host, 80, ["--oversize-every", "0"])
    except SystemExit:
        print(f"  baseline skipped: cannot listen on {host}:80, which the legacy CLI needs")
        print("  (it drops the port from DATABRICKS_HOST): run the bench as root")
        return {}
    env = dict(os.environ, DATABRICKS_HOST=f"http://{host}", DATABRICKS_TOKEN=TOKEN, HOME=str(tmp))
    repo = tmp / "baseline"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=repo, check=True)
    times: dict[str, float] = {}
    try:
        for name in ("full", "incremental", "no-op"):
            if name == "incremental":
                server.ctl(f"mutate?fraction={args.changed}&seed=2")
            for child in repo.iterdir():
                if child.name != ".git":
                    shutil.rmtree(child)
            t0 = time.monotonic()
            subprocess.run(
                [cli, "workspace", "export_dir", "-o", "/Clients", str(repo / "Clients")],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
            )
            subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
            subprocess.run(
                ["git", "-c", "user.name=b", "-c", "user.email=b@b", "commit", "-q", "-m", name],
                cwd=repo,
                check=False,  # the no-op day has nothing to commit
                stdout=subprocess.DEVNULL,
            )
            times[name] = time.monotonic() - t0
            print(f"  baseline {name}: {times[name]:.1f}s", flush=True)
    finally:
        server.stop()
    return times


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f}/{five:.2f} (1/5 min) on {os.cpu_count()} cores"


def _baseline_from_file(args: argparse.Namespace) -> tuple[dict[str, float], int, str]:
    """Baseline times measured by an earlier ``--no-gitsync --baseline-out`` run."""
    data = json.loads(Path(args.baseline_in).read_text())
    for key, want in (("latency_ms", args.latency_ms), ("rate_multiplier", args.rate_multiplier)):
        if float(data[key]) != float(want):
            raise SystemExit(f"{args.baseline_in}: {key} {data[key]} != {want} of this run")
    return dict(data["seconds"]), int(data["notebooks"]), str(data["command"])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="gitsync benchmark (see module docstring)")
    ap.add_argument("--notebooks", type=int, default=70_000)
    ap.add_argument(
        "--rate-multiplier", type=float, default=1.0, help="scales both published limits"
    )
    ap.add_argument("--latency-ms", type=float, default=100.0, help="per-request service latency")
    ap.add_argument("--changed", type=float, default=0.05, help="fraction touched for incremental")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--baseline", choices=("legacy-cli", "off"), default="legacy-cli")
    ap.add_argument("--baseline-notebooks", type=int, help="default: --notebooks")
    ap.add_argument("--legacy-cli", help="path of the legacy `databricks` (databricks-cli 0.18)")
    ap.add_argument(
        "--baseline-host",
        default="127.0.0.2",
        help="loopback address the baseline's server listens on, port 80 (default 127.0.0.2)",
    )
    ap.add_argument("--baseline-out", type=Path, help="save the measured baseline times (JSON)")
    ap.add_argument(
        "--baseline-in",
        type=Path,
        help="use baseline times measured earlier (--baseline-out) instead of measuring",
    )
    ap.add_argument("--no-gitsync", action="store_true", help="measure only the baseline")
    ap.add_argument("--workdir", type=Path, help="keep repositories and reports here")
    ap.add_argument(
        "--modes",
        default="per-notebook,auto",
        help="gitsync --export-mode values to run, comma-separated, each on its own remote "
        "(default per-notebook,auto: today's gitsync and folder export); auto:N is auto "
        "with --folder-threshold N. Every scenario and every --storm runs once per mode",
    )
    ap.add_argument(
        "--scenarios",
        default="full,incremental,no-op",
        help="comma-separated scenarios to run, in this order whatever the order given "
        "(default full,incremental,no-op), or 'none' (e.g. to run only --storm)",
    )
    ap.add_argument(
        "--storm",
        default="",
        help="comma-separated 429 storm shares, e.g. 0.1,0.5: after the scenarios, one full "
        "sync under each, for each mode of --modes, each on a fresh server, remote and cache "
        "(--modes per-notebook for the export-heavy case alone)",
    )
    ap.add_argument(
        "--storm-mode",
        choices=("rate", "random"),
        default="rate",
        help="rate: the server grants (1 - share) of the rate and answers 429 above it "
        "(default); random: a random share of requests is answered 429",
    )
    ap.add_argument(
        "--gitsync-root",
        type=Path,
        help="run the gitsync of this checkout (default: this one); one without "
        "--export-mode runs only --modes per-notebook",
    )
    ap.add_argument("gitsync_args", nargs="*", help="extra arguments for gitsync run (after --)")
    args = ap.parse_args(argv)
    args.baseline_notebooks = args.baseline_notebooks or args.notebooks
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    if not modes:
        ap.error("--modes: at least one mode")
    for m in modes:
        base, _, threshold = m.partition(":")
        if base not in ("per-notebook", "folder", "auto") or (":" in m and not threshold):
            ap.error(f"--modes: unknown mode {m!r} (per-notebook, folder, auto, auto:N)")
    scenarios = [] if args.scenarios == "none" else [s.strip() for s in args.scenarios.split(",")]
    unknown = [s for s in scenarios if s not in SCENARIOS]
    if unknown:
        ap.error(f"--scenarios: unknown {unknown} (full, incremental, no-op, or none)")
    try:
        storm_shares = [(t.strip(), float(t)) for t in args.storm.split(",") if t.strip()]
    except ValueError:
        ap.error(f"--storm: not a list of numbers: {args.storm!r}")
    if any(not 0 <= share < 1 for _, share in storm_shares):
        ap.error("--storm: shares must be in [0, 1)")
    cli_py = (args.gitsync_root or ROOT) / "gitsync" / "cli.py"
    args.has_export_mode = "--export-mode" in cli_py.read_text()
    if not args.no_gitsync and not args.has_export_mode and modes != ["per-notebook"]:
        ap.error(
            f"{cli_py} has no --export-mode: it exports per notebook, use --modes per-notebook"
        )
    command = " ".join(["bench/gitsync_bench.py", *(argv if argv is not None else sys.argv[1:])])

    tmp = args.workdir or Path(tempfile.mkdtemp(prefix="gitsync-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    lr, er = LIST_RATE * args.rate_multiplier, EXPORT_RATE * args.rate_multiplier
    setting = (
        f"notebooks={args.notebooks} rate-multiplier={args.rate_multiplier:g} "
        f"(list {lr:g}/s, export {er:g}/s) latency={args.latency_ms:g}ms changed={args.changed:g}"
    )
    print(f"gitsync bench: {setting}, {_load()}, workdir {tmp}", flush=True)
    results: list[Result] = []
    storms: list[Result] = []
    loads: list[str] = []
    if not args.no_gitsync and scenarios:
        t0 = time.monotonic()
        server = Server(args, args.notebooks, "127.0.0.1", 0, [])
        print(
            f"  server up with the synthetic workspace in {time.monotonic() - t0:.1f}s", flush=True
        )
        remotes = {m: tmp / f"remote-{_slug(m)}.git" for m in modes}
        for remote in remotes.values():
            subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(remote)], check=True)
        try:
            for name in SCENARIOS:
                if name not in scenarios:
                    continue
                if name == "incremental":
                    summary = server.ctl(f"mutate?fraction={args.changed}&seed=2")
                    print(f"  workspace edits for incremental: {summary}", flush=True)
                for mode in modes:
                    cache = tmp / f"cache-{_slug(mode)}"
                    r = run_gitsync(args, server, remotes[mode], cache, name, tmp, mode)
                    loads.append(f"{name} {mode}: {_load()}")
                    print(
                        f"  gitsync {name} {mode}: {r.wall:.1f}s (floor {r.floor:.1f}s, "
                        f"per-notebook floor {r.pn_floor:.1f}s) {r.verified} {r.counts}; "
                        f"{loads[-1]}",
                        flush=True,
                    )
                    results.append(r)
        finally:
            server.stop()
    if not args.no_gitsync:
        storms = run_storms(args, tmp, modes, storm_shares, loads)

    baseline: dict[str, float] = {}
    baseline_n = args.baseline_notebooks
    baseline_source = "measured in this run"
    if args.baseline_in:
        baseline, baseline_n, earlier = _baseline_from_file(args)
        baseline_source = f"measured by an earlier run: {earlier}"
    elif args.baseline == "legacy-cli" and not scenarios and not args.no_gitsync:
        print("  baseline skipped: no --scenarios to compare it with")
    elif args.baseline == "legacy-cli":
        cli = find_legacy_cli(args.legacy_cli)
        if cli is None:
            print("  baseline skipped: legacy databricks-cli 0.18 not found (--legacy-cli)")
        else:
            print(
                f"  baseline: {cli} workspace export_dir + git add -A + git commit, "
                f"{baseline_n} notebooks, {_load()}",
                flush=True,
            )
            baseline = run_baseline(args, cli, tmp)
            print(f"  baseline done, {_load()}", flush=True)
            if args.baseline_out and baseline:
                args.baseline_out.write_text(
                    json.dumps(
                        {
                            "notebooks": baseline_n,
                            "latency_ms": args.latency_ms,
                            "rate_multiplier": args.rate_multiplier,
                            "seconds": baseline,
                            "command": command,
                        },
                        indent=1,
                    )
                    + "\n"
                )
    if args.no_gitsync:
        for name, secs in baseline.items():
            print(f"baseline {name}: {secs:.1f}s for {baseline_n} notebooks")
        return 0 if baseline else 1
    scale = args.notebooks / baseline_n

    print()
    print(f"$ {command}")
    print(setting)
    if results:
        print_results(results, baseline, scale, baseline_n, baseline_source)
    print(
        "machine load: a shared machine, other workloads may run at the same time; "
        + "; ".join(loads)
    )
    print_storms(args, storms)
    for r in [*results, *storms]:
        if not r.verified.startswith("tree =="):
            print(f"VERIFY FAILED for {r.name} {r.mode}: {r.verified}")
            return 1
    return 0


def print_table(cols: list[str], rows: list[list[str]]) -> None:
    widths = [max([len(c), *(len(row[i]) for row in rows)]) for i, c in enumerate(cols)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) + " |")


def print_results(
    results: list[Result],
    baseline: dict[str, float],
    scale: float,
    baseline_n: int,
    baseline_source: str,
) -> None:
    """The scenarios' table: one row per scenario and mode, with the baseline."""
    print(
        "floor s = max(list requests / list rate, export requests / export rate), logical"
        " requests (retries left out): the two endpoints have separate buckets and gitsync"
        " runs them concurrently; sum-floor s = the two added"
    )
    cols = [
        "scenario",
        "mode",
        "list req",
        "export req",
        "wall s",
        "in-run s",
        "floor s",
        "wall/floor",
        "sum-floor s",
        "objects",
        "folder req",
        "checks",
        "fallback folders",
        "per-nb floor s",
        "wall/per-nb floor",
        "vs today",
        "peak RSS MB",
        "max RSS incl. git MB",
        "commits",
        "baseline s",
        "speed-up",
    ]
    rows: list[list[str]] = []
    mark = "*" if scale != 1 else ""
    today = {r.name: r.wall for r in results if r.mode == "per-notebook"}
    for r in results:
        b = baseline.get(r.name)
        rows.append(
            [
                r.name,
                r.mode,
                str(r.list_requests),
                str(r.export_requests),
                f"{r.wall:.1f}",
                f"{r.in_run:.1f}",
                f"{r.floor:.1f}",
                f"{r.wall / r.floor:.2f}" if r.floor else "-",
                f"{r.floor_sum:.1f}",
                str(r.objects),
                str(r.folder_requests),
                str(r.checks),
                str(r.fallbacks),
                f"{r.pn_floor:.1f}",
                f"{r.wall / r.pn_floor:.2f}" if r.pn_floor else "-",
                f"{r.wall / today[r.name]:.2f}" if r.name in today else "-",
                f"{r.rss_mb:.0f}",
                f"{r.git_rss_mb:.0f}",
                str(r.commits),
                "-" if b is None else f"{b * scale:.1f}{mark}",
                "-" if b is None else f"{b * scale / r.wall:.1f}x{mark}",
            ]
        )
    print_table(cols, rows)
    print(
        "measured in this run: every gitsync column. wall: the gitsync process, start to exit"
        " (includes ~3 s of Python + databricks-sdk import); in-run: the report's total, from"
        " the first request on; RSS: VmHWM of gitsync, and of the largest process of its tree;"
        " per-nb floor: max(list requests / list rate, objects to export / export rate), the"
        " floor of one export per object; vs today: wall / wall of --export-mode per-notebook"
        " in the same scenario of this run"
    )
    if baseline:
        how = f"scaled x{scale:g} from {baseline_n} notebooks" if scale != 1 else "not scaled"
        print(
            f"{mark or 'baseline'}{' ' if mark else ': '}baseline (legacy databricks-cli 0.18"
            f" export_dir + git add -A + commit) {baseline_source}, {how}"
            + (" (it is sequential: time grows linearly with the object count)" if mark else "")
        )


def run_storms(
    args: argparse.Namespace,
    tmp: Path,
    modes: list[str],
    shares: list[tuple[str, float]],
    loads: list[str],
) -> list[Result]:
    """A full sync under each storm share and mode, each with a fresh server, remote, cache."""
    out: list[Result] = []
    rate_mode = args.storm_mode == "rate"
    for text, share in shares:
        granted = 1.0 - share
        extra = [] if rate_mode else ["--random-429", str(share)]
        for mode in modes:
            # A fresh server per run: the first mode's sync must not warm up the second's
            # limiter, and each full sync starts from the same workspace.
            server = Server(
                args, args.notebooks, "127.0.0.1", 0, extra, granted=granted if rate_mode else 1.0
            )
            slug = f"storm-{text}-{_slug(mode)}"
            remote = tmp / f"remote-{slug}.git"
            subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(remote)], check=True)
            try:
                r = run_gitsync(
                    args, server, remote, tmp / f"cache-{slug}", f"storm {text}", tmp, mode, granted
                )
            finally:
                server.stop()
            loads.append(f"storm {text} {mode}: {_load()}")
            print(
                f"  gitsync full {mode} under a {args.storm_mode} storm of {share:g}: "
                f"{r.wall:.1f}s (floor {r.floor:.1f}s at the granted rate, per-notebook floor "
                f"{r.pn_floor:.1f}s) {r.verified}, {r.throttled} x 429; {loads[-1]}",
                flush=True,
            )
            out.append(r)
    return out


def print_storms(args: argparse.Namespace, storms: list[Result]) -> None:
    """The storms' table: one row per storm share and mode."""
    if not storms:
        return
    er = EXPORT_RATE * args.rate_multiplier
    print()
    print(
        f"429 storms ({args.storm_mode}): gitsync configured at list "
        f"{LIST_RATE * args.rate_multiplier:g}/s, export {er:g}/s; "
        + (
            "the server grants (1 - storm) of that and answers 429 above it"
            if args.storm_mode == "rate"
            else "the server answers 429 to a random share (storm) of the requests"
        )
        + "; floor s = logical requests / ((1 - storm) x rate), of the busier endpoint;"
        " per-nb floor s = the same with the objects to export as export requests;"
        " vs today: wall / wall of --export-mode per-notebook under the same storm"
    )
    cols = [
        "storm",
        "mode",
        "list req",
        "export req",
        "429s",
        "wall s",
        "in-run s",
        "floor s",
        "wall/floor",
        "in-run/floor",
        "export rate lowest/final",
        "objects",
        "folder req",
        "checks",
        "fallback folders",
        "per-nb floor s",
        "wall/per-nb floor",
        "vs today",
    ]
    today = {r.name: r.wall for r in storms if r.mode == "per-notebook"}
    rows = [
        [
            r.name.split()[-1],
            r.mode,
            str(r.list_requests),
            str(r.export_requests),
            str(r.throttled),
            f"{r.wall:.1f}",
            f"{r.in_run:.1f}",
            f"{r.floor:.1f}",
            f"{r.wall / r.floor:.2f}" if r.floor else "-",
            f"{r.in_run / r.floor:.2f}" if r.floor else "-",
            f"{r.export_rate_lowest:.1f}/{r.export_rate_final:.1f}",
            str(r.objects),
            str(r.folder_requests),
            str(r.checks),
            str(r.fallbacks),
            f"{r.pn_floor:.1f}",
            f"{r.wall / r.pn_floor:.2f}" if r.pn_floor else "-",
            f"{r.wall / today[r.name]:.2f}" if r.name in today else "-",
        ]
        for r in storms
    ]
    print_table(cols, rows)


if __name__ == "__main__":
    sys.exit(main())
