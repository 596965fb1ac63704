"""`voxline bench SCENARIO.toml --out DIR`: benchmark scenarios (schema, runner, results)."""

from voxline.bench.scenario.schema import Scenario, ScenarioError, load_scenario

__all__ = ["Scenario", "ScenarioError", "load_scenario", "run"]


def run(path, out_dir):  # -> dict
    """Load the scenario at `path`, run it, write results.json, summary.md and the plots."""
    import asyncio

    from voxline.bench.scenario.report import write_outputs
    from voxline.bench.scenario.results import sweep_figures
    from voxline.bench.scenario.runner import run_scenario

    scenario = load_scenario(path)
    results = asyncio.run(run_scenario(scenario, out_dir, base=path.parent))
    if scenario.is_sweep:
        results["sweep"] = sweep_figures(results["steps"])
    write_outputs(results, out_dir)
    return results
