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


class Server:
    def __init__(
        self, args: argparse.Namespace, notebooks: int, host: str, port: int, extra: list[str]
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
            str(LIST_RATE * args.rate_multiplier),
            "--export-rate",
            str(EXPORT_RATE * args.rate_multiplier),
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
) -> Result:
    report = tmp / f"report-{name}-{mode.replace(':', '-t')}.json"
    env = dict(os.environ)
    env.update(
        DATABRICKS_HOST=server.url,
        DATABRICKS_TOKEN=TOKEN,
        GITSYNC_CACHE_DIR=str(cache),
        PYTHONPATH=str(ROOT),
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
        "--export-mode",
        mode.split(":")[0],
        # "auto:3": auto with --folder-threshold 3 (to tune the threshold).
        *(["--folder-threshold", mode.split(":")[1]] if ":" in mode else []),
        *args.gitsync_args,
    ]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env)
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
    lr, er = LIST_RATE * args.rate_multiplier, EXPORT_RATE * args.rate_multiplier
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
    )


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
        "with --folder-threshold N",
    )
    ap.add_argument("gitsync_args", nargs="*", help="extra arguments for gitsync run (after --)")
    args = ap.parse_args(argv)
    args.baseline_notebooks = args.baseline_notebooks or args.notebooks
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
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
    loads: list[str] = []
    if not args.no_gitsync:
        t0 = time.monotonic()
        server = Server(args, args.notebooks, "127.0.0.1", 0, [])
        print(
            f"  server up with the synthetic workspace in {time.monotonic() - t0:.1f}s", flush=True
        )
        remotes = {m: tmp / f"remote-{m.replace(':', '-t')}.git" for m in modes}
        for remote in remotes.values():
            subprocess.run(["git", "init", "--bare", "-q", "-b", "main", str(remote)], check=True)
        try:
            for name in ("full", "incremental", "no-op"):
                if name == "incremental":
                    summary = server.ctl(f"mutate?fraction={args.changed}&seed=2")
                    print(f"  workspace edits for incremental: {summary}", flush=True)
                for mode in modes:
                    cache = tmp / f"cache-{mode.replace(':', '-t')}"
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

    baseline: dict[str, float] = {}
    baseline_n = args.baseline_notebooks
    baseline_source = "measured in this run"
    if args.baseline_in:
        baseline, baseline_n, earlier = _baseline_from_file(args)
        baseline_source = f"measured by an earlier run: {earlier}"
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
    widths = [max(len(c), *(len(row[i]) for row in rows)) for i, c in enumerate(cols)]
    print("| " + " | ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) + " |")
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
    print(
        "machine load: a shared machine, other workloads may run at the same time; "
        + "; ".join(loads)
    )
    for r in results:
        if not r.verified.startswith("tree =="):
            print(f"VERIFY FAILED for {r.name} {r.mode}: {r.verified}")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
