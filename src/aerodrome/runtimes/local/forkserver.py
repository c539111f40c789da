"""A fork server: one process per environment imports Airflow once, then forks the environment's
components from itself. The code and data those imports made are shared copy-on-write, instead of
each component importing a copy of its own.

Runs as a standalone script under the environment's Airflow venv, as the environment's user
(standard library only until it preloads):

    python forkserver.py --socket PATH --preload MODULE,MODULE...

It imports the modules with Airflow's settings left uninitialized and its plugins unloaded, then
listens on a Unix socket (mode 0600). Each connection carries one JSON request,
{"argv": [...], "env": {...}, "cwd": "..."} with the open log file passed beside it (SCM_RIGHTS, so
the control plane opens it as it would for a process of its own), and gets {"pid": N} or {"error": "..."}.
`argv` is the command the component would otherwise be started with: `.../bin/airflow ARGS` or
`.../bin/python -m MODULE ARGS`. The child starts a session of its own, writes to the log, takes `env`,
and does with it what `import airflow` would have done (settings, providers, plugins) before it
runs the command. So a component's configuration, log level and plugins are its own.

The server reaps its children but does not keep them: the control plane supervises each by its pid,
and a stopped server leaves them running.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import select
import signal
import socket
import sys
import threading
import traceback

MAX_REQUEST = 1 << 20


def preload(modules: list[str]) -> None:
    """Import `modules` without initializing Airflow (a child does that with its own environment)."""
    os.environ["_AIRFLOW__AS_LIBRARY"] = "1"
    os.environ["AIRFLOW__CORE__LAZY_LOAD_PLUGINS"] = "True"
    os.environ["AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS"] = "True"
    for module in modules:
        try:
            __import__(module)
        except Exception as exc:  # noqa: BLE001 - a module that fails here is imported by each child itself
            print(f"fork server: not preloaded {module}: {type(exc).__name__}: {exc}", flush=True)
    if threading.active_count() > 1:
        print(f"fork server: {threading.active_count() - 1} thread(s) started while preloading", flush=True)
    gc.collect()
    gc.freeze()  # the preloaded objects stay out of the children's collections, so their pages stay shared


def entry(argv: list[str]) -> tuple[str, list[str]]:
    """(what to run, its sys.argv) for a component's command line; ValueError for one we cannot fork."""
    if len(argv) >= 3 and argv[1] == "-m":
        return argv[2], [argv[2], *argv[3:]]
    if argv and os.path.basename(argv[0]) == "airflow":
        return "airflow", list(argv)
    raise ValueError(f"not a command the fork server runs: {os.path.basename(argv[0]) if argv else 'nothing'}")


def serve(path: str) -> None:
    if os.path.exists(path):
        os.unlink(path)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    os.chmod(path, 0o600)
    server.listen(16)
    print(f"fork server: ready (pid {os.getpid()})", flush=True)
    while True:
        _reap()
        if not select.select([server], [], [], 1.0)[0]:
            continue
        connection, _ = server.accept()
        with connection:
            connection.settimeout(10)
            fds: list[int] = []
            try:
                raw, fds = _read(connection)
                if len(fds) != 1:
                    raise ValueError("no log file came with the request")
                answer: dict[str, object] = {"pid": _spawn(json.loads(raw), log=fds[0])}
            except Exception as exc:  # noqa: BLE001 - the caller then starts the component on its own
                answer = {"error": f"{type(exc).__name__}: {exc}"}
            finally:
                for fd in fds:
                    os.close(fd)
            with contextlib.suppress(OSError):
                connection.sendall(json.dumps(answer).encode())


def _read(connection: socket.socket) -> tuple[bytes, list[int]]:
    """The request's bytes (up to the client's end of writing) and the descriptors that came first."""
    first, fds, _, _ = socket.recv_fds(connection, 65536, 1)
    chunks, size = [first], len(first)
    while first and (chunk := connection.recv(65536)):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_REQUEST:
            raise ValueError("request too large")
    return b"".join(chunks), fds


def _spawn(request: dict, *, log: int) -> int:
    target, args = entry(request["argv"])
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _become(request, log)
        code = _run(target, args, request["argv"])
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001 - the component failed: its log says how, its exit code 1
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _become(request: dict, log: int) -> None:
    """The child: a session of its own, its log, its folder and its environment."""
    os.setsid()
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # none of the server's: its socket, the connection
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])


def _run(target: str, args: list[str], argv: list[str]) -> int:
    import runpy

    if "setproctitle" in sys.modules:  # `ps` shows the component, not this script
        sys.modules["setproctitle"].setproctitle(" ".join(argv))
    sys.argv = args
    sys.path[0] = os.path.dirname(argv[0]) if target == "airflow" else os.getcwd()
    if "airflow" in sys.modules:  # preloaded
        _initialize_airflow()
    if target == "airflow":
        from airflow.__main__ import main

        main()
        return 0
    runpy.run_module(target, run_name="__main__", alter_sys=True)
    return 0


def _initialize_airflow() -> None:
    """What `import airflow` does at its end, which preloading skipped."""
    from airflow import settings
    from airflow.configuration import conf

    settings.LAZY_LOAD_PLUGINS = conf.getboolean("core", "lazy_load_plugins", fallback=True)
    settings.LAZY_LOAD_PROVIDERS = conf.getboolean("core", "lazy_discover_providers", fallback=True)
    settings.initialize()
    if not settings.LAZY_LOAD_PROVIDERS:
        from airflow.providers_manager import ProvidersManager

        manager = ProvidersManager()
        manager.initialize_providers_list()
        manager.initialize_providers_hooks()
        manager.initialize_providers_extra_links()
    if not settings.LAZY_LOAD_PLUGINS:
        from airflow import plugins_manager

        plugins_manager.ensure_plugins_loaded()


def _reap() -> None:
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        print(f"fork server: pid {pid} ended ({_ending(status)})", flush=True)


def _ending(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--socket", required=True)
    parser.add_argument("--preload", default="")
    args = parser.parse_args(argv)
    if sys.path and sys.path[0] == os.path.dirname(os.path.abspath(__file__)):
        sys.path.pop(0)  # this folder holds modules named like packages (redis.py): not theirs to import
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with contextlib.suppress(ImportError):  # Airflow's dependency; it finds the title's memory only
        import setproctitle  # before the environment changes, so here (and Celery's titles work too)

        setproctitle.getproctitle()
    preload([m for m in args.preload.split(",") if m])
    serve(args.socket)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
