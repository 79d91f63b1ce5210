"""The ``emoconv`` command line.

Errors caused by input or configuration print one line and exit with status 2;
Ctrl-C stops cleanly (finished runs are kept) and says how to resume.
"""

from __future__ import annotations

import functools
import json
import signal
import sys
from pathlib import Path
from typing import Any, Callable

import click

from . import __version__


def _friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from .errors import EmoconvError

        def terminate(signum: int, frame: Any) -> None:  # SIGTERM stops as cleanly as Ctrl-C
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGTERM, terminate)
        try:
            return fn(*args, **kwargs)
        except EmoconvError as exc:
            click.echo(f"emoconv: error: {exc}", err=True)
            sys.exit(2)
        except KeyboardInterrupt:
            click.echo("\nemoconv: interrupted; finished runs are saved. Run the same command again to resume.",
                       err=True)
            sys.exit(130)
        finally:
            signal.signal(signal.SIGTERM, previous)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="emoconv")
def main() -> None:
    """Speech emotion recognition with convolutional networks."""


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("recipe", type=click.Path(path_type=Path))
@click.argument("overrides", nargs=-1)
@click.option("--out", type=click.Path(path_type=Path), help="Experiment folder (default: runs/<recipe name>).")
@click.option("--executor", default="local", show_default=True, help="How runs are executed: local, processes, ray.")
@click.option("--workers", type=int, default=None, help="Worker count (processes/ray executors).")
@click.option("--address", default=None, help="Ray cluster address (ray executor).")
@click.option("--retries", type=int, default=None,
              help="Retries of a run whose worker died (processes/ray executors; default 2).")
@click.option("--gpus-per-run", type=float, default=None, help="GPUs per Ray task, e.g. 0.25 (ray executor).")
@click.option("--plugin", "plugins", multiple=True,
              help="Module or .py file registering your own models/corpora; imported in every worker.")
@click.option("--append", is_flag=True, help="Allow a folder that holds results of another recipe version.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_friendly
def run(recipe: Path, overrides: tuple[str, ...], out: Path | None, executor: str, workers: int | None,
        address: str | None, retries: int | None, gpus_per_run: float | None, plugins: tuple[str, ...],
        append: bool, quiet: bool) -> None:
    """Run RECIPE (YAML) with optional key=value OVERRIDES, e.g. corpora.emodb.path=/data/EMODB."""
    from .experiments import load_recipe, run_sweep

    if executor == "ray":  # say how to install Ray before any work is done
        from .experiments.ray_executor import require_ray

        require_ray()
    if plugins:  # registrations for this process; workers import them from the environment
        import os

        from .experiments.workers import PLUGINS_ENV, import_plugins, plugin_list

        names = plugin_list([str(Path(p).resolve()) if p.endswith(".py") else p for p in plugins])
        import_plugins(names)
        os.environ[PLUGINS_ENV] = os.pathsep.join(names)
    rec = load_recipe(recipe, list(overrides))
    options = {k: v for k, v in {"workers": workers, "address": address, "retries": retries,
                                 "gpus_per_run": gpus_per_run}.items() if v is not None}
    result = run_sweep(rec, out, executor=executor, progress=not quiet, append=append, **options)
    n_failed = len(result.outcome.failed)
    click.echo(f"{len(result.outcome.done)} runs finished, {result.skipped} already done, {n_failed} failed; "
               f"results in {result.rundir}")
    if n_failed:
        for key, err in list(result.outcome.failed.items())[:5]:
            click.echo(f"  failed {key}: {err}", err=True)
        transient = [e for e in result.outcome.failed.values() if _transient(e)]
        if transient:
            click.echo(f"{len(transient)} failure(s) look transient (a worker or node lost, memory, I/O): run the "
                       "same command again to retry them.", err=True)
        if len(transient) < n_failed:
            click.echo(f"{n_failed - len(transient)} failure(s) come from the settings or the code and would fail "
                       f"the same way again: see the tracebacks in {result.rundir}/failed/ and fix the recipe "
                       "(or report the error).", err=True)
        sys.exit(1)


_TRANSIENT = ("MemoryError", "OSError", "BrokenPipeError", "ConnectionError", "TimeoutError", "EOFError",
              "WorkerDied", "RayError", "RayTaskError", "NodeDiedError", "WorkerCrashedError", "gave up after")


def _transient(error: str) -> bool:
    """Whether a run's failure message names a cause that a rerun can cure (not the run's own settings)."""
    return any(word in str(error) for word in _TRANSIENT) or "died" in str(error)


@main.command()
@click.argument("rundir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the raw status file.")
@_friendly
def status(rundir: Path, as_json: bool) -> None:
    """Show the progress of the sweep in RUNDIR (while it runs, from another terminal, or after it ended)."""
    from .errors import ConfigError
    from .experiments.progress import describe_status, read_status

    if not rundir.is_dir():
        raise ConfigError(f"{rundir}: no such experiment folder; pass the --out folder of `emoconv run`")
    if as_json:
        click.echo(json.dumps(read_status(rundir), indent=2))
        return
    click.echo(describe_status(rundir))


@main.command()
@click.argument("rundir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Report folder (default: RUNDIR/report).")
@click.option("--layout", default=None, help="Report layout (default: the recipe's, else 'default').")
@click.option("--published", is_flag=True, help="Set the paper's published figures beside yours (labelled).")
@click.option("--select", type=click.Choice(["validation", "test"]), default=None,
              help="How the best variant per row is chosen (layouts that pick one).")
@_friendly
def report(rundir: Path, out: Path | None, layout: str | None, published: bool, select: str | None) -> None:
    """Write Markdown/CSV/LaTeX tables and PNG plots for the experiment in RUNDIR, and print the tables."""
    from .reports import write_report

    options: dict[str, Any] = {}
    if published:
        options["published"] = True
    if select:
        options["select"] = select
    rep, out_dir = write_report(rundir, out, layout, options)
    click.echo(rep.markdown())
    click.echo(f"report written to {out_dir}")


@main.command()
@click.argument("rundir", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Analysis folder (default: RUNDIR/analysis).")
@click.option("--condition", type=click.Choice(["clean", "noisy"]), default="clean", show_default=True,
              help="Which condition's models to analyse (recipes with noise conditions).")
@click.option("--kernel", type=click.Choice(["linear", "poly", "rbf"]), default="linear", show_default=True,
              help="SVM kernel of the per-module classifiers.")
@_friendly
def analyze(rundir: Path, out: Path | None, condition: str, kernel: str) -> None:
    """Module-wise analysis of the saved CLDNN models in RUNDIR: SVM UA per module, LDA grids, rho (Table 5)."""
    from .experiments.analysis import analyze_run
    from .reports.modulewise import modulewise_table

    result, out_dir = analyze_run(rundir, out, condition=condition, kernel=kernel)
    click.echo(modulewise_table({k: v["ua"] for k, v in result["models"].items()}).to_string(float_format="%.2f"))
    click.echo(f"analysis written to {out_dir} (emoconv report {rundir} shows it as Table 5)")


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.argument("files", nargs=-1, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--info", "info", is_flag=True,
              help="Print what the bundle was trained on and its test and cross-validated figures.")
@click.option("--timeline", is_flag=True, help="Score each FILE in windows: one row per window (long recordings).")
@click.option("--window", "window_s", type=float, default=None,
              help="Timeline window in seconds (default: the model's input length, else 3).")
@click.option("--hop", "hop_s", type=float, default=1.0, show_default=True, help="Timeline hop in seconds.")
@click.option("--smooth", type=int, default=1, show_default=True,
              help="Average each window's probabilities over this many windows (centred).")
@click.option("--vad-db", type=float, default=-50.0, show_default=True,
              help="Windows below this RMS level (dBFS) are marked silent, not classified.")
@click.option("--no-vad", is_flag=True, help="Classify every window, silent or not.")
@click.option("--csv", "as_csv", is_flag=True, help="Timeline rows as CSV.")
@click.option("--plot", type=click.Path(path_type=Path), default=None,
              help="Timeline: write a PNG of the probabilities over time under the waveform (one FILE).")
@click.option("--same-speaker", is_flag=True,
              help="FILES are one speaker's: a per-speaker normalised model uses their pooled statistics.")
@_friendly
def predict(bundle: Path, files: tuple[Path, ...], as_json: bool, info: bool, timeline: bool,
            window_s: float | None, hop_s: float, smooth: int, vad_db: float, no_vad: bool, as_csv: bool,
            plot: Path | None, same_speaker: bool) -> None:
    """Predict the emotion of each audio FILE with a model BUNDLE (or describe it: --info)."""
    from .bundle import format_info, load_bundle
    from .errors import ConfigError

    if bool(files) == info:
        raise ConfigError("give one or more audio FILES to predict, or --info (without files) to describe "
                               "the bundle")
    if not timeline and (as_csv or plot is not None):
        raise ConfigError("--csv and --plot go with --timeline")
    if plot is not None and len(files) != 1:
        raise ConfigError("--plot draws one recording: give one FILE")
    if as_csv and as_json:
        raise ConfigError("choose one of --json and --csv")
    b = load_bundle(bundle)
    if info:
        click.echo(json.dumps(b.info(), indent=2, allow_nan=False) if as_json else format_info(b.info()))
        return
    if timeline:
        from .timeline_cli import echo_timelines

        echo_timelines(b, files, window_s=window_s, hop_s=hop_s, smooth=smooth, vad_db=None if no_vad else vad_db,
                       as_json=as_json, as_csv=as_csv, plot=plot)
        return
    results = b.predict_files(list(files), same_speaker=same_speaker)
    bad = [r for r in results if "error" in r]
    if as_json:
        click.echo(json.dumps(results, indent=2, allow_nan=False))
    else:
        for r in results:
            if "error" in r:
                continue
            probs = "  ".join(f"{k} {v:.2f}" for k, v in r["probabilities"].items())
            click.echo(f"{r['file']}: {r['label']}    ({probs})" + (f"    [{r['note']}]" if r.get("note") else ""))
    for r in bad:
        click.echo(f"emoconv: error: {r['error']}", err=True)
    if bad:
        raise SystemExit(2)


@main.command()
@click.argument("bundle", type=click.Path(path_type=Path))
@click.option("--onnx", "onnx_dir", type=click.Path(path_type=Path), required=True,
              help="Folder to write model.onnx, the numpy front-end and its runner into (new or empty).")
@_friendly
def export(bundle: Path, onnx_dir: Path) -> None:
    """Export a model BUNDLE to ONNX, runnable with onnxruntime and no PyTorch."""
    from .bundle import load_bundle
    from .export import export_onnx

    out = export_onnx(load_bundle(bundle), onnx_dir)
    click.echo(f"exported to {out}; run it with: python {out / 'emoconv_onnx.py'} {out} FILE.wav")


@main.group()
def datasets() -> None:
    """Corpus tools."""


@datasets.command("list")
def datasets_list() -> None:
    """List the registered corpus loaders."""
    from .corpora import CORPORA

    for name in CORPORA.names():
        click.echo(name)


@datasets.command("inspect")
@click.argument("corpus")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--no-audio-check", is_flag=True, help="Skip reading each file's header (and its samples).")
@click.option("--headers-only", is_flag=True, help="Read headers only: do not decode the samples (faster; "
              "silent, NaN and too-short files then go unnoticed).")
@click.option("--option", "opts", multiple=True, help="Loader option key=value (e.g. merge_excited=true).")
@_friendly
def datasets_inspect(corpus: str, path: Path, as_json: bool, no_audio_check: bool, headers_only: bool,
                     opts: tuple[str, ...]) -> None:
    """Count utterances per speaker and label in CORPUS at PATH and list every problem found."""
    from .corpora.inspect import inspect_corpus
    from .experiments.recipe import parse_overrides

    options = dict(parse_overrides(list(opts)))
    rep = inspect_corpus(corpus, path, check_audio=not no_audio_check, check_content=not headers_only, **options)
    data = rep.to_dict()
    click.echo(json.dumps(data, indent=2) if as_json else rep.render())
    if not data.get("n_utterances", data.get("total", 0)):
        sys.exit(1)


@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("corpus")
@click.argument("path", type=click.Path(path_type=Path))
@click.argument("overrides", nargs=-1)
@click.option("--recipe", type=click.Path(path_type=Path), default=None,
              help="Recipe with one model, or a packaged one by name: ecnet (the default, emoconv's own CNN), "
                   "ecnet_tracks (the same with pitch and voicing tracks) or svm (ComParE + linear SVM).")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Bundle folder to write (default: WORKDIR/model).")
@click.option("--workdir", type=click.Path(path_type=Path), default=None,
              help="Cross-validation results folder, resumable (default: runs/train-CORPUS).")
@click.option("--executor", default="local", show_default=True, help="How folds run: local, processes, ray.")
@click.option("--workers", type=int, default=None, help="Worker count (processes/ray executors).")
@click.option("--final", type=click.Choice(["all-speakers", "fold-ensemble"]), default="all-speakers",
              show_default=True, help="The model shipped: one more trained on every speaker, or the "
                                      "cross-validation's fold models with their probabilities averaged.")
@click.option("--fuse", default=None, help="Fuse with a second recipe cross-validated on the same folds: svm "
                                          "(ComParE + linear SVM) or a recipe file; ships a fusion bundle.")
@click.option("--fuse-set", "fuse_set", multiple=True, metavar="KEY=VALUE",
              help="A setting of the --fuse recipe (repeatable), e.g. models.0.params.standardize=global.")
@click.option("--json", "as_json", is_flag=True, help="End with one JSON line: ua, wa, protocol, folds, bundle.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
@_friendly
def train(corpus: str, path: Path, overrides: tuple[str, ...], recipe: Path | None, out: Path | None,
          workdir: Path | None, executor: str, workers: int | None, final: str, fuse: str | None,
          fuse_set: tuple[str, ...], as_json: bool, quiet: bool) -> None:
    """Cross-validate on CORPUS (a loader name, e.g. ravdess) at PATH, then train on every speaker and write
    a bundle for `emoconv predict`. OVERRIDES are key=value recipe settings, e.g. normalize=global."""
    from .errors import ConfigError
    from .train_cli import echo_summary, train_corpus

    if fuse_set and fuse is None:
        raise ConfigError("--fuse-set sets the --fuse recipe: give --fuse svm (or a recipe file) too")
    summary = train_corpus(corpus, path, recipe, out, workdir, list(overrides), executor=executor,
                           workers=workers, progress=not quiet, final=final, fuse=fuse, fuse_overrides=list(fuse_set))
    echo_summary(summary, as_json)


@main.command("models")
def models_cmd() -> None:
    """List the registered models."""
    from .models import MODELS

    for name in MODELS.names():
        click.echo(name)


@main.command()
@click.option("--recipe", type=click.Path(path_type=Path), default=Path("recipes/demo.yaml"), show_default=True)
@click.option("--out", type=click.Path(path_type=Path), default=Path("runs/demo"), show_default=True)
@_friendly
def demo(recipe: Path, out: Path) -> None:
    """The main job on the built-in corpus: train standard vs MTS CNNs, report, save a bundle, predict a clip."""
    from .demo import run_demo

    run_demo(recipe, out)


if __name__ == "__main__":  # pragma: no cover
    main()
